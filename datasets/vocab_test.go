package datasets

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/inflateshrink/inflateshrink/datasets/wordpiece"
)

func TestTokenize(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"empty", "", nil},
		{"lower case", "A Red Cube", []string{"a", "red", "cube"}},
		{"punctuation", "a ball, a cone... and-a box!", []string{"a", "ball", "a", "cone", "and", "a", "box"}},
		{"digits", "2 cats in 3d", []string{"2", "cats", "in", "3d"}},
		{"unicode letters", "Café élan", []string{"café", "élan"}},
		{"specials are split", "<cls> <pad>", []string{"cls", "pad"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Tokenize(tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("Tokenize(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestBuildVocab(t *testing.T) {
	captions := []string{"a red cube", "a blue cube", "A ball", "zebra ball"}
	want := []string{"<pad>", "<unk>", "<cls>", "a", "ball", "cube", "blue", "red", "zebra"}
	for _, tc := range []struct {
		name     string
		captions []string
	}{
		{"given order", captions},
		{"other order", []string{"zebra ball", "A ball", "a blue cube", "a red cube"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := BuildVocab(tc.captions)
			if v.Size() != len(want) {
				t.Fatalf("Size = %d, want %d", v.Size(), len(want))
			}
			for id, w := range want {
				if v.Word(id) != w || v.ID(w) != id {
					t.Errorf("Word(%d) = %q, ID(%q) = %d; want %q, %d", id, v.Word(id), w, v.ID(w), w, id)
				}
			}
		})
	}
}

func TestVocabEncode(t *testing.T) {
	v := BuildVocab([]string{"a red cube", "a blue cube"}) // a=3, cube=4, blue=5, red=6
	for _, tc := range []struct {
		name    string
		caption string
		maxLen  int
		want    []int
	}{
		{"cls first", "a red cube", 10, []int{ClsID, 3, 6, 4}},
		{"case and punctuation", "A RED, cube.", 10, []int{ClsID, 3, 6, 4}},
		{"unknown words", "a green cube", 10, []int{ClsID, 3, UnkID, 4}},
		{"truncated", "a blue cube", 3, []int{ClsID, 3, 5}},
		{"exact length", "a blue cube", 4, []int{ClsID, 3, 5, 4}},
		{"cls only", "a blue cube", 1, []int{ClsID}},
		{"empty caption", "", 5, []int{ClsID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := v.Encode(tc.caption, tc.maxLen); !slices.Equal(got, tc.want) {
				t.Errorf("Encode(%q, %d) = %v, want %v", tc.caption, tc.maxLen, got, tc.want)
			}
		})
	}
}

func TestVocabPanics(t *testing.T) {
	v := BuildVocab([]string{"a"})
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"Word negative", func() { v.Word(-1) }},
		{"Word past end", func() { v.Word(v.Size()) }},
		{"Encode maxLen 0", func() { v.Encode("a", 0) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tc.f()
		})
	}
}

// TestNewVocab: Words and NewVocab round-trip, and a word list that is
// not a vocabulary's is refused with the word at fault.
func TestNewVocab(t *testing.T) {
	v := BuildVocab([]string{"a red car", "a blue car"})
	got, err := NewVocab(v.Words())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, v) {
		t.Errorf("NewVocab(Words()) = %+v, want %+v", got, v)
	}
	for _, tc := range []struct {
		name  string
		words []string
		want  string
	}{
		{"too short", []string{"<pad>", "<unk>"}, "lacks"},
		{"specials out of order", []string{"<unk>", "<pad>", "<cls>", "car"}, `word 0 is "<unk>"`},
		{"duplicate", []string{"<pad>", "<unk>", "<cls>", "car", "car"}, `"car" is both id 3 and id 4`},
		{"empty word", []string{"<pad>", "<unk>", "<cls>", ""}, "word 3 is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewVocab(tc.words); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewVocab(%q): err %v, want one containing %q", tc.words, err, tc.want)
			}
		})
	}
}

// TestWordPieceVocab: a BERT vocabulary encodes captions into [CLS] pieces
// [SEP], survives the round trip through its words (a checkpoint), and is
// refused when [PAD] is not id 0.
func TestWordPieceVocab(t *testing.T) {
	lines := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "cat", "##s", "sit", ",", "on", "mat"}
	tok, err := wordpiece.Read(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	v, err := WordPieceVocab(tok)
	if err != nil {
		t.Fatal(err)
	}
	back, err := NewVocab(v.Words())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, caption string
		maxLen        int
		want          []int
	}{
		{"pieces", "Cats sit, on a mat", 16, []int{2, 5, 6, 7, 8, 9, 4, 10, 3}},
		{"unknown word", "a dog", 16, []int{2, 4, 1, 3}},
		{"truncated, [SEP] kept", "cats sit on a mat", 4, []int{2, 5, 6, 3}},
		{"empty", "", 16, []int{2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, voc := range []*Vocab{v, back} {
				if got := voc.Encode(tc.caption, tc.maxLen); !slices.Equal(got, tc.want) {
					t.Errorf("Encode(%q, %d) = %v, want %v", tc.caption, tc.maxLen, got, tc.want)
				}
			}
		})
	}
	if !back.WordPiece() || back.Size() != len(lines) || !back.Unknown(1) || back.Unknown(UnkID+3) {
		t.Errorf("round trip: WordPiece %v, size %d, [UNK] unknown %v", back.WordPiece(), back.Size(), back.Unknown(1))
	}
	swapped := append([]string{"a"}, lines[1:]...)
	swapped[4] = "[PAD]"
	tok, err = wordpiece.Read(strings.NewReader(strings.Join(swapped, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WordPieceVocab(tok); err == nil || !strings.Contains(err.Error(), "[PAD] at id 4") {
		t.Errorf("[PAD] at id 4: %v; want an error naming it", err)
	}
}
