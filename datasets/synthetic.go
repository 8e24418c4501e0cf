package datasets

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// SyntheticSettings configure Synthetic. The zero value means the defaults
// given with each field.
type SyntheticSettings struct {
	// Seed fixes the data set: the same settings give the same data whatever
	// the training seeds. 0 means 1.
	Seed int64

	// TrainImages, ValImages and TestImages are the image counts of the
	// splits, default 3000, 1000 and 1000: validation mirrors the test
	// protocol, so that its rSum, which chooses checkpoints and configs, is
	// on the scale of test's.
	TrainImages, ValImages, TestImages int

	// CaptionsPerImage is the caption count of every image, default 5. The
	// captions of image i are at indices CaptionsPerImage*i + j.
	CaptionsPerImage int

	// MinObjects and MaxObjects bound the object count of an image, which is
	// also its region count; default 8 and 16. MinObjects must be >= 2.
	MinObjects, MaxObjects int

	// RegionDim is the length of a region vector, default 32.
	RegionDim int

	// Noise is the standard deviation of the Gaussian noise added to every
	// coordinate of a region vector, whose noise-free coordinates have a
	// standard deviation of about 1. Default 0.5; negative means no noise.
	Noise float64

	// HardNegativeFraction is the fraction of the images of each split that
	// belong to a binding-swapped twin pair. Default 1 (every image has
	// one); negative means none.
	HardNegativeFraction float64
}

// Vocabulary of the generator: every concept has one or more words, and a
// caption uses one at random, so a model must learn the synonyms.
var (
	nounWords = [nNouns][]string{
		{"cube", "box", "block"}, {"ball", "sphere"}, {"cone"}, {"cylinder", "tube"},
		{"pyramid"}, {"ring", "hoop"}, {"star"}, {"cup", "mug"},
		{"bottle", "flask"}, {"chair", "seat"}, {"lamp"}, {"book"},
		{"tree"}, {"car", "automobile"}, {"dog", "puppy"}, {"cat", "kitten"},
	}
	colourWords = [nColours][]string{
		{"red", "crimson"}, {"blue"}, {"green"}, {"yellow", "golden"},
		{"purple", "violet"}, {"grey", "gray"}, {"white"}, {"black"},
	}
	sizeWords = [nSizes][]string{{"small", "tiny", "little"}, {"large", "big", "huge"}}
)

const (
	nNouns, nColours, nSizes = 16, 8, 2

	hiddenUnits = 64 // width of the feature MLP's hidden layer
	// The input of the feature MLP is concat(one-hot noun, one-hot colour,
	// one-hot size, x, y); these are the offsets of its parts and its length.
	colourAt  = nNouns
	sizeAt    = colourAt + nColours
	xAt       = sizeAt + nSizes
	yAt       = xAt + 1
	mlpInputs = yAt + 1

	// relationMargin is how far apart two objects must be along an axis for a
	// caption to call one left of, right of, above or below the other, so
	// that relations stay visible through the noise.
	relationMargin = 0.1
	// nearDistance is the largest distance of two objects "next to" each other.
	nearDistance = 0.3

	// templateTries bounds the random template draws for one caption before
	// it falls back to the template that always applies.
	templateTries = 32
)

// object is the symbolic content of one region. x grows to the right and y
// downwards, both in [0, 1).
type object struct {
	noun, colour, size int
	x, y               float64
}

// scene is the symbolic record of a split, kept so that tests can check the
// captions against the objects they describe.
type scene struct {
	objects [][]object // objects[i][r] is what region r of image i shows
	twin    []int      // twin[i]: the binding-swapped twin of image i, or -1
}

// Synthetic generates the synthetic data set described in the package
// documentation. The same settings give a byte-identical result.
func Synthetic(s SyntheticSettings) (*Dataset, error) {
	d, _, err := synthetic(s)
	return d, err
}

