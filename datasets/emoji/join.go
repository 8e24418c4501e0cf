package emoji

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode"
)

// Caption is one emoji of emojibase-data: a base emoji or a skin-tone
// variant of one.
type Caption struct {
	Hex   string   // normalised hexcode: upper case, FE0F dropped ("1F44B-1F3FB")
	Base  string   // Hex of the base emoji; Hex itself for a base emoji
	Label string   // CLDR name ("waving hand: light skin tone")
	Tags  []string // CLDR keywords
	Tone  int      // 1 to 5 for a single skin tone, 0 for none or several
}

// Style is one iconify emoji set, as read from its package.
type Style struct {
	Name    string            // iconify prefix ("noto")
	Chars   map[string]string // normalised hexcode -> icon name
	Icons   map[string]icon   // icon name -> icon
	Aliases map[string]alias  // alias name -> parent and transformations
	Width   float64           // default viewBox width and height
	Height  float64
}

type icon struct {
	Body                     string
	Left, Top, Width, Height float64
}

type alias struct {
	Parent        string
	HFlip, VFlip  bool
	Rotate        int
	Width, Height float64
}

// Match is an icon of a style joined to a caption.
type Match struct {
	Caption int    // index into the captions
	Style   string // iconify prefix
	Icon    string // the icon's name in its set (after alias resolution)
	SVG     string // the standalone SVG document
}

// normHex upper-cases a hexcode and drops its FE0F (variation selector)
// parts, which the sets use inconsistently.
func normHex(h string) string {
	parts := strings.Split(strings.ToUpper(h), "-")
	out := parts[:0]
	for _, p := range parts {
		if p != "FE0F" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "-")
}

// slug lower-cases s and joins its runs of letters and digits with '-'
// ("twelve o’clock" -> "twelve-o-clock"), the naming of the iconify sets.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	return b.String()
}

// ParseCaptions reads emojibase-data's en/data.json: every emoji and its
// skin-tone variants, in file order (variants right after their base).
func ParseCaptions(data []byte) ([]Caption, error) {
	var raw []struct {
		Label   string          `json:"label"`
		Hexcode string          `json:"hexcode"`
		Tags    []string        `json:"tags"`
		Tone    json.RawMessage `json:"tone"`
		Skins   []struct {
			Label   string          `json:"label"`
			Hexcode string          `json:"hexcode"`
			Tags    []string        `json:"tags"`
			Tone    json.RawMessage `json:"tone"`
		} `json:"skins"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("emoji: en/data.json: %w", err)
	}
	var out []Caption
	seen := map[string]bool{}
	add := func(c Caption) error {
		if c.Label == "" || c.Hex == "" {
			return fmt.Errorf("emoji: en/data.json: entry %d has no label or hexcode", len(out))
		}
		if seen[c.Hex] {
			return fmt.Errorf("emoji: en/data.json: hexcode %s twice", c.Hex)
		}
		seen[c.Hex] = true
		out = append(out, c)
		return nil
	}
	for _, e := range raw {
		base := normHex(e.Hexcode)
		if err := add(Caption{Hex: base, Base: base, Label: e.Label, Tags: e.Tags}); err != nil {
			return nil, err
		}
		for _, s := range e.Skins {
			var tone int // a list of tones (mixed couples) stays 0
			_ = json.Unmarshal(s.Tone, &tone)
			tags := s.Tags
			if tags == nil {
				tags = e.Tags
			}
			if err := add(Caption{Hex: normHex(s.Hexcode), Base: base, Label: s.Label, Tags: tags, Tone: tone}); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// ParseShortcodes reads one of emojibase-data's en/shortcodes/*.json
// (hexcode -> shortcode or list of shortcodes) into normalised hexcode ->
// shortcodes, adding to into.
func ParseShortcodes(data []byte, into map[string][]string) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("emoji: shortcodes: %w", err)
	}
	for h, v := range raw {
		var one string
		var many []string
		if json.Unmarshal(v, &one) == nil {
			many = []string{one}
		} else if err := json.Unmarshal(v, &many); err != nil {
			return fmt.Errorf("emoji: shortcodes: %s: %w", h, err)
		}
		into[normHex(h)] = append(into[normHex(h)], many...)
	}
	return nil
}

// ParseStyle reads an iconify set's icons.json and the chars.json that maps
// hexcodes to its icon names (fluent-emoji has none and borrows
// fluent-emoji-flat's; nil chars is allowed).
func ParseStyle(iconsJSON, charsJSON []byte) (*Style, error) {
	var raw struct {
		Prefix string  `json:"prefix"`
		Width  float64 `json:"width"`
		Height float64 `json:"height"`
		Icons  map[string]struct {
			Body                     string
			Left, Top, Width, Height float64
		} `json:"icons"`
		Aliases map[string]alias `json:"aliases"`
	}
	if err := json.Unmarshal(iconsJSON, &raw); err != nil {
		return nil, fmt.Errorf("emoji: icons.json: %w", err)
	}
	if raw.Prefix == "" || len(raw.Icons) == 0 {
		return nil, fmt.Errorf("emoji: icons.json: no prefix or no icon")
	}
	s := &Style{Name: raw.Prefix, Chars: map[string]string{}, Icons: map[string]icon{}, Aliases: raw.Aliases,
		Width: raw.Width, Height: raw.Height}
	// Iconify's defaults: a 16 x 16 viewBox at the origin.
	if s.Width == 0 {
		s.Width = 16
	}
	if s.Height == 0 {
		s.Height = 16
	}
	for n, ic := range raw.Icons {
		s.Icons[n] = icon(ic)
	}
	if len(charsJSON) > 0 {
		var chars map[string]string
		if err := json.Unmarshal(charsJSON, &chars); err != nil {
			return nil, fmt.Errorf("emoji: %s chars.json: %w", s.Name, err)
		}
		for h, n := range chars {
			s.Chars[normHex(h)] = n
		}
	}
	return s, nil
}

// resolve follows aliases to an icon and returns its final name, or false
// when name is unknown or an alias is flipped or rotated (a mirrored icon
// is not the emoji the caption names).
func (s *Style) resolve(name string) (string, icon, bool) {
	for range 8 { // alias chains are short; this bounds a cycle
		if ic, ok := s.Icons[name]; ok {
			return name, ic, true
		}
		a, ok := s.Aliases[name]
		if !ok || a.HFlip || a.VFlip || a.Rotate != 0 {
			return "", icon{}, false
		}
		name = a.Parent
	}
	return "", icon{}, false
}

// svg returns the standalone document of an icon.
func (s *Style) svg(ic icon) string {
	w, h := ic.Width, ic.Height
	if w == 0 {
		w = s.Width
	}
	if h == 0 {
		h = s.Height
	}
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="%g %g %g %g" width="%g" height="%g">%s</svg>`,
		ic.Left, ic.Top, w, h, w, h, ic.Body)
}

