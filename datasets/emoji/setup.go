package emoji

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/inflateshrink/inflateshrink/datasets/imagetok"
)

// Package is a pinned npm package and the sha512 integrity the registry
// gives for its tarball.
type Package struct {
	Name, Version, Integrity string
}

// Packages are the pinned npm packages: the captions (emojibase-data) and
// the ten iconify emoji sets. Integrity values are those `npm pack --json`
// reported on 2026-11-26.
var Packages = []Package{
	{"emojibase-data", "17.0.0", "sha512-Yvgb5AWoHViHV/gq1qr5ZAarcBip+B27/ZLRsUJkbgAEaLlZ/fof9g882LTpmEpyhBNEC0m2SEmItljHsTygjA=="},
	{"@iconify-json/emojione", "1.2.3", "sha512-T9+T3HIbJNLKKsmxYKlaYhvnHYkz/HNYTV7SHCXVZPfeUi4FqskY70YeN8yYAZT8cCv7w5vJxS4Q1m8zb9CMMg=="},
	{"@iconify-json/emojione-v1", "1.2.3", "sha512-UjI2VQEXVtGlPBvQuxEizro7QCgBcJDOYwKUupquvvZ8UV4xOlvm45IU82JYWegiAWLerY79gFLMZ26U6Ms+ww=="},
	{"@iconify-json/fluent-emoji", "1.2.7", "sha512-D8G6bKAyIsyxP1rzZtIWr/gg/fO4Rg1+DyCWlfqKK4h8W+4Em/Y0P6QYgJUQTlUcagzJvSyg+9OBv4hz4Hc/QA=="},
	{"@iconify-json/fluent-emoji-flat", "1.2.6", "sha512-RY47RgPb47fYUiyrA64sIOL0+UU02s29sXpNBbIQRBUlPlfNFTKUmZDERGuxDs/7yNGWqQYvuaSYM1M4fRXlUw=="},
	{"@iconify-json/fxemoji", "1.2.2", "sha512-UAasRaxzFUKfIGSmLwnoarsssA4LX0VLLuEmplIqM6ZNQqIQRtav8tZ4H1neTlBreXuMQyAifr5jP4kn78DpiQ=="},
	{"@iconify-json/noto", "1.2.9", "sha512-DQiuXENbun41ch+XPSV55H9FaWKpHTyz46YIKtSaKYD4fIDDzL1tR6H4np/T38jfrTAeI3rcKF0mqHYeZVAuaw=="},
	{"@iconify-json/noto-v1", "1.2.5", "sha512-/DsVMius69Q0fRS53z7QK1TROSuar606jiIx+laXtdsYGMXpf6LtHBx6CGfoo3UHHb/XpBsw+1L1x3eyPqMuVA=="},
	{"@iconify-json/openmoji", "1.2.29", "sha512-vXdhkqcXVSO6suy+m9LbcUM3OdVyuNOtpV8/als/WqfkQIRxevL5Geb/g+6GH/Qwnq1OqksEmaDGTCmZ5nFKJQ=="},
	{"@iconify-json/streamline-emojis", "1.2.4", "sha512-iNr9T9XuZVTyQPJO8ZlLxBzPkpi7qMl+z1l0C31vpEMqhPMelth3n7CeWQYtixdetDPdI81yeG4ROqjWpYJE6A=="},
	{"@iconify-json/twemoji", "1.2.5", "sha512-uKpuIEV0v6K5BW3Mjdyl+XKFVAbbcPxAgifKvEMtZoUZB5+YiY5zaMm2uNNCxyXzAWU9yNLlj41WU6/mvgALsw=="},
}

// tarball is the file name npm pack gives a package.
func (p Package) tarball() string {
	return strings.ReplaceAll(strings.TrimPrefix(p.Name, "@"), "/", "-") + "-" + p.Version + ".tgz"
}

// verify checks a tarball against the pinned integrity.
func (p Package) verify(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha512.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("emoji: %s: %w", path, err)
	}
	if got := "sha512-" + base64.StdEncoding.EncodeToString(h.Sum(nil)); got != p.Integrity {
		return fmt.Errorf("emoji: %s: integrity %s, pinned %s for %s@%s", path, got, p.Integrity, p.Name, p.Version)
	}
	return nil
}

// fetch makes sure dir holds p's verified tarball, running `npm pack` when
// it does not. npm writes into a temporary folder; the tarball is renamed
// into dir only once verified.
func (p Package) fetch(ctx context.Context, dir string) (string, error) {
	path := filepath.Join(dir, p.tarball())
	if p.verify(path) == nil {
		return path, nil
	}
	tmp, err := os.MkdirTemp(dir, "npm-pack-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "npm", "pack", "--silent", "--pack-destination", tmp, p.Name+"@"+p.Version)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("emoji: npm pack %s@%s: %v: %s", p.Name, p.Version, err, strings.TrimSpace(string(out)))
	}
	got := filepath.Join(tmp, p.tarball())
	if err := p.verify(got); err != nil {
		return "", err
	}
	return path, os.Rename(got, path)
}

