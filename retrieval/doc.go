// Package retrieval searches a gallery of images with precomputed
// fragments: full-gallery MaxSim scoring (models.ScoreGallery: blocked
// matrix products with a running max, spread over every core, never
// materialising the pair x fragment tensor), top-K selection, and a
// cascade in which a cheap 1x1 (dual-encoder) model preselects candidates
// that MaxSim re-ranks.
package retrieval
