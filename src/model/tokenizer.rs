//! Tokenization through the `tokenizers` crate, from a `tokenizer.json`.
//!
//! The built-in models use a character-level tokenizer (a BPE model with no
//! merges, so every character is one token) built here with the crate's own
//! types and saved as an ordinary `tokenizer.json`; real tokenizers load the same
//! way. `<s>` starts every sequence, `</s>` ends an answer.

use tokenizers::decoders::fuse::Fuse;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::{AddedToken, Tokenizer};

use super::chat_template::ChatTemplate;
use crate::error::{Error, Result};

/// Largest vocabulary a GGUF tokenizer may declare.
const MAX_VOCAB_TOKENS: usize = 1 << 20;

pub const BOS: &str = "<s>";
pub const EOS: &str = "</s>";
pub const PAD: &str = "<pad>";

/// Largest `tokenizer.json` accepted (real tokenizers are a few MB).
const MAX_TOKENIZER_BYTES: usize = 64 << 20;

/// How a prompt becomes the model's input.
#[derive(Clone, Debug, PartialEq)]
pub enum PromptFormat {
    /// `<s>` then the text (the built-in models).
    Bos,
    /// The model's own chat template (e.g. ChatML for SmolLM2), rendered for
    /// one user message (`chat_template`).
    Chat(ChatTemplate),
}

/// `inner` without its BPE word cache. tokenizers 0.23 keeps that cache in
/// a thread-local map keyed by the BPE instance and never removes an
/// instance's entries when it is dropped, so every tokenizer loaded (each
/// model switch in the page's worker) would leave its cached words behind
/// for good (measured: about 0.5 KB per built-in model load plus 70 B per
/// word, and the soak's heap grew by 400 KB a round; `tests/soak.rs`).
/// Tokenizing is a negligible part of any run; what remains is the empty
/// map each instance still registers on its first encode (under 200 B, `tests/soak.rs`).
fn without_word_cache(mut inner: Tokenizer) -> Tokenizer {
    let mut model = inner.get_model().clone();
    model.resize_cache(0);
    inner.with_model(model);
    inner
}

/// A tokenizer plus the ids of the special tokens the engine needs.
#[derive(Clone)]
pub struct Tok {
    inner: Tokenizer,
    pub bos: u32,
    /// Ends an answer (`</s>`, or `<|im_end|>` for ChatML models).
    pub eos: u32,
    pub format: PromptFormat,
}

