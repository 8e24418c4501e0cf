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
// When Size = Grid * Cell every cell is one pixel (Raw): a token holds its
// patch's raw pixels, and the Linear(RegionDim -> d) projection a model
// puts before its encoder is then a learned patch embedding, as in a
// vision transformer.
//
// With Context > 0, every token also carries the whole thumbnail averaged
// down to Context x Context cells (after its patch's cells, before x, y),
// so that each region says both what is where and what the whole picture
// is.
//
// # Tokenisation names
//
// Settings are named "s<Size>g<Grid>c<Cell>", followed by "k<Context>"
// when Context > 0 (Name, ParseSettings): the default is s24g4c3. The real image sets register each of their
// protocols under its plain name with the default tokenisation, and once
// more per entry of Variants as "<set>@<name>", for example
// "emoji-style-small@s24g8c3" or "tuxpaint@s48g8c6"; a model trained on
// one emoji variant is evaluated on the Tux Paint set of the same variant
// (same tokens, same RegionDim). The caches store every picture's
// thumbnail at each side of ThumbSizes (24 and 48 pixels, from one
// rendering), so a variant's Size must be one of them, and adding a
// variant of those sizes needs no new set-up.
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