// withDefaults replaces zero fields by their defaults and checks the rest.
func (s SyntheticSettings) withDefaults() (SyntheticSettings, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if s.Seed == 0 {
		s.Seed = 1
	}
	def(&s.TrainImages, 3000)
	def(&s.ValImages, 1000)
	def(&s.TestImages, 1000)
	def(&s.CaptionsPerImage, 5)
	def(&s.MinObjects, 8)
	def(&s.MaxObjects, 16)
	def(&s.RegionDim, 32)
	if s.Noise == 0 {
		s.Noise = 0.5
	}
	if s.HardNegativeFraction == 0 {
		s.HardNegativeFraction = 1
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"TrainImages", s.TrainImages}, {"ValImages", s.ValImages}, {"TestImages", s.TestImages},
		{"CaptionsPerImage", s.CaptionsPerImage}, {"RegionDim", s.RegionDim},
	} {
		if f.v < 0 {
			return s, fmt.Errorf("datasets: SyntheticSettings.%s = %d < 0", f.name, f.v)
		}
	}
	switch {
	case s.MinObjects < 2:
		// A caption mentions at least two distinguishable objects.
		return s, fmt.Errorf("datasets: SyntheticSettings.MinObjects = %d < 2", s.MinObjects)
	case s.MaxObjects < s.MinObjects:
		return s, fmt.Errorf("datasets: SyntheticSettings.MaxObjects = %d < MinObjects = %d", s.MaxObjects, s.MinObjects)
	case math.IsNaN(s.Noise) || math.IsInf(s.Noise, 0):
		return s, fmt.Errorf("datasets: SyntheticSettings.Noise = %v is not finite", s.Noise)
	case math.IsNaN(s.HardNegativeFraction) || s.HardNegativeFraction > 1:
		return s, fmt.Errorf("datasets: SyntheticSettings.HardNegativeFraction = %v > 1", s.HardNegativeFraction)
	}
	s.Noise = max(s.Noise, 0)
	s.HardNegativeFraction = max(s.HardNegativeFraction, 0)
	return s, nil
}

// synthetic is Synthetic that also returns the symbolic scenes of Train,
// Val and Test.
func synthetic(s SyntheticSettings) (*Dataset, [3]scene, error) {
	var scenes [3]scene
	s, err := s.withDefaults()
	if err != nil {
		return nil, scenes, err
	}
	// Every part draws from its own stream, so the feature map does not
	// depend on the split sizes and no split depends on another's size.
	g := newGenerator(s, newRand(s.Seed, 0))
	d := &Dataset{
		Name:      "synthetic",
		Protocol:  fmt.Sprintf("%dimg-%dcap", s.TestImages, s.CaptionsPerImage),
		RegionDim: s.RegionDim,
	}
	for k, sp := range []struct {
		split *Split
		n     int
	}{{&d.Train, s.TrainImages}, {&d.Val, s.ValImages}, {&d.Test, s.TestImages}} {
		*sp.split, scenes[k] = g.split(sp.n, newRand(s.Seed, uint64(k+1)))
	}
	return d, scenes, nil
}

// newRand returns the generator of stream of seed. Seed and stream go through
// splitmix64 so that nearby seeds give unrelated PCG states.
func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(splitmix64(uint64(seed)), splitmix64(stream^0x5851f42d4c957f2d)))
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// generator holds the settings and the fixed random MLP that maps an object
// to its region feature.
type generator struct {
	s  SyntheticSettings
	w1 [hiddenUnits][mlpInputs]float64
	b1 [hiddenUnits]float64
	w2 [][hiddenUnits]float64 // RegionDim rows
}

func newGenerator(s SyntheticSettings, rng *rand.Rand) *generator {
	g := &generator{s: s, w2: make([][hiddenUnits]float64, s.RegionDim)}
	// Unit-variance first-layer weights: a pre-activation sums three one-hot
	// weights and two position terms, so tanh works in its curved range and
	// the noun-colour binding is not a sum of a noun and a colour part.
	for j := range g.w1 {
		for i := range g.w1[j] {
			g.w1[j][i] = rng.NormFloat64()
		}
		g.b1[j] = 0.5 * rng.NormFloat64()
	}
	// E[tanh(h)^2] is about 0.55 for these pre-activations, so this scale gives
	// output coordinates a standard deviation of about 1.
	scale := 1 / math.Sqrt(0.55*hiddenUnits)
	for k := range g.w2 {
		for j := range g.w2[k] {
			g.w2[k][j] = scale * rng.NormFloat64()
		}
	}
	return g
}

// region returns the feature of o: MLP(o) plus Gaussian noise. Products are
// converted explicitly to float64 before they are added, which stops the
// compiler from fusing them into FMA instructions on some architectures, so
// the data are the same on every platform.
func (g *generator) region(o object, rng *rand.Rand) []float32 {
	px, py := float64(2*o.x)-1, float64(2*o.y)-1 // centred positions
	var h [hiddenUnits]float64
	for j := range h {
		w := &g.w1[j]
		a := g.b1[j] + w[o.noun] + w[colourAt+o.colour] + w[sizeAt+o.size]
		a += float64(w[xAt] * px)
		a += float64(w[yAt] * py)
		h[j] = math.Tanh(a)
	}
	f := make([]float32, len(g.w2))
	for k := range f {
		var v float64
		for j, hj := range h {
			v += float64(g.w2[k][j] * hj)
		}
		f[k] = float32(v + float64(g.s.Noise*rng.NormFloat64()))
	}
	return f
}

