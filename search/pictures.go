package search

import (
	"fmt"
	"html/template"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
)

// Result is one query's answer, as Write shows it.
type Result struct {
	Source  string // the model, for the page's header
	Gallery *Gallery
	// Text is the text query; for an image query it is empty and Image is
	// the query's gallery image.
	Text  string
	Image int
	Hits  []Hit
}

// written matches the files Write makes, so that a later query into the
// same folder replaces them without leaving a longer earlier list's tail.
var written = regexp.MustCompile(`^(rank[0-9]+-image[0-9]+\.png|query-image[0-9]+\.png|index\.html)$`)

// Write writes r's pictures into dir as PNG files, each zoom times its
// thumbnail's side (nearest neighbour): for a text query the hits'
// images, "rank01-image17.png", ...; for an image query the query's,
// "query-image17.png". With html it also writes dir/index.html, a contact
// sheet of the query and its hits. It returns the files written, pictures
// in rank order first. Files an earlier Write left in dir are removed
// first; no other file is touched. The gallery must have pictures.
func Write(dir string, r Result, zoom int, html bool) ([]string, error) {
	g := r.Gallery
	if !g.HasPictures() {
		return nil, fmt.Errorf("search: gallery %s has no pictures to write", g.Name)
	}
	if zoom < 1 {
		return nil, fmt.Errorf("search: zoom %d must be at least 1", zoom)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("search: output folder: %w", err)
	}
	old, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("search: output folder: %w", err)
	}
	for _, e := range old {
		if !e.IsDir() && written.MatchString(e.Name()) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return nil, fmt.Errorf("search: output folder: %w", err)
			}
		}
	}
	var files []string
	writePNG := func(name string, i int) (string, error) {
		img, err := g.Split.Pictures[i].Image()
		if err != nil {
			return "", fmt.Errorf("search: gallery %s image %d: %w", g.Name, i, err)
		}
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			return "", fmt.Errorf("search: %w", err)
		}
		if err := png.Encode(f, scale(img, zoom)); err != nil {
			f.Close()
			return "", fmt.Errorf("search: write %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return "", fmt.Errorf("search: write %s: %w", path, err)
		}
		files = append(files, path)
		return name, nil
	}
	page := sheet{Source: r.Source, Gallery: g.Name, Text: r.Text}
	if r.Text == "" {
		if page.QueryPicture, err = writePNG(fmt.Sprintf("query-image%d.png", r.Image), r.Image); err != nil {
			return files, err
		}
		page.QueryImage = r.Image
		page.QueryCaptions = captionsOf(g, r.Image)
	}
	for rank, h := range r.Hits {
		row := sheetRow{Rank: rank + 1, Score: fmt.Sprintf("%.4f", h.Score), Item: h.Item}
		if r.Text != "" {
			if row.Picture, err = writePNG(fmt.Sprintf("rank%02d-image%d.png", rank+1, h.Item), h.Item); err != nil {
				return files, err
			}
			row.Captions = captionsOf(g, h.Item)
		} else {
			row.Captions = []string{g.Split.Captions[h.Item]}
			row.Match = g.Split.CaptionImage[h.Item] == r.Image
		}
		page.Rows = append(page.Rows, row)
	}
	if html {
		path := filepath.Join(dir, "index.html")
		f, err := os.Create(path)
		if err != nil {
			return files, fmt.Errorf("search: %w", err)
		}
		if err := sheetTemplate.Execute(f, page); err != nil {
			f.Close()
			return files, fmt.Errorf("search: write %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return files, fmt.Errorf("search: write %s: %w", path, err)
		}
		files = append(files, path)
	}
	return files, nil
}

// captionsOf lists the captions of gallery image i.
func captionsOf(g *Gallery, i int) []string {
	var out []string
	for _, c := range g.ImageCaptions[i] {
		out = append(out, g.Split.Captions[c])
	}
	return out
}

// scale enlarges img zoom times by repeating pixels, so that small
// thumbnails stay sharp.
func scale(img *image.RGBA, zoom int) image.Image {
	if zoom == 1 {
		return img
	}
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx()*zoom, b.Dy()*zoom))
	for y := 0; y < b.Dy()*zoom; y++ {
		for x := 0; x < b.Dx()*zoom; x++ {
			o := out.PixOffset(x, y)
			i := img.PixOffset(b.Min.X+x/zoom, b.Min.Y+y/zoom)
			copy(out.Pix[o:o+4], img.Pix[i:i+4])
		}
	}
	return out
}

type sheet struct {
	Source, Gallery, Text string
	QueryPicture          string
	QueryImage            int
	QueryCaptions         []string
	Rows                  []sheetRow
}

type sheetRow struct {
	Rank     int
	Score    string
	Item     int
	Picture  string
	Captions []string
	Match    bool // an image query's own caption
}

var sheetTemplate = template.Must(template.New("sheet").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>search: {{if .Text}}{{.Text}}{{else}}image {{.QueryImage}}{{end}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; } p.meta { color: #666; font-size: 0.9em; }
.grid { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; width: 10em; text-align: center; }
figure img, .query img { width: 8em; height: 8em; image-rendering: pixelated; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; } .score { color: #666; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; } td, th { padding: 0.2em 0.8em; text-align: left; }
tr.match { font-weight: bold; background: #eef6ee; }
</style>
</head>
<body>
{{if .Text}}<h1>Images for &ldquo;{{.Text}}&rdquo;</h1>
{{else}}<h1>Captions for image {{.QueryImage}}</h1>
<div class="query"><img src="{{.QueryPicture}}" alt="image {{.QueryImage}}">
<p>its caption{{if gt (len .QueryCaptions) 1}}s{{end}}: {{range $i, $c := .QueryCaptions}}{{if $i}}; {{end}}{{$c}}{{end}}</p></div>
{{end}}<p class="meta">{{.Source}}, gallery: the test split of {{.Gallery}}</p>
{{if .Text}}<div class="grid">
{{range .Rows}}<figure><img src="{{.Picture}}" alt="image {{.Item}}"><figcaption>{{.Rank}}. <span class="score">{{.Score}}</span><br>{{range $i, $c := .Captions}}{{if $i}}; {{end}}{{$c}}{{end}}</figcaption></figure>
{{end}}</div>
{{else}}<table>
<tr><th>rank</th><th>score</th><th>caption</th></tr>
{{range .Rows}}<tr{{if .Match}} class="match"{{end}}><td>{{.Rank}}</td><td class="score">{{.Score}}</td><td>{{index .Captions 0}}</td></tr>
{{end}}</table>
{{end}}</body>
</html>
`))
