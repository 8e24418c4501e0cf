package datasets

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
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

// Vocab is a word-level vocabulary: a bijection between words and ids.
type Vocab struct {
	words []string
	ids   map[string]int
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

// NewVocab rebuilds a vocabulary from its words in id order, as Words
// returns them (what a checkpoint stores): the special words first, each
// word once. The error names the first word at fault.
func NewVocab(words []string) (*Vocab, error) {
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

// ID returns the id of word, a token as Tokenize produces it, or UnkID if the
// word is not in the vocabulary.
func (v *Vocab) ID(word string) int {
	if id, ok := v.ids[word]; ok {
		return id
	}
	return UnkID
}

// Word returns the word of id. It panics if id is not in [0, Size()).
func (v *Vocab) Word(id int) string {
	if id < 0 || id >= len(v.words) {
		panic(fmt.Sprintf("datasets: word id %d out of range [0, %d)", id, len(v.words)))
	}
	return v.words[id]
}

// Encode returns [ClsID, ids of the tokens of caption...] truncated to
// maxLen ids, without padding. It panics if maxLen < 1, since every encoding
// holds at least the CLS token.
func (v *Vocab) Encode(caption string, maxLen int) []int {
	if maxLen < 1 {
		panic(fmt.Sprintf("datasets: maxLen %d < 1", maxLen))
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
