package emoji

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/datasets/imagetok"
)

// TestStyle is the style the style hold-out tests on.
const TestStyle = "openmoji"

// ValStyles are the styles the style hold-out validates on; like
// TestStyle, they are left out of training. They are the two training
// styles that form a family of their own (noto, emojione and fluent-emoji
// come in two versions each) besides twemoji, the only complete one, which
// stays in training; they are also the two smallest (306 and 404 images).
var ValStyles = []string{"fxemoji", "streamline-emojis"}

// Settings choose a protocol; the zero value is the style hold-out with
// CLDR labels as captions on the whole set.
type Settings struct {
	// Concept holds out 20% of the base emoji (with their skin tones)
	// instead of a style.
	Concept bool
	// Keywords appends the CLDR keywords to each caption.
	Keywords bool
	// Small keeps only the first SmallCaptions base emoji (no skin tone),
	// for smoke tests.
	Small bool
	// Tokens is the tokenisation; the zero value is imagetok's default
	// (16 tokens of 29 values). Its Size must be one of the cache's
	// thumbnail sides (imagetok.ThumbSizes).
	Tokens imagetok.Settings
	// Dir is the cache folder; empty means imagetok.Dir().
	Dir string
}

// SmallCaptions is the number of captions Small keeps.
const SmallCaptions = 200

// Split sizes: the fraction of base emoji the concept hold-out tests on,
// the fraction it validates on, and the most captions validated on in the
// style hold-out (smallVal when Small).
const (
	conceptTest = 0.20
	conceptVal  = 0.05
	styleVal    = 1000
	smallVal    = 100
)

// splitSeed seeds the draws of the splits: they are part of the data set's
// definition, the same for every experiment seed.
const splitSeed = 20211107

// Protocols are the registered data sets with the default tokenisation,
// by name. Each is also registered once per variant of imagetok.Variants
// as "<name>@<variant>" (Names lists them all).
var Protocols = []struct {
	Name     string
	Settings Settings
}{
	{"emoji-style", Settings{}},
	{"emoji-style-small", Settings{Small: true}},
	{"emoji-concept", Settings{Concept: true}},
	{"emoji-style-keywords", Settings{Keywords: true}},
}

// Names lists every name this package registers with datasets.Load: each
// protocol with the default tokenisation, then with each variant.
func Names() map[string]Settings {
	out := map[string]Settings{}
	for _, p := range Protocols {
		out[p.Name] = p.Settings
		for _, t := range imagetok.Variants {
			s := p.Settings
			s.Tokens = t
			out[p.Name+"@"+t.Name()] = s
		}
	}
	return out
}

func init() {
	for name, s := range Names() {
		datasets.Register(name, func() (*datasets.Dataset, error) {
			d, err := Load(s)
			if d != nil {
				d.Name = name
			}
			return d, err
		})
	}
}

// Load reads the cache that Setup built and splits it by s.
func Load(s Settings) (*datasets.Dataset, error) {
	dir := s.Dir
	if dir == "" {
		var err error
		if dir, err = imagetok.Dir(); err != nil {
			return nil, err
		}
	}
	path, cmd := CachePath(dir), SetupCommand
	if s.Small {
		path, cmd = SmallCachePath(dir), SmallSetupCommand+" (or "+SetupCommand+")"
	}
	var c cache
	if err := imagetok.ReadCache(path, cacheKind, cacheVersion, &c, cmd); err != nil {
		return nil, fmt.Errorf("emoji: data set not set up: %w", err)
	}
	return split(&c, s)
}