// readTgz returns the files of a package tarball whose paths (without the
// leading "package/") satisfy want.
func readTgz(path string, want func(string) bool) (map[string][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("emoji: %s: %w", path, err)
	}
	out := map[string][]byte{}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("emoji: %s: %w", path, err)
		}
		name := strings.TrimPrefix(h.Name, "package/")
		if h.Typeflag != tar.TypeReg || !want(name) {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("emoji: %s: %s: %w", path, h.Name, err)
		}
		out[name] = b
	}
}

// cacheKind and cacheVersion identify the cache file format; bump the
// version whenever the join, the rasterising or the thumbnails change.
// Version 2 stores a 48-pixel thumbnail beside the 24-pixel one (version
// 1's, byte for byte: both are made from the same 48-pixel rendering).
const (
	cacheKind    = "emoji"
	cacheVersion = 2
	// renderPx is the rasterising size; thumbnails average it down.
	renderPx = 48
)

// SetupCommand is what a user runs to build the cache.
const SetupCommand = "go run ./datasets/setup emoji"

// cache is what the set-up stores: the captions and one thumbnail per
// (caption, style) pair, with what made them.
type cache struct {
	Packages   []string // name@version of every package used
	Rasteriser string
	Sizes      []int // the thumbnail sides, imagetok.ThumbSizes when built
	Captions   []Caption
	Images     []Image
	Credits    map[string]string // style -> its info.json (licence and author)
}

// Image is one icon: its caption, style, icon name and thumbnails.
type Image struct {
	Caption int
	Style   string
	Icon    string
	Thumbs  [][]uint8 // Thumbs[k] is Sizes[k] x Sizes[k] RGB
}

// CachePath is the cache file under dir. Its name carries the format
// version, so that programs built before and after a format change can
// share one cache folder (a CI machine and a checkout of another commit)
// without refusing each other's file.
func CachePath(dir string) string { return imagetok.CachePath(dir, "emoji", cacheVersion) }

// SmallSetupCommand builds only the small set's cache.
const SmallSetupCommand = "go run ./datasets/setup emoji-small"

// SmallCachePath is the small set's cache file under dir: the subset of the
// full cache that Settings.Small uses, so a smoke test needs to render only
// its icons.
func SmallCachePath(dir string) string { return imagetok.CachePath(dir, "emoji-small", cacheVersion) }

// Setup builds the cache under dir (see imagetok.Dir) unless a valid one is
// there: it fetches and verifies the pinned packages with npm pack, joins
// captions to icons, rasterises them and stores thumbnails. It also writes
// the small set's cache, cut from the full one. Progress goes to log.
func Setup(ctx context.Context, dir string, log *slog.Logger) error {
	return setup(ctx, dir, log, false)
}

// SetupSmall builds only the small set's cache (cut from the full cache
// when there is one): the same images as the full set-up gives the first
// SmallCaptions base emoji, about 1,400 to render instead of 23,000.
func SetupSmall(ctx context.Context, dir string, log *slog.Logger) error {
	return setup(ctx, dir, log, true)
}

func setup(ctx context.Context, dir string, log *slog.Logger, small bool) error {
	var c cache
	if err := imagetok.ReadCache(CachePath(dir), cacheKind, cacheVersion, &c, SetupCommand); err == nil {
		log.Info("emoji: cache is up to date", "file", CachePath(dir), "captions", len(c.Captions), "images", len(c.Images))
		return writeSmall(dir, &c, log)
	}
	if small {
		var sc cache
		if err := imagetok.ReadCache(SmallCachePath(dir), cacheKind, cacheVersion, &sc, SmallSetupCommand); err == nil {
			log.Info("emoji: small cache is up to date", "file", SmallCachePath(dir), "images", len(sc.Images))
			return nil
		}
	}
	raster := imagetok.Rasteriser()
	npmDir := filepath.Join(dir, "npm")
	if err := os.MkdirAll(npmDir, 0o755); err != nil {
		return err
	}
	files := map[string]map[string][]byte{}
	for _, p := range Packages {
		path, err := p.fetch(ctx, npmDir)
		if err != nil {
			return err
		}
		fs, err := readTgz(path, func(n string) bool {
			return n == "en/data.json" || (strings.HasPrefix(n, "en/shortcodes/") && strings.HasSuffix(n, ".json")) ||
				n == "icons.json" || n == "chars.json" || n == "info.json"
		})
		if err != nil {
			return err
		}
		files[p.Name] = fs
		c.Packages = append(c.Packages, p.Name+"@"+p.Version)
		log.Info("emoji: package verified", "package", p.Name+"@"+p.Version)
	}
	captions, styles, shortcodes, credits, err := parsePackages(files)
	if err != nil {
		return err
	}
	// Join everything even for the small set: which icon a guess finds
	// depends on the icons other captions took.
	matches := Join(captions, styles, shortcodes)
	log.Info("emoji: joined", "captions", len(captions), "images", len(matches), "rasteriser", raster)
	if small {
		keep := smallCaptions(captions)
		kept := matches[:0]
		for _, m := range matches {
			if keep[m.Caption] {
				kept = append(kept, m)
			}
		}
		matches = kept
	}
	c.Sizes = imagetok.ThumbSizes
	images, err := render(ctx, matches, log)
	if err != nil {
		return err
	}
	c.Rasteriser, c.Captions, c.Images, c.Credits = raster, captions, images, credits
	if !small {
		if err := imagetok.WriteCache(CachePath(dir), cacheKind, cacheVersion, &c); err != nil {
			return err
		}
	}
	return writeSmall(dir, &c, log)
}

