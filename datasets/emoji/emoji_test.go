package emoji

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
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

// fakeCache is a cache of nBase base emoji, each with two skin tones, in
// every style of styles (a thumbnail whose first byte says which image it
// is, so leaks are traceable).
func fakeCache(nBase int, styles []string) *cache {
	c := &cache{Thumb: imagetok.Settings{Size: 4, Grid: 2, Cell: 1}}
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
			c.Images = append(c.Images, Image{Caption: ci, Style: s, Icon: fmt.Sprint(ci), Thumb: th})
		}
	}
	return c
}

func TestSplitStyleHoldOut(t *testing.T) {
	c := fakeCache(50, []string{"noto", TestStyle, "twemoji"})
	d, err := split(c, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	// Test: one openmoji image per caption, every caption.
	if len(d.Test.Images) != len(c.Captions) || len(d.Test.Captions) != len(c.Captions) {
		t.Errorf("test has %d images, %d captions; want %d each", len(d.Test.Images), len(d.Test.Captions), len(c.Captions))
	}
	// No held-out-style image in Train or Val: every training image is
	// one of the other styles' images (compared by content).
	styleOf := map[string]string{}
	for _, im := range c.Images {
		tok, _ := c.Thumb.Tokens(im.Thumb)
		styleOf[fmt.Sprint(tok)] = im.Style
	}
	for _, sp := range []*datasets.Split{&d.Train, &d.Val} {
		for i, im := range sp.Images {
			if s := styleOf[fmt.Sprint(im)]; s == TestStyle || s == "" {
				t.Fatalf("image %d of a training split is %q", i, s)
			}
		}
	}
	for i, im := range d.Test.Images {
		if s := styleOf[fmt.Sprint(im)]; s != TestStyle {
			t.Fatalf("test image %d is of style %q", i, s)
		}
	}
	// Val and Train share no image; together they hold every other-style image.
	if got, want := len(d.Train.Images)+len(d.Val.Images), 2*len(c.Captions); got != want {
		t.Errorf("train + val = %d images, want %d", got, want)
	}
	// Deterministic.
	d2, _ := split(c, Settings{})
	if !reflect.DeepEqual(d, d2) {
		t.Error("two splits of the same cache differ")
	}
}

func TestSplitConceptHoldOut(t *testing.T) {
	c := fakeCache(100, []string{"noto", TestStyle, "twemoji"})
	d, err := split(c, Settings{Concept: true, Keywords: true})
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
	d2, _ := split(c, Settings{Concept: true, Keywords: true})
	if !reflect.DeepEqual(d, d2) {
		t.Error("two splits of the same cache differ")
	}
}

func TestSplitSmall(t *testing.T) {
	c := fakeCache(SmallCaptions+10, []string{"noto", TestStyle})
	d, err := split(c, Settings{Small: true})
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

// TestRealCache checks the set-up cache when there is one.
func TestRealCache(t *testing.T) {
	dir, err := imagetok.Dir()
	if err != nil {
		t.Skip(err)
	}
	if _, err := os.Stat(CachePath(dir)); err != nil {
		t.Skipf("no emoji cache at %s (%s)", CachePath(dir), SetupCommand)
	}
	for _, s := range []Settings{{}, {Concept: true}} {
		d, err := Load(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		if len(d.Test.Images) < 500 || len(d.Train.Images) < 10000 {
			t.Errorf("%s: %d train, %d test images", d.Protocol, len(d.Train.Images), len(d.Test.Images))
		}
		t.Log(d.Protocol)
	}
}