// toneNames are the skin-tone suffixes of icon names, tone 1 to 5.
var toneNames = [6]string{"", "light", "medium-light", "medium", "medium-dark", "dark"}

// candidates lists the icon names to try for caption c, best first. The
// set's chars.json entry is exact; the others are guesses: the slug of the
// label and of each shortcode, and for a single skin tone the base's names
// with "-<tone name>" or "-tone<N>".
func candidates(s *Style, c Caption, base Caption, shortcodes map[string][]string) (exact string, guesses []string) {
	exact = s.Chars[c.Hex]
	guesses = append(guesses, slug(c.Label))
	for _, sc := range shortcodes[c.Hex] {
		guesses = append(guesses, slug(sc))
	}
	if c.Tone > 0 {
		var bases []string
		if n, ok := s.Chars[base.Hex]; ok {
			bases = append(bases, n)
		}
		bases = append(bases, slug(base.Label))
		for _, sc := range shortcodes[base.Hex] {
			bases = append(bases, slug(sc))
		}
		for _, b := range bases {
			guesses = append(guesses, b+"-"+toneNames[c.Tone], fmt.Sprintf("%s-tone%d", b, c.Tone))
		}
	}
	return exact, guesses
}

// Join pairs every caption with at most one icon of every style and uses
// every icon of a style at most once. The exact chars.json entries are
// assigned first, for all captions, so that a guess for one caption cannot
// take the icon chars.json gives another; then each caption still without
// an icon in a style takes its first guess that names a free icon. An
// alias resolves to its parent unless it is flipped or rotated. The result
// is sorted by caption, then style name.
func Join(captions []Caption, styles []*Style, shortcodes map[string][]string) []Match {
	byHex := map[string]Caption{}
	for _, c := range captions {
		byHex[c.Hex] = c
	}
	type key struct{ style, icon string }
	taken := map[key]bool{}
	got := make(map[int]map[string]Match) // caption -> style -> match
	try := func(ci int, s *Style, n string) bool {
		name, ic, ok := s.resolve(n)
		if !ok || taken[key{s.Name, name}] {
			return false
		}
		taken[key{s.Name, name}] = true
		if got[ci] == nil {
			got[ci] = map[string]Match{}
		}
		got[ci][s.Name] = Match{Caption: ci, Style: s.Name, Icon: name, SVG: s.svg(ic)}
		return true
	}
	for pass := range 2 {
		for ci, c := range captions {
			for _, s := range styles {
				if _, done := got[ci][s.Name]; done {
					continue
				}
				exact, guesses := candidates(s, c, byHex[c.Base], shortcodes)
				if pass == 0 {
					if exact != "" {
						try(ci, s, exact)
					}
					continue
				}
				for _, n := range guesses {
					if try(ci, s, n) {
						break
					}
				}
			}
		}
	}
	var out []Match
	for ci := range captions {
		names := make([]string, 0, len(got[ci]))
		for n := range got[ci] {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			out = append(out, got[ci][n])
		}
	}
	return out
}
