package wordpiece

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pythonPool are the characters the random texts of TestMatchesPython are
// drawn from: every rule's cases (case, accents as precomposed letters and
// as combining marks, ASCII and Unicode punctuation, whitespace, control
// and format characters, CJK, kana, a private-use character) and letters
// whose lower case is special (İ, ẞ, final sigma).
var pythonPool = []rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" +
	"éÉèçñÑüÖåøœæ\u0301\u0308\u0327" + ".,;:!?'\"()[]{}$^`~@#%&*-_+=<>/\\|" + "—–«»¡¿…、。" +
	"   \t\n\r\u00a0\u2003" + "\u200b\u200d\u0007\u0000\ufffd\ue000" + "中国猫犬ねこカタ한국" + "İıẞßΣσςΑΒ" + "😀")

// TestMatchesPython compares Tokenize with an independent implementation
// of Hugging Face's BertTokenizer (tools/wordpiece_check.py, plain Python
// and unicodedata) on the test's vocabulary extended with every letter
// as a word and a continuation, over hand-picked and random texts.
func TestMatchesPython(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	var extra []string
	for _, r := range "abcdefghijklmnopqrstuvwxyz0123456789σςıß" {
		extra = append(extra, string(r), "##"+string(r))
	}
	text := vocab + strings.Join(extra, "\n") + "\n"
	path := filepath.Join(t.TempDir(), "vocab.txt")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"The CAT sat, on the mat.", "unaffable Café", "ΟΔΟΣ οδός", "İstanbul STRASSE straẞe", "a\u0301b c\u0327"}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 400 {
		var b strings.Builder
		for range 1 + rng.IntN(30) {
			b.WriteRune(pythonPool[rng.IntN(len(pythonPool))])
		}
		texts = append(texts, b.String())
	}
	in, _ := json.Marshal(texts)
	cmd := exec.Command(python, filepath.Join("..", "..", "tools", "wordpiece_check.py"), path)
	cmd.Stdin = bytes.NewReader(in)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("wordpiece_check.py: %v\n%s", err, stderr.String())
	}
	var want [][]string
	if err := json.Unmarshal(out.Bytes(), &want); err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i, text := range texts {
		if got := tok.Tokenize(text); !slices.Equal(got, want[i]) && (len(got) > 0 || len(want[i]) > 0) {
			if bad++; bad <= 10 {
				t.Errorf("Tokenize(%q) = %q, Python %q", text, got, want[i])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d texts differ", bad, len(texts))
	}
}
