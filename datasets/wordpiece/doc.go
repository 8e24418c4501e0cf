// Package wordpiece is BERT's tokenizer: the basic tokenizer of the
// uncased models (lower-casing, accent stripping, splitting on whitespace,
// punctuation and CJK ideographs) followed by greedy longest-match-first
// WordPiece over a vocab.txt, with "##" marking a piece that continues a
// word. It follows Hugging Face's BertTokenizer with do_lower_case=True,
// so that a checkpoint's token ids mean what they meant in training.
//
// Encode frames a text as [CLS] pieces [SEP], truncated and padded with
// [PAD] to a fixed length; a word none of whose prefixes is in the vocab
// (or longer than 100 characters) becomes [UNK].
package wordpiece
