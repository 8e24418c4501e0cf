package metrics

import "fmt"

// Folds splits image indices 0..images-1 into k contiguous folds (COCO 1K 5-fold protocol) and
// returns, for each fold, the sub-score matrix and its captionImage restricted to that fold's
// images and their captions (captions are selected by captionImage, re-indexed).
//
// Fold f holds images [f*Images/k, (f+1)*Images/k), so fold sizes differ by at
// most one when k does not divide Images. Captions keep their original order
// within a fold. Errors: those of Evaluate, and k outside [1, Images].
func Folds(s Scores, captionImage []int, k int) ([]Scores, [][]int, error) {
	if err := check(s, captionImage); err != nil {
		return nil, nil, err
	}
	if k < 1 || k > s.Images {
		return nil, nil, fmt.Errorf("metrics: %d folds of %d images, want 1 <= k <= %d", k, s.Images, s.Images)
	}
	folds := make([]Scores, k)
	maps := make([][]int, k)
	for f := range k {
		lo, hi := f*s.Images/k, (f+1)*s.Images/k
		var caps, fm []int
		for c, g := range captionImage {
			if lo <= g && g < hi {
				caps = append(caps, c)
				fm = append(fm, g-lo)
			}
		}
		data := make([]float32, 0, (hi-lo)*len(caps))
		for i := lo; i < hi; i++ {
			row := s.Data[i*s.Captions : (i+1)*s.Captions]
			for _, c := range caps {
				data = append(data, row[c])
			}
		}
		folds[f] = Scores{Images: hi - lo, Captions: len(caps), Data: data}
		maps[f] = fm
	}
	return folds, maps, nil
}