// split generates a split of n images: round(HardNegativeFraction*n/2) twin
// pairs, each pair at adjacent indices, and single images, in random order.
func (g *generator) split(n int, rng *rand.Rand) (Split, scene) {
	pairs := min(int(math.Round(g.s.HardNegativeFraction*float64(n)/2)), n/2)
	units := make([]bool, pairs+n-2*pairs) // true: a twin pair
	for i := range pairs {
		units[i] = true
	}
	rng.Shuffle(len(units), func(i, j int) { units[i], units[j] = units[j], units[i] })

	sp := Split{
		Images:       make([][][]float32, 0, n),
		Captions:     make([]string, 0, n*g.s.CaptionsPerImage),
		CaptionImage: make([]int, 0, n*g.s.CaptionsPerImage),
	}
	sc := scene{objects: make([][]object, 0, n), twin: make([]int, 0, n)}
	add := func(objs, sibling []object, twin int) {
		i := len(sp.Images)
		img := make([][]float32, len(objs))
		for r, o := range objs {
			img[r] = g.region(o, rng)
		}
		sp.Images = append(sp.Images, img)
		for range g.s.CaptionsPerImage {
			sp.Captions = append(sp.Captions, caption(rng, objs, sibling))
			sp.CaptionImage = append(sp.CaptionImage, i)
		}
		sc.objects = append(sc.objects, objs)
		sc.twin = append(sc.twin, twin)
	}
	for _, pair := range units {
		i := len(sp.Images)
		if !pair {
			add(g.objects(rng), nil, -1)
			continue
		}
		a, b := g.twins(rng)
		add(a, b, i+1)
		add(b, a, i)
	}
	return sp, sc
}

// objects draws the objects of an image, in random (region) order, until at
// least min(3, count) of them are distinguishable (their noun-colour pair is
// unique in the image) and at least two colours occur, so that captions
// and twins can be made.
func (g *generator) objects(rng *rand.Rand) []object {
	for {
		objs := make([]object, g.s.MinObjects+rng.IntN(g.s.MaxObjects-g.s.MinObjects+1))
		colours := make(map[int]bool)
		for r := range objs {
			objs[r] = object{
				noun:   rng.IntN(nNouns),
				colour: rng.IntN(nColours),
				size:   rng.IntN(nSizes),
				x:      rng.Float64(),
				y:      rng.Float64(),
			}
			colours[objs[r].colour] = true
		}
		if len(distinct(objs, nil)) >= min(3, len(objs)) && len(colours) >= 2 {
			return objs
		}
	}
}

// twins draws an image and its binding-swapped twin: the same nouns, sizes and
// positions with the colours permuted among the objects, accepted once each
// image has an object whose noun-colour pair the other lacks, so that a
// caption mentioning it is false for the other twin.
func (g *generator) twins(rng *rand.Rand) (a, b []object) {
	for {
		a = g.objects(rng)
		for range 8 {
			perm := rng.Perm(len(a))
			b = make([]object, len(a))
			for r, o := range a {
				b[r] = o
				b[r].colour = a[perm[r]].colour
			}
			if len(distinct(a, b)) > 0 && len(distinct(b, a)) > 0 {
				// Region order must not reveal which region became which.
				rng.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
				return a, b
			}
		}
	}
}

// distinct returns the indices of the objects of objs whose noun-colour pair
// occurs once in objs and never in other.
func distinct(objs, other []object) []int {
	type pair struct{ noun, colour int }
	count := make(map[pair]int)
	for _, o := range objs {
		count[pair{o.noun, o.colour}]++
	}
	for _, o := range other {
		count[pair{o.noun, o.colour}] += 2
	}
	var idx []int
	for r, o := range objs {
		if count[pair{o.noun, o.colour}] == 1 {
			idx = append(idx, r)
		}
	}
	return idx
}

// template renders a caption of its mentioned objects (in text order), whose
// phrases ("[size] colour noun") are given, or reports that the caption would
// be false for them.
type template struct {
	mentions int
	// sizeless: the template states a size itself, so phrases carry none.
	sizeless bool
	render   func(rng *rand.Rand, o []object, p []string) (string, bool)
}

