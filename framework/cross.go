package framework

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/metrics"
	"github.com/inflateshrink/inflateshrink/models"
	"github.com/inflateshrink/inflateshrink/retrieval"
	"github.com/inflateshrink/inflateshrink/store"
)

// CrossConfig is the cross encoder of a cascade. Zero fields take their
// defaults, which normalised writes into every cascade's config.
type CrossConfig struct {
	// TopK is how many of the first stage's candidates the cross encoder
	// re-ranks per query, in each direction; default 20.
	TopK int `json:"top_k,omitempty"`
	// Negatives is how many in-batch negatives each training pair meets
	// in each direction (models.CrossTrainingPairs); default 3.
	Negatives int `json:"negatives,omitempty"`
	// Epochs of cross encoder training; default train.epochs. The
	// learning rate decays at the same fraction of them as the first
	// stage's (train.decay_epoch of train.epochs).
	Epochs int `json:"epochs,omitempty"`
	// Layers of the cross encoder; default 2: with one, its [CLS] sees
	// the tokens and regions only mixed, and token-region binding waits
	// for the feed-forward (it learns, measured, several times slower).
	Layers int `json:"layers,omitempty"`
	// LearningRate of cross encoder training; default
	// train.learning_rate.
	LearningRate float64 `json:"learning_rate,omitempty"`
	// HardNegatives, when not 0, trains on hard negatives instead of
	// in-batch ones: the first stage scores the training split, and each
	// group's Negatives are drawn from its anchor's HardNegatives
	// best-scored wrong partners (retrieval.MineNegatives), the kind of
	// candidates the cross encoder re-ranks at test time. 0 (the
	// default, omitted so earlier cascades keep their hash): random
	// negatives from the batch.
	HardNegatives int `json:"hard_negatives,omitempty"`
}

// withDefaults fills x's zero fields; t is the trial's training.
func (x CrossConfig) withDefaults(t TrainConfig) CrossConfig {
	if x.TopK == 0 {
		x.TopK = 20
	}
	if x.Negatives == 0 {
		x.Negatives = 3
	}
	if x.Epochs == 0 {
		x.Epochs = t.Epochs
	}
	if x.Layers == 0 {
		x.Layers = 2
	}
	if x.LearningRate == 0 {
		x.LearningRate = t.LearningRate
	}
	return x
}

// validate names the first cross value that cannot make a cascade.
func (x CrossConfig) validate(t TrainConfig) error {
	x = x.withDefaults(t)
	for _, p := range []struct {
		name  string
		value int
		ok    bool
	}{
		{"cross.top_k", x.TopK, x.TopK >= 1},
		{"cross.negatives", x.Negatives, x.Negatives >= 1 && x.Negatives < t.BatchSize},
		{"cross.epochs", x.Epochs, x.Epochs >= 1},
		{"cross.layers", x.Layers, x.Layers >= 1},
	} {
		if !p.ok {
			return fmt.Errorf("framework: config value %s = %d is out of range (top_k, epochs, layers at least 1; negatives 1 to train.batch_size-1 = %d)", p.name, p.value, t.BatchSize-1)
		}
	}
	if x.HardNegatives != 0 && x.HardNegatives < x.Negatives {
		return fmt.Errorf("framework: config value cross.hard_negatives = %d is out of range (0 for in-batch negatives, else at least cross.negatives = %d)", x.HardNegatives, x.Negatives)
	}
	if !(x.LearningRate > 0) {
		return fmt.Errorf("framework: config value cross.learning_rate = %g is out of range (want > 0)", x.LearningRate)
	}
	return nil
}

