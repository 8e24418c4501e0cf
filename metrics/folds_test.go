package metrics

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// labelled returns an images x captions matrix with score(i, c) = 10*i + c,
// so that every extracted value tells where it came from.
func labelled(images, captions int) Scores {
	s := Scores{Images: images, Captions: captions, Data: make([]float32, images*captions)}
	for i := range images {
		for c := range captions {
			s.Data[i*captions+c] = float32(10*i + c)
		}
	}
	return s
}

func TestFolds(t *testing.T) {
	for _, test := range []struct {
		name         string
		s            Scores
		captionImage []int
		k            int
		wantScores   []Scores
		wantMaps     [][]int
	}{
		{
			// Fold 0 holds images 0, 1 and their captions 1 (image 0) and 3
			// (image 1); fold 1 holds images 2, 3 and captions 0 (image 3) and
			// 2 (image 2), kept in caption order.
			name:         "shuffled captions",
			s:            labelled(4, 4),
			captionImage: []int{3, 0, 2, 1},
			k:            2,
			wantScores: []Scores{
				{Images: 2, Captions: 2, Data: []float32{1, 3, 11, 13}},
				{Images: 2, Captions: 2, Data: []float32{20, 22, 30, 32}},
			},
			wantMaps: [][]int{{0, 1}, {1, 0}},
		},
		{
			// 5 images in 2 folds: images [0, 2) and [2, 5).
			name:         "uneven",
			s:            labelled(5, 5),
			captionImage: identity(5),
			k:            2,
			wantScores: []Scores{
				{Images: 2, Captions: 2, Data: []float32{0, 1, 10, 11}},
				{Images: 3, Captions: 3, Data: []float32{22, 23, 24, 32, 33, 34, 42, 43, 44}},
			},
			wantMaps: [][]int{{0, 1}, {0, 1, 2}},
		},
		{
			name:         "one fold",
			s:            labelled(2, 3),
			captionImage: []int{1, 0, 1},
			k:            1,
			wantScores:   []Scores{{Images: 2, Captions: 3, Data: []float32{0, 1, 2, 10, 11, 12}}},
			wantMaps:     [][]int{{1, 0, 1}},
		},
		{
			name:         "one image per fold",
			s:            labelled(3, 4),
			captionImage: []int{2, 0, 1, 0},
			k:            3,
			wantScores: []Scores{
				{Images: 1, Captions: 2, Data: []float32{1, 3}},
				{Images: 1, Captions: 1, Data: []float32{12}},
				{Images: 1, Captions: 1, Data: []float32{20}},
			},
			wantMaps: [][]int{{0, 0}, {0}, {0}},
		},
	} {
		t.Run(test.name, func(t *testing.T) {
			scores, maps, err := Folds(test.s, test.captionImage, test.k)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(scores, test.wantScores) {
				t.Errorf("scores\ngot  %v\nwant %v", scores, test.wantScores)
			}
			if !reflect.DeepEqual(maps, test.wantMaps) {
				t.Errorf("captionImage\ngot  %v\nwant %v", maps, test.wantMaps)
			}
		})
	}
}

func TestFoldsOfPerfectArePerfect(t *testing.T) {
	// 10 images x 20 captions, caption c describing image c%10 (so a fold's
	// captions are scattered), scored 1 for a correct pair and 0 otherwise.
	// Each of the 5 folds has 2 images and 4 captions and must score 600.
	const images, captions, k = 10, 20, 5
	s := Scores{Images: images, Captions: captions, Data: make([]float32, images*captions)}
	captionImage := make([]int, captions)
	for c := range captionImage {
		captionImage[c] = c % images
		s.Data[captionImage[c]*captions+c] = 1
	}
	scores, maps, err := Folds(s, captionImage, k)
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != k || len(maps) != k {
		t.Fatalf("got %d folds and %d maps, want %d", len(scores), len(maps), k)
	}
	rs := make([]Retrieval, k)
	for f := range scores {
		if scores[f].Images != 2 || scores[f].Captions != 4 || len(scores[f].Data) != 8 {
			t.Errorf("fold %d is %d x %d with %d scores, want 2 x 4 with 8",
				f, scores[f].Images, scores[f].Captions, len(scores[f].Data))
		}
		rs[f], err = Evaluate(scores[f], maps[f])
		if err != nil {
			t.Fatalf("fold %d: %v", f, err)
		}
		if rs[f].RSum != 600 || rs[f].I2TMeanRank != 1 || rs[f].T2IMeanRank != 1 {
			t.Errorf("fold %d: %+v, want perfect", f, rs[f])
		}
	}
	if m := Mean(rs); m.RSum != 600 {
		t.Errorf("mean over folds: rSum %v, want 600", m.RSum)
	}
}

func TestFoldsErrors(t *testing.T) {
	good := labelled(4, 4)
	for _, test := range []struct {
		name         string
		s            Scores
		captionImage []int
		k            int
		want         string
	}{
		{name: "zero folds", s: good, captionImage: identity(4), k: 0, want: "0 folds of 4 images"},
		{name: "negative folds", s: good, captionImage: identity(4), k: -1, want: "-1 folds of 4 images"},
		{name: "more folds than images", s: good, captionImage: identity(4), k: 5, want: "5 folds of 4 images"},
		{name: "shape mismatch", s: Scores{Images: 4, Captions: 4, Data: good.Data[:15]}, captionImage: identity(4), k: 2, want: "len(Data) = 15"},
		{name: "short captionImage", s: good, captionImage: identity(3), k: 2, want: "len(captionImage) = 3"},
		{name: "image out of range", s: good, captionImage: []int{0, 1, 2, 4}, k: 2, want: "captionImage[3] = 4"},
		{name: "image without caption", s: good, captionImage: []int{0, 1, 2, 2}, k: 2, want: "image 3 has no caption"},
		{name: "NaN", s: Scores{Images: 1, Captions: 1, Data: []float32{float32(math.NaN())}}, captionImage: []int{0}, k: 1, want: "score(image 0, caption 0)"},
	} {
		t.Run(test.name, func(t *testing.T) {
			_, _, err := Folds(test.s, test.captionImage, test.k)
			if err == nil {
				t.Fatal("expected an error")
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "metrics: ") || !strings.Contains(msg, test.want) {
				t.Errorf("error %q, want prefix %q and %q", msg, "metrics: ", test.want)
			}
		})
	}
}
