"""Writes the fuzzing seeds that are whole tiny models (random weights),
small enough that the fuzzer runs them thousands of times a second:
- fuzz/seeds/gguf/tiny.gguf: a Llama GGUF file (1 block, hidden size 32,
  a byte-level BPE tokenizer of 256 byte tokens + a few merges + ChatML's
  special tokens, ChatML template, 8-bit Q8_0 projections): every part of
  the format the loader reads;
- fuzz/seeds/hf_files/tiny: a Hugging Face model's config.json,
  model.safetensors and tokenizer.json (the built-in add model's
  tokenizer), joined by the separator FF 00 FF as the hf_files target reads.
Usage: python3 scripts/tiny_models.py  (needs gguf, numpy and safetensors)."""
import json
import os

from safetensors.numpy import save as save_safetensors

import numpy as np
from gguf import GGUFWriter, GGMLQuantizationType
from gguf.quants import quantize


def byte_chars():
    """GPT-2's byte -> printable character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs))]


tokens = byte_chars()
merges = ["Ġ t", "h e", "Ġt he", "i s", "Ġ is", "Ġ W", "W h", "a t"]
for m in merges:
    tokens.append(m.replace(" ", ""))
specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
tokens += specials
types = [1] * (len(tokens) - len(specials)) + [3] * len(specials)
vocab, d, ff, heads, kv = len(tokens), 32, 64, 4, 2
rng = np.random.default_rng(0)

os.makedirs("fuzz/seeds/gguf", exist_ok=True)
w = GGUFWriter("fuzz/seeds/gguf/tiny.gguf", "llama")
w.add_block_count(1)
w.add_embedding_length(d)
w.add_feed_forward_length(ff)
w.add_head_count(heads)
w.add_head_count_kv(kv)
w.add_context_length(64)
w.add_layer_norm_rms_eps(1e-5)
w.add_rope_freq_base(10000.0)
w.add_vocab_size(vocab)
w.add_tokenizer_model("gpt2")
w.add_tokenizer_pre("smollm")
w.add_token_list(tokens)
w.add_token_types(types)
w.add_token_merges(merges)
w.add_bos_token_id(tokens.index("<|im_start|>"))
w.add_eos_token_id(tokens.index("<|im_end|>"))
w.add_chat_template("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def mat(o, i, q8=True):
    a = (rng.standard_normal((o, i)) * 0.2).astype(np.float32)
    return (quantize(a, GGMLQuantizationType.Q8_0), GGMLQuantizationType.Q8_0) if q8 else (a, None)


def add(name, arr_type):
    arr, t = arr_type
    if t is None:
        w.add_tensor(name, arr)
    else:
        w.add_tensor(name, arr, raw_dtype=t)


add("token_embd.weight", mat(vocab, d, q8=False))
add("output_norm.weight", (np.ones(d, dtype=np.float32), None))
add("output.weight", mat(vocab, d))
hd = d // heads
add("blk.0.attn_norm.weight", (np.ones(d, dtype=np.float32), None))
add("blk.0.ffn_norm.weight", (np.ones(d, dtype=np.float32), None))
add("blk.0.attn_q.weight", mat(d, d))
add("blk.0.attn_k.weight", mat(kv * hd, d))
add("blk.0.attn_v.weight", mat(kv * hd, d))
add("blk.0.attn_output.weight", mat(d, d))
add("blk.0.ffn_gate.weight", mat(ff, d))
add("blk.0.ffn_up.weight", mat(ff, d))
add("blk.0.ffn_down.weight", mat(d, ff))
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()

# The Hugging Face seed: the add model's tokenizer, a tiny config, random f32 weights.
tokenizer = open("www/models/add/tokenizer.json", "rb").read()
v = len(json.loads(tokenizer)["model"]["vocab"])
cfg = {"vocab_size": v, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 4,
       "num_key_value_heads": 2, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "max_position_embeddings": 24, "tie_word_embeddings": False}
d, ff, kvd = 16, 32, 8
shapes = {"model.embed_tokens.weight": (v, d), "lm_head.weight": (v, d), "model.norm.weight": (d,),
          "model.layers.0.input_layernorm.weight": (d,), "model.layers.0.post_attention_layernorm.weight": (d,),
          "model.layers.0.self_attn.q_proj.weight": (d, d), "model.layers.0.self_attn.k_proj.weight": (kvd, d),
          "model.layers.0.self_attn.v_proj.weight": (kvd, d), "model.layers.0.self_attn.o_proj.weight": (d, d),
          "model.layers.0.mlp.gate_proj.weight": (ff, d), "model.layers.0.mlp.up_proj.weight": (ff, d),
          "model.layers.0.mlp.down_proj.weight": (d, ff)}
weights = save_safetensors({k: (rng.standard_normal(s) * 0.2).astype(np.float32) for k, s in sorted(shapes.items())})
os.makedirs("fuzz/seeds/hf_files", exist_ok=True)
sep = bytes([0xFF, 0x00, 0xFF])
open("fuzz/seeds/hf_files/tiny", "wb").write(json.dumps(cfg).encode() + sep + weights + sep + tokenizer)
