package models

import (
	"fmt"
	"math"
)

// Keep says how many encoder outputs (fragments) each side keeps for scoring.
type Keep string

const (
	// KeepAll keeps every output: the n tokens (or regions) and the k codes.
	KeepAll Keep = "n+k"
	// KeepTokens keeps the n token (region) outputs and drops the codes.
	KeepTokens Keep = "n"
	// KeepFirst keeps only the [CLS] output: a dual encoder.
	KeepFirst Keep = "1"
	// KeepCodes keeps only the code outputs (TextCodes and ImageCodes of
	// them): a model whose fragment count per side is set by its codes
	// alone, whatever the caption or image length, so that a shrink chain
	// can step through any number of fragments (16, 4, ...) between n+k
	// and 1. The codes work as learned pooling queries over the tokens.
	KeepCodes Keep = "codes"
)

// PadMode says how padded token and region slots take part.
type PadMode string

const (
	// PadMask hides padded slots from attention and from the score.
	PadMask PadMode = "mask"
	// PadKeep hides padded slots from attention but keeps their outputs
	// as fragments of the score, as the authors' code does: it masks pads
	// in BERT's attention, then scores the first 32 outputs of every
	// caption, pads included.
	PadKeep PadMode = "keep"
	// PadInclude treats padded slots as ordinary inputs, in attention and
	// in the score.
	PadInclude PadMode = "include"
)

// Activation is the non-linearity of the transformer blocks' feed-forward
// layer.
type Activation string

const (
	// ActReLU is max(x, 0), this project's models' own.
	ActReLU Activation = "relu"
	// ActGELU is BERT's GELU in its exact form, x Φ(x) =
	// 0.5 x (1 + erf(x/√2)) with Φ the standard normal CDF (not the tanh
	// approximation), so that BERT's weights compute what they learned.
	ActGELU Activation = "gelu"
)

// Config describes a model's shape. The zero value of every field except
// VocabSize and RegionDim means the documented default.
type Config struct {
	VocabSize int // size of the caption vocabulary, required
	RegionDim int // length of an image region vector, required

	Dim    int // model width d; default 64
	Heads  int // attention heads; default 2; must divide Dim
	Layers int // transformer blocks per encoder; default 1
	FFDim  int // hidden width of the feed-forward block; default 2*Dim

	MaxTextLen int // caption tokens including <cls>; default 16
	MaxRegions int // image regions (a learned [CLS] slot is added before them); default 16

	TextCodes  int // learnable codes appended to the text input (inflate); default 0
	ImageCodes int // learnable codes appended to the image input; default 0

	Keep    Keep    // fragments kept per side; default KeepAll
	Padding PadMode // default PadMask
	// SharedLayers makes both encoders use the same transformer blocks, as
	// the authors' shared BERT layers do; the default is separate blocks.
	SharedLayers bool
	// Activation is the feed-forward block's non-linearity: ActReLU (the default, also "") or ActGELU (BERT's, the erf form).
	Activation Activation
	// LayerNormEps is every LayerNorm's epsilon; default 1e-5 (BERT: 1e-12).
	LayerNormEps float64

	// The authors' layout, which their released checkpoints need
	// (LoadAuthors); the zero values are this package's own.
	//
	// NoImageCLS hides the image side's [CLS] slot from attention and
	// keeps no output of it, so that the image encodes as the authors'
	// does, without one: a 1x1 model then reads the first region's output.
	NoImageCLS bool
	// CodesAfterNorm appends each side's codes after its embedding
	// LayerNorm, so that a code enters the layers as stored (the authors
	// normalise their codes once, by a LayerNorm of their own).
	CodesAfterNorm bool
	// ImageNormEps is the image side's embedding LayerNorm epsilon; 0
	// means LayerNormEps (the authors: 1e-5 under BERT's 1e-12).
	ImageNormEps float64
	// KeepLimit keeps at most the first KeepLimit of each side's kept
	// fragments; 0, no limit (the authors encode all 36 regions and keep
	// the first 32 outputs, or 64 with their 32 codes).
	KeepLimit int
}

// WithDefaults returns c with every zero field replaced by its default.
func (c Config) WithDefaults() Config {
	if c.Dim == 0 {
		c.Dim = 64
	}
	if c.Heads == 0 {
		c.Heads = 2
	}
	if c.Layers == 0 {
		c.Layers = 1
	}
	if c.FFDim == 0 {
		c.FFDim = 2 * c.Dim
	}
	if c.MaxTextLen == 0 {
		c.MaxTextLen = 16
	}
	if c.MaxRegions == 0 {
		c.MaxRegions = 16
	}
	if c.Keep == "" {
		c.Keep = KeepAll
	}
	if c.Padding == "" {
		c.Padding = PadMask
	}
	if c.Activation == "" {
		c.Activation = ActReLU
	}
	if c.LayerNormEps == 0 {
		c.LayerNormEps = 1e-5
	}
	return c
}

