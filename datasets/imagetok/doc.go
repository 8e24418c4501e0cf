// Package imagetok turns pictures into the region tokens of a retrieval
// model, and keeps the caches of the real data sets built from them.
//
// # Tokens
//
// A picture is first reduced to a thumbnail: composited over white,
// scaled (keeping its aspect ratio, centred, padded with white) to
// Size x Size pixels by area averaging, 8-bit RGB. Caches store thumbnails,
// not tokens, so the tokenisation can change without rasterising again.
//
// Tokens cuts a thumbnail into a Grid x Grid grid of patches. The token of
// a patch is the patch averaged down to Cell x Cell pixels (RGB, each value
// mapped from [0, 255] to [-1, 1]) followed by the patch centre's x and y,
// mapped from [0, 1] to [-1, 1] (x grows rightwards, y downwards). So every
// token says what is where, and a late interaction has Grid*Grid regions to
// match words against. With the defaults (24-pixel thumbnails, a 4 x 4
// grid, 3 x 3 cells) a picture is 16 tokens of 29 values.
//
// # Rasterising
//
// Rasterise renders an SVG document with Debian's rsvg-convert (package
// librsvg2-bin) when it is on the PATH, and otherwise with the pure-Go
// github.com/srwiley/oksvg and rasterx (RasteriseGo), which handle a subset
// of SVG: gradients must be defined before use (RasteriseGo moves <defs>
// and gradients first), and filters, masks and clip paths are skipped.
// Rasteriser says which one is in use; the caches record it.
//
// # Caches
//
// WriteCache and ReadCache store a value (gob-encoded) in a file with a
// magic string, a format version and a SHA-256 of the payload. Writing goes
// to a temporary file in the same folder, synced and renamed into place, so
// an interrupted run leaves either the old file or nothing; reading refuses
// a file whose kind, version or checksum does not match, naming the file
// and the set-up command to run. Dir is the folder of the caches.
package imagetok
