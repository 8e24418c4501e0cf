package imagetok_test

import (
	"fmt"
	"image"
	"image/color"
	"log"

	"github.com/inflateshrink/inflateshrink/datasets/imagetok"
)

// A picture with a red left half becomes 16 tokens; the top-left token is
// red and sits at (-0.75, -0.75), the top-right one is white at (0.75, -0.75).
func Example() {
	img := image.NewRGBA(image.Rect(0, 0, 48, 48))
	for y := range 48 {
		for x := range 24 {
			img.Set(x, y, color.RGBA{R: 255, A: 255})
		}
	}
	var s imagetok.Settings // the defaults
	thumb, err := s.Thumbnail(img)
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := s.Tokens(thumb)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(tokens), "tokens of", s.RegionDim(), "values")
	for _, k := range []int{0, 3} {
		t := tokens[k]
		fmt.Printf("token %d: first cell RGB %.0f %.0f %.0f at x %.2f y %.2f\n", k, t[0], t[1], t[2], t[27], t[28])
	}
	// Output:
	// 16 tokens of 29 values
	// token 0: first cell RGB 1 -1 -1 at x -0.75 y -0.75
	// token 3: first cell RGB 1 1 1 at x 0.75 y -0.75
}
