#!/usr/bin/env python3
"""Writes a Llama-family GGUF model as a Hugging Face model folder:
model.safetensors (f32), config.json, tokenizer.json and tokenizer_config.json
(with the file's chat template), the layout `transformers` saves. Independent
of the Rust code: weights dequantised by the `gguf` package (llama.cpp's
project), Q/K rows permuted back from llama.cpp's layout with llama.cpp's own
convert_hf_to_gguf.py formula inverted, safetensors written by hand.

usage: gguf_to_hf.py FILE.gguf OUT_DIR
"""
import json
import os
import struct
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize


def field(r, key):
    f = r.fields[key]
    return f.parts[f.data[0]]


def scalar(r, key):
    return field(r, key)[0].item()


def string(r, key):
    return bytes(field(r, key)).decode("utf-8")


def strings(r, key):
    f = r.fields[key]
    return [bytes(f.parts[i]).decode("utf-8") for i in f.data]


def unpermute(w, n_head):
    # llama.cpp: w.reshape(n_head, 2, rows // n_head // 2, *rest).swapaxes(1, 2)
    rows = w.shape[0]
    return w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def main():
    path, out = sys.argv[1], sys.argv[2]
    r = GGUFReader(path)
    arch = string(r, "general.architecture")
    assert arch == "llama", arch
    n_layer = scalar(r, "llama.block_count")
    n_head = scalar(r, "llama.attention.head_count")
    n_kv = scalar(r, "llama.attention.head_count_kv")
    w = {t.name: dequantize(t.data, t.tensor_type).astype(np.float32).reshape(list(reversed([int(x) for x in t.shape]))) for t in r.tensors}
    names = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight", "output.weight": "lm_head.weight"}
    per_layer = {
        "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
        "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
        "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
    }
    hf = {}
    for name, t in w.items():
        if name in names:
            hf[names[name]] = t
            continue
        _, i, kind, _ = name.split(".")
        if kind == "attn_q":
            t = unpermute(t, n_head)
        elif kind == "attn_k":
            t = unpermute(t, n_kv)
        hf[f"model.layers.{i}.{per_layer[kind]}.weight"] = t
    tokens = strings(r, "tokenizer.ggml.tokens")
    tf = r.fields["tokenizer.ggml.token_type"]
    types = [int(tf.parts[i][0]) for i in tf.data]
    assert len(types) == len(tokens)
    merges = strings(r, "tokenizer.ggml.merges")
    bos, eos = scalar(r, "tokenizer.ggml.bos_token_id"), scalar(r, "tokenizer.ggml.eos_token_id")
    os.makedirs(out, exist_ok=True)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu", "torch_dtype": "float32",
        "vocab_size": len(tokens), "hidden_size": int(w["token_embd.weight"].shape[1]),
        "intermediate_size": scalar(r, "llama.feed_forward_length"), "num_hidden_layers": n_layer,
        "num_attention_heads": n_head, "num_key_value_heads": n_kv,
        "rms_norm_eps": scalar(r, "llama.attention.layer_norm_rms_epsilon"), "rope_theta": scalar(r, "llama.rope.freq_base"),
        "max_position_embeddings": scalar(r, "llama.context_length"), "tie_word_embeddings": "output.weight" not in w,
        "bos_token_id": bos, "eos_token_id": eos,
    }
    json.dump(config, open(f"{out}/config.json", "w"), indent=2)
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
                         for i, (t, ty) in enumerate(zip(tokens, types)) if ty == 3],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True}, byte_level]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {t: i for i, t in enumerate(tokens)}, "merges": merges},
    }
    json.dump(tokenizer, open(f"{out}/tokenizer.json", "w"), ensure_ascii=False)
    tc = {"bos_token": tokens[bos], "eos_token": tokens[eos], "chat_template": string(r, "tokenizer.chat_template"),
          "model_max_length": config["max_position_embeddings"], "tokenizer_class": "GPT2Tokenizer"}
    json.dump(tc, open(f"{out}/tokenizer_config.json", "w"), indent=2, ensure_ascii=False)
    # safetensors: u64 header size, JSON header (8-byte aligned), raw little-endian data.
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(hf):
        b = np.ascontiguousarray(hf[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(hf[name].shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(f"{out}/model.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


if __name__ == "__main__":
    main()
