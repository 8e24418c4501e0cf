// Package tuxpaint reads the stamps of Debian's tuxpaint-stamps-default
// (2022.06.04-1, GPL-2+): about 950 photos and clip-art pictures, each with
// an English caption, registered with datasets.Load as "tuxpaint". It is a
// transfer test set: only its Test split is filled (every stamp, one
// caption each), tokenised like the emoji set (see imagetok), so a model
// trained on emoji can be evaluated on it. It is registered once more per
// variant of imagetok.Variants, as "tuxpaint@<variant>", to match a model
// trained on "emoji-...@<variant>" (same tokens, same RegionDim).
//
// Setup (go run ./datasets/setup tuxpaint) downloads the package with
// `apt-get download` (no installation), checks its SHA-256 against the pinned
// one, reads the stamps straight from `dpkg-deb --fsys-tarfile`, pairs
// <stem>.svg (preferred, rendered like the emoji) or <stem>.png with line 1
// of <stem>.txt, and caches thumbnails (at each side of
// imagetok.ThumbSizes) in tuxpaint.v2.cache beside the emoji cache (see
// imagetok.Dir).
package tuxpaint

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/png" // the photo stamps
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/inflateshrink/inflateshrink/datasets"
	"github.com/inflateshrink/inflateshrink/datasets/imagetok"
)

// The pinned Debian package.
const (
	Package = "tuxpaint-stamps-default"
	Version = "2022.06.04-1"
	SHA256  = "6db6c1bfc870a47f1499d6203b083522eacb57c5f9c87d468f2e92eb6d9d5f34"
	deb     = Package + "_" + Version + "_all.deb"
)

// SetupCommand is what a user runs to build the cache.
const SetupCommand = "go run ./datasets/setup tuxpaint"

// Version 2 of the cache adds a 48-pixel thumbnail beside the 24-pixel one.
const (
	cacheKind    = "tuxpaint"
	cacheVersion = 2
	renderPx     = 48 // as the emoji
	stampsDir    = "usr/share/tuxpaint/stamps/"
)

// Stamp is one picture and its caption.
type Stamp struct {
	Path    string // the picture's path in the package
	Caption string
	Thumbs  [][]uint8 // Thumbs[k] is Sizes[k] x Sizes[k] RGB
}

type cache struct {
	Package    string
	Rasteriser string
	Sizes      []int // the thumbnail sides, imagetok.ThumbSizes when built
	Stamps     []Stamp
}

// CachePath is the cache file under dir, named with the format version
// (see imagetok.CachePath).
func CachePath(dir string) string { return imagetok.CachePath(dir, "tuxpaint", cacheVersion) }

// Name is the data set's name with the default tokenisation.
const Name = "tuxpaint"

// Names lists every name this package registers with datasets.Load and
// the tokenisation of each: Name, then Name+"@"+v.Name() for each variant
// v of imagetok.Variants.
func Names() map[string]imagetok.Settings {
	out := map[string]imagetok.Settings{Name: {}}
	for _, t := range imagetok.Variants {
		out[Name+"@"+t.Name()] = t
	}
	return out
}

// Matching is the name of the Tux Paint set tokenised like the named
// data set: Name+"@"+v for a name ending in "@"+v (a variant of
// imagetok.Variants), Name otherwise. A model trained on
// "emoji-style@s24g8c3" transfers to "tuxpaint@s24g8c3": the default
// tokens have the same RegionDim (29) but other patches.
func Matching(dataset string) string {
	if _, v, ok := strings.Cut(dataset, "@"); ok {
		return Name + "@" + v
	}
	return Name
}

func init() {
	for name, t := range Names() {
		datasets.Register(name, func() (*datasets.Dataset, error) {
			d, err := Load("", t)
			if d != nil {
				d.Name = name
			}
			return d, err
		})
	}
}

// Load reads the cache from dir (empty: imagetok.Dir()) into a data set
// whose Test split holds every stamp, tokenised by tokens (the zero
// value: imagetok's default).
func Load(dir string, tokens imagetok.Settings) (*datasets.Dataset, error) {
	if dir == "" {
		var err error
		if dir, err = imagetok.Dir(); err != nil {
			return nil, err
		}
	}
	var c cache
	if err := imagetok.ReadCache(CachePath(dir), cacheKind, cacheVersion, &c, SetupCommand); err != nil {
		return nil, fmt.Errorf("tuxpaint: data set not set up: %w", err)
	}
	d := &datasets.Dataset{Name: Name, RegionDim: tokens.RegionDim()}
	for k, s := range c.Stamps {
		tok, err := tokens.TokensOf(c.Sizes, s.Thumbs)
		if err != nil {
			return nil, fmt.Errorf("tuxpaint: %s: %w", s.Path, err)
		}
		d.Test.Images = append(d.Test.Images, tok)
		d.Test.Captions = append(d.Test.Captions, s.Caption)
		d.Test.CaptionImage = append(d.Test.CaptionImage, k)
		d.Test.Pictures = append(d.Test.Pictures, imagetok.Picture(c.Sizes, s.Thumbs))
	}
	d.Protocol = fmt.Sprintf("transfer only: test %d stamps of %s %s, 1 caption (line 1 of the .txt) per image; image = %s; SVGs rendered by %s",
		len(c.Stamps), Package, Version, imagetok.Describe(tokens), c.Rasteriser)
	return d, nil
}

