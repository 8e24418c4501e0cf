// Package baselines holds non-learned reference scorers: what a retrieval
// model must beat to have learned anything beyond the raw image tokens and
// the captions of its training split. Each fills the images x captions
// score matrix (metrics.Scores) of a data set's validation or test split
// from its training split alone, so it is measured like a model
// (metrics.Evaluate) and beside it. Random scoring is metrics' chance level.
//
// # Features
//
// An image's feature is its region tokens concatenated in order (so every
// image of a data set must have the same number of regions, as the grid
// tokens of the real sets do; the synthetic set's objects are in random
// order and are refused), minus the mean feature of the training images,
// scaled to unit length. Centring removes what every picture shares (the
// white background, the patch positions), so the cosine of two features
// says how two pictures differ alike.
//
// # Methods
//
//   - CaptionMean: a caption's prototype is the mean feature of the
//     training images that carry the same caption text; the score of an
//     image is the cosine of its feature with the prototype. In the emoji
//     style hold-out a test caption's training images are the same emoji
//     in the other art styles, so this is a nearest class mean across
//     styles.
//   - CaptionNearest: the largest cosine between the image and any
//     training image with the same caption text (a nearest neighbour).
//   - WordMean: a word's prototype is the mean feature of the training
//     images whose caption holds the word (datasets.Tokenize); a caption's
//     score is the mean, over its distinct words that occur in training,
//     of the cosine with their prototypes. It needs no caption seen in
//     training, so it also scores the concept hold-out and transfer sets.
//
// CaptionMean and CaptionNearest score a caption never seen in training
// by WordMean instead (its row of cosines then has another scale, which
// only matters to image-to-text ranking). A caption none of whose words
// occurs in training scores 0 against every image; the pessimistic ties
// of package metrics rank its image last.
package baselines
