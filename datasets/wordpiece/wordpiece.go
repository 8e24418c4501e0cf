package wordpiece

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// The special tokens BERT's vocabularies hold.
const (
	PAD = "[PAD]"
	UNK = "[UNK]"
	CLS = "[CLS]"
	SEP = "[SEP]"
)

// maxWordChars is the longest word WordPiece splits; a longer one is
// [UNK] (Hugging Face's max_input_chars_per_word).
const maxWordChars = 100

// Tokenizer splits texts into the pieces of a vocabulary.
type Tokenizer struct {
	ids    map[string]int
	pieces []string
	// the ids of the special tokens
	pad, unk, cls, sep int
}

// Load reads a vocab.txt: one piece per line, its id the line's index
// from 0.
func Load(path string) (*Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wordpiece: %w", err)
	}
	defer f.Close()
	t, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("wordpiece: %s: %w", path, err)
	}
	return t, nil
}

// Read reads a vocabulary in vocab.txt's format from r.
func Read(r io.Reader) (*Tokenizer, error) {
	t := &Tokenizer{ids: map[string]int{}}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		piece := sc.Text()
		t.ids[piece] = len(t.pieces) // a repeated line: the last id, as Hugging Face's dict keeps it
		t.pieces = append(t.pieces, piece)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, s := range []struct {
		token string
		id    *int
	}{{PAD, &t.pad}, {UNK, &t.unk}, {CLS, &t.cls}, {SEP, &t.sep}} {
		id, ok := t.ids[s.token]
		if !ok {
			return nil, fmt.Errorf("no %s line among %d pieces: not a BERT vocabulary", s.token, len(t.pieces))
		}
		*s.id = id
	}
	return t, nil
}

// Size is the number of pieces.
func (t *Tokenizer) Size() int { return len(t.pieces) }

// ID returns a piece's id, and false when the vocabulary lacks it.
func (t *Tokenizer) ID(piece string) (int, bool) {
	id, ok := t.ids[piece]
	return id, ok
}

// Piece returns the piece of an id.
func (t *Tokenizer) Piece(id int) string { return t.pieces[id] }

// Tokenize splits text into pieces, without [CLS] and [SEP].
func (t *Tokenizer) Tokenize(text string) []string {
	var out []string
	for _, word := range Basic(text) {
		out = append(out, t.wordPieces(word)...)
	}
	return out
}

// Encode returns the ids of [CLS] text's pieces [SEP], truncated to
// length (the [SEP] kept) and padded with [PAD], and the mask that is 1
// on every token but the padding.
func (t *Tokenizer) Encode(text string, length int) (ids, mask []int) {
	if length < 2 {
		panic("wordpiece: Encode needs room for [CLS] and [SEP]")
	}
	pieces := t.Tokenize(text)
	if len(pieces) > length-2 {
		pieces = pieces[:length-2]
	}
	ids, mask = make([]int, length), make([]int, length)
	ids[0] = t.cls
	for i, p := range pieces {
		ids[1+i] = t.ids[p]
	}
	ids[1+len(pieces)] = t.sep
	for i := range ids {
		if i < 2+len(pieces) {
			mask[i] = 1
		} else {
			ids[i] = t.pad
		}
	}
	return ids, mask
}

// wordPieces splits one word greedily into the longest pieces the
// vocabulary holds, left to right; a word that cannot be split wholly is
// [UNK].
func (t *Tokenizer) wordPieces(word string) []string {
	runes := []rune(word)
	if len(runes) > maxWordChars {
		return []string{UNK}
	}
	var out []string
	for start := 0; start < len(runes); {
		end := len(runes)
		piece := ""
		for ; end > start; end-- {
			p := string(runes[start:end])
			if start > 0 {
				p = "##" + p
			}
			if _, ok := t.ids[p]; ok {
				piece = p
				break
			}
		}
		if piece == "" {
			return []string{UNK}
		}
		out = append(out, piece)
		start = end
	}
	return out
}

