package wordpiece_test

import (
	"fmt"
	"strings"

	"github.com/inflateshrink/inflateshrink/datasets/wordpiece"
)

func Example() {
	vocab := "[PAD]\n[UNK]\n[CLS]\n[SEP]\na\nman\nun\n##aff\n##able\n.\n"
	tok, err := wordpiece.Read(strings.NewReader(vocab))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.Tokenize("An unaffable MAN."))
	ids, mask := tok.Encode("A man.", 6)
	fmt.Println(ids, mask)
	// Output:
	// [[UNK] un ##aff ##able man .]
	// [2 4 5 9 3 0] [1 1 1 1 1 0]
}
