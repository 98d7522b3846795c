//! The bodies of the fuzz targets: every parser that takes a user's bytes,
//! called on arbitrary input. Each must return — an error is a fine answer
//! — without panicking, hanging or allocating past the stated limit.
//! `fuzz/fuzz_targets/*.rs` hands libFuzzer's inputs to these (the campaign:
//! `scripts/fuzz.sh`); `tests/suite/fuzz_smoke.rs` runs them natively on the seeds
//! and on every input a campaign found a fault with (`fuzz/regressions/`).

use crate::model::gguf::{self, Weights};

/// The largest model a fuzzed file may ask to build (f32 weights and
/// 8-bit copies): bigger ones are refused before allocating, as in the page.
pub const MEMORY_LIMIT: usize = 256 << 20;

/// A target's body.
pub type Body = fn(&[u8]);

/// The targets by name (the fuzz crate's binaries and the seed folders).
pub const TARGETS: [(&str, Body); 6] =
    [("gguf", gguf_file), ("hf_files", hf_files), ("tokenizer", tokenizer), ("chat_template", chat_template), ("prompts", prompts), ("url_hash", url_hash)];

/// A GGUF file: header, metadata, tensor table, the tokenizer and chat
/// template it carries, then the weights; and the page's download check.
pub fn gguf_file(data: &[u8]) {
    let _ = crate::app::download::check_download("fuzz.gguf", data, None);
    if gguf::memory_needed(data).is_ok_and(|n| n <= MEMORY_LIMIT) {
        let _ = gguf::load_gguf(data, Weights::Quantized);
    }
}

/// Splits `data` into `n` parts at the separator bytes `0xFF 0x00 0xFF`
/// (so one input carries several files, and mutations can move the cut).
fn parts(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(n);
    let mut rest = data;
    while out.len() + 1 < n {
        match rest.windows(3).position(|w| w == [0xFF, 0x00, 0xFF]) {
            Some(i) => {
                out.push(&rest[..i]);
                rest = &rest[i + 3..];
            }
            None => break,
        }
    }
    out.push(rest);
    out.resize(n, &[]);
    out
}

/// A Hugging Face model's files: config.json, model.safetensors,
/// tokenizer.json and tokenizer_config.json (in that order, separated).
pub fn hf_files(data: &[u8]) {
    let p = parts(data, 4);
    let _ = crate::app::download::check_download("fuzz.safetensors", p[1], None);
    // The size the config asks for is checked before the weights are read.
    if crate::model::config::Config::from_json(p[0]).is_ok_and(|c| c.num_params().saturating_mul(8) <= MEMORY_LIMIT) {
        let _ = crate::model::Model::from_hf_files(p[0], p[1], p[2], (!p[3].is_empty()).then_some(p[3]));
    }
}

/// A `tokenizer.json` (with a `tokenizer_config.json` after the
/// separator), then encoding and decoding a sample through it.
pub fn tokenizer(data: &[u8]) {
    let p = parts(data, 2);
    if let Ok(t) = crate::model::tokenizer::Tok::from_hf(p[0], (!p[1].is_empty()).then_some(p[1]), b"{}") {
        if let Ok(ids) = t.encode_prompt("What is 2 + 2? Answer in one short sentence.") {
            let _ = t.decode(&ids);
        }
    }
}

/// A Jinja chat template, checked and rendered as a model's would be.
pub fn chat_template(data: &[u8]) {
    if let Ok(src) = std::str::from_utf8(data) {
        if let Ok(t) = crate::model::chat_template::ChatTemplate::new(src, "<s>", "</s>") {
            let _ = t.render("{{ not a template }} <|im_end|>");
        }
    }
}

/// A JSONL prompt set, one file or split by the separator into two.
pub fn prompts(data: &[u8]) {
    let p = parts(data, 2);
    let (Ok(train), Ok(eval)) = (std::str::from_utf8(p[0]), std::str::from_utf8(p[1])) else { return };
    let _ = crate::tasks::prompt_set::PromptSet::custom(train, (!eval.is_empty()).then_some(eval), Some(0.3));
}

/// The page's URL hash: parsed, written back, and parsed again to the same
/// settings (a hash the page writes is one it reads).
pub fn url_hash(data: &[u8]) {
    let Ok(hash) = std::str::from_utf8(data) else { return };
    let (ui, _) = crate::ui::params::UiState::from_hash(hash);
    let again = crate::ui::params::UiState::from_hash(&ui.to_hash()).0;
    assert!(again == ui, "the hash {hash:?} does not round-trip: {} vs {}", ui.to_hash(), again.to_hash());
}