// trainAndEvaluateCross trains the cross encoder of cascade c, saves it
// and records the cascade's retrieval, ranks and cost, with first the
// first stage's trained model.
func (r *Runner) trainAndEvaluateCross(ctx context.Context, run *store.Run, c Config, first *models.Model, state trainingState, transfer []string, label string) error {
	l, err := r.dataset(c.Dataset, c.Init.BERT)
	if err != nil {
		return err
	}
	x := c.Cross.withDefaults(c.Train)
	cross, err := models.NewCross(models.Config{
		VocabSize: l.vocab.Size(), RegionDim: l.ds.RegionDim, Dim: c.Dim, Heads: c.Heads, Layers: x.Layers,
		FFDim: c.FFDim, MaxTextLen: c.MaxTextLen, MaxRegions: c.MaxRegions, Padding: models.PadMode(c.Padding),
	}, rand.New(rand.NewPCG(uint64(c.Seed), 3)))
	if err != nil {
		return err
	}
	settings, err := r.trainSettings(run, c, state)
	if err != nil {
		return err
	}
	settings.Epochs, settings.LearningRate = x.Epochs, x.LearningRate
	settings.DecayEpoch = max(1, x.Epochs*c.Train.DecayEpoch/max(c.Train.Epochs, 1))
	// Validation chooses the cross encoder's weights by the cascade's
	// validation rSum: first's candidates, re-ranked.
	settings.Validation = r.validation(run, c, &l.ds.Val, func() (metrics.QueryRanks, error) {
		ranks, _, err := cascadeRanks(first, cross, l.vocab, &l.ds.Val, x.TopK)
		return ranks, err
	})
	progress := newProgress(run, r.logger(), r.Progress && r.Workers <= 1, fmt.Sprintf("[%s] %s", label, c.Model), epochSteps(l.ds, settings))
	// Mining is part of the cross encoder's training cost: its time joins
	// the run's training seconds.
	var hard *models.HardNegatives
	var mining time.Duration
	if x.HardNegatives > 0 {
		start := time.Now()
		if hard, err = mineNegatives(first, l.vocab, &l.ds.Train, x.HardNegatives); err != nil {
			return err
		}
		mining = time.Since(start)
		r.logger().Info("hard negatives mined", "model", c.Model, "per_item", x.HardNegatives, "seconds", mining.Seconds())
	}
	stats, err := models.TrainCross(ctx, cross, &l.ds.Train, l.vocab, x.Negatives, hard, settings, rand.New(rand.NewPCG(uint64(c.Seed), 2)), progress)
	progress.done()
	if err != nil {
		return err
	}
	if err := r.keepCheckpoint(run, c, cross.Save); err != nil {
		return err
	}
	if err := recordSelection(run, settings.Validation, stats, func() error {
		return evaluateCross(run, first, cross, l.vocab, &l.ds.Val, "val", x.TopK, false)
	}); err != nil {
		return err
	}
	if l.ds.TestFolds > 1 {
		r.logger().Warn("cross encoder cascades are evaluated on the whole test split only, not its folds", "model", c.Model)
	}
	if err := evaluateCross(run, first, cross, l.vocab, &l.ds.Test, "test", x.TopK, true); err != nil {
		return err
	}
	for _, name := range transfer {
		t, err := r.transferSet(name, l)
		if err != nil {
			return err
		}
		if err := evaluateCross(run, first, cross, l.vocab, &t.ds.Test, "transfer:"+name, x.TopK, false); err != nil {
			return fmt.Errorf("framework: transfer to %s: %w", name, err)
		}
	}
	return run.Finish(stats.Seconds + mining.Seconds())
}

// mineNegatives encodes the training split with the first stage and
// returns each caption's and each image's k hardest wrong partners by its
// scores.
func mineNegatives(first *models.Model, vocab *datasets.Vocab, train *datasets.Split, k int) (*models.HardNegatives, error) {
	ev, release, err := newEvaluator(nil, first)
	if err != nil {
		return nil, err
	}
	defer release()
	texts, images, _, _, err := encodeSplit(ev, vocab, train)
	if err != nil {
		return nil, err
	}
	scores, err := models.ScoreGallery(texts, images)
	if err != nil {
		return nil, err
	}
	h, err := retrieval.MineNegatives(scores, train.CaptionImage, k)
	if err != nil {
		return nil, fmt.Errorf("framework: cross.hard_negatives: %w", err)
	}
	return &h, nil
}

// cascade is a first stage's gallery encodings and scores with a cross
// encoder ready to re-rank them.
type cascade struct {
	texts, images   models.Fragments
	textMs, imageMs float64 // encoding time per caption and per image
	scores          metrics.Scores
	// t2i and i2t score up to top-K pairs per call: a caption against
	// its candidate images, an image against its candidate captions.
	t2i, i2t *models.CrossScorer
	k        int
}

func (cs *cascade) close() {
	cs.t2i.Close()
	cs.i2t.Close()
}

// rescoreT2I scores caption q against images.
func (cs *cascade) rescoreT2I(q int, images []int, out []float32) error {
	return cs.t2i.Score(repeat(q, len(images)), images, out)
}

// rescoreI2T scores image q against captions.
func (cs *cascade) rescoreI2T(q int, captions []int, out []float32) error {
	return cs.i2t.Score(captions, repeat(q, len(captions)), out)
}