// Basic is BERT's basic tokenizer for the uncased models: control
// characters dropped, whitespace normalised, CJK ideographs made words of
// their own, every word lower-cased and stripped of accents (NFD, then the
// combining marks removed), and punctuation split off as words of its own.
func Basic(text string) []string {
	var b strings.Builder
	for _, r := range text {
		switch {
		case r == 0 || r == 0xFFFD || isControl(r):
			continue
		case isWhitespace(r):
			b.WriteByte(' ')
		case isCJK(r):
			b.WriteByte(' ')
			b.WriteRune(r)
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	var out []string
	for _, word := range strings.Fields(b.String()) {
		out = append(out, splitPunctuation(stripAccents(lower(word)))...)
	}
	return out
}

// lower is word in lower case as Python's str.lower gives it, which BERT's
// tokenizer uses: strings.ToLower, but for the capital sigma, which is a
// final sigma (ς) when a cased letter precedes it and none follows it
// (Unicode's Final_Sigma condition; case-ignorable characters between are
// skipped), and σ otherwise.
func lower(word string) string {
	if !strings.ContainsRune(word, 'Σ') {
		return strings.ToLower(word)
	}
	runes := []rune(word)
	cased := func(from, step int) bool {
		for i := from; i >= 0 && i < len(runes); i += step {
			switch r := runes[i]; {
			case isCaseIgnorable(r):
				continue
			default:
				return isCased(r)
			}
		}
		return false
	}
	var b strings.Builder
	for i, r := range runes {
		if r == 'Σ' && cased(i-1, -1) && !cased(i+1, 1) {
			b.WriteRune('ς')
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// isCased: Unicode's Cased property (upper, lower and title case letters,
// and the other lower- and uppercase characters).
func isCased(r rune) bool {
	return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase)
}

// isCaseIgnorable: Unicode's Case_Ignorable property: nonspacing and
// enclosing marks, format characters, modifier letters and symbols, and
// the word-internal punctuation of Word_Break MidLetter, MidNumLet and
// Single_Quote.
func isCaseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '\u00b7', '\u0387', '\u055f', '\u05f4', '\u2018', '\u2019', '\u2024', '\u2027',
		'\ufe13', '\ufe52', '\ufe55', '\uff07', '\uff0e', '\uff1a':
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// stripAccents removes the combining marks of s's canonical decomposition.
func stripAccents(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// splitPunctuation makes each punctuation character a word of its own.
func splitPunctuation(word string) []string {
	var out []string
	start := 0
	for i, r := range word {
		if isPunctuation(r) {
			if start < i {
				out = append(out, word[start:i])
			}
			out = append(out, string(r))
			start = i + len(string(r))
		}
	}
	if start < len(word) {
		out = append(out, word[start:])
	}
	return out
}

// isWhitespace: space, tab, newline, carriage return and Unicode's space
// separators (Zs), as BERT counts them.
func isWhitespace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || unicode.Is(unicode.Zs, r)
}

// isControl: Unicode's "other" characters (categories C*: control,
// format, private use, and code points unassigned in Go's Unicode tables),
// except the whitespace ones.
func isControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co) ||
		!unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.C)
}

// isPunctuation: every non-alphanumeric ASCII printable character (BERT
// counts "$", "^" and "`" too, which Unicode does not) and Unicode's
// punctuation (P*).
func isPunctuation(r rune) bool {
	if r >= 33 && r <= 47 || r >= 58 && r <= 64 || r >= 91 && r <= 96 || r >= 123 && r <= 126 {
		return true
	}
	return unicode.IsPunct(r)
}

// isCJK: the CJK Unified Ideographs blocks BERT separates (not Japanese
// kana or Korean Hangul, which are written with spaces).
func isCJK(r rune) bool {
	return r >= 0x4E00 && r <= 0x9FFF || r >= 0x3400 && r <= 0x4DBF || r >= 0x20000 && r <= 0x2A6DF ||
		r >= 0x2A700 && r <= 0x2B73F || r >= 0x2B740 && r <= 0x2B81F || r >= 0x2B820 && r <= 0x2CEAF ||
		r >= 0xF900 && r <= 0xFAFF || r >= 0x2F800 && r <= 0x2FA1F
}