var templates = []template{
	{2, false, func(_ *rand.Rand, _ []object, p []string) (string, bool) {
		return "a " + p[0] + " and a " + p[1], true
	}},
	{2, false, func(_ *rand.Rand, o []object, p []string) (string, bool) {
		rel, ok := horizontal(o[0], o[1])
		return "there is a " + p[0] + " " + rel + " a " + p[1], ok
	}},
	{3, false, func(_ *rand.Rand, _ []object, p []string) (string, bool) {
		return "a photo with a " + p[0] + ", a " + p[1] + " and a " + p[2], true
	}},
	{2, false, func(rng *rand.Rand, o []object, p []string) (string, bool) {
		return "a " + p[0] + " " + place(rng, o[0]) + " and a " + p[1], true
	}},
	{2, false, func(_ *rand.Rand, o []object, p []string) (string, bool) {
		rel, ok := vertical(o[0], o[1])
		return "a " + p[0] + " " + rel + " a " + p[1], ok
	}},
	{3, false, func(_ *rand.Rand, _ []object, p []string) (string, bool) {
		return "this picture shows a " + p[0] + ", a " + p[1] + " and a " + p[2], true
	}},
	{2, true, func(rng *rand.Rand, o []object, p []string) (string, bool) {
		return "the " + p[0] + " is " + pick(rng, sizeWords[o[0].size]) + " and the " + p[1] + " is " + place(rng, o[1]), true
	}},
	{3, false, func(_ *rand.Rand, o []object, p []string) (string, bool) {
		return "a " + p[0] + " next to a " + p[1] + " and a " + p[2], math.Hypot(o[0].x-o[1].x, o[0].y-o[1].y) < nearDistance
	}},
}

// caption describes two or three distinguishable objects of objs, at least
// one of which is distinct from sibling (the twin image, or nil), so that the
// caption is true for objs and, for a twin, false for its sibling. At most one
// phrase carries a size, which keeps captions within 14 words.
func caption(rng *rand.Rand, objs, sibling []object) string {
	unique, disc := distinct(objs, nil), distinct(objs, sibling)
	for try := 0; ; try++ {
		t := templates[0]
		if try < templateTries {
			t = templates[rng.IntN(len(templates))]
		}
		if len(unique) < t.mentions {
			continue
		}
		// One discriminative object, then others, then a random text order.
		first := disc[rng.IntN(len(disc))]
		idx := []int{first}
		for _, r := range rng.Perm(len(unique)) {
			if len(idx) == t.mentions {
				break
			}
			if unique[r] != first {
				idx = append(idx, unique[r])
			}
		}
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		o := make([]object, len(idx))
		for k, r := range idx {
			o[k] = objs[r]
		}
		sized := -1
		if !t.sizeless && rng.IntN(2) == 0 {
			sized = rng.IntN(len(o))
		}
		p := make([]string, len(o))
		for k := range o {
			p[k] = phrase(rng, o[k], k == sized)
		}
		if c, ok := t.render(rng, o, p); ok {
			return c
		}
	}
}

// phrase names o by colour and noun, and by size if withSize.
func phrase(rng *rand.Rand, o object, withSize bool) string {
	words := []string{pick(rng, colourWords[o.colour]), pick(rng, nounWords[o.noun])}
	if withSize {
		words = append([]string{pick(rng, sizeWords[o.size])}, words...)
	}
	return strings.Join(words, " ")
}

func pick(rng *rand.Rand, words []string) string { return words[rng.IntN(len(words))] }

// place returns a true phrase for where o is: the left, right, top or bottom
// third of the image, or its middle.
func place(rng *rand.Rand, o object) string {
	var ps []string
	switch {
	case o.x < 1.0/3:
		ps = append(ps, "on the left")
	case o.x > 2.0/3:
		ps = append(ps, "on the right")
	}
	switch {
	case o.y < 1.0/3:
		ps = append(ps, "at the top")
	case o.y > 2.0/3:
		ps = append(ps, "at the bottom")
	}
	if len(ps) == 0 {
		return "in the middle"
	}
	return pick(rng, ps)
}

// horizontal returns how a lies relative to b along x, if clearly.
func horizontal(a, b object) (string, bool) {
	switch {
	case a.x < b.x-relationMargin:
		return "to the left of", true
	case a.x > b.x+relationMargin:
		return "to the right of", true
	}
	return "", false
}

// vertical returns how a lies relative to b along y, if clearly.
func vertical(a, b object) (string, bool) {
	switch {
	case a.y < b.y-relationMargin:
		return "above", true
	case a.y > b.y+relationMargin:
		return "below", true
	}
	return "", false
}
