package emoji

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/datasets/imagetok"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixtureJoin(t *testing.T) ([]Caption, []Match) {
	t.Helper()
	captions, err := ParseCaptions(read(t, "data.json"))
	if err != nil {
		t.Fatal(err)
	}
	short := map[string][]string{}
	if err := ParseShortcodes(read(t, "shortcodes.json"), short); err != nil {
		t.Fatal(err)
	}
	a, err := ParseStyle(read(t, "a_icons.json"), read(t, "a_chars.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseStyle(read(t, "b_icons.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The style order must not matter.
	m := Join(captions, []*Style{a, b}, short)
	if m2 := Join(captions, []*Style{b, a}, short); !reflect.DeepEqual(m, m2) {
		t.Errorf("Join depends on the order of the styles")
	}
	return captions, m
}

func TestParseCaptions(t *testing.T) {
	captions, _ := fixtureJoin(t)
	var got []string
	for _, c := range captions {
		got = append(got, fmt.Sprintf("%s %s %d", c.Hex, c.Base, c.Tone))
	}
	want := []string{
		"1F600 1F600 0",
		"1F44B 1F44B 0",
		"1F44B-1F3FB 1F44B 1",
		"1F44B-1F3FF 1F44B 5",
		"1FAF1-1F3FB-200D-1FAF2-1F3FF 1FAF1-1F3FB-200D-1FAF2-1F3FF 0",
		"2764 2764 0", // FE0F dropped
		"1F55B 1F55B 0",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("captions:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !reflect.DeepEqual(captions[2].Tags, []string{"hand", "wave"}) {
		t.Errorf("a skin tone without tags has %v, want its base's", captions[2].Tags)
	}
}

func TestJoin(t *testing.T) {
	_, matches := fixtureJoin(t)
	var got []string
	for _, m := range matches {
		got = append(got, fmt.Sprintf("%d %s %s", m.Caption, m.Style, m.Icon))
	}
	want := []string{
		"0 a grinning-face", // chars.json, upper-cased
		"0 b grinning",      // shortcode slug
		"1 a waving-hand",   // label slug
		"2 a waving-hand-light-skin-tone",
		"3 b waving-hand-dark", // base slug + tone name
		"5 a heart-red",        // chars.json (FE0F dropped) to an alias, resolved
		"6 b twelve-o-clock",   // slug of a label with an apostrophe
		// b's red-heart is a flipped alias: no match for caption 5 in b.
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("matches:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(matches[5].SVG, `viewBox="0 0 20 20"`) || !strings.Contains(matches[0].SVG, `viewBox="0 0 10 10"`) {
		t.Errorf("viewBoxes: %s ... %s", matches[5].SVG[:120], matches[0].SVG[:120])
	}
}

func TestJoinExactFirst(t *testing.T) {
	// Caption 0's label slug names the icon chars.json gives caption 1:
	// the exact entry wins and caption 0 falls back to its shortcode.
	captions := []Caption{
		{Hex: "1", Base: "1", Label: "star"},
		{Hex: "2", Base: "2", Label: "glowing star"},
	}
	s, err := ParseStyle([]byte(`{"prefix":"s","icons":{"star":{"body":"x"},"star-2":{"body":"y"}}}`), []byte(`{"2":"star"}`))
	if err != nil {
		t.Fatal(err)
	}
	m := Join(captions, []*Style{s}, map[string][]string{"1": {"star_2"}})
	if len(m) != 2 || m[0].Icon != "star-2" || m[1].Icon != "star" {
		t.Errorf("got %+v, want caption 0 -> star-2, caption 1 -> star", m)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"data.json not JSON", func() error { _, err := ParseCaptions([]byte("{")); return err }(), "en/data.json"},
		{"duplicate hexcode", func() error {
			_, err := ParseCaptions([]byte(`[{"label":"a","hexcode":"1F600"},{"label":"b","hexcode":"1f600-fe0f"}]`))
			return err
		}(), "hexcode 1F600 twice"},
		{"no label", func() error { _, err := ParseCaptions([]byte(`[{"hexcode":"1F600"}]`)); return err }(), "no label"},
		{"icons without prefix", func() error { _, err := ParseStyle([]byte(`{"icons":{}}`), nil); return err }(), "no prefix"},
		{"bad chars.json", func() error {
			_, err := ParseStyle([]byte(`{"prefix":"p","icons":{"a":{"body":""}}}`), []byte("[1]"))
			return err
		}(), "p chars.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", tc.err, tc.want)
			}
		})
	}
}

