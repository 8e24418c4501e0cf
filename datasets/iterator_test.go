package datasets

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func iteratorSplit(t *testing.T) (*Split, *Vocab) {
	t.Helper()
	d, err := Synthetic(SyntheticSettings{TrainImages: 50, ValImages: 1, TestImages: 1, RegionDim: 4})
	if err != nil {
		t.Fatal(err)
	}
	return &d.Train, BuildVocab(d.Train.Captions)
}

// TestIterator: ByImage visits every image once an epoch, each batch with
// distinct images and a caption of each.
func TestIterator(t *testing.T) {
	s, v := iteratorSplit(t)
	for _, tc := range []struct {
		name      string
		batchSize int
		batches   int
	}{
		{"divides", 10, 5},
		{"drops remainder", 16, 3},
		{"whole split", 50, 1},
		{"single", 1, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it, err := NewIterator(s, v, ByImage, tc.batchSize, 12, 9, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			if it.BatchesPerEpoch() != tc.batches {
				t.Fatalf("BatchesPerEpoch = %d, want %d", it.BatchesPerEpoch(), tc.batches)
			}
			var firstOrder []int
			for epoch := range 3 {
				if it.Epoch() != epoch {
					t.Fatalf("Epoch = %d, want %d", it.Epoch(), epoch)
				}
				seen := make(map[int]bool)
				var order []int
				for range tc.batches {
					b := it.Next()
					batchSeen := make(map[int]bool)
					for k, i := range b.ImageIndex {
						if batchSeen[i] {
							t.Fatalf("epoch %d: image %d twice in a batch", epoch, i)
						}
						batchSeen[i] = true
						if seen[i] {
							t.Fatalf("epoch %d: image %d twice in the epoch", epoch, i)
						}
						seen[i] = true
						order = append(order, i)
						c := b.CaptionIndex[k]
						if s.CaptionImage[c] != i {
							t.Fatalf("row %d: caption %d is of image %d, not %d", k, c, s.CaptionImage[c], i)
						}
						if got, want := b.Text.IDs[k*12:(k+1)*12], PackTexts(v, s.Captions[c:c+1], 12).IDs; !reflect.DeepEqual(got, want) {
							t.Fatalf("row %d: text %v, want %v", k, got, want)
						}
						if got, want := b.Image.Regions[k*9*4:(k+1)*9*4], PackImages(s.Images[i:i+1], 9, 4).Regions; !reflect.DeepEqual(got, want) {
							t.Fatalf("row %d: image rows differ", k)
						}
					}
					if len(b.ImageIndex) != tc.batchSize || b.Text.MaxLen != 12 || b.Image.MaxRegions != 9 || b.Image.Dim != 4 {
						t.Fatalf("batch shape %d rows, MaxLen %d, MaxRegions %d, Dim %d", len(b.ImageIndex), b.Text.MaxLen, b.Image.MaxRegions, b.Image.Dim)
					}
				}
				if len(seen) != tc.batches*tc.batchSize {
					t.Fatalf("epoch %d visited %d images, want %d", epoch, len(seen), tc.batches*tc.batchSize)
				}
				if tc.batchSize == 10 {
					if len(seen) != len(s.Images) {
						t.Fatalf("epoch %d missed images", epoch)
					}
					if reflect.DeepEqual(order, firstOrder) {
						t.Fatalf("epoch %d repeats the order of epoch 0", epoch)
					}
				}
				if epoch == 0 {
					firstOrder = order
				}
			}
		})
	}
}

