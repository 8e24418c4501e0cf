// Package emoji builds a text-image retrieval set from npm packages: the
// CLDR names of emojibase-data@17.0.0 as captions and the icons of ten
// iconify emoji sets (art styles) as images, and registers it with
// datasets.Load.
//
// # Set-up
//
// Setup (go run ./datasets/setup emoji) fetches the pinned Packages with
// `npm pack` into npm/ under the data folder (imagetok.Dir:
// $INFLATESHRINK_DATA or ~/.cache/inflateshrink), checks each tarball's
// sha512 against the pinned integrity, reads the JSON files straight from
// the tarballs, joins captions to icons (Join), renders every icon with
// imagetok.Rasterise (rsvg-convert, or the pure-Go oksvg without it; the
// Protocol string names which) at 48 x 48 pixels, keeps it as 24 x 24 and 48 x 48
// thumbnails (imagetok.ThumbSizes; the 24-pixel one is that of cache
// version 1, byte for byte) and writes everything to emoji.v2.cache (about
// 200 MB, of which 160 MB are the 48-pixel thumbnails) with
// imagetok.WriteCache.
// A valid cache makes Setup a no-op. Each set's info.json (licence,
// author) is kept in the cache as credit; no image is committed.
//
// The join: 1,949 emoji and 2,030 skin-tone variants (3,979 captions);
// the label is the CLDR name ("waving hand: light skin tone"). For each
// style, an icon is found by the set's chars.json (hexcode -> name, upper
// case, FE0F dropped; fluent-emoji borrows fluent-emoji-flat's), else by
// the slug of the label or of a shortcode (en/shortcodes/*.json), else,
// for a single skin tone, by the base's names with "-light" ...
// "-dark" or "-tone1" ... "-tone5". Aliases resolve to their parent unless
// mirrored or rotated. Measured with the pinned versions: 23,266 pairs,
// of which rsvg-convert 2.54.7 rejects 2 (fluent-emoji umbrella and
// umbrella-with-rain-drops: "NoMemory"), leaving 23,264 images.
//
// # Protocols
//
// Each image is a set of region tokens (by default 16 tokens of 29
// values, imagetok's defaults) and has exactly one caption; captions are
// shared by the images of the same emoji in different styles. The splits
// are drawn with a fixed seed, so they are the same for every experiment
// and every tokenisation.
//
//   - "emoji-style": style hold-out. Test: every openmoji image with its
//     caption (3,979, one image per caption). Val: the captions drawn in
//     a validation style (ValStyles: fxemoji, streamline-emojis) and in
//     a training style, each with one of its validation-style images
//     (545 captions; at most 1,000 would be drawn). Train: every image of
//     the seven other styles (18,575). Like openmoji, the validation
//     styles are never trained on, so validation measures what test
//     does, retrieval in a style the model has not seen. (Until 2026-12,
//     val was 300 captions with an image of a training style, taken out
//     of training. Measured with 1,000 such captions, base and fast
//     scored val rSum 336-351 there, level with or above the
//     non-learned baselines of package baselines (296-342), while on
//     test they are far below them (rSum 26 in issue 11, baselines
//     87-95); on the held-out validation styles the same recipe scores
//     147-155, half the baselines' 283-300, as on test.)
//   - "emoji-concept": concept hold-out. 20% of the base emoji, each with
//     all its skin tones, are held out for test and 5% for val; test and
//     val keep one image (of a style drawn at random) per caption; train
//     holds every image of the other emoji.
//   - "emoji-style-small": the style hold-out on the first 200 base emoji
//     (no skin tone), for smoke tests; val holds the 97 of them drawn in
//     a validation style (at most 100 would be drawn; 20 of a training
//     style until 2026-12), train 1,096 images.
//   - "emoji-style-keywords": the style hold-out with the CLDR keywords
//     appended to each caption.
//
// The Protocol string of each data set states its sizes and tokens.
//
// # Tokenisations
//
// Each protocol is registered once more per variant of
// imagetok.Variants, as "<protocol>@<variant>": "emoji-style@s24g8c3" is
// the style hold-out with 64 tokens, the raw 3 x 3-pixel patches of the
// 24-pixel thumbnail (see imagetok for the naming). The splits are the
// same; only the tokens differ. Names lists every registered name.
//
// Training batches can hold the same caption text twice (one emoji in two
// styles); such a pair is a false negative for the contrastive losses,
// about one pair per batch of 32 in a set of 3,959 training captions.
package emoji
