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
// Protocol string names which) at 48 x 48 pixels, reduces it to a 24 x 24 thumbnail and
// writes everything to emoji.cache (about 42 MB) with imagetok.WriteCache.
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
// Each image is a set of 16 region tokens of 29 values (imagetok's
// defaults) and has exactly one caption; captions are shared by the images
// of the same emoji in different styles. The splits are drawn with a fixed
// seed, so they are the same for every experiment.
//
//   - "emoji-style": style hold-out. Test: every openmoji image with its
//     caption (3,979, one image per caption). Val: 300 captions, each with
//     one image of another style. Train: every other image of the other
//     nine styles (18,985).
//   - "emoji-concept": concept hold-out. 20% of the base emoji, each with
//     all its skin tones, are held out for test and 5% for val; test and
//     val keep one image (of a style drawn at random) per caption; train
//     holds every image of the other emoji.
//   - "emoji-style-small": the style hold-out on the first 200 base emoji
//     (no skin tone), for smoke tests.
//   - "emoji-style-keywords": the style hold-out with the CLDR keywords
//     appended to each caption.
//
// The Protocol string of each data set states its sizes.
//
// Training batches can hold the same caption text twice (one emoji in two
// styles); such a pair is a false negative for the contrastive losses,
// about one pair per batch of 32 in a set of 3,959 training captions.
package emoji