// TestIteratorByCaption: ByCaption (the default) visits every caption once
// an epoch, each with its own image, in a new order every epoch.
func TestIteratorByCaption(t *testing.T) {
	s, v := iteratorSplit(t)
	it, err := NewIterator(s, v, "", 16, 12, 9, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if want := len(s.Captions) / 16; it.BatchesPerEpoch() != want {
		t.Fatalf("BatchesPerEpoch = %d, want %d (captions / batch)", it.BatchesPerEpoch(), want)
	}
	var orders [2][]int
	for epoch := range 2 {
		seen := map[int]bool{}
		for range it.BatchesPerEpoch() {
			b := it.Next()
			for k, c := range b.CaptionIndex {
				if seen[c] {
					t.Fatalf("epoch %d: caption %d twice", epoch, c)
				}
				seen[c] = true
				if s.CaptionImage[c] != b.ImageIndex[k] {
					t.Fatalf("row %d: caption %d with image %d, not its own %d", k, c, b.ImageIndex[k], s.CaptionImage[c])
				}
				orders[epoch] = append(orders[epoch], c)
			}
		}
		if len(seen) != it.BatchesPerEpoch()*16 || it.Epoch() != epoch+1 {
			t.Fatalf("epoch %d visited %d captions, epoch counter %d", epoch, len(seen), it.Epoch())
		}
	}
	if reflect.DeepEqual(orders[0], orders[1]) {
		t.Error("the second epoch repeats the first one's order")
	}
}

func TestIteratorDeterminism(t *testing.T) {
	s, v := iteratorSplit(t)
	run := func(seed uint64) []Batch {
		it, err := NewIterator(s, v, ByImage, 8, 16, 16, rand.New(rand.NewPCG(seed, 7)))
		if err != nil {
			t.Fatal(err)
		}
		var bs []Batch
		for range 20 {
			bs = append(bs, it.Next())
		}
		return bs
	}
	a := run(1)
	for _, tc := range []struct {
		name  string
		seed  uint64
		equal bool
	}{
		{"same seed", 1, true},
		{"other seed", 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := reflect.DeepEqual(a, run(tc.seed)); got != tc.equal {
				t.Errorf("equal = %v, want %v", got, tc.equal)
			}
		})
	}
}

func TestNewIteratorErrors(t *testing.T) {
	s, v := iteratorSplit(t)
	rng := rand.New(rand.NewPCG(1, 1))
	bad := &Split{Images: [][][]float32{{{1}}, {{1}}}, Captions: []string{"a"}, CaptionImage: []int{0}}
	for _, tc := range []struct {
		name       string
		s          *Split
		v          *Vocab
		batching   Batching
		batchSize  int
		maxLen     int
		maxRegions int
		rng        *rand.Rand
		errHas     string
	}{
		{"nil split", nil, v, ByImage, 4, 8, 8, rng, "nil"},
		{"nil rng", s, v, ByImage, 4, 8, 8, nil, "nil"},
		{"empty split", &Split{}, v, ByImage, 4, 8, 8, rng, "no image"},
		{"batch over the images", s, v, ByImage, 51, 8, 8, rng, "batch size 51 not in [1, 50 images]"},
		{"batch over the captions", s, v, ByCaption, 251, 8, 8, rng, "batch size 251 not in [1, 250 captions]"},
		{"batch zero", s, v, ByCaption, 0, 8, 8, rng, "batch size 0"},
		{"unknown batching", s, v, "pairs", 4, 8, 8, rng, `unknown batching "pairs"`},
		{"maxLen zero", s, v, ByImage, 4, 0, 8, rng, "maxLen 0"},
		{"maxRegions zero", s, v, ByImage, 4, 8, 0, rng, "maxRegions 0"},
		{"invalid split", bad, v, ByImage, 1, 8, 8, rng, "Images[1] has no caption"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewIterator(tc.s, tc.v, tc.batching, tc.batchSize, tc.maxLen, tc.maxRegions, tc.rng)
			if err == nil || !strings.HasPrefix(err.Error(), "datasets: ") || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("error %v, want one containing %q", err, tc.errHas)
			}
		})
	}
}

// TestIteratorReuseBuffers: with ReuseBuffers, Next gives the batches it
// gives without, in two buffers that it alternates between, the padding of
// an image with fewer regions than the buffer's previous one zeroed.
func TestIteratorReuseBuffers(t *testing.T) {
	s := &Split{}
	for i := range 12 {
		img := make([][]float32, 1+i%4) // 1 to 4 regions
		for r := range img {
			img[r] = []float32{float32(i + 1), float32(r + 1)}
		}
		s.Images = append(s.Images, img)
		s.Captions = append(s.Captions, "a caption")
		s.CaptionImage = append(s.CaptionImage, i)
	}
	v := BuildVocab(s.Captions)
	batches := func(reuse bool) (regions [][]float32, buffers []*float32) {
		it, err := NewIterator(s, v, ByImage, 3, 4, 4, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		if reuse {
			it.ReuseBuffers()
		}
		for range 12 {
			b := it.Next()
			regions = append(regions, append([]float32(nil), b.Image.Regions...))
			buffers = append(buffers, &b.Image.Regions[0])
		}
		return regions, buffers
	}
	want, _ := batches(false)
	got, buffers := batches(true)
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("batch %d with reused buffers = %v, want %v", i, got[i], want[i])
		}
		if i >= 2 && buffers[i] != buffers[i-2] {
			t.Errorf("batch %d is in a new buffer, not batch %d's", i, i-2)
		}
	}
	if buffers[0] == buffers[1] {
		t.Error("consecutive batches share one buffer")
	}
}
