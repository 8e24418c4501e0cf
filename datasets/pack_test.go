package datasets

import (
	"slices"
	"testing"
)

func TestPackTexts(t *testing.T) {
	v := BuildVocab([]string{"a red cube", "a blue cube"}) // a=3, cube=4, blue=5, red=6
	captions := []string{"a red cube", "cube", "a blue cube a red cube"}
	for _, tc := range []struct {
		name   string
		maxLen int
		ids    []int
		lens   []int
	}{
		{"padded", 5, []int{
			ClsID, 3, 6, 4, PadID,
			ClsID, 4, PadID, PadID, PadID,
			ClsID, 3, 5, 4, 3,
		}, []int{4, 2, 5}},
		{"truncated", 2, []int{ClsID, 3, ClsID, 4, ClsID, 3}, []int{2, 2, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := PackTexts(v, captions, tc.maxLen)
			if b.MaxLen != tc.maxLen || !slices.Equal(b.IDs, tc.ids) || !slices.Equal(b.Lens, tc.lens) {
				t.Errorf("PackTexts = %+v, want IDs %v, Lens %v, MaxLen %d", b, tc.ids, tc.lens, tc.maxLen)
			}
		})
	}
}

func TestPackImages(t *testing.T) {
	images := [][][]float32{
		{{1, 2}},
		{{3, 4}, {5, 6}, {7, 8}},
	}
	for _, tc := range []struct {
		name       string
		maxRegions int
		regions    []float32
		counts     []int
	}{
		{"padded", 3, []float32{1, 2, 0, 0, 0, 0, 3, 4, 5, 6, 7, 8}, []int{1, 3}},
		{"truncated", 2, []float32{1, 2, 0, 0, 3, 4, 5, 6}, []int{1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := PackImages(images, tc.maxRegions, 2)
			if b.MaxRegions != tc.maxRegions || b.Dim != 2 || !slices.Equal(b.Regions, tc.regions) || !slices.Equal(b.Counts, tc.counts) {
				t.Errorf("PackImages = %+v, want Regions %v, Counts %v", b, tc.regions, tc.counts)
			}
		})
	}
}

func TestPackImagesPanics(t *testing.T) {
	for _, tc := range []struct {
		name       string
		images     [][][]float32
		maxRegions int
		dim        int
	}{
		{"zero regions", [][][]float32{{{1}}}, 0, 1},
		{"zero dim", [][][]float32{{{1}}}, 1, 0},
		{"wrong region length", [][][]float32{{{1, 2}}}, 1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			PackImages(tc.images, tc.maxRegions, tc.dim)
		})
	}
}
