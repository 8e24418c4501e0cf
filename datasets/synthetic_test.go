package datasets

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// small are settings that generate quickly.
var small = SyntheticSettings{TrainImages: 60, ValImages: 10, TestImages: 20}

func TestSyntheticDeterminism(t *testing.T) {
	for _, tc := range []struct {
		name  string
		a, b  SyntheticSettings
		equal bool
	}{
		{"same settings", small, small, true},
		{"seed 0 means 1", small, withSeed(small, 1), true},
		{"different seed", small, withSeed(small, 2), false},
		{"different noise", small, SyntheticSettings{TrainImages: 60, ValImages: 10, TestImages: 20, Noise: 0.2}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Synthetic(tc.a)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Synthetic(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if got := reflect.DeepEqual(a, b); got != tc.equal {
				t.Errorf("equal = %v, want %v", got, tc.equal)
			}
		})
	}
}

func withSeed(s SyntheticSettings, seed int64) SyntheticSettings {
	s.Seed = seed
	return s
}

// TestSyntheticSplitStreams checks that a split does not depend on the size
// of another, so that e.g. a longer training set keeps the same test set.
func TestSyntheticSplitStreams(t *testing.T) {
	a, err := Synthetic(small)
	if err != nil {
		t.Fatal(err)
	}
	more := small
	more.TrainImages = 90
	b, err := Synthetic(more)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Test, b.Test) || !reflect.DeepEqual(a.Val, b.Val) {
		t.Error("Val or Test changed with TrainImages")
	}
	if reflect.DeepEqual(a.Train, b.Train) {
		t.Error("Train did not change with TrainImages")
	}
}

func TestSyntheticShapes(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		s                      SyntheticSettings
		train, val, test, caps int
		minObj, maxObj, dim    int
		protocol               string
	}{
		{"defaults", SyntheticSettings{}, 3000, 1000, 1000, 5, 8, 16, 32, "1000img-5cap"},
		{"custom", SyntheticSettings{TrainImages: 7, ValImages: 3, TestImages: 4, CaptionsPerImage: 2,
			MinObjects: 2, MaxObjects: 3, RegionDim: 5}, 7, 3, 4, 2, 2, 3, 5, "4img-2cap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Synthetic(tc.s)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Validate(); err != nil {
				t.Fatal(err)
			}
			if d.Name != "synthetic" || d.Protocol != tc.protocol || d.RegionDim != tc.dim {
				t.Errorf("Name, Protocol, RegionDim = %q, %q, %d; want synthetic, %q, %d", d.Name, d.Protocol, d.RegionDim, tc.protocol, tc.dim)
			}
			for _, sp := range []struct {
				name string
				s    Split
				n    int
			}{{"Train", d.Train, tc.train}, {"Val", d.Val, tc.val}, {"Test", d.Test, tc.test}} {
				if len(sp.s.Images) != sp.n || len(sp.s.Captions) != sp.n*tc.caps {
					t.Errorf("%s: %d images, %d captions; want %d, %d", sp.name, len(sp.s.Images), len(sp.s.Captions), sp.n, sp.n*tc.caps)
				}
				for c, i := range sp.s.CaptionImage {
					if i != c/tc.caps {
						t.Fatalf("%s: CaptionImage[%d] = %d, want %d", sp.name, c, i, c/tc.caps)
					}
				}
				for i, img := range sp.s.Images {
					if len(img) < tc.minObj || len(img) > tc.maxObj {
						t.Fatalf("%s: image %d has %d regions, want [%d, %d]", sp.name, i, len(img), tc.minObj, tc.maxObj)
					}
				}
				if m := sp.s.MaxRegions(); m > tc.maxObj || (sp.n > 100 && m != tc.maxObj) {
					t.Errorf("%s: MaxRegions = %d, want %d", sp.name, m, tc.maxObj)
				}
			}
		})
	}
}

func TestSyntheticSettingsErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     SyntheticSettings
		field string
	}{
		{"negative images", SyntheticSettings{ValImages: -1}, "ValImages"},
		{"negative dim", SyntheticSettings{RegionDim: -3}, "RegionDim"},
		{"one object", SyntheticSettings{MinObjects: 1, MaxObjects: 4}, "MinObjects"},
		{"max below min", SyntheticSettings{MinObjects: 9, MaxObjects: 4}, "MaxObjects"},
		{"NaN noise", SyntheticSettings{Noise: math.NaN()}, "Noise"},
		{"fraction above 1", SyntheticSettings{HardNegativeFraction: 1.5}, "HardNegativeFraction"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Synthetic(tc.s)
			if err == nil || !strings.HasPrefix(err.Error(), "datasets: ") || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %v, want one naming %s", err, tc.field)
			}
		})
	}
}

// Inverse word tables: a caption's words back to concepts.
var nounOf, colourOf, sizeOf = inverse(nounWords[:]), inverse(colourWords[:]), inverse(sizeWords[:])

func inverse(words [][]string) map[string]int {
	m := make(map[string]int)
	for c, ws := range words {
		for _, w := range ws {
			m[w] = c
		}
	}
	return m
}

// claims counts the statements of the captions a test checked, so that a
// parser that finds nothing fails.
type claims struct{ phrases, sizes, relations, places int }

// nounPhrase is a "[size] colour noun" of a caption: its tokens [start, noun]
// and the one object it names.
type nounPhrase struct{ start, noun, obj int }

// parse reads caption independently of the generator's templates: every noun
// must follow a colour (and maybe a size) and name exactly one object of
// objs. It returns the phrases in text order.
func parse(caption string, objs []object) ([]string, []nounPhrase, error) {
	toks := Tokenize(caption)
	var ps []nounPhrase
	for i, w := range toks {
		n, ok := nounOf[w]
		if !ok {
			continue
		}
		if i == 0 {
			return nil, nil, fmt.Errorf("noun %q without colour", w)
		}
		col, ok := colourOf[toks[i-1]]
		if !ok {
			return nil, nil, fmt.Errorf("noun %q after %q, not a colour", w, toks[i-1])
		}
		p := nounPhrase{start: i - 1, noun: i, obj: -1}
		for r, o := range objs {
			if o.noun == n && o.colour == col {
				if p.obj >= 0 {
					return nil, nil, fmt.Errorf("%q %q names several objects", toks[i-1], w)
				}
				p.obj = r
			}
		}
		if p.obj < 0 {
			return nil, nil, fmt.Errorf("no %q %q in the image", toks[i-1], w)
		}
		ps = append(ps, p)
	}
	return toks, ps, nil
}

// check verifies that every statement of caption is true for objs.
func check(caption string, objs []object, cl *claims) error {
	toks, ps, err := parse(caption, objs)
	if err != nil {
		return err
	}
	if len(toks) > 15 {
		return fmt.Errorf("%d words", len(toks))
	}
	if len(ps) < 2 || len(ps) > 3 {
		return fmt.Errorf("%d objects mentioned, want 2 or 3", len(ps))
	}
	cl.phrases += len(ps)
	for k, p := range ps {
		o := objs[p.obj]
		if p.start > 0 {
			if sz, ok := sizeOf[toks[p.start-1]]; ok {
				cl.sizes++
				if sz != o.size {
					return fmt.Errorf("object %d: wrong size %q", k, toks[p.start-1])
				}
			}
		}
		end := len(toks)
		if k+1 < len(ps) {
			end = ps[k+1].start
		}
		after := toks[p.noun+1 : end]
		has := func(w string) bool { return slices.Contains(after, w) }
		if i := slices.Index(after, "is"); i >= 0 && i+1 < len(after) {
			if sz, ok := sizeOf[after[i+1]]; ok {
				cl.sizes++
				if sz != o.size {
					return fmt.Errorf("object %d: wrong size %q", k, after[i+1])
				}
			}
		}
		var next object
		if k+1 < len(ps) {
			next = objs[ps[k+1].obj]
		}
		for _, st := range []struct {
			said, holds bool
			what        string
			relation    bool
		}{
			{has("left") && has("of"), o.x < next.x, "left of", true},
			{has("right") && has("of"), o.x > next.x, "right of", true},
			{has("above"), o.y < next.y, "above", true},
			{has("below"), o.y > next.y, "below", true},
			{has("next"), math.Hypot(o.x-next.x, o.y-next.y) < nearDistance, "next to", true},
			{has("left") && !has("of"), o.x < 1.0/3, "on the left", false},
			{has("right") && !has("of"), o.x > 2.0/3, "on the right", false},
			{has("top"), o.y < 1.0/3, "at the top", false},
			{has("bottom"), o.y > 2.0/3, "at the bottom", false},
			{has("middle"), math.Abs(o.x-0.5) <= 1.0/6 && math.Abs(o.y-0.5) <= 1.0/6, "in the middle", false},
		} {
			if !st.said {
				continue
			}
			if st.relation {
				cl.relations++
				if k+1 == len(ps) {
					return fmt.Errorf("object %d: %s nothing", k, st.what)
				}
			} else {
				cl.places++
			}
			if !st.holds {
				return fmt.Errorf("object %d is not %s", k, st.what)
			}
		}
	}
	return nil
}