// tiny tokenises fakeCache's 4-pixel thumbnails.
var tiny = imagetok.Settings{Size: 4, Grid: 2, Cell: 1}

// fakeCache is a cache of nBase base emoji, each with two skin tones, in
// every style of styles (a 4 x 4 thumbnail whose first two bytes say which
// image it is, so leaks are traceable; splits read it with tiny).
func fakeCache(nBase int, styles []string) *cache {
	c := &cache{Sizes: []int{4}}
	for b := range nBase {
		base := fmt.Sprintf("B%03d", b)
		c.Captions = append(c.Captions, Caption{Hex: base, Base: base, Label: fmt.Sprintf("emoji %d", b)})
		for tone := 1; tone <= 2; tone++ {
			c.Captions = append(c.Captions, Caption{Hex: fmt.Sprintf("%s-%d", base, tone), Base: base,
				Label: fmt.Sprintf("emoji %d: tone %d", b, tone), Tone: tone})
		}
	}
	for ci := range c.Captions {
		for _, s := range styles {
			th := make([]uint8, 3*4*4)
			th[0], th[1] = uint8(len(c.Images)%256), uint8(len(c.Images)/256)
			c.Images = append(c.Images, Image{Caption: ci, Style: s, Icon: fmt.Sprint(ci), Thumbs: [][]uint8{th}})
		}
	}
	return c
}

func TestSplitStyleHoldOut(t *testing.T) {
	c := fakeCache(50, []string{"noto", TestStyle, "twemoji", ValStyles[0], ValStyles[1]})
	d, err := split(c, Settings{Tokens: tiny})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	// Test: one openmoji image per caption, every caption; val: one image
	// of a validation style per caption (150 < styleVal).
	if len(d.Test.Images) != len(c.Captions) || len(d.Test.Captions) != len(c.Captions) || len(d.Val.Captions) != len(c.Captions) {
		t.Errorf("test has %d images, %d captions, val %d captions; want %d each", len(d.Test.Images), len(d.Test.Captions), len(d.Val.Captions), len(c.Captions))
	}
	// Every split holds its own styles' images (compared by content).
	styleOf := map[string]string{}
	for _, im := range c.Images {
		tok, _ := tiny.Tokens(im.Thumbs[0])
		styleOf[fmt.Sprint(tok)] = im.Style
	}
	for _, tc := range []struct {
		name   string
		split  *datasets.Split
		styles []string
	}{
		{"train", &d.Train, []string{"noto", "twemoji"}},
		{"val", &d.Val, ValStyles},
		{"test", &d.Test, []string{TestStyle}},
	} {
		for i, im := range tc.split.Images {
			if s := styleOf[fmt.Sprint(im)]; !slices.Contains(tc.styles, s) {
				t.Fatalf("%s image %d is of style %q, want one of %v", tc.name, i, s, tc.styles)
			}
		}
	}
	// Train holds every image of the training styles.
	if got, want := len(d.Train.Images), 2*len(c.Captions); got != want {
		t.Errorf("train has %d images, want %d", got, want)
	}
	// Deterministic.
	d2, _ := split(c, Settings{Tokens: tiny})
	if !reflect.DeepEqual(d, d2) {
		t.Error("two splits of the same cache differ")
	}
}

func TestSplitConceptHoldOut(t *testing.T) {
	c := fakeCache(100, []string{"noto", TestStyle, "twemoji"})
	d, err := split(c, Settings{Concept: true, Keywords: true, Tokens: tiny})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	baseOf := func(caption string) string { b, _, _ := strings.Cut(caption, ":"); return b }
	train := map[string]bool{}
	for _, cp := range d.Train.Captions {
		train[baseOf(cp)] = true
	}
	held := map[string]bool{}
	for _, sp := range []*datasets.Split{&d.Test, &d.Val} {
		for _, cp := range sp.Captions {
			if train[baseOf(cp)] {
				t.Fatalf("held-out caption %q shares its base emoji with a training caption", cp)
			}
			held[baseOf(cp)] = true
		}
	}
	// 20 of 100 base emoji tested, 5 validated; all three captions of each.
	if len(d.Test.Captions) != 3*20 || len(d.Val.Captions) != 3*5 || len(held) != 25 {
		t.Errorf("test %d captions, val %d, %d bases held out; want 60, 15, 25", len(d.Test.Captions), len(d.Val.Captions), len(held))
	}
	if len(d.Train.Images) != 3*3*75 {
		t.Errorf("train %d images, want every style of 75 bases' 3 captions = 675", len(d.Train.Images))
	}
	d2, _ := split(c, Settings{Concept: true, Keywords: true, Tokens: tiny})
	if !reflect.DeepEqual(d, d2) {
		t.Error("two splits of the same cache differ")
	}
}

