package wordpiece

import (
	"slices"
	"strings"
	"testing"
)

// vocab is a small vocabulary in vocab.txt's format: ids are line numbers
// from 0 ([PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3).
var vocab = strings.Join([]string{
	"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
	"the", "cat", "sat", "on", "mat", "un", "##aff", "##able", "cafe", "resume",
	",", ".", "$", "a", "b", "##b", "中", "国", "hello", "##s", "##a",
}, "\n") + "\n"

func tokenizer(t *testing.T) *Tokenizer {
	t.Helper()
	tok, err := Read(strings.NewReader(vocab))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestBasic: each rule of the basic tokenizer, worked by hand.
func TestBasic(t *testing.T) {
	for _, tt := range []struct {
		name, text string
		want       []string
	}{
		{"lower-cased", "The CAT", []string{"the", "cat"}},
		{"accents stripped", "Café RÉSUMÉ naïve", []string{"cafe", "resume", "naive"}},
		{"punctuation split off", "cat,sat. (on)", []string{"cat", ",", "sat", ".", "(", "on", ")"}},
		{"ASCII symbols count as punctuation", "a$b^c`d", []string{"a", "$", "b", "^", "c", "`", "d"}},
		{"Unicode punctuation", "hello—world«x»", []string{"hello", "—", "world", "«", "x", "»"}},
		{"whitespace normalised", " the\tcat\nsat\u00a0on\r\n", []string{"the", "cat", "sat", "on"}},
		{"control and format characters dropped", "ca\u200bt\x00 s\u0007at", []string{"cat", "sat"}},
		{"CJK ideographs are words", "中国cat", []string{"中", "国", "cat"}},
		{"kana stays in its word", "ねこcat", []string{"ねこcat"}},
		{"empty", " \t ", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Basic(tt.text); !slices.Equal(got, tt.want) {
				t.Errorf("Basic(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

// TestTokenize: WordPiece over the basic tokenizer's words.
func TestTokenize(t *testing.T) {
	tok := tokenizer(t)
	for _, tt := range []struct {
		name, text string
		want       []string
	}{
		{"whole words", "The cat sat on the mat.", []string{"the", "cat", "sat", "on", "the", "mat", "."}},
		{"continuations", "unaffable", []string{"un", "##aff", "##able"}},
		{"longest piece first", "cats", []string{"cat", "##s"}},
		{"a word with no split is [UNK], whole", "unaffablex cat", []string{"[UNK]", "cat"}},
		{"a word of unknown first piece", "dog", []string{"[UNK]"}},
		{"accents before the lookup", "Café", []string{"cafe"}},
		{"101 characters are [UNK]", strings.Repeat("a", 101), []string{"[UNK]"}},
		{"100 characters are split", strings.Repeat("a", 100), append([]string{"a"}, slices.Repeat([]string{"##a"}, 99)...)},
		{"CJK", "中国", []string{"中", "国"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tok.Tokenize(tt.text); !slices.Equal(got, tt.want) {
				t.Errorf("Tokenize(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	tok := tokenizer(t)
	for _, tt := range []struct {
		name   string
		text   string
		length int
		ids    []int
		mask   []int
	}{
		{"padded", "The cat", 6, []int{2, 5, 6, 3, 0, 0}, []int{1, 1, 1, 1, 0, 0}},
		{"truncated, [SEP] kept", "the cat sat on the mat", 5, []int{2, 5, 6, 7, 3}, []int{1, 1, 1, 1, 1}},
		{"exact", "cat sat", 4, []int{2, 6, 7, 3}, []int{1, 1, 1, 1}},
		{"unknown", "dog", 4, []int{2, 1, 3, 0}, []int{1, 1, 1, 0}},
		{"empty", "", 3, []int{2, 3, 0}, []int{1, 1, 0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ids, mask := tok.Encode(tt.text, tt.length)
			if !slices.Equal(ids, tt.ids) || !slices.Equal(mask, tt.mask) {
				t.Errorf("Encode(%q, %d) = %v %v, want %v %v", tt.text, tt.length, ids, mask, tt.ids, tt.mask)
			}
		})
	}
}

func TestRead(t *testing.T) {
	tok := tokenizer(t)
	if tok.Size() != 26 || tok.Piece(6) != "cat" {
		t.Errorf("size %d, piece 6 %q", tok.Size(), tok.Piece(6))
	}
	if id, ok := tok.ID("##able"); !ok || id != 12 {
		t.Errorf("ID(##able) = %d, %v", id, ok)
	}
	// A repeated line keeps its last id, as Hugging Face's load_vocab does.
	dup, err := Read(strings.NewReader(vocab + "cat\n"))
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := dup.ID("cat"); id != 26 {
		t.Errorf("repeated piece: id %d, want 26", id)
	}
	for _, missing := range []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]"} {
		_, err := Read(strings.NewReader(strings.Replace(vocab, missing+"\n", "", 1)))
		if err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("vocabulary without %s: error %v", missing, err)
		}
	}
	if _, err := Load("testdata/none.txt"); err == nil || !strings.Contains(err.Error(), "none.txt") {
		t.Errorf("missing file: error %v", err)
	}
}
