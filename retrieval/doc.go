// Package retrieval searches a gallery of images with precomputed
// fragments: full-gallery MaxSim scoring (models.ScoreGallery: blocked
// matrix products with a running max, spread over every core, never
// materialising the pair x fragment tensor), top-K selection, a cascade
// in which a cheap 1x1 (dual-encoder) model preselects candidates that
// MaxSim re-ranks, and Rerank, which re-orders any first stage's top-K in
// either direction by a slower scorer (a cross encoder) while the rest
// keep the first stage's order.
package retrieval