func TestSplitSmall(t *testing.T) {
	c := fakeCache(SmallCaptions+10, []string{"noto", TestStyle, ValStyles[0]})
	d, err := split(c, Settings{Small: true, Tokens: tiny})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Test.Captions) != SmallCaptions {
		t.Errorf("%d test captions, want %d", len(d.Test.Captions), SmallCaptions)
	}
	for _, cp := range append(d.Train.Captions, d.Test.Captions...) {
		if strings.Contains(cp, "tone") {
			t.Fatalf("small set holds skin tone %q", cp)
		}
	}
}

func TestLoadNotSetUp(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(Settings{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), CachePath(dir)) || !strings.Contains(err.Error(), SetupCommand) {
		t.Errorf("error %v, want one naming %s and %q", err, CachePath(dir), SetupCommand)
	}
}

// needCache skips t unless the cache file that path names in the data
// folder exists (setup is the command that builds it).
func needCache(t *testing.T, path func(dir string) string, setup string) {
	t.Helper()
	dir, err := imagetok.Dir()
	if err != nil {
		t.Skip(err)
	}
	if _, err := os.Stat(path(dir)); err != nil {
		t.Skipf("no cache at %s (%s)", path(dir), setup)
	}
}

// TestRealCache checks the set-up caches that there are: the full one
// (go run ./datasets/setup emoji) and the small one, which CI sets up
// before the tests, under both protocols.
func TestRealCache(t *testing.T) {
	for _, tc := range []struct {
		name              string
		path              func(string) string
		setup             string
		small             bool
		minTrain, minTest int
	}{
		{"full", CachePath, SetupCommand, false, 10000, 500},
		{"small", SmallCachePath, SmallSetupCommand, true, 1000, 40}, // the concept hold-out tests 40 emoji
	} {
		t.Run(tc.name, func(t *testing.T) {
			needCache(t, tc.path, tc.setup)
			for _, s := range []Settings{{Small: tc.small}, {Small: tc.small, Concept: true}} {
				d, err := Load(s)
				if err != nil {
					t.Fatal(err)
				}
				if err := d.Validate(); err != nil {
					t.Fatal(err)
				}
				if len(d.Test.Images) < tc.minTest || len(d.Train.Images) < tc.minTrain {
					t.Errorf("%s: %d train, %d test images", d.Protocol, len(d.Train.Images), len(d.Test.Images))
				}
				t.Log(d.Protocol)
			}
		})
	}
}

// dropStyle removes the images of style from the captions for which keep
// is false.
func dropStyle(c *cache, style string, keep func(caption int) bool) {
	kept := c.Images[:0]
	for _, im := range c.Images {
		if im.Style != style || keep(im.Caption) {
			kept = append(kept, im)
		}
	}
	c.Images = kept
}

func TestValSplits(t *testing.T) {
	// With drop, the base emoji b with b%3 == 0 (and their skin tones)
	// have no training image, so they cannot be validated on, and those
	// with b%4 == 1 have no image in a validation style: of n base emoji,
	// about half remain (1,197 captions of 800 bases, 297 of 200, 99 of
	// the 200 base captions of the small set).
	for _, tc := range []struct {
		name    string
		nBase   int
		s       Settings
		drop    bool
		wantVal int
	}{
		{"style", 800, Settings{}, true, styleVal},
		{"style, keywords", 800, Settings{Keywords: true}, true, styleVal},
		{"style, fewer captions than asked", 200, Settings{}, true, 297},
		{"small", SmallCaptions, Settings{Small: true}, false, smallVal},
		{"small, fewer captions than asked", SmallCaptions, Settings{Small: true}, true, 99},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fakeCache(tc.nBase, []string{"noto", TestStyle, ValStyles[0], ValStyles[1]})
			if tc.drop {
				dropStyle(c, "noto", func(ci int) bool { return ci/3%3 != 0 })
				for _, st := range ValStyles {
					dropStyle(c, st, func(ci int) bool { return ci/3%4 != 1 })
				}
			}
			tc.s.Tokens = tiny
			d, err := split(c, tc.s)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Validate(); err != nil {
				t.Fatal(err)
			}
			if len(d.Val.Captions) != tc.wantVal {
				t.Errorf("%d val captions, want %d", len(d.Val.Captions), tc.wantVal)
			}
			train := map[string]int{}
			for _, cp := range d.Train.Captions {
				train[cp]++
			}
			imagesOf := func(sp *datasets.Split) map[string]bool {
				m := map[string]bool{}
				for _, im := range sp.Images {
					m[fmt.Sprint(im)] = true
				}
				return m
			}
			trainImages, testImages := imagesOf(&d.Train), imagesOf(&d.Test)
			seen := map[string]bool{}
			for k, cp := range d.Val.Captions {
				if train[cp] == 0 {
					t.Errorf("val caption %q has no training image", cp)
				}
				if seen[cp] {
					t.Errorf("val caption %q twice", cp)
				}
				seen[cp] = true
				if im := fmt.Sprint(d.Val.Images[k]); trainImages[im] || testImages[im] {
					t.Errorf("val image %d (%q) is also a training or test image", k, cp)
				}
			}
			for im := range testImages {
				if trainImages[im] {
					t.Fatalf("a test image is also a training image")
				}
			}
			// Test keeps every caption's test-style image.
			if want := min(len(c.Captions), tc.nBase); tc.s.Small && len(d.Test.Captions) != want || !tc.s.Small && len(d.Test.Captions) != len(c.Captions) {
				t.Errorf("%d test captions", len(d.Test.Captions))
			}
		})
	}
}

