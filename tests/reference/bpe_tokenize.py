#!/usr/bin/env python3
"""Independent reference tokenizer for GGUF byte-level BPE vocabularies
(GPT-2 style, as llama.cpp applies them): special tokens split off first, then
(for the `smollm` pre-tokenizer) every digit on its own, then the GPT-2 regex,
then bytes mapped to printable characters and merged by rank. Written from the
algorithm, not from the `tokenizers` crate the Rust side uses.

usage: bpe_tokenize.py FILE.gguf  (reads a JSON list of strings on stdin,
prints a JSON list of id lists)
"""
import json
import sys

import regex
from gguf import GGUFReader

GPT2 = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def main():
    r = GGUFReader(sys.argv[1])
    f = r.fields["tokenizer.ggml.tokens"]
    tokens = [bytes(f.parts[i]).decode() for i in f.data]
    f = r.fields["tokenizer.ggml.merges"]
    merges = [bytes(f.parts[i]).decode() for i in f.data]
    f = r.fields["tokenizer.ggml.token_type"]
    types = [int(f.parts[i][0]) for i in f.data]
    f = r.fields["tokenizer.ggml.pre"]
    pre = bytes(f.parts[f.data[0]]).decode()
    ids = {t: i for i, t in enumerate(tokens)}
    rank = {tuple(m.split(" ", 1)): i for i, m in enumerate(merges)}
    special = sorted((t for t, ty in zip(tokens, types) if ty == 3), key=len, reverse=True)
    b2u = bytes_to_unicode()

    def bpe(word):
        parts = list(word)
        while len(parts) > 1:
            pairs = [(rank.get((parts[i], parts[i + 1]), 1 << 60), i) for i in range(len(parts) - 1)]
            best, i = min(pairs)
            if best == 1 << 60:
                break
            parts[i : i + 2] = [parts[i] + parts[i + 1]]
        return [ids[p] for p in parts]

    def encode(text):
        out = []
        pattern = "(" + "|".join(regex.escape(s) for s in special) + ")" if special else None
        chunks = regex.split(pattern, text) if pattern else [text]
        for chunk in chunks:
            if not chunk:
                continue
            if chunk in special:
                out.append(ids[chunk])
                continue
            pieces = regex.split(r"(\p{N})", chunk) if pre == "smollm" else [chunk]
            for piece in pieces:
                for word in GPT2.findall(piece):
                    out.extend(bpe("".join(b2u[b] for b in word.encode("utf-8"))))
        return out

    print(json.dumps([encode(s) for s in json.load(sys.stdin)]))


if __name__ == "__main__":
    main()