// Setup builds the cache under dir unless a valid one is there.
func Setup(ctx context.Context, dir string, log *slog.Logger) error {
	var c cache
	if err := imagetok.ReadCache(CachePath(dir), cacheKind, cacheVersion, &c, SetupCommand); err == nil {
		log.Info("tuxpaint: cache is up to date", "file", CachePath(dir), "stamps", len(c.Stamps))
		return nil
	}
	raster := imagetok.Rasteriser()
	debPath, err := fetch(ctx, filepath.Join(dir, "apt"))
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", debPath)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("tuxpaint: dpkg-deb: %w", err)
	}
	files, err := readStamps(out)
	if werr := cmd.Wait(); err == nil && werr != nil {
		err = fmt.Errorf("tuxpaint: dpkg-deb --fsys-tarfile %s: %v: %s", debPath, werr, strings.TrimSpace(stderr.String()))
	}
	if err != nil {
		return err
	}
	c = cache{Package: Package + "=" + Version, Rasteriser: raster, Sizes: imagetok.ThumbSizes}
	pairs := PairFiles(files)
	for _, p := range pairs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		th, err := thumbnails(p.Path, files[p.Path])
		if err != nil {
			log.Warn("tuxpaint: stamp left out", "file", p.Path, "err", err)
			continue
		}
		c.Stamps = append(c.Stamps, Stamp{Path: p.Path, Caption: p.Caption, Thumbs: th})
	}
	log.Info("tuxpaint: stamps", "paired", len(pairs), "kept", len(c.Stamps), "rasteriser", raster)
	return imagetok.WriteCache(CachePath(dir), cacheKind, cacheVersion, &c)
}

// fetch makes sure dir holds the verified .deb, running apt-get download
// in a temporary folder when it does not.
func fetch(ctx context.Context, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, deb)
	if verify(p) == nil {
		return p, nil
	}
	tmp, err := os.MkdirTemp(dir, "apt-download-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "apt-get", "download", Package+"="+Version)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("tuxpaint: apt-get download %s=%s (run apt-get update first?): %v: %s", Package, Version, err, strings.TrimSpace(string(out)))
	}
	got := filepath.Join(tmp, deb)
	if err := verify(got); err != nil {
		return "", err
	}
	return p, os.Rename(got, p)
}

func verify(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("tuxpaint: %s: %w", p, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != SHA256 {
		return fmt.Errorf("tuxpaint: %s: SHA-256 %s, pinned %s", p, got, SHA256)
	}
	return nil
}

// readStamps returns the .txt, .png and .svg files under the stamps folder
// of a package's file system tarball, keyed by path relative to it.
func readStamps(r io.Reader) (map[string][]byte, error) {
	out := map[string][]byte{}
	tr := tar.NewReader(bufio.NewReader(r))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("tuxpaint: package tarball: %w", err)
		}
		name := strings.TrimPrefix(path.Clean(h.Name), "./")
		rel, ok := strings.CutPrefix(name, stampsDir)
		ext := path.Ext(rel)
		if !ok || h.Typeflag != tar.TypeReg || (ext != ".txt" && ext != ".png" && ext != ".svg") {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("tuxpaint: %s: %w", name, err)
		}
		out[rel] = b
	}
}

// A Pair is a picture's path and its caption.
type Pair struct{ Path, Caption string }

// PairFiles pairs every <stem>.txt with <stem>.svg, or else <stem>.png, and the
// first line of the text (trimmed; stamps with an empty first line or no
// picture are left out), sorted by path.
func PairFiles(files map[string][]byte) []Pair {
	var out []Pair
	for name, b := range files {
		stem, ok := strings.CutSuffix(name, ".txt")
		if !ok {
			continue
		}
		line, _, _ := bytes.Cut(b, []byte("\n"))
		caption := strings.TrimSpace(string(line))
		if caption == "" {
			continue
		}
		for _, ext := range []string{".svg", ".png"} {
			if _, ok := files[stem+ext]; ok {
				out = append(out, Pair{Path: stem + ext, Caption: caption})
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// thumbnails decodes (PNG) or renders (SVG) a picture into its
// thumbnails (imagetok.Thumbnails).
func thumbnails(name string, b []byte) ([][]uint8, error) {
	var img image.Image
	var err error
	if strings.HasSuffix(name, ".svg") {
		img, err = imagetok.Rasterise(b, renderPx)
	} else {
		img, _, err = image.Decode(bytes.NewReader(b))
	}
	if err != nil {
		return nil, err
	}
	return imagetok.Thumbnails(img)
}