func TestSplitTokens(t *testing.T) {
	// One pixel a token: 16 tokens of 5 values from the 4-pixel thumbnails.
	c := fakeCache(5, []string{"noto", TestStyle})
	d, err := split(c, Settings{Tokens: imagetok.Settings{Size: 4, Grid: 4, Cell: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.RegionDim != 5 || d.Test.MaxRegions() != 16 || !strings.Contains(d.Protocol, "16 tokens of 5 values (s4g4c1") {
		t.Errorf("RegionDim %d, %d regions, protocol %q; want 5, 16, naming s4g4c1", d.RegionDim, d.Test.MaxRegions(), d.Protocol)
	}
	if _, err := split(c, Settings{}); err == nil || !strings.Contains(err.Error(), "needs 24-pixel thumbnails") {
		t.Errorf("error %v for a tokenisation the cache cannot make", err)
	}
}

func TestRegistered(t *testing.T) {
	names := datasets.Names()
	want := map[string]imagetok.Settings{}
	for _, p := range Protocols {
		want[p.Name] = imagetok.Settings{}
		for _, v := range imagetok.Variants {
			want[p.Name+"@"+v.Name()] = v
		}
	}
	got := Names()
	if len(got) != len(want) {
		t.Errorf("Names has %d entries, want %d", len(got), len(want))
	}
	for name, tokens := range want {
		if !slices.Contains(names, name) {
			t.Errorf("%s is not registered", name)
		}
		if got[name].Tokens != tokens {
			t.Errorf("%s tokenises with %+v, want %+v", name, got[name].Tokens, tokens)
		}
	}
	for _, name := range []string{"emoji-style-small@s24g8c3", "emoji-concept@s48g8c6"} {
		if s := got[name]; s.Small != (name == "emoji-style-small@s24g8c3") || s.Concept != (name == "emoji-concept@s48g8c6") {
			t.Errorf("%s has protocol settings %+v", name, s)
		}
	}
	// A registered variant loads from the cache its protocol names.
	t.Setenv(imagetok.EnvDir, t.TempDir())
	if _, err := datasets.Load("emoji-style-small@s24g8c3"); err == nil || !strings.Contains(err.Error(), SmallSetupCommand) {
		t.Errorf("loading a variant from an empty folder: error %v, want one saying %q", err, SmallSetupCommand)
	}
}

// TestRealCacheVariants loads the small set, when it is set up, with every
// tokenisation: the same splits, each with its own tokens.
func TestRealCacheVariants(t *testing.T) {
	needCache(t, SmallCachePath, SmallSetupCommand)
	def, err := Load(Settings{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	// 97 of the 200 emoji are drawn in a validation style.
	if len(def.Val.Captions) != 97 || len(def.Test.Captions) != SmallCaptions {
		t.Errorf("val %d, test %d captions; want 97, %d", len(def.Val.Captions), len(def.Test.Captions), SmallCaptions)
	}
	for _, v := range imagetok.Variants {
		d, err := Load(Settings{Small: true, Tokens: v})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		if d.RegionDim != v.RegionDim() || d.Train.MaxRegions() != v.NumTokens() ||
			!slices.Equal(d.Train.Captions, def.Train.Captions) || !slices.Equal(d.Val.Captions, def.Val.Captions) || !slices.Equal(d.Test.Captions, def.Test.Captions) {
			t.Errorf("%s: RegionDim %d, %d regions, or other splits than the default's", v.Name(), d.RegionDim, d.Train.MaxRegions())
		}
	}
}