// Validate reports the first invalid field of c (after defaults).
func (c Config) Validate() error {
	c = c.WithDefaults()
	positive := []struct {
		name  string
		value int
	}{
		{"VocabSize", c.VocabSize}, {"RegionDim", c.RegionDim}, {"Dim", c.Dim},
		{"Heads", c.Heads}, {"Layers", c.Layers}, {"FFDim", c.FFDim},
		{"MaxTextLen", c.MaxTextLen}, {"MaxRegions", c.MaxRegions},
	}
	for _, p := range positive {
		if p.value <= 0 {
			return fmt.Errorf("models: config field %s must be positive, got %d", p.name, p.value)
		}
	}
	if c.TextCodes < 0 || c.ImageCodes < 0 {
		return fmt.Errorf("models: codes must not be negative, got TextCodes=%d ImageCodes=%d", c.TextCodes, c.ImageCodes)
	}
	if c.Dim%c.Heads != 0 {
		return fmt.Errorf("models: Heads=%d does not divide Dim=%d", c.Heads, c.Dim)
	}
	switch c.Keep {
	case KeepAll, KeepTokens, KeepFirst:
	case KeepCodes:
		if c.TextCodes == 0 || c.ImageCodes == 0 {
			return fmt.Errorf("models: Keep %q needs codes on both sides, got TextCodes=%d ImageCodes=%d", c.Keep, c.TextCodes, c.ImageCodes)
		}
	default:
		return fmt.Errorf("models: unknown Keep %q (want %q, %q, %q or %q)", c.Keep, KeepAll, KeepTokens, KeepFirst, KeepCodes)
	}
	switch c.Padding {
	case PadMask, PadKeep, PadInclude:
	default:
		return fmt.Errorf("models: unknown Padding %q (want %q, %q or %q)", c.Padding, PadMask, PadKeep, PadInclude)
	}
	switch c.Activation {
	case ActReLU, ActGELU:
	default:
		return fmt.Errorf("models: unknown Activation %q (want %q or %q)", c.Activation, ActReLU, ActGELU)
	}
	// Written so that NaN fails too.
	if !(c.LayerNormEps > 0) || math.IsInf(c.LayerNormEps, 1) {
		return fmt.Errorf("models: LayerNormEps must be positive and finite, got %g", c.LayerNormEps)
	}
	if c.ImageNormEps < 0 || math.IsNaN(c.ImageNormEps) || math.IsInf(c.ImageNormEps, 1) {
		return fmt.Errorf("models: ImageNormEps must be 0 (LayerNormEps) or positive and finite, got %g", c.ImageNormEps)
	}
	if c.NoImageCLS && c.Padding == PadInclude {
		return fmt.Errorf("models: NoImageCLS hides the [CLS] slot through the attention mask, which Padding %q has none of", c.Padding)
	}
	if c.KeepLimit < 0 {
		return fmt.Errorf("models: KeepLimit must not be negative, got %d", c.KeepLimit)
	}
	return nil
}

// imageCLS is how many [CLS] slots of the image side are encoded and
// kept: 1, or 0 with NoImageCLS (the slot stays in the layout, hidden).
func (c Config) imageCLS() int {
	if c.NoImageCLS {
		return 0
	}
	return 1
}

// embedNormEps is the epsilon of side's embedding LayerNorm.
func (c Config) embedNormEps(side string) float64 {
	if side == "image" && c.ImageNormEps != 0 {
		return c.ImageNormEps
	}
	return c.WithDefaults().LayerNormEps
}

// textSlots is the encoder input length on the text side: tokens then codes.
func (c Config) textSlots() int { return c.MaxTextLen + c.TextCodes }

// imageSlots is the encoder input length on the image side: [CLS], regions, codes.
func (c Config) imageSlots() int { return 1 + c.MaxRegions + c.ImageCodes }

// TextFragments is how many fragments a caption keeps for scoring.
func (c Config) TextFragments() int { return c.kept(c.MaxTextLen, c.TextCodes) }

// ImageFragments is how many fragments an image keeps for scoring.
func (c Config) ImageFragments() int { return c.kept(c.imageCLS()+c.MaxRegions, c.ImageCodes) }

func (c Config) kept(tokens, codes int) int {
	n := tokens + codes
	switch c.Keep {
	case KeepFirst:
		n = 1
	case KeepCodes:
		n = codes
	case KeepTokens:
		n = tokens
	}
	if c.KeepLimit > 0 {
		n = min(n, c.KeepLimit)
	}
	return n
}

// firstKept is the first slot kept for scoring on a side whose codes start
// at slot tokens: the codes with KeepCodes, slot 0 otherwise.
func (c Config) firstKept(tokens int) int {
	if c.Keep == KeepCodes {
		return tokens
	}
	return 0
}

// Interactions is the number of fragment similarities per (text, image)
// pair at the padded shape: TextFragments x ImageFragments.
func (c Config) Interactions() int { return c.TextFragments() * c.ImageFragments() }

// IndexFloats is the number of floats an index stores per image.
func (c Config) IndexFloats() int { return c.ImageFragments() * c.Dim }

// FirstTextFragment is the text slot of the first kept fragment: 0, or
// the first code's slot when only the codes are kept (KeepCodes).
func (c Config) FirstTextFragment() int { return c.firstKept(c.MaxTextLen) }

// FirstImageFragment is the image slot of the first kept fragment.
func (c Config) FirstImageFragment() int {
	return 1 - c.imageCLS() + c.firstKept(c.imageCLS()+c.MaxRegions)
}
