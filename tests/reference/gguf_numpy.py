#!/usr/bin/env python3
"""Independent reference for Llama-family GGUF models: a float64 NumPy forward
pass over the weights as llama.cpp stores them (dequantised by the `gguf`
package from the llama.cpp project), with llama.cpp's own rotary convention
(adjacent pairs (x[2i], x[2i+1]) rotate together, the layout its converter
permutes Q/K rows into). It shares no code with the Rust decoder.

usage: gguf_numpy.py FILE.gguf [ADAPTER_DIR]  (reads {"ids": [...], "start": k}
on stdin, prints {"logps": [...]} = log p(ids[t] | ids[:t]) for t = start..len-1)

With ADAPTER_DIR (a Hugging Face PEFT LoRA folder: adapter_config.json +
adapter_model.safetensors, read with the `safetensors` package), every
adapted weight becomes W + (lora_alpha / r) B A first, B A permuted from
Hugging Face's Q/K row order into llama.cpp's as its converter permutes W.
"""
import json
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize


def field(r, key):
    f = r.fields[key]
    return f.parts[f.data[0]][0]


GGUF_OF = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
           "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}


def to_llama_cpp_rows(m, heads):
    """llama.cpp's convert_hf_to_gguf permute of Q/K rows."""
    return m.reshape(heads, 2, m.shape[0] // heads // 2, m.shape[1]).swapaxes(1, 2).reshape(m.shape)


def merge_adapter(w, folder, n_head, n_kv):
    from safetensors.numpy import load_file
    cfg = json.load(open(f"{folder}/adapter_config.json"))
    assert cfg.get("peft_type", "LORA") == "LORA" and not cfg.get("use_rslora") and not cfg.get("fan_in_fan_out")
    scale = cfg["lora_alpha"] / cfg["r"]
    t = load_file(f"{folder}/adapter_model.safetensors")
    merged = 0
    for name, a in t.items():
        if not name.endswith(".lora_A.weight"):
            continue
        b = t[name.replace(".lora_A.", ".lora_B.")].astype(np.float64)
        module = name[len("base_model.model.model.layers."):-len(".lora_A.weight")]
        layer, proj = module.split(".", 1)
        delta = scale * (b @ a.astype(np.float64))
        if proj in ("self_attn.q_proj", "self_attn.k_proj"):
            delta = to_llama_cpp_rows(delta, n_head if proj == "self_attn.q_proj" else n_kv)
        key = f"blk.{layer}.{GGUF_OF[proj]}.weight"
        assert w[key].shape == delta.shape, (key, w[key].shape, delta.shape)
        w[key] = w[key] + delta
        merged += 1
    assert merged > 0, "no adapters in the folder"


def main():
    path = sys.argv[1]
    req = json.load(sys.stdin)
    ids, start = req["ids"], req["start"]
    r = GGUFReader(path)
    w = {t.name: dequantize(t.data, t.tensor_type).astype(np.float64).reshape(list(reversed([int(x) for x in t.shape]))) for t in r.tensors}
    n_layer = int(field(r, "llama.block_count"))
    n_head = int(field(r, "llama.attention.head_count"))
    n_kv = int(field(r, "llama.attention.head_count_kv"))
    eps = float(field(r, "llama.attention.layer_norm_rms_epsilon"))
    base = float(field(r, "llama.rope.freq_base"))
    if len(sys.argv) > 2:
        merge_adapter(w, sys.argv[2], n_head, n_kv)
    d = w["token_embd.weight"].shape[1]
    hd = d // n_head
    T = len(ids)

    def rms(x, g):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * g

    pos = np.arange(T)[:, None]
    inv = base ** (-np.arange(0, hd, 2) / hd)  # (hd/2,)
    ang = pos * inv[None, :]  # (T, hd/2)
    cos, sin = np.cos(ang), np.sin(ang)

    def rope(x):  # x: (T, heads, hd), pairs (2i, 2i+1)
        a, b = x[..., 0::2], x[..., 1::2]
        c, s = cos[:, None, :], sin[:, None, :]
        out = np.empty_like(x)
        out[..., 0::2] = a * c - b * s
        out[..., 1::2] = a * s + b * c
        return out

    x = w["token_embd.weight"][ids]  # (T, d)
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for l in range(n_layer):
        p = f"blk.{l}."
        h = rms(x, w[p + "attn_norm.weight"])
        q = (h @ w[p + "attn_q.weight"].T).reshape(T, n_head, hd)
        k = (h @ w[p + "attn_k.weight"].T).reshape(T, n_kv, hd)
        v = (h @ w[p + "attn_v.weight"].T).reshape(T, n_kv, hd)
        q, k = rope(q), rope(k)
        rep = n_head // n_kv
        k = np.repeat(k, rep, axis=1)
        v = np.repeat(v, rep, axis=1)
        att = np.einsum("thd,shd->hts", q, k) / np.sqrt(hd) + mask[None]
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        o = np.einsum("hts,shd->thd", att, v).reshape(T, d)
        x = x + o @ w[p + "attn_output.weight"].T
        h = rms(x, w[p + "ffn_norm.weight"])
        g = h @ w[p + "ffn_gate.weight"].T
        u = h @ w[p + "ffn_up.weight"].T
        x = x + ((g / (1 + np.exp(-g))) * u) @ w[p + "ffn_down.weight"].T
    x = rms(x, w["output_norm.weight"])
    out_w = w.get("output.weight", w["token_embd.weight"])
    logits = x @ out_w.T
    m = logits.max(-1, keepdims=True)
    logp = logits - (m + np.log(np.exp(logits - m).sum(-1, keepdims=True)))
    print(json.dumps({"logps": [float(logp[t - 1, ids[t]]) for t in range(start, T)]}))


if __name__ == "__main__":
    main()