func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// evaluateCross records the cascade of first and cross on a split, as
// evaluate records a model: recall and ranks (each direction re-ranked on
// its own, retrieval.Rerank) and, with cost, the query latency including
// the re-ranking, the cross encoder's time and attention per pair.
func evaluateCross(run *store.Run, first *models.Model, cross *models.Cross, vocab *datasets.Vocab, test *datasets.Split, split string, k int, cost bool) error {
	var cs *cascade
	ranks, cs, err := cascadeRanks(first, cross, vocab, test, k)
	if err != nil {
		return err
	}
	defer cs.close()
	if err := record(run, split, ranks, cs.scores); err != nil {
		return err
	}
	if !cost {
		return nil
	}
	values := metrics.Cost{
		EncodeTextMs: cs.textMs, EncodeImageMs: cs.imageMs,
		QueryMs:      cs.queryMs(),
		Interactions: cross.Config.CrossAttention(),
		// The index keeps the first stage's fragments and, for the cross
		// encoder, every image's regions.
		IndexFloats: first.Config.IndexFloats() + cross.Config.MaxRegions*cross.Config.RegionDim,
	}.Values()
	values["first_stage_query_ms"] = queryMs(cs.texts, cs.images)
	values["first_stage_interactions"] = float64(first.Config.Interactions())
	values["rerank_k"] = float64(k)
	values["cross_pair_ms"] = cs.pairMs()
	return run.RecordLatency(values)
}

// cascadeRanks ranks a split with the cascade of first and cross: first
// scores every pair, cross re-ranks each query's top k. It returns the
// per-query ranks and the cascade, which the caller closes.
func cascadeRanks(first *models.Model, cross *models.Cross, vocab *datasets.Vocab, split *datasets.Split, k int) (metrics.QueryRanks, *cascade, error) {
	ev, release, err := newEvaluator(nil, first) // the cross encoder runs on the CPU
	if err != nil {
		return metrics.QueryRanks{}, nil, err
	}
	defer release()
	cs := &cascade{k: k}
	if cs.texts, cs.images, cs.textMs, cs.imageMs, err = encodeSplit(ev, vocab, split); err != nil {
		return metrics.QueryRanks{}, nil, err
	}
	if cs.scores, err = models.ScoreGallery(cs.texts, cs.images); err != nil {
		return metrics.QueryRanks{}, nil, err
	}
	if cs.t2i, err = models.NewCrossScorer(cross, vocab, split.Captions, split.Images, min(k, cs.images.N)); err != nil {
		return metrics.QueryRanks{}, nil, err
	}
	if cs.i2t, err = models.NewCrossScorer(cross, vocab, split.Captions, split.Images, min(k, cs.texts.N)); err != nil {
		cs.t2i.Close()
		return metrics.QueryRanks{}, nil, err
	}
	ranks, err := cs.ranks(split.CaptionImage)
	if err != nil {
		cs.close()
		return metrics.QueryRanks{}, nil, err
	}
	return ranks, cs, nil
}

// ranks re-ranks each direction's top k on its own (retrieval.Rerank) and
// ranks the split's queries.
func (cs *cascade) ranks(captionImage []int) (metrics.QueryRanks, error) {
	t2i, err := retrieval.Rerank(cs.scores, cs.k, retrieval.TextToImage, cs.rescoreT2I)
	if err != nil {
		return metrics.QueryRanks{}, err
	}
	i2t, err := retrieval.Rerank(cs.scores, cs.k, retrieval.ImageToText, cs.rescoreI2T)
	if err != nil {
		return metrics.QueryRanks{}, err
	}
	byT2I, err := metrics.Ranks(t2i, captionImage)
	if err != nil {
		return metrics.QueryRanks{}, err
	}
	byI2T, err := metrics.Ranks(i2t, captionImage)
	if err != nil {
		return metrics.QueryRanks{}, err
	}
	return metrics.QueryRanks{I2T: byI2T.I2T, T2I: byT2I.T2I}, nil
}

// timedQueries is how many queries each latency is the mean of.
const timedQueries = 20

// queryMs is the mean time of one text query through the cascade, its
// fragments precomputed: score the whole gallery with the first stage,
// take its top K, score them with the cross encoder and order them.
func (cs *cascade) queryMs() float64 {
	q := 0
	return metrics.TimePerCall(timedQueries, func() {
		s, err := models.ScoreGallery(queryFragments(cs.texts, q), cs.images)
		if err != nil {
			panic(err) // dims agree by construction
		}
		hits, err := retrieval.TopK(s, cs.k)
		if err != nil {
			panic(err)
		}
		ids := make([]int, len(hits[0]))
		for j, h := range hits[0] {
			ids[j] = h.Image
		}
		fine := make([]float32, len(ids))
		if err := cs.rescoreT2I(q, ids, fine); err != nil {
			panic(err)
		}
		order := make([]int, len(ids))
		for j := range order {
			order[j] = j
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(fine[b], fine[a]) })
		q = (q + 1) % cs.texts.N
	})
}

// pairMs is the cross encoder's mean time per pair, scoring a caption's
// top-K candidates in one call.
func (cs *cascade) pairMs() float64 {
	k := min(cs.k, cs.images.N)
	images := make([]int, k)
	for j := range images {
		images[j] = j
	}
	out := make([]float32, k)
	return metrics.TimePerCall(timedQueries, func() {
		if err := cs.rescoreT2I(0, images, out); err != nil {
			panic(err)
		}
	}) / float64(k)
}
