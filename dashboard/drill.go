package dashboard

import (
	"bytes"
	"cmp"
	"fmt"
	"image/png"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/store"
)

// maxLimit bounds how many won queries of each run a drill-down lists.
const maxLimit = 500

// drillQuery is one query that a run wins.
type drillQuery struct {
	// Query is its index in the split: a caption (t2i) or an image (i2t).
	Query int `json:"query"`
	RankA int `json:"rank_a"`
	RankB int `json:"rank_b"`
	// With the data set loaded: for a caption, its text and the image it
	// describes; for an image, its captions; and the image's thumbnail
	// where the data set has pictures. Image is -1 when unknown.
	Text     string   `json:"text,omitempty"`
	Image    int      `json:"image"`
	Captions []string `json:"captions,omitempty"`
	Thumb    string   `json:"thumb,omitempty"`
}

// drill answers /api/drill?a=ID&b=ID[&dir=t2i|i2t][&split=test][&k=1][&limit=50]:
// which queries run a wins over run b and which b wins over a, from the
// ranks each stored. With k > 0 a query is won when the winner ranks its
// correct item within the top k and the loser does not (so the counts
// differ by the R@k gap, in queries); with k = 0, whenever the winner ranks
// it better. Each list is sorted by how much better, as a ratio of ranks
// (rank 1 against 10 counts as much as 10 against 100), and cut at limit.
func (s *Server) drill(r *http.Request, db store.Reader) (any, error) {
	a, b, err := twoRuns(r, db)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	dir := cmp.Or(q.Get("dir"), store.T2I)
	if dir != store.T2I && dir != store.I2T {
		return nil, badRequest("parameter dir=%q: want %s (caption queries) or %s (image queries)", dir, store.T2I, store.I2T)
	}
	split := cmp.Or(q.Get("split"), "test")
	k, err := intParam(r, "k", 1)
	if err != nil {
		return nil, err
	}
	limit, err := intParam(r, "limit", 50)
	if err != nil {
		return nil, err
	}
	if k < 0 || limit < 1 || limit > maxLimit {
		return nil, badRequest("want k >= 0 and 1 <= limit <= %d, got k=%d, limit=%d", maxLimit, k, limit)
	}
	ra, err := readRanks(db, a.ID, split, dir)
	if err != nil {
		return nil, err
	}
	rb, err := readRanks(db, b.ID, split, dir)
	if err != nil {
		return nil, err
	}
	if len(ra) != len(rb) {
		return nil, badRequest("run %d ranked %d queries and run %d %d: they were not tested on the same split (data sets %s and %s)",
			a.ID, len(ra), b.ID, len(rb), a.Dataset, b.Dataset)
	}
	type side struct {
		Wins   int          `json:"wins"`
		Recall num          `json:"recall"` // R@k in percent; null for k = 0
		Top    []drillQuery `json:"top"`
	}
	out := struct {
		A         runBrief `json:"a"`
		B         runBrief `json:"b"`
		Split     string   `json:"split"`
		Dir       string   `json:"dir"`
		K         int64    `json:"k"`
		Queries   int      `json:"queries"`
		Dataset   string   `json:"dataset"`   // whose captions and pictures are shown
		Annotated bool     `json:"annotated"` // whether they are
		Note      string   `json:"note"`      // why not, when not
		RanksA    []int    `json:"ranks_a"`
		RanksB    []int    `json:"ranks_b"`
		WinsA     side     `json:"a_wins"`
		WinsB     side     `json:"b_wins"`
	}{A: brief(a), B: brief(b), Split: split, Dir: dir, K: k, Queries: len(ra), RanksA: ra, RanksB: rb}
	won := func(x, y int) bool { // the rank x wins over the rank y
		if k == 0 {
			return x < y
		}
		return int64(x) <= k && int64(y) > k
	}
	aw, bw := []drillQuery{}, []drillQuery{} // JSON [] when none
	inTopK := [2]int{}
	for i := range ra {
		switch {
		case won(ra[i], rb[i]):
			aw = append(aw, drillQuery{Query: i, RankA: ra[i], RankB: rb[i], Image: -1})
		case won(rb[i], ra[i]):
			bw = append(bw, drillQuery{Query: i, RankA: ra[i], RankB: rb[i], Image: -1})
		}
		if int64(ra[i]) <= k {
			inTopK[0]++
		}
		if int64(rb[i]) <= k {
			inTopK[1]++
		}
	}
	gain := func(q drillQuery) float64 { return math.Abs(math.Log(float64(q.RankB)) - math.Log(float64(q.RankA))) }
	byGain := func(x, y drillQuery) int { return cmp.Or(cmp.Compare(gain(y), gain(x)), cmp.Compare(x.Query, y.Query)) }
	slices.SortFunc(aw, byGain)
	slices.SortFunc(bw, byGain)
	out.WinsA = side{Wins: len(aw), Top: aw[:min(len(aw), int(limit))], Recall: num(math.NaN())}
	out.WinsB = side{Wins: len(bw), Top: bw[:min(len(bw), int(limit))], Recall: num(math.NaN())}
	if k > 0 {
		out.WinsA.Recall = num(100 * float64(inTopK[0]) / float64(len(ra)))
		out.WinsB.Recall = num(100 * float64(inTopK[1]) / float64(len(rb)))
	}

	out.Dataset, out.Note = splitDataset(a, b, split)
	if out.Dataset != "" {
		d, err := s.dataset(out.Dataset)
		if err == nil {
			err = annotate(out.WinsA.Top, out.WinsB.Top, d, out.Dataset, dir, len(ra))
		}
		if err != nil {
			out.Note = fmt.Sprintf("captions and pictures of %s not shown: %v", out.Dataset, err)
		} else {
			out.Annotated = true
		}
	}
	return out, nil
}

