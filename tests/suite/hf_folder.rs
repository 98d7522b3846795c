//! Hugging Face model folders (config.json, model.safetensors,
//! tokenizer.json, tokenizer_config.json) and chat templates.
//!
//! No Hugging Face model can be downloaded here (only package registries are
//! reachable), so the real-model check converts SmolLM2's GGUF file into the
//! folder `transformers` would save, with an independent Python converter
//! (`tests/reference/gguf_to_hf.py`: Hugging Face tensor names, Q/K rows
//! permuted back to Hugging Face's layout, a byte-level BPE tokenizer.json, the
//! chat template in tokenizer_config.json), then loads it through the
//! safetensors path: the prompt ids and per-token log-probabilities must equal
//! the GGUF path's (itself checked against a NumPy forward pass).

use sharpening_lab::model::chat_template::ChatTemplate;
use sharpening_lab::model::Tok;

use crate::common;

const CHATML: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

#[test]
fn chat_templates_render_like_hugging_face() {
    let t = ChatTemplate::new(CHATML, "<s>", "</s>").unwrap();
    assert_eq!(t.render("What is 7 + 2?").unwrap(), "<|im_start|>user\nWhat is 7 + 2?<|im_end|>\n<|im_start|>assistant\n");
    // Jinja as transformers configures it: trim_blocks + lstrip_blocks, Python
    // string methods, bos/eos as text, loop controls.
    let llama2 = "{{ bos_token }}{% for m in messages %}\n  {% if m['role'] == 'user' %}\n[INST] {{ m['content'].strip() }} [/INST]\n  {% endif %}\n{% endfor %}";
    assert_eq!(ChatTemplate::new(llama2, "<s>", "</s>").unwrap().render("  hi  ").unwrap(), "<s>[INST] hi [/INST]\n");
    let err = |src: &str| ChatTemplate::new(src, "<s>", "</s>").unwrap_err().to_string();
    assert!(err("{% if messages[0]['role'] == 'user' %}{{ raise_exception('Conversation roles must alternate') }}{% endif %}").contains("Conversation roles must alternate"));
    assert!(err("{% for m in messages %}{{ m['content'] ").contains("chat template"));
    assert!(err("no message here").contains("drops the user's message"));
    // A template is code from a file: one that loops or repeats text without
    // bound stops with an error, at once, instead of hanging or filling memory.
    let t0 = std::time::Instant::now();
    assert!(err("{% for i in range(100000) %}{% for j in range(100000) %}{{ messages[0]['content'] }}{% endfor %}{% endfor %}").contains("fuel"));
    let big = err("{% for i in range(1000) %}{{ 'x' * 90000000 }}{% endfor %}{{ messages[0]['content'] }}");
    assert!(big.contains("passes 1024 KB"), "{big}");
    assert!(t0.elapsed().as_secs_f64() < 20.0, "bounded templates took {:?}", t0.elapsed());
}


/// tokenizer.json special tokens: from tokenizer_config.json (text or
/// {"content": ...}), else config.json's ids, else <s> and </s>; a template
/// list picks "default"; a missing token is a clear error.
#[test]
fn special_tokens_and_templates_from_hugging_face_files() {
    let tiny = common::tiny(1, 0.5);
    let tj = tiny.tokenizer_json.as_bytes();
    let plain = Tok::from_hf(tj, None, b"{}").unwrap();
    let by_cfg = Tok::from_hf(tj, None, br#"{"bos_token_id": 2, "eos_token_id": [3, 4]}"#).unwrap();
    assert_eq!((by_cfg.bos, by_cfg.eos), (2, 3));
    assert_ne!((plain.bos, plain.eos), (2, 3));
    let tc = br#"{"bos_token": {"content": "</s>"}, "eos_token": "<s>", "chat_template": [{"name": "tool_use", "template": "x"}, {"name": "default", "template": "{{ messages[0]['content'] }}+0"}]}"#;
    let t = Tok::from_hf(tj, Some(tc), b"{}").unwrap();
    assert_eq!((t.bos, t.eos), (plain.eos, plain.bos));
    assert_eq!(t.encode_prompt("1+2").unwrap(), t.encode("1+2+0").unwrap());
    let missing = Tok::from_hf(tj, Some(br#"{"eos_token": "<|im_end|>"}"#), b"{}").err().unwrap().to_string();
    assert!(missing.contains("<|im_end|> is missing"), "{missing}");
    let bad = Tok::from_hf(tj, Some(b"{not json"), b"{}").err().unwrap().to_string();
    assert!(bad.contains("tokenizer_config.json"), "{bad}");
}

fn sharpen(args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sharpen")).args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn smollm2_as_a_hugging_face_folder_matches_the_gguf_path() {
    let Some(gguf) = common::smollm2_path() else { return };
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/target/models/SmolLM2-135M-Instruct-hf");
    if !std::path::Path::new(&format!("{dir}/model.safetensors")).exists() {
        let ok = std::process::Command::new("python3")
            .args([concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/gguf_to_hf.py"), &gguf, dir])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = std::fs::remove_dir_all(dir);
            common::skip("the converter needs python3 with the `gguf` and `numpy` packages (pip install gguf numpy)");
            return;
        }
    }
    for (prompt, answer) in [("What is 7 + 2?", "7 + 2 = 9."), ("What is the capital of France?", "The capital of France is Paris.")] {
        let hf = sharpen(&["score", "--model", dir, "--prompt", prompt, "--answer", answer, "--json"]);
        let gg = sharpen(&["score", "--model", &gguf, "--weights", "f32", "--prompt", prompt, "--answer", answer, "--json"]);
        assert_eq!(hf["prompt_ids"], gg["prompt_ids"], "the chat template from tokenizer_config.json and tokenizer.json give the GGUF path's ids");
        let ids = |v: &serde_json::Value| v["tokens"].as_array().unwrap().iter().map(|t| t["id"].as_u64().unwrap()).collect::<Vec<_>>();
        assert_eq!(ids(&hf), ids(&gg));
        let worst = hf["tokens"].as_array().unwrap().iter().zip(gg["tokens"].as_array().unwrap()).map(|(a, b)| (a["logp"].as_f64().unwrap() - b["logp"].as_f64().unwrap()).abs()).fold(0f64, f64::max);
        eprintln!("{prompt:?}: {} prompt ids, {} answer tokens, largest log-probability difference {worst:.2e} nats (log pi {:.4})", hf["prompt_ids"].as_array().unwrap().len(), ids(&hf).len(), hf["logp"]);
        assert!(worst < 1e-4, "{worst}");
    }
}
