package models

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/internal/gradcheck"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func tinyCross(t *testing.T, ds *datasets.Dataset, v *datasets.Vocab) *Cross {
	t.Helper()
	x, err := NewCross(Config{VocabSize: v.Size(), RegionDim: ds.RegionDim, Dim: 16, MaxRegions: 5, MaxTextLen: 16},
		rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// TestCrossGradients checks the cross encoder's own composition (the
// [CLS] head and the group loss; its blocks are the fused ops checked in
// TestFusedOpGradients) against finite differences.
func TestCrossGradients(t *testing.T) {
	checkGradients(t, []gradCase{
		{"Head", []gradcheck.Input{{Shape: []int{3 * 4, 5}}, {Shape: []int{5, 1}}, {Shape: []int{1}}},
			func(in []*G.Node) (*G.Node, error) { return crossHead(in[0], 3, 4, in[1], in[2]) }},
		{"HeadOneItem", []gradcheck.Input{{Shape: []int{1 * 4, 5}}, {Shape: []int{5, 1}}, {Shape: []int{1}}},
			func(in []*G.Node) (*G.Node, error) { return crossHead(in[0], 1, 4, in[1], in[2]) }},
		{"GroupCrossEntropy", []gradcheck.Input{{Shape: []int{3 * 4, 1}}},
			func(in []*G.Node) (*G.Node, error) { return GroupCrossEntropy(in[0], 3, 4) }},
	})
}

// TestGroupCrossEntropyByHand: groups (2, 0) and (0, 0) lose
// log(1 + e^-2) and log 2, averaged.
func TestGroupCrossEntropyByHand(t *testing.T) {
	g := G.NewGraph()
	s := G.NewTensor(g, tensor.Float64, 2, G.WithShape(4, 1), G.WithValue(tensor.New(tensor.WithShape(4, 1), tensor.WithBacking([]float64{2, 0, 0, 0}))))
	loss, err := GroupCrossEntropy(s, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	want := (math.Log1p(math.Exp(-2)) + math.Log(2)) / 2
	if got := loss.Value().Data().(float64); math.Abs(got-want) > 1e-12 {
		t.Errorf("loss %v, want %v", got, want)
	}
	if _, err := GroupCrossEntropy(s, 3, 2); err == nil {
		t.Error("3 groups of 2 from 4 scores: no error")
	}
}

// TestCrossTrainingPairs: every group starts with its matching pair, its
// negatives are distinct and not the anchor's match, and the same rng
// gives the same pairs.
func TestCrossTrainingPairs(t *testing.T) {
	const batch, negatives = 5, 3
	texts, images := CrossTrainingPairs(batch, negatives, rand.New(rand.NewPCG(1, 1)))
	size := 1 + negatives
	if len(texts) != 2*batch*size || len(images) != len(texts) {
		t.Fatalf("%d captions, %d images, want %d pairs", len(texts), len(images), 2*batch*size)
	}
	for g := range 2 * batch {
		i := g % batch
		ts, is := texts[g*size:(g+1)*size], images[g*size:(g+1)*size]
		if ts[0] != i || is[0] != i {
			t.Errorf("group %d starts with (%d, %d), want the matching pair (%d, %d)", g, ts[0], is[0], i, i)
		}
		anchor, others := ts, is // text to image: the caption is fixed
		if g >= batch {
			anchor, others = is, ts
		}
		seen := map[int]bool{}
		for j := 1; j < size; j++ {
			if anchor[j] != i || others[j] == i || seen[others[j]] || others[j] < 0 || others[j] >= batch {
				t.Errorf("group %d: pair %d is (caption %d, image %d)", g, j, ts[j], is[j])
			}
			seen[others[j]] = true
		}
	}
	t2, i2 := CrossTrainingPairs(batch, negatives, rand.New(rand.NewPCG(1, 1)))
	if !slices.Equal(texts, t2) || !slices.Equal(images, i2) {
		t.Error("same rng, different pairs")
	}
}

// TestCrossHardPairs: every group starts with its batch row's matching
// pair (in split indices), its negatives are distinct members of the
// anchor's hard pool, and the same rng gives the same pairs.
func TestCrossHardPairs(t *testing.T) {
	const negatives = 2
	h := &HardNegatives{
		Images:   [][]int{{1, 2, 3}, {0, 2, 3}, {3, 0, 1}, {2, 1, 0}, {1, 0, 2}},
		Captions: [][]int{{2, 3, 1}, {4, 0, 2}, {0, 1, 3}, {1, 2, 4}},
	}
	captions, images := []int{4, 2, 0}, []int{3, 1, 0}
	texts, imgs := CrossHardPairs(captions, images, negatives, h, rand.New(rand.NewPCG(1, 1)))
	size, batch := 1+negatives, len(captions)
	if len(texts) != 2*batch*size || len(imgs) != len(texts) {
		t.Fatalf("%d captions, %d images, want %d pairs", len(texts), len(imgs), 2*batch*size)
	}
	for g := range 2 * batch {
		i := g % batch
		ts, is := texts[g*size:(g+1)*size], imgs[g*size:(g+1)*size]
		if ts[0] != captions[i] || is[0] != images[i] {
			t.Errorf("group %d starts with (%d, %d), want the matching pair (%d, %d)", g, ts[0], is[0], captions[i], images[i])
		}
		anchor, others, pool := ts, is, h.Images[captions[i]]
		if g >= batch {
			anchor, others, pool = is, ts, h.Captions[images[i]]
		}
		seen := map[int]bool{}
		for j := 1; j < size; j++ {
			if anchor[j] != anchor[0] || !slices.Contains(pool, others[j]) || seen[others[j]] {
				t.Errorf("group %d: pair %d is (caption %d, image %d), pool %v", g, j, ts[j], is[j], pool)
			}
			seen[others[j]] = true
		}
	}
	t2, i2 := CrossHardPairs(captions, images, negatives, h, rand.New(rand.NewPCG(1, 1)))
	if !slices.Equal(texts, t2) || !slices.Equal(imgs, i2) {
		t.Error("same rng, different pairs")
	}
}

// TestCrossMasks: [CLS] and the real tokens and regions attend; padding
// does not, unless padding is included.
func TestCrossMasks(t *testing.T) {
	c := Config{VocabSize: 1, RegionDim: 1, MaxTextLen: 3, MaxRegions: 2}
	got := CrossMasks(c, []int{2, 3}, []int{1, 2})
	want := []float32{0, 0, 0, maskOff, 0, maskOff, 0, 0, 0, 0, 0, 0}
	if !slices.Equal(got, want) {
		t.Errorf("bias %v, want %v", got, want)
	}
	c.Padding = PadInclude
	if got := CrossMasks(c, []int{2, 3}, []int{1, 2}); slices.ContainsFunc(got, func(v float32) bool { return v != 0 }) {
		t.Errorf("with padding included: %v, want zeros", got)
	}
	if c.CrossSlots() != 6 || c.WithDefaults().CrossAttention() != 36 {
		t.Errorf("slots %d, attention %d; want 6 and 36", c.CrossSlots(), c.WithDefaults().CrossAttention())
	}
}

// TestTrainCrossHard: training on hard negatives (here each anchor's
// neighbours by index) is deterministic, and pools that do not fit the
// split are refused naming the fault.
func TestTrainCrossHard(t *testing.T) {
	ds, v := tinyData(t)
	n, nc := len(ds.Train.Images), len(ds.Train.Captions)
	pools := func(size int) *HardNegatives {
		h := &HardNegatives{Images: make([][]int, nc), Captions: make([][]int, n)}
		for c, i := range ds.Train.CaptionImage {
			for j := 1; j <= size; j++ {
				h.Images[c] = append(h.Images[c], (i+j)%n)
			}
		}
		for i := range h.Captions {
			for c, im := range ds.Train.CaptionImage {
				if im != i && len(h.Captions[i]) < size {
					h.Captions[i] = append(h.Captions[i], c)
				}
			}
		}
		return h
	}
	train := func(h *HardNegatives) (*Cross, lossLog, error) {
		x := tinyCross(t, ds, v)
		var losses lossLog
		_, err := TrainCross(context.Background(), x, &ds.Train, v, 3, h,
			TrainSettings{Batches: datasets.ByImage, BatchSize: 16, Epochs: 1, LearningRate: 3e-3}, rand.New(rand.NewPCG(3, 4)), &losses)
		return x, losses, err
	}
	x, losses, err := train(pools(5))
	if err != nil {
		t.Fatal(err)
	}
	y, again, err := train(pools(5))
	if err != nil {
		t.Fatal(err)
	}
	if len(losses) == 0 || !slices.Equal(losses, again) || !slices.Equal(x.Params.Data("cross.head.w"), y.Params.Data("cross.head.w")) {
		t.Error("same seed and pools, different training")
	}
	outside := pools(5)
	outside.Images[7][2] = n
	for _, tt := range []struct {
		name string
		h    *HardNegatives
		want string
	}{
		{"pool smaller than negatives", pools(2), "2 hard negatives, fewer than cross encoder negatives 3"},
		{"index outside the split", outside, "caption 7's hard negative"},
		{"pools for another split", &HardNegatives{Images: make([][]int, 3)}, "hard negatives for 3 captions"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := train(tt.h); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one naming %q", err, tt.want)
			}
		})
	}
}

