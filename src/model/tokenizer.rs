//! Tokenization through the `tokenizers` crate, from a `tokenizer.json`.
//!
//! The built-in models use a character-level tokenizer (a BPE model with no
//! merges, so every character is one token) built here with the crate's own
//! types and saved as an ordinary `tokenizer.json`; real tokenizers load the same
//! way. `<s>` starts every sequence, `</s>` ends an answer.

use tokenizers::decoders::fuse::Fuse;
use tokenizers::models::bpe::BPE;
use tokenizers::{AddedToken, Tokenizer};

use crate::error::{Error, Result};

pub const BOS: &str = "<s>";
pub const EOS: &str = "</s>";
pub const PAD: &str = "<pad>";

/// Largest `tokenizer.json` accepted (real tokenizers are a few MB).
const MAX_TOKENIZER_BYTES: usize = 64 << 20;

/// A tokenizer plus the ids of the special tokens the engine needs.
#[derive(Clone)]
pub struct Tok {
    inner: Tokenizer,
    pub bos: u32,
    pub eos: u32,
}

impl Tok {
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_TOKENIZER_BYTES {
            return Err(Error::Tokenizer(format!("file of {} bytes is too large", bytes.len())));
        }
        // Check the JSON syntax first: tokenizers 0.23 panics (an `expect` in its
        // decoder deserialiser) on some truncated files instead of failing.
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| Error::Tokenizer(format!("not valid JSON: {e}")))?;
        let inner: Tokenizer = serde_json::from_value(value).map_err(|e| Error::Tokenizer(e.to_string()))?;
        let id = |t: &str| {
            inner
                .token_to_id(t)
                .ok_or_else(|| Error::Tokenizer(format!("the special token {t} is missing")))
        };
        Ok(Self { bos: id(BOS)?, eos: id(EOS)?, inner })
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

    /// `<s>` followed by the tokens of `text`.
    pub fn encode_prompt(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = vec![self.bos];
        ids.extend(self.encode(text)?);
        Ok(ids)
    }

    /// Text of `ids`, special tokens removed.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, true).map_err(|e| Error::Tokenizer(e.to_string()))
    }
}
