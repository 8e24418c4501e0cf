package datasets

import (
	"cmp"
	"fmt"
	"image"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Dataset is a retrieval data set split three ways.
type Dataset struct {
	Name      string // "synthetic"
	Protocol  string // how Test is built, e.g. "1000img-5cap"
	RegionDim int    // length of every region vector
	// TestFolds > 1 asks for the test split to be evaluated also as the
	// mean over that many consecutive folds of its images and their
	// captions (COCO's 1K protocol: 5 folds of the 5K test images).
	TestFolds int

	Train, Val, Test Split
}

// Split holds images (sets of region vectors) and the captions that describe them.
type Split struct {
	Images       [][][]float32 // Images[i][r] is region r of image i (len RegionDim); region counts vary
	Captions     []string
	CaptionImage []int // CaptionImage[c]: index into Images of the image caption c describes
	// Pictures, when not nil, shows each image as a person sees it:
	// Pictures[i] is Images[i]'s thumbnail. Real image sets fill it for
	// their Test split (what search results and drill-downs show);
	// synthetic images have no pixels.
	Pictures []Picture
	// ValuesChecked is set by a loader that has checked every region
	// value is finite (package scan does while it streams its files), so
	// that Validate does not read them all again: through a memory
	// mapping that would make every page of the features resident.
	ValuesChecked bool
}

// Picture is a square RGB thumbnail: Side x Side pixels, row by row, 3
// bytes a pixel.
type Picture struct {
	Side int
	RGB  []uint8
}

// Image returns p as an image, or an error when RGB does not hold Side x
// Side pixels.
func (p Picture) Image() (*image.RGBA, error) {
	if p.Side <= 0 || len(p.RGB) != 3*p.Side*p.Side {
		return nil, fmt.Errorf("datasets: picture of side %d holds %d bytes, want %d", p.Side, len(p.RGB), 3*p.Side*p.Side)
	}
	img := image.NewRGBA(image.Rect(0, 0, p.Side, p.Side))
	for i := 0; i < p.Side*p.Side; i++ {
		copy(img.Pix[4*i:4*i+3], p.RGB[3*i:3*i+3])
		img.Pix[4*i+3] = 0xff
	}
	return img, nil
}

// Validate checks that every region of every image has length regionDim and
// finite values, that every image has at least one region and one caption
// (recall is undefined for an image nothing describes), and that Captions and
// CaptionImage agree in length and point at existing images. The error names
// the field and index at fault.
func (s *Split) Validate(regionDim int) error {
	if regionDim < 1 {
		return fmt.Errorf("datasets: region dimension %d < 1", regionDim)
	}
	if len(s.CaptionImage) != len(s.Captions) {
		return fmt.Errorf("datasets: len(CaptionImage) = %d, len(Captions) = %d", len(s.CaptionImage), len(s.Captions))
	}
	for i, img := range s.Images {
		if len(img) == 0 {
			return fmt.Errorf("datasets: Images[%d] has no region", i)
		}
		for r, reg := range img {
			if len(reg) != regionDim {
				return fmt.Errorf("datasets: len(Images[%d][%d]) = %d, want %d", i, r, len(reg), regionDim)
			}
			if s.ValuesChecked {
				continue // reading even one value a region would touch its page
			}
			for k, v := range reg {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return fmt.Errorf("datasets: Images[%d][%d][%d] = %v is not finite", i, r, k, v)
				}
			}
		}
	}
	described := make([]bool, len(s.Images))
	for c, i := range s.CaptionImage {
		if i < 0 || i >= len(s.Images) {
			return fmt.Errorf("datasets: CaptionImage[%d] = %d out of range [0, %d)", c, i, len(s.Images))
		}
		described[i] = true
	}
	for i, ok := range described {
		if !ok {
			return fmt.Errorf("datasets: Images[%d] has no caption", i)
		}
	}
	return nil
}

// MaxRegions returns the largest region count of any image (0 for no image).
func (s *Split) MaxRegions() int {
	m := 0
	for _, img := range s.Images {
		m = max(m, len(img))
	}
	return m
}

// Validate validates the three splits against d.RegionDim; the error names
// the data set and split.
func (d *Dataset) Validate() error {
	for _, sp := range []struct {
		name string
		s    *Split
	}{{"Train", &d.Train}, {"Val", &d.Val}, {"Test", &d.Test}} {
		if err := sp.s.Validate(d.RegionDim); err != nil {
			return fmt.Errorf("%s %s: %w", d.Name, sp.name, err)
		}
	}
	return nil
}

