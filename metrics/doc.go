// Package metrics computes text-image retrieval metrics from a score matrix
// and keeps the latency and cost figures that go with them.
//
// A score matrix holds one score per (image, caption) pair. Evaluate follows
// the COCO protocol, where an image may have several captions: image-to-text
// (i2t) retrieval ranks every caption for each image and counts the rank of the
// best-ranked correct caption; text-to-image (t2i) retrieval ranks every image
// for each caption and counts the rank of its one correct image. Recall at K is
// the percentage of queries whose rank is at most K, for K = 1, 5 and 10; rSum
// is the sum of the six recalls (600 at best).
//
// Ties are counted pessimistically: an incorrect item scoring exactly as high as
// the correct one is ranked above it. A model that collapses to a constant
// score therefore gets the worst rank instead of a perfect one.
//
// The median of an even number of ranks is the mean of the two middle ranks,
// so median ranks can end in .5.
//
// ChanceRSum gives the exact rSum of uniformly random rankings, the floor that
// any trained model must clear. Folds and Mean implement the COCO 1K protocol:
// the 5K test images are split into five contiguous folds of 1K, each fold is
// evaluated on its own and the results are averaged.
//
// Cost and TimePerCall record what a model costs at query time, so that
// accuracy can be set against speed.
package metrics // import "github.com/inflateshrink/inflateshrink/metrics"