func TestSyntheticCaptionsTrue(t *testing.T) {
	d, scenes, err := synthetic(SyntheticSettings{})
	if err != nil {
		t.Fatal(err)
	}
	for k, sp := range []*Split{&d.Train, &d.Val, &d.Test} {
		t.Run([]string{"Train", "Val", "Test"}[k], func(t *testing.T) {
			var cl claims
			for c, caption := range sp.Captions {
				if err := check(caption, scenes[k].objects[sp.CaptionImage[c]], &cl); err != nil {
					t.Fatalf("caption %d %q: %v", c, caption, err)
				}
			}
			// Every kind of statement occurs often enough to have been tested.
			if n := len(sp.Captions); cl.phrases < 2*n || cl.sizes < n/10 || cl.relations < n/10 || cl.places < n/10 {
				t.Errorf("%d captions, checked %+v", n, cl)
			}
		})
	}
}

// TestCheck makes sure the caption checker rejects false captions.
func TestCheck(t *testing.T) {
	objs := []object{
		{noun: 0, colour: 0, size: 0, x: 0.1, y: 0.1}, // small red cube, top left
		{noun: 1, colour: 1, size: 1, x: 0.9, y: 0.9}, // large blue ball, bottom right
		{noun: 0, colour: 1, size: 1, x: 0.5, y: 0.5}, // large blue cube, middle
		{noun: 1, colour: 2, size: 0, x: 0.5, y: 0.5}, // small green ball, middle
		{noun: 1, colour: 2, size: 0, x: 0.6, y: 0.5}, // small green ball, middle
	}
	for _, tc := range []struct {
		caption string
		ok      bool
	}{
		{"a small red cube and a blue ball", true},
		{"a large red cube and a blue ball", false},
		{"a red ball and a blue cube", false},
		{"a green ball and a blue cube", false}, // two green balls
		{"there is a crimson box to the left of a blue sphere", true},
		{"there is a crimson box to the right of a blue sphere", false},
		{"a blue sphere below a red cube", true},
		{"a blue sphere above a red cube", false},
		{"a red cube next to a blue block and a blue ball", false},
		{"a blue block next to a red cube and a blue ball", false},
		{"the blue cube is big and the blue ball is on the right", true},
		{"the blue cube is small and the blue ball is on the right", false},
		{"the blue cube is big and the blue ball is on the left", false},
		{"a blue box in the middle and a red cube", true},
		{"a red box in the middle and a blue cube", false},
		{"a red box at the top and a blue cube", true},
		{"a red box at the bottom and a blue cube", false},
		{"a red cube", false},
	} {
		t.Run(tc.caption, func(t *testing.T) {
			err := check(tc.caption, objs, &claims{})
			if (err == nil) != tc.ok {
				t.Errorf("check = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestSyntheticTwins(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fraction float64
		want     float64 // twin images / images
	}{
		{"default", 0, 1},
		{"half", 0.5, 0.5},
		{"all", 1, 1},
		{"none", -1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, scenes, err := synthetic(SyntheticSettings{TrainImages: 400, ValImages: 1, TestImages: 1, HardNegativeFraction: tc.fraction})
			if err != nil {
				t.Fatal(err)
			}
			sc, sp := scenes[0], d.Train
			twins := 0
			for i, j := range sc.twin {
				if j < 0 {
					continue
				}
				twins++
				if j != i-1 && j != i+1 || sc.twin[j] != i {
					t.Fatalf("image %d: twin %d, whose twin is %d", i, j, sc.twin[j])
				}
				a, b := sc.objects[i], sc.objects[j]
				key := func(o object) string { return fmt.Sprint(o.noun, o.size, o.x, o.y) }
				if !sameMultiset(a, b, key) || !sameMultiset(a, b, func(o object) string { return fmt.Sprint(o.colour) }) {
					t.Fatalf("images %d and %d differ in more than colour bindings", i, j)
				}
				if sameMultiset(a, b, func(o object) string { return fmt.Sprint(o.noun, o.colour) }) {
					t.Fatalf("images %d and %d have the same bindings", i, j)
				}
				for c := i * 5; c < i*5+5; c++ {
					if _, _, err := parse(sp.Captions[c], b); err == nil {
						t.Fatalf("caption %d %q of image %d is true for its twin %d", c, sp.Captions[c], i, j)
					}
				}
			}
			if got := float64(twins) / float64(len(sc.twin)); got != tc.want {
				t.Errorf("twin fraction %v, want %v", got, tc.want)
			}
		})
	}
}

func sameMultiset(a, b []object, key func(object) string) bool {
	ka, kb := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		ka[i] = key(a[i])
	}
	for i := range b {
		kb[i] = key(b[i])
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}

func TestSyntheticVocabularyCoverage(t *testing.T) {
	d, err := Synthetic(SyntheticSettings{})
	if err != nil {
		t.Fatal(err)
	}
	v := BuildVocab(d.Train.Captions)
	for _, sp := range []struct {
		name string
		s    Split
	}{{"Val", d.Val}, {"Test", d.Test}} {
		unknown, total := 0, 0
		for _, c := range sp.s.Captions {
			for _, w := range Tokenize(c) {
				total++
				if v.ID(w) == UnkID {
					unknown++
				}
			}
		}
		if unknown > total/100 {
			t.Errorf("%s: %d of %d words not in the training vocabulary", sp.name, unknown, total)
		}
	}
}

// TestRegionFeatures checks the noise level and that the feature map binds
// noun and colour non-linearly: an additive map would give
// f(n1,c1) + f(n2,c2) = f(n1,c2) + f(n2,c1).
func TestRegionFeatures(t *testing.T) {
	s, err := SyntheticSettings{Noise: -1}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	g := newGenerator(s, newRand(1, 0))
	rng := rand.New(rand.NewPCG(1, 2))
	var interaction, scale float64
	for range 200 {
		o := object{noun: rng.IntN(nNouns), colour: rng.IntN(nColours), size: rng.IntN(nSizes), x: rng.Float64(), y: rng.Float64()}
		p := o
		p.noun, p.colour = (o.noun+1+rng.IntN(nNouns-1))%nNouns, (o.colour+1+rng.IntN(nColours-1))%nColours
		oc, po := o, p
		oc.colour, po.colour = p.colour, o.colour
		f1, f2, f3, f4 := g.region(o, rng), g.region(p, rng), g.region(oc, rng), g.region(po, rng)
		if !slices.Equal(f1, g.region(o, rng)) {
			t.Fatal("noise-free features differ")
		}
		for k := range f1 {
			r := float64(f1[k] + f2[k] - f3[k] - f4[k])
			interaction += r * r
			scale += float64(f1[k]) * float64(f1[k])
		}
	}
	if ratio := math.Sqrt(interaction / scale); ratio < 0.5 {
		t.Errorf("interaction/feature norm = %.3f: binding nearly additive", ratio)
	}

	s.Noise = 0.1
	g.s = s
	o := object{noun: 3, colour: 4, size: 1, x: 0.2, y: 0.7}
	var sq float64
	n := 0
	for range 100 {
		a, b := g.region(o, rng), g.region(o, rng)
		for k := range a {
			d := float64(a[k] - b[k])
			sq += d * d
			n++
		}
	}
	// a-b has standard deviation Noise*sqrt(2).
	if got := math.Sqrt(sq / float64(n) / 2); math.Abs(got-0.1) > 0.01 {
		t.Errorf("noise std %.4f, want 0.1", got)
	}
}

func TestLoad(t *testing.T) {
	if got := Names(); !slices.Equal(got, []string{"synthetic", "synthetic-small"}) {
		t.Errorf("Names() = %v", got)
	}
	d, err := Load("synthetic")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Synthetic(SyntheticSettings{})
	if !reflect.DeepEqual(d, want) {
		t.Error("Load(synthetic) differs from Synthetic(SyntheticSettings{})")
	}
	if _, err := Load("coco"); err == nil || !strings.Contains(err.Error(), `"coco"`) || !strings.Contains(err.Error(), "synthetic") {
		t.Errorf("Load(coco) error %v, want one naming coco and the known names", err)
	}
}

// TestSyntheticVariants: "synthetic:key=value,..." names a synthetic set
// with settings over the defaults; Check and Load refuse bad ones naming
// the setting.
func TestSyntheticVariants(t *testing.T) {
	for _, tc := range []struct {
		name   string
		want   SyntheticSettings
		errHas string
	}{
		{"synthetic:objects=8-16", SyntheticSettings{MinObjects: 8, MaxObjects: 16}, ""},
		{"synthetic:noise=0.3,twins=0.8,val=1000", SyntheticSettings{Noise: 0.3, HardNegativeFraction: 0.8, ValImages: 1000}, ""},
		{"synthetic:twins=0,noise=0", SyntheticSettings{Noise: -1, HardNegativeFraction: -1}, ""},
		{"synthetic:train=50,test=20,dim=8,seed=3", SyntheticSettings{TrainImages: 50, TestImages: 20, RegionDim: 8, Seed: 3}, ""},
		{"synthetic:", SyntheticSettings{}, "names no settings"},
		{"synthetic:objects=8", SyntheticSettings{}, "objects=MIN-MAX"},
		{"synthetic:objects=9-4", SyntheticSettings{}, "MaxObjects = 4 < MinObjects = 9"},
		{"synthetic:noise=-1", SyntheticSettings{}, `"noise=-1"`},
		{"synthetic:train=0", SyntheticSettings{}, "positive integer"},
		{"synthetic:colours=3", SyntheticSettings{}, `unknown synthetic setting "colours"`},
		{"synthetic:noise", SyntheticSettings{}, "key=value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.name)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Errorf("Check: %v, want an error containing %q", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := Load(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			want, err := Synthetic(tc.want)
			if err != nil {
				t.Fatal(err)
			}
			want.Name = tc.name
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Load(%q) differs from Synthetic(%+v)", tc.name, tc.want)
			}
		})
	}
	if err := Check("coco"); err == nil || !strings.Contains(err.Error(), `"coco"`) {
		t.Errorf("Check(coco) = %v, want an unknown-name error", err)
	}
}

func TestSplitValidate(t *testing.T) {
	good := func() Split {
		return Split{
			Images:       [][][]float32{{{1, 2}}, {{3, 4}, {5, 6}}},
			Captions:     []string{"a", "b", "c"},
			CaptionImage: []int{0, 1, 1},
		}
	}
	for _, tc := range []struct {
		name   string
		edit   func(*Split)
		dim    int
		errHas string
	}{
		{"good", func(*Split) {}, 2, ""},
		{"bad dim", func(*Split) {}, 0, "dimension 0"},
		{"short region", func(s *Split) { s.Images[1][1] = []float32{1} }, 2, "Images[1][1]"},
		{"no region", func(s *Split) { s.Images[0] = nil }, 2, "Images[0] has no region"},
		{"NaN", func(s *Split) { s.Images[1][0][1] = float32(math.NaN()) }, 2, "Images[1][0][1]"},
		{"lengths", func(s *Split) { s.CaptionImage = s.CaptionImage[:2] }, 2, "len(CaptionImage)"},
		{"out of range", func(s *Split) { s.CaptionImage[2] = 2 }, 2, "CaptionImage[2] = 2"},
		{"undescribed", func(s *Split) { s.CaptionImage[0] = 1 }, 2, "Images[0] has no caption"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := good()
			tc.edit(&s)
			err := s.Validate(tc.dim)
			if tc.errHas == "" {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("Validate: %v, want error containing %q", err, tc.errHas)
			}
		})
	}
	s := good()
	if m := s.MaxRegions(); m != 2 {
		t.Errorf("MaxRegions = %d, want 2", m)
	}
}
