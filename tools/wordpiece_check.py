#!/usr/bin/env python3
"""An independent reference for package datasets/wordpiece: Hugging Face's
BertTokenizer (do_lower_case=True) as transformers' tokenization_bert.py
writes its BasicTokenizer and WordpieceTokenizer, in plain Python with
unicodedata, for machines without transformers.

Usage: wordpiece_check.py VOCAB.txt < texts.json  (a JSON list of strings)
Prints a JSON list: the pieces of each text.
"""
import json
import sys
import unicodedata


def load_vocab(path):
    vocab = {}
    with open(path, encoding="utf-8") as f:
        for index, token in enumerate(f):
            vocab[token.rstrip("\n")] = index
    return vocab


def is_whitespace(c):
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def is_control(c):
    if c in "\t\n\r":
        return False
    return unicodedata.category(c).startswith("C")


def is_punctuation(c):
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def is_chinese(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic(text):
    out = []
    for c in text:
        cp = ord(c)
        if cp == 0 or cp == 0xFFFD or is_control(c):
            continue
        out.append(" " if is_whitespace(c) else c)
    text = "".join(out)
    text = "".join(f" {c} " if is_chinese(ord(c)) else c for c in text)
    text = unicodedata.normalize("NFC", text)
    tokens = []
    for token in text.split():
        token = token.lower()
        token = "".join(c for c in unicodedata.normalize("NFD", token) if unicodedata.category(c) != "Mn")
        word = []
        for c in token:
            if is_punctuation(c):
                if word:
                    tokens.append("".join(word))
                    word = []
                tokens.append(c)
            else:
                word.append(c)
        if word:
            tokens.append("".join(word))
    return tokens


def wordpiece(tokens, vocab, unk="[UNK]", max_chars=100):
    out = []
    for token in tokens:
        chars = list(token)
        if len(chars) > max_chars:
            out.append(unk)
            continue
        start, pieces = 0, []
        while start < len(chars):
            end, cur = len(chars), None
            while start < end:
                sub = "".join(chars[start:end])
                if start > 0:
                    sub = "##" + sub
                if sub in vocab:
                    cur = sub
                    break
                end -= 1
            if cur is None:
                pieces = None
                break
            pieces.append(cur)
            start = end
        out.extend([unk] if pieces is None else pieces)
    return out


def main():
    vocab = load_vocab(sys.argv[1])
    texts = json.load(sys.stdin)
    json.dump([wordpiece(basic(t), vocab) for t in texts], sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
