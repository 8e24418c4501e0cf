// Package models holds the late-interaction retrieval models of "Inflate and
// Shrink" (Liu, Yu, Li, EMNLP 2021), built on Gorgonia in float32.
//
// A model is a text encoder and an image encoder, each a small transformer
// (token or region embedding, projection, LayerNorm, Layers post-LN blocks
// whose feed-forward layer uses ReLU or, to run BERT's weights, BERT's
// exact GELU: Config.Activation; every LayerNorm has Config.LayerNormEps).
// Inflating appends k learnable codes to each encoder's input; the codes get
// no position embedding and pass through the same LayerNorm. Every encoder
// output is a fragment; a model keeps the first n+k (inflated), n (base) or 1
// (fast) fragments per side, L2-normalises them and scores a (text, image)
// pair by the text-query MaxSim of the authors' code:
//
//	S(I, T) = sum over kept text fragments t of max over kept image fragments v of cos(t, v)
//
// Position 0 of each side is a [CLS] slot (the caption's <cls> token, a
// learned vector before the image regions), so the fast 1x1 model is a dual
// encoder over the two [CLS] outputs. Padding is masked out of attention and
// of the score by default (PadMask); PadKeep masks it from attention but
// scores its outputs, as the authors' fixed-length BERT inputs do;
// PadInclude treats it as input everywhere.
//
// Training (Train) minimises an Objective of the in-batch score matrix with
// AdamW, global-norm gradient clipping and step learning-rate decay. The
// default objective is the bidirectional hinge triplet loss whose violations
// are combined by an L8 norm (HingeL8); package distill supplies the
// knowledge-distillation objective. FirstStageSettings.Mix is the one
// reading of a first-stage loss name, which both devices train from. Every
// stage (first stages, students, the cross encoder) on every device trains
// through one loop, Loop, which drives a device's Stepper: the Gorgonia
// graph here, package gpu's step program there. Evaluation encodes with forward-only
// graphs (Encoder) and scores whole galleries in plain Go (ScoreGallery).
//
// The graphs use fused Gorgonia ops (fused_*.go) for the hot paths: MaxSim
// with masks, the attention core, LayerNorm of a residual sum, Linear(+ReLU),
// GELU, the input slots and keep+L2 normalisation, each with its own
// backward pass, running float32 products on the package's sgemm (or
// OpenBLAS with -tags openblas; BLAS says which). Model.Composed builds
// the same model from stock Gorgonia ops instead (and erf, which Gorgonia
// lacks); tests check the fused ops against it.
//
// Every random draw comes from the *rand.Rand the caller passes in.
// Composed operations (LayerNorm, GELU, L2 normalisation, attention,
// MaxSim, the L8 hinge) are written for any float dtype so that tests can
// check their gradients against finite differences in float64.
package models