// loaders maps each known data set name to its constructor.
var loaders = map[string]func() (*Dataset, error){
	"synthetic": func() (*Dataset, error) { return Synthetic(SyntheticSettings{}) },
	// For tests and smoke runs that must take seconds: a tenth of the
	// default's images, at the easier setting of the earlier default (4 to 8
	// objects, noise 0.1, half the images twins), where small models learn
	// within an epoch or two.
	"synthetic-small": func() (*Dataset, error) {
		d, err := Synthetic(SyntheticSettings{TrainImages: 320, ValImages: 40, TestImages: 100,
			MinObjects: 4, MaxObjects: 8, Noise: 0.1, HardNegativeFraction: 0.5})
		if d != nil {
			d.Name = "synthetic-small"
		}
		return d, err
	},
}

// Register makes a data set loadable by name. Packages of real data sets
// call it from init, so that importing them (as the framework does) is
// enough. Registering a name twice panics: it is a programming error.
func Register(name string, load func() (*Dataset, error)) {
	if _, dup := loaders[name]; dup {
		panic("datasets: Register called twice for " + name)
	}
	loaders[name] = load
}

// Load returns a data set by name: "synthetic" (Synthetic with default
// settings), "synthetic-small" (320 training and 100 test images of an
// easier setting, for tests), a
// synthetic variant "synthetic:key=value,..." (see ParseSynthetic), or one
// a package registered; an unknown name gives an error listing the known
// names.
func Load(name string) (*Dataset, error) {
	if spec, ok := strings.CutPrefix(name, syntheticPrefix); ok {
		s, err := ParseSynthetic(spec)
		if err != nil {
			return nil, err
		}
		d, err := Synthetic(s)
		if d != nil {
			d.Name = name
		}
		return d, err
	}
	load, ok := loaders[name]
	if !ok {
		return nil, fmt.Errorf("datasets: unknown data set %q (known: %s, or %s<settings>)", name, strings.Join(Names(), ", "), syntheticPrefix)
	}
	return load()
}

// Check reports whether Load knows name, without loading it: a registered
// name or a synthetic variant whose settings parse.
func Check(name string) error {
	if spec, ok := strings.CutPrefix(name, syntheticPrefix); ok {
		s, err := ParseSynthetic(spec)
		if err == nil {
			_, err = s.withDefaults()
		}
		return err
	}
	if _, ok := loaders[name]; !ok {
		return fmt.Errorf("datasets: unknown data set %q (known: %s, or %s<settings>)", name, strings.Join(Names(), ", "), syntheticPrefix)
	}
	return nil
}

// syntheticPrefix starts the name of a synthetic variant.
const syntheticPrefix = "synthetic:"

// ParseSynthetic reads the settings of a synthetic variant's name,
// "synthetic:" followed by comma-separated key=value pairs over the
// default settings: objects=MIN-MAX (objects, hence regions, per image),
// noise=SD (Noise), twins=F (HardNegativeFraction), train=N, val=N and
// test=N (image counts), dim=N (RegionDim), seed=N (the data's own seed).
// "synthetic:objects=8-16,noise=0.3" is the default set with 8 to 16
// objects per image and three times the noise.
func ParseSynthetic(spec string) (SyntheticSettings, error) {
	var s SyntheticSettings
	if spec == "" {
		return s, fmt.Errorf("datasets: %q names no settings (want key=value,...)", syntheticPrefix)
	}
	ints := map[string]*int{"train": &s.TrainImages, "val": &s.ValImages, "test": &s.TestImages, "dim": &s.RegionDim}
	floats := map[string]*float64{"noise": &s.Noise, "twins": &s.HardNegativeFraction}
	for _, kv := range strings.Split(spec, ",") {
		key, value, ok := strings.Cut(kv, "=")
		bad := func(want string) error {
			return fmt.Errorf("datasets: synthetic setting %q: want %s", kv, want)
		}
		switch {
		case !ok:
			return s, bad("key=value")
		case ints[key] != nil:
			n, err := strconv.Atoi(value)
			if err != nil || n <= 0 {
				return s, bad("a positive integer")
			}
			*ints[key] = n
		case floats[key] != nil:
			f, err := strconv.ParseFloat(value, 64)
			if err != nil || f < 0 || math.IsInf(f, 0) {
				return s, bad("a number >= 0")
			}
			// 0 would mean "the default" to Synthetic; a negative value is
			// its way of saying none.
			*floats[key] = cmp.Or(f, -1)
		case key == "objects":
			lo, hi, ok := strings.Cut(value, "-")
			a, err1 := strconv.Atoi(lo)
			b, err2 := strconv.Atoi(hi)
			if !ok || err1 != nil || err2 != nil {
				return s, bad("objects=MIN-MAX")
			}
			s.MinObjects, s.MaxObjects = a, b
		case key == "seed":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n == 0 {
				return s, bad("a non-zero integer")
			}
			s.Seed = n
		default:
			return s, fmt.Errorf("datasets: unknown synthetic setting %q (known: objects, noise, twins, train, val, test, dim, seed)", key)
		}
	}
	return s, nil
}

// Names returns the registered names Load accepts, sorted (synthetic
// variants aside).
func Names() []string {
	names := make([]string, 0, len(loaders))
	for n := range loaders {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