impl Tok {
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        Self::from_hf(bytes, None, b"{}")
    }

    /// A Hugging Face tokenizer: `tokenizer.json`, with the special tokens
    /// and chat template of `tokenizer_config.json` when given (`bos_token`,
    /// `eos_token`, `chat_template`), else the ids `config.json` names
    /// (`bos_token_id`, `eos_token_id`), else `<s>` and `</s>`.
    pub fn from_hf(bytes: &[u8], tokenizer_config: Option<&[u8]>, config: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_TOKENIZER_BYTES {
            return Err(Error::Tokenizer(format!("file of {} bytes is too large", bytes.len())));
        }
        // Check the JSON syntax first: tokenizers 0.23 panics (an `expect` in its
        // decoder deserialiser) on some truncated files instead of failing.
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| Error::Tokenizer(format!("not valid JSON: {e}")))?;
        let inner: Tokenizer = serde_json::from_value(value).map_err(|e| Error::Tokenizer(e.to_string()))?;
        let tc: serde_json::Value = match tokenizer_config {
            Some(b) if b.len() > MAX_TOKENIZER_BYTES => return Err(Error::Tokenizer("tokenizer_config.json is too large".into())),
            Some(b) => serde_json::from_slice(b).map_err(|e| Error::Tokenizer(format!("tokenizer_config.json is not valid JSON: {e}")))?,
            None => serde_json::Value::Null,
        };
        let cfg: serde_json::Value = serde_json::from_slice(config).unwrap_or_default();
        // A special token in tokenizer_config.json: a string or {"content": ...}.
        let named = |k: &str| -> Option<String> {
            let v = tc.get(k)?;
            v.as_str().or_else(|| v.get("content").and_then(|c| c.as_str())).map(str::to_string)
        };
        // An id in config.json: a number or a list (the first).
        let cfg_id = |k: &str| -> Option<u32> {
            let v = cfg.get(k)?;
            v.as_u64().or_else(|| v.as_array()?.first()?.as_u64()).and_then(|x| u32::try_from(x).ok())
        };
        let special = |key: &str, id_key: &str, default: &str| -> Result<u32> {
            let text = named(key);
            let id = match &text {
                Some(t) => inner.token_to_id(t),
                None => cfg_id(id_key).or_else(|| inner.token_to_id(default)),
            };
            id.filter(|&i| inner.id_to_token(i).is_some()).ok_or_else(|| {
                Error::Tokenizer(format!("the special token {} is missing from tokenizer.json", text.as_deref().unwrap_or(default)))
            })
        };
        let (bos, eos) = (special("bos_token", "bos_token_id", BOS)?, special("eos_token", "eos_token_id", EOS)?);
        let template = match tc.get("chat_template") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(t)) => Some(t.clone()),
            // A list of named templates: "default", else the first.
            Some(serde_json::Value::Array(list)) => {
                let pick = list.iter().find(|t| t.get("name").and_then(|n| n.as_str()) == Some("default")).or(list.first());
                pick.and_then(|t| t.get("template")).and_then(|t| t.as_str()).map(str::to_string)
            }
            Some(_) => return Err(Error::Tokenizer("tokenizer_config.json: chat_template is neither text nor a list".into())),
        };
        let format = match template {
            Some(t) => PromptFormat::Chat(ChatTemplate::new(&t, &inner.id_to_token(bos).unwrap_or_default(), &inner.id_to_token(eos).unwrap_or_default())?),
            None => PromptFormat::Bos,
        };
        Ok(Self { bos, eos, inner: without_word_cache(inner), format })
    }

    /// A byte-level BPE tokenizer (GPT-2 style) from a vocabulary in id order,
    /// merges (`"a b"`) and token types (3 = control: a special token kept
    /// whole). `split_digits` puts every digit in its own token first (SmolLM2).
    pub fn byte_level_bpe(
        tokens: &[String],
        merges: &[String],
        types: &[i64],
        bos: u32,
        eos: u32,
        split_digits: bool,
        format: PromptFormat,
    ) -> Result<Self> {
        let err = |e: String| Error::Tokenizer(e);
        if tokens.is_empty() || tokens.len() > MAX_VOCAB_TOKENS {
            return Err(err(format!("vocabulary of {} tokens", tokens.len())));
        }
        if (bos as usize) >= tokens.len() || (eos as usize) >= tokens.len() {
            return Err(err("special token id outside the vocabulary".into()));
        }
        let vocab: tokenizers::models::bpe::Vocab = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        let merges = merges
            .iter()
            .map(|m| m.split_once(' ').map(|(a, b)| (a.to_string(), b.to_string())).ok_or_else(|| err(format!("bad merge {m:?}"))))
            .collect::<Result<Vec<_>>>()?;
        let bpe = BPE::builder().vocab_and_merges(vocab, merges).build().map_err(|e| err(e.to_string()))?;
        let mut inner = Tokenizer::new(bpe);
        let byte_level = ByteLevel::new(false, true, true);
        let pre: PreTokenizerWrapper = if split_digits {
            Sequence::new(vec![PreTokenizerWrapper::Digits(Digits::new(true)), PreTokenizerWrapper::ByteLevel(byte_level)]).into()
        } else {
            byte_level.into()
        };
        inner.with_pre_tokenizer(Some(pre));
        inner.with_decoder(Some(ByteLevel::default()));
        let special: Vec<AddedToken> =
            tokens.iter().zip(types).filter(|(_, &t)| t == 3).map(|(s, _)| AddedToken::from(s.clone(), true)).collect();
        inner.add_special_tokens(special).map_err(|e| err(e.to_string()))?;
        Ok(Self { inner: without_word_cache(inner), bos, eos, format })
    }

    /// The character-level tokenizer of the built-in models, over `alphabet`.
    pub fn char_level(alphabet: &str) -> Result<Self> {
        let mut vocab = tokenizers::models::bpe::Vocab::new();
        for s in [PAD, BOS, EOS] {
            let n = vocab.len() as u32;
            vocab.insert(s.to_string(), n);
        }
        for c in alphabet.chars() {
            let n = vocab.len() as u32;
            vocab.entry(c.to_string()).or_insert(n);
        }
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, vec![])
            .build()
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let mut inner = Tokenizer::new(bpe);
        inner.with_decoder(Some(Fuse::new()));
        inner.add_special_tokens([
            AddedToken::from(PAD, true),
            AddedToken::from(BOS, true),
            AddedToken::from(EOS, true),
        ])
        .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let json = inner.to_string(true).map_err(|e| Error::Tokenizer(e.to_string()))?;
        Self::from_json(json.as_bytes())
    }

    pub fn to_json(&self) -> Result<String> {
        self.inner.to_string(true).map_err(|e| Error::Tokenizer(e.to_string()))
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Token ids of `text`, with no special tokens added. Characters the
    /// vocabulary lacks are an error, not silently dropped.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.inner.encode(text, false).map_err(|e| Error::Tokenizer(e.to_string()))?;
        let ids = enc.get_ids().to_vec();
        let back = self.decode(&ids)?;
        if back != text {
            return Err(Error::Tokenizer(format!(
                "text {text:?} cannot be represented by this tokenizer (round trip gave {back:?})"
            )));
        }
        Ok(ids)
    }

    /// The model input for a prompt: `<s>` and the text, or the chat template's turns.
    pub fn encode_prompt(&self, text: &str) -> Result<Vec<u32>> {
        match &self.format {
            PromptFormat::Bos => {
                let mut ids = vec![self.bos];
                ids.extend(self.encode(text)?);
                Ok(ids)
            }
            PromptFormat::Chat(t) => {
                let s = t.render(text)?;
                let enc = self.inner.encode(s.as_str(), false).map_err(|e| Error::Tokenizer(e.to_string()))?;
                Ok(enc.get_ids().to_vec())
            }
        }
    }

    /// The text of one token id (special tokens included), for reports.
    pub fn piece(&self, id: u32) -> String {
        self.inner.id_to_token(id).unwrap_or_default()
    }

    /// Text of `ids`, special tokens removed.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, true).map_err(|e| Error::Tokenizer(e.to_string()))
    }
}