// TestCrossLearns: on 64 images a two-layer cross encoder's loss falls
// (one layer learns too, slower: its [CLS] sees tokens and regions only
// mixed, so token-region binding must wait for the feed-forward), and the
// same seed trains the same weights.
func TestCrossLearns(t *testing.T) {
	ds, v := tinyData(t)
	train := func(epochs int) (*Cross, lossLog) {
		x, err := NewCross(Config{VocabSize: v.Size(), RegionDim: ds.RegionDim, Dim: 16, MaxRegions: 5, MaxTextLen: 16, Layers: 2},
			rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		var losses lossLog
		_, err = TrainCross(context.Background(), x, &ds.Train, v, 3, nil,
			TrainSettings{Batches: datasets.ByImage, BatchSize: 16, Epochs: epochs, DecayEpoch: epochs, LearningRate: 3e-3}, rand.New(rand.NewPCG(3, 4)), &losses)
		if err != nil {
			t.Fatal(err)
		}
		return x, losses
	}
	x, losses := train(2)
	y, again := train(2)
	if !slices.Equal(losses, again) || !slices.Equal(x.Params.Data("cross.head.w"), y.Params.Data("cross.head.w")) {
		t.Error("same seed, different training")
	}
	if _, err := TrainCross(context.Background(), x, &ds.Train, v, 16, nil, TrainSettings{Batches: datasets.ByImage, BatchSize: 16}, rand.New(rand.NewPCG(1, 1)), nil); err == nil {
		t.Error("16 negatives in a batch of 16: no error")
	}
	if testing.Short() {
		t.Skip("the learning curve takes 4 s")
	}
	_, losses = train(24)
	first, last := mean(losses[:4]), mean(losses[len(losses)-4:])
	if !(last < 0.8*first) {
		t.Errorf("loss went from %.4f to %.4f; want a 20%% drop", first, last)
	}
}

// TestCrossScorer: a pair's score does not depend on the pairs scored
// with it or on the padding of a short call, survives a checkpoint, and
// bad calls are refused.
func TestCrossScorer(t *testing.T) {
	ds, v := tinyData(t)
	x := tinyCross(t, ds, v)
	test := &ds.Test
	s, err := NewCrossScorer(x, v, test.Captions, test.Images, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	all := make([]float32, 4)
	if err := s.Score([]int{0, 1, 2, 3}, []int{3, 2, 1, 0}, all); err != nil {
		t.Fatal(err)
	}
	one := make([]float32, 1)
	if err := s.Score([]int{2}, []int{1}, one); err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(one[0]-all[2])) > 1e-5 {
		t.Errorf("pair (2, 1) alone scores %v, among others %v", one[0], all[2])
	}
	if all[0] == all[1] && all[1] == all[2] {
		t.Errorf("scores %v do not depend on the pair", all)
	}
	path := filepath.Join(t.TempDir(), "cross.ckpt")
	if err := x.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := LoadCross(path)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := NewCrossScorer(back, v, test.Captions, test.Images, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	again := make([]float32, 4)
	if err := s2.Score([]int{0, 1, 2, 3}, []int{3, 2, 1, 0}, again); err != nil || !slices.Equal(all, again) {
		t.Errorf("after a checkpoint: %v, %v; want %v", again, err, all)
	}
	if _, err := Load(path); err == nil {
		t.Error("a cross checkpoint loads as a dual model")
	}
	for _, bad := range []struct {
		name             string
		captions, images []int
	}{
		{"none", nil, nil},
		{"too many", []int{0, 1, 2, 3, 4}, []int{0, 1, 2, 3, 4}},
		{"lengths differ", []int{0, 1}, []int{0}},
		{"caption outside", []int{len(test.Captions)}, []int{0}},
		{"image outside", []int{0}, []int{-1}},
	} {
		if err := s.Score(bad.captions, bad.images, make([]float32, 5)); err == nil {
			t.Errorf("%s: no error", bad.name)
		}
	}
}