// smallCaptions returns the captions of the small set: the first
// SmallCaptions base emoji (no skin tone).
func smallCaptions(captions []Caption) map[int]bool {
	keep := map[int]bool{}
	for i, cp := range captions {
		if len(keep) < SmallCaptions && cp.Tone == 0 && cp.Hex == cp.Base {
			keep[i] = true
		}
	}
	return keep
}

// writeSmall writes the small cache cut from c (which may already be
// small) unless a valid one exists.
func writeSmall(dir string, c *cache, log *slog.Logger) error {
	var sc cache
	if err := imagetok.ReadCache(SmallCachePath(dir), cacheKind, cacheVersion, &sc, SmallSetupCommand); err == nil {
		return nil
	}
	sc = *c
	keep := smallCaptions(c.Captions)
	sc.Images = nil
	for _, im := range c.Images {
		if keep[im.Caption] {
			sc.Images = append(sc.Images, im)
		}
	}
	log.Info("emoji: small cache", "file", SmallCachePath(dir), "images", len(sc.Images))
	return imagetok.WriteCache(SmallCachePath(dir), cacheKind, cacheVersion, &sc)
}

// parsePackages parses the files of the packages, keyed by package name.
func parsePackages(files map[string]map[string][]byte) ([]Caption, []*Style, map[string][]string, map[string]string, error) {
	base := files["emojibase-data"]
	captions, err := ParseCaptions(base["en/data.json"])
	if err != nil {
		return nil, nil, nil, nil, err
	}
	shortcodes := map[string][]string{}
	var names []string
	for n := range base {
		if strings.HasPrefix(n, "en/shortcodes/") {
			names = append(names, n)
		}
	}
	sort.Strings(names) // the order of a caption's shortcode guesses
	for _, n := range names {
		if err := ParseShortcodes(base[n], shortcodes); err != nil {
			return nil, nil, nil, nil, fmt.Errorf("%w (%s)", err, n)
		}
	}
	var styles []*Style
	credits := map[string]string{}
	for _, p := range Packages {
		if !strings.HasPrefix(p.Name, "@iconify-json/") {
			continue
		}
		fs := files[p.Name]
		chars := fs["chars.json"]
		if p.Name == "@iconify-json/fluent-emoji" {
			// fluent-emoji (3D) ships no chars.json; its names are those
			// of fluent-emoji-flat.
			chars = files["@iconify-json/fluent-emoji-flat"]["chars.json"]
		}
		s, err := ParseStyle(fs["icons.json"], chars)
		if err != nil {
			return nil, nil, nil, nil, fmt.Errorf("%w (%s)", err, p.Name)
		}
		styles = append(styles, s)
		credits[s.Name] = string(fs["info.json"])
	}
	sort.Slice(styles, func(i, j int) bool { return styles[i].Name < styles[j].Name })
	return captions, styles, shortcodes, credits, nil
}

// render rasterises the matches on all cores into thumbnails (at every
// side of imagetok.ThumbSizes), in order. An
// icon the rasteriser rejects is logged and left out, so one odd SVG does
// not lose the set; a cancelled ctx stops it with ctx's error.
func render(ctx context.Context, matches []Match, log *slog.Logger) ([]Image, error) {
	out := make([]Image, len(matches))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	next := make(chan int)
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				m := matches[i]
				img, err := imagetok.Rasterise([]byte(m.SVG), renderPx)
				var th [][]uint8
				if err == nil {
					th, err = imagetok.Thumbnails(img)
				}
				if err != nil {
					log.Warn("emoji: icon left out", "style", m.Style, "icon", m.Icon, "err", err)
				}
				mu.Lock()
				out[i] = Image{Caption: m.Caption, Style: m.Style, Icon: m.Icon, Thumbs: th}
				done++
				if done%2000 == 0 {
					log.Info("emoji: rasterised", "images", done, "of", len(matches))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range matches {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	kept := out[:0]
	for _, im := range out {
		if im.Thumbs != nil {
			kept = append(kept, im)
		}
	}
	return kept, nil
}
