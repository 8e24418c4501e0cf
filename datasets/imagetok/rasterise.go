package imagetok

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os/exec"
	"regexp"
	"strconv"
	"strings"

	"github.com/srwiley/oksvg"
	"github.com/srwiley/rasterx"
)

// PureGo names the pure-Go rasteriser in Rasteriser's answer.
const PureGo = "oksvg (pure Go)"

// Rasteriser describes the SVG renderer Rasterise uses: rsvg-convert with
// its version ("rsvg-convert version 2.54.7") when it is on the PATH,
// otherwise PureGo. Caches record it: the two draw differently, so data
// sets built with them are different data sets.
func Rasteriser() string {
	path, err := exec.LookPath("rsvg-convert")
	if err != nil {
		return PureGo
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return PureGo
	}
	return strings.TrimSpace(string(out))
}

// Rasterise renders an SVG document to a px x px image with rsvg-convert
// when it is on the PATH, otherwise with oksvg (see RasteriseGo).
func Rasterise(svg []byte, px int) (image.Image, error) {
	if _, err := exec.LookPath("rsvg-convert"); err != nil {
		return RasteriseGo(svg, px)
	}
	cmd := exec.Command("rsvg-convert", "-w", strconv.Itoa(px), "-h", strconv.Itoa(px), "-f", "png")
	cmd.Stdin = bytes.NewReader(svg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("imagetok: rsvg-convert: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		return nil, fmt.Errorf("imagetok: rsvg-convert output: %w", err)
	}
	return img, nil
}

// definitions matches the elements oksvg must meet before their use:
// <defs> blocks and gradients.
var definitions = regexp.MustCompile(`(?s)<defs\b.*?</defs>|<(linearGradient|radialGradient)\b.*?</(linearGradient|radialGradient)>`)

// RasteriseGo renders an SVG document to a px x px image with the pure-Go
// oksvg and rasterx. oksvg resolves a gradient only if it was defined
// before its use, so <defs> blocks and gradients are moved to the start of
// the document; elements it does not support (filters, masks, clip paths)
// are skipped, so some icons render differently from rsvg-convert. A panic
// inside oksvg (it has a few on malformed input) becomes an error.
func RasteriseGo(svg []byte, px int) (img image.Image, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("imagetok: oksvg: panic: %v", p)
		}
	}()
	s := string(svg)
	open := strings.Index(s, "<svg")
	end := -1
	if open >= 0 {
		end = strings.Index(s[open:], ">")
	}
	if end < 0 {
		return nil, fmt.Errorf("imagetok: oksvg: no <svg> element")
	}
	body := s[open+end+1:]
	defs := strings.Join(definitions.FindAllString(body, -1), "")
	body = definitions.ReplaceAllString(body, "")
	doc := s[:open+end+1] + defs + body
	icon, err := oksvg.ReadIconStream(strings.NewReader(doc), oksvg.IgnoreErrorMode)
	if err != nil {
		return nil, fmt.Errorf("imagetok: oksvg: %w", err)
	}
	icon.SetTarget(0, 0, float64(px), float64(px))
	rgba := image.NewRGBA(image.Rect(0, 0, px, px))
	icon.Draw(rasterx.NewDasher(px, px, rasterx.NewScannerGV(px, px, rgba, rgba.Bounds())), 1)
	return rgba, nil
}
