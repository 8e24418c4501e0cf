package datasets

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/inflateshrink/inflateshrink/datasets/wordpiece"
)

// Special token ids, the same in every Vocab.
const (
	PadID = 0 // "<pad>"
	UnkID = 1 // "<unk>"
	ClsID = 2 // "<cls>": the first token of every encoded caption; the fast (1x1) model reads its output
)

// specials are the words of the special ids, in id order. Their angle
// brackets guarantee that Tokenize never produces them from a caption.
var specials = []string{"<pad>", "<unk>", "<cls>"}

// Vocab is a vocabulary: a bijection between words and ids. It is either
// word-level (BuildVocab: captions split by Tokenize, specials <pad>,
// <unk>, <cls>) or BERT's WordPiece (WordPieceVocab: captions split into
// pieces by a wordpiece.Tokenizer, [CLS] first and [SEP] last).
type Vocab struct {
	words  []string
	ids    map[string]int
	pieces *wordpiece.Tokenizer // nil for a word-level vocabulary
}

// Tokenize lower-cases caption and splits it on every rune that is not a
// letter or a digit, so punctuation never becomes a token.
func Tokenize(caption string) []string {
	return strings.FieldsFunc(strings.ToLower(caption), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// BuildVocab builds the vocabulary of the tokens of captions: the special
// words first (ids PadID, UnkID, ClsID), then the words by descending count,
// ties broken alphabetically, so the same captions always give the same ids
// whatever their order.
func BuildVocab(captions []string) *Vocab {
	counts := make(map[string]int)
	for _, c := range captions {
		for _, w := range Tokenize(c) {
			counts[w]++
		}
	}
	words := make([]string, 0, len(counts))
	for w := range counts {
		words = append(words, w)
	}
	sort.Slice(words, func(i, j int) bool {
		if counts[words[i]] != counts[words[j]] {
			return counts[words[i]] > counts[words[j]]
		}
		return words[i] < words[j]
	})
	v := &Vocab{
		words: append(append([]string(nil), specials...), words...),
		ids:   make(map[string]int, len(specials)+len(words)),
	}
	for id, w := range v.words {
		v.ids[w] = id
	}
	return v
}

// WordPieceVocab is the vocabulary of BERT's tokenizer t: captions encode
// as t.Encode does, [CLS] pieces [SEP], and its words are t's pieces. Its
// [PAD] must be id 0 (PadID, which batches pad with), as in every BERT
// vocab.txt.
func WordPieceVocab(t *wordpiece.Tokenizer) (*Vocab, error) {
	if id, _ := t.ID(wordpiece.PAD); id != PadID {
		return nil, fmt.Errorf("datasets: WordPiece vocabulary has %s at id %d; batches pad with id %d", wordpiece.PAD, id, PadID)
	}
	v := &Vocab{words: make([]string, t.Size()), ids: make(map[string]int, t.Size()), pieces: t}
	for id := range v.words {
		v.words[id] = t.Piece(id)
		v.ids[v.words[id]] = id
	}
	return v, nil
}

// WordPiece reports whether v is BERT's WordPiece vocabulary.
func (v *Vocab) WordPiece() bool { return v.pieces != nil }

// NewVocab rebuilds a vocabulary from its words in id order, as Words
// returns them (what a checkpoint stores): the special words first, each
// word once. Words starting with [PAD] are a WordPiece vocabulary (a BERT
// vocab.txt's lines, see WordPieceVocab). The error names the first word
// at fault.
func NewVocab(words []string) (*Vocab, error) {
	if len(words) > 0 && words[0] == wordpiece.PAD {
		t, err := wordpiece.Read(strings.NewReader(strings.Join(words, "\n")))
		if err != nil {
			return nil, fmt.Errorf("datasets: WordPiece vocabulary: %w", err)
		}
		return WordPieceVocab(t)
	}
	if len(words) < len(specials) {
		return nil, fmt.Errorf("datasets: a vocabulary of %d words lacks the %d special words %v", len(words), len(specials), specials)
	}
	v := &Vocab{words: append([]string(nil), words...), ids: make(map[string]int, len(words))}
	for id, w := range v.words {
		if id < len(specials) && w != specials[id] {
			return nil, fmt.Errorf("datasets: vocabulary word %d is %q, want the special word %q", id, w, specials[id])
		}
		if w == "" {
			return nil, fmt.Errorf("datasets: vocabulary word %d is empty", id)
		}
		if prev, dup := v.ids[w]; dup {
			return nil, fmt.Errorf("datasets: vocabulary word %q is both id %d and id %d", w, prev, id)
		}
		v.ids[w] = id
	}
	return v, nil
}

// Words returns the vocabulary's words in id order, specials included (a
// copy): NewVocab(v.Words()) is v.
func (v *Vocab) Words() []string { return append([]string(nil), v.words...) }

// Size returns the number of ids, specials included.
func (v *Vocab) Size() int { return len(v.words) }

// ID returns the id of word, a token as Tokenize produces it (a piece, for
// a WordPiece vocabulary), or the unknown word's id (UnkID; [UNK]'s) if
// the word is not in the vocabulary.
func (v *Vocab) ID(word string) int {
	if id, ok := v.ids[word]; ok {
		return id
	}
	if v.pieces != nil {
		id, _ := v.pieces.ID(wordpiece.UNK)
		return id
	}
	return UnkID
}

// Unknown reports whether id is the unknown word's.
func (v *Vocab) Unknown(id int) bool {
	if v.pieces != nil {
		unk, _ := v.pieces.ID(wordpiece.UNK)
		return id == unk
	}
	return id == UnkID
}

// Word returns the word of id. It panics if id is not in [0, Size()).
func (v *Vocab) Word(id int) string {
	if id < 0 || id >= len(v.words) {
		panic(fmt.Sprintf("datasets: word id %d out of range [0, %d)", id, len(v.words)))
	}
	return v.words[id]
}

// Encode returns [ClsID, ids of the tokens of caption...] truncated to
// maxLen ids, without padding; for a WordPiece vocabulary [CLS], the
// pieces of caption and [SEP] (wordpiece.Tokenizer.Encode), truncated to
// maxLen with the [SEP] kept. It panics if maxLen < 1 (2 for WordPiece),
// since every encoding holds at least the CLS token.
func (v *Vocab) Encode(caption string, maxLen int) []int {
	if maxLen < 1 {
		panic(fmt.Sprintf("datasets: maxLen %d < 1", maxLen))
	}
	if v.pieces != nil {
		ids, mask := v.pieces.Encode(caption, maxLen)
		n := 0
		for _, m := range mask {
			n += m
		}
		return ids[:n]
	}
	ids := []int{ClsID}
	for _, w := range Tokenize(caption) {
		if len(ids) == maxLen {
			break
		}
		ids = append(ids, v.ID(w))
	}
	return ids
}