// split builds the data set; see the package documentation.
func split(c *cache, s Settings) (*datasets.Dataset, error) {
	keep := func(int) bool { return true }
	if s.Small {
		small := smallCaptions(c.Captions)
		keep = func(i int) bool { return small[i] }
	}
	byCaption := map[int][]int{} // caption -> its images (in style order)
	var capIdx []int
	for i, im := range c.Images {
		if !keep(im.Caption) {
			continue
		}
		if byCaption[im.Caption] == nil {
			capIdx = append(capIdx, im.Caption)
		}
		byCaption[im.Caption] = append(byCaption[im.Caption], i)
	}
	sort.Ints(capIdx)
	if len(capIdx) == 0 {
		return nil, errors.New("emoji: the cache holds no image")
	}
	rng := rand.New(rand.NewPCG(splitSeed, 0))
	var train, val, test []pair
	var desc string
	if s.Concept {
		// Hold out base emoji, each with all its skin tones.
		var bases []string
		seen := map[string]bool{}
		for _, ci := range capIdx {
			if b := c.Captions[ci].Base; !seen[b] {
				seen[b] = true
				bases = append(bases, b)
			}
		}
		rng.Shuffle(len(bases), func(i, j int) { bases[i], bases[j] = bases[j], bases[i] })
		nTest := int(conceptTest*float64(len(bases)) + 0.5)
		nVal := int(conceptVal*float64(len(bases)) + 0.5)
		role := map[string]int{} // 0 train, 1 val, 2 test
		for i, b := range bases {
			switch {
			case i < nTest:
				role[b] = 2
			case i < nTest+nVal:
				role[b] = 1
			}
		}
		for _, ci := range capIdx {
			ims := byCaption[ci]
			switch role[c.Captions[ci].Base] {
			case 0:
				for _, im := range ims {
					train = append(train, pair{ci, im})
				}
			case 1:
				val = append(val, pair{ci, ims[rng.IntN(len(ims))]})
			case 2:
				test = append(test, pair{ci, ims[rng.IntN(len(ims))]})
			}
		}
		desc = fmt.Sprintf("concept hold-out: %d of %d base emoji (with their skin tones) held out for test, %d for val; ",
			nTest, len(bases), nVal)
	} else {
		// Validate on ValStyles, which no training image is drawn in: a
		// caption with an image in one of them and one in a training
		// style gets one of the former (drawn at random) into val, up to
		// nVal captions drawn at random; train on every image of the
		// other styles.
		nVal := styleVal
		if s.Small {
			nVal = smallVal
		}
		var valCands []pair
		for _, ci := range capIdx {
			var inVal []int
			trained := false
			for _, im := range byCaption[ci] {
				switch st := c.Images[im].Style; {
				case st == TestStyle:
					test = append(test, pair{ci, im})
				case slices.Contains(ValStyles, st):
					inVal = append(inVal, im)
				default:
					train = append(train, pair{ci, im})
					trained = true
				}
			}
			if len(inVal) > 0 && trained {
				valCands = append(valCands, pair{ci, inVal[rng.IntN(len(inVal))]})
			}
		}
		keep := rng.Perm(len(valCands))[:min(nVal, len(valCands))]
		sort.Ints(keep)
		for _, k := range keep {
			val = append(val, valCands[k])
		}
		desc = fmt.Sprintf("style hold-out: test on %s, val on %s, train on the other styles; ", TestStyle, strings.Join(ValStyles, " and "))
	}
	d := &datasets.Dataset{RegionDim: s.Tokens.RegionDim()}
	var err error
	if d.Train, err = c.makeSplit(train, s); err != nil {
		return nil, err
	}
	if d.Val, err = c.makeSplit(val, s); err != nil {
		return nil, err
	}
	if d.Test, err = c.makeSplit(test, s); err != nil {
		return nil, err
	}
	for _, p := range test {
		d.Test.Pictures = append(d.Test.Pictures, imagetok.Picture(c.Sizes, c.Images[p.image].Thumbs))
	}
	caption := "CLDR label"
	if s.Keywords {
		caption += " + keywords"
	}
	d.Protocol = fmt.Sprintf("%strain %d img/%d captions (%s), val %d img, test %d img/%d captions, 1 caption per image; caption = %s; image = %s; rendered by %s",
		desc, len(d.Train.Images), distinct(train), stylesOf(c, train), len(d.Val.Images), len(d.Test.Images), distinct(test), caption, imagetok.Describe(s.Tokens), c.Rasteriser)
	return d, nil
}

// pair is a caption and one of its images (indices into the cache).
type pair struct{ caption, image int }

func distinct(ps []pair) int {
	m := map[int]bool{}
	for _, p := range ps {
		m[p.caption] = true
	}
	return len(m)
}

func stylesOf(c *cache, ps []pair) string {
	m := map[string]bool{}
	for _, p := range ps {
		m[c.Images[p.image].Style] = true
	}
	return fmt.Sprintf("%d styles", len(m))
}

// makeSplit turns pairs into a Split (image k with caption k), tokenised
// and captioned as set says.
func (c *cache) makeSplit(ps []pair, set Settings) (datasets.Split, error) {
	keywords := set.Keywords
	var s datasets.Split
	for k, p := range ps {
		tok, err := set.Tokens.TokensOf(c.Sizes, c.Images[p.image].Thumbs)
		if err != nil {
			return s, fmt.Errorf("emoji: image %d (%s:%s): %w", p.image, c.Images[p.image].Style, c.Images[p.image].Icon, err)
		}
		cp := c.Captions[p.caption]
		text := cp.Label
		if keywords && len(cp.Tags) > 0 {
			text += " " + strings.Join(cp.Tags, " ")
		}
		s.Images = append(s.Images, tok)
		s.Captions = append(s.Captions, text)
		s.CaptionImage = append(s.CaptionImage, k)
	}
	return s, nil
}