// readRanks reads the ranks a run stored.
func readRanks(db store.Reader, id int64, split, dir string) ([]int, error) {
	ranks, ok, err := store.Ranks(db, id, split, dir)
	if err != nil || ok {
		return ranks, err
	}
	have, err := store.RunRanksSplits(db, id)
	if err != nil {
		return nil, err
	}
	if len(have) == 0 {
		return nil, notFound("run %d stored no per-query ranks (a run that failed, or was recorded before they were kept)", id)
	}
	return nil, notFound("run %d stored no %s ranks of split %q (its splits: %s)", id, dir, split, strings.Join(have, ", "))
}

// splitDataset names the data set whose test split the queries of split
// are; "" with the reason when there is none to show.
func splitDataset(a, b *run, split string) (name, why string) {
	switch {
	case split == "test":
		if a.Dataset != b.Dataset {
			return "", fmt.Sprintf("the runs were tested on different data sets (%s and %s)", a.Dataset, b.Dataset)
		}
		return a.Dataset, ""
	case strings.HasPrefix(split, "transfer:"):
		return strings.TrimPrefix(split, "transfer:"), ""
	}
	return "", fmt.Sprintf("split %q is not a data set's test split", split)
}

// annotate fills in the captions, images and thumbnails of the listed
// queries from d's test split, which must have n queries in direction dir:
// a data set that changed since the runs were tested cannot be trusted to
// number its queries as they did.
func annotate(aw, bw []drillQuery, d *datasets.Dataset, name, dir string, n int) error {
	t := &d.Test
	queries := len(t.Captions)
	if dir == store.I2T {
		queries = len(t.Images)
	}
	if queries != n || len(t.CaptionImage) != len(t.Captions) {
		return fmt.Errorf("its test split has %d %s queries where the runs ranked %d (did the data set change?)", queries, dir, n)
	}
	var captionsOf map[int][]string
	if dir == store.I2T {
		captionsOf = map[int][]string{}
		for c, img := range t.CaptionImage {
			captionsOf[img] = append(captionsOf[img], t.Captions[c])
		}
	}
	pictures := len(t.Pictures) == len(t.Images)
	for _, list := range [][]drillQuery{aw, bw} {
		for i := range list {
			q := &list[i]
			if dir == store.T2I {
				q.Text, q.Image = t.Captions[q.Query], t.CaptionImage[q.Query]
			} else {
				q.Image, q.Captions = q.Query, captionsOf[q.Query]
			}
			if pictures {
				q.Thumb = "/api/thumb?" + url.Values{"dataset": {name}, "image": {strconv.Itoa(q.Image)}}.Encode()
			}
		}
	}
	return nil
}

// thumb serves /api/thumb?dataset=NAME&image=I: the thumbnail of test
// image I as PNG. Only a data set that a drill-down loaded is served, so
// that a request cannot make the server build an arbitrary data set.
func (s *Server) thumb(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("dataset")
	i, err := strconv.Atoi(r.URL.Query().Get("image"))
	if err != nil {
		http.Error(w, "parameter image is not a whole number", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	l := s.sets[name]
	s.mu.Unlock()
	var d *datasets.Dataset
	if l != nil {
		d, err = s.dataset(name)
	}
	if l == nil || err != nil || i < 0 || i >= len(d.Test.Pictures) {
		http.Error(w, fmt.Sprintf("no thumbnail of image %d of data set %q", i, name), http.StatusNotFound)
		return
	}
	img, err := d.Test.Pictures[i].Image()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "max-age=300")
	w.Write(buf.Bytes())
}
