//! Chat templates: the Jinja template a chat model was trained with (a GGUF
//! file's `tokenizer.chat_template`, or `chat_template` in a Hugging Face
//! `tokenizer_config.json`), rendered with minijinja the way Hugging Face's
//! `apply_chat_template` renders it: `messages` = one user turn,
//! `add_generation_prompt` = true, `bos_token` / `eos_token` as text, Jinja
//! with `trim_blocks` and `lstrip_blocks`, Python string methods (`strip`,
//! `startswith`, ...) and `raise_exception`. The rendered text is tokenized
//! without adding special tokens (the template writes them).

use minijinja::{context, Environment, ErrorKind};

use crate::error::{Error, Result};

/// Largest template accepted (real ones are a few KB).
const MAX_TEMPLATE_BYTES: usize = 256 << 10;

#[derive(Clone, Debug, PartialEq)]
pub struct ChatTemplate {
    source: String,
    bos: String,
    eos: String,
}

impl ChatTemplate {
    /// A template, checked by rendering a probe message (a template that
    /// cannot render is an error at load, not at the first prompt).
    pub fn new(source: &str, bos: &str, eos: &str) -> Result<Self> {
        if source.len() > MAX_TEMPLATE_BYTES {
            return Err(Error::Tokenizer(format!("chat template of {} bytes is too large", source.len())));
        }
        let t = Self { source: source.to_string(), bos: bos.to_string(), eos: eos.to_string() };
        let probe = t.render("PROBE")?;
        if !probe.contains("PROBE") {
            return Err(Error::Tokenizer("the chat template drops the user's message".into()));
        }
        Ok(t)
    }

    /// The model input text for one user message, ending where the
    /// assistant's answer begins.
    pub fn render(&self, user: &str) -> Result<String> {
        let err = |e: minijinja::Error| Error::Tokenizer(format!("chat template: {e}"));
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |msg: String| -> std::result::Result<String, minijinja::Error> {
            Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg))
        });
        env.add_template("chat", &self.source).map_err(err)?;
        let ctx = context! {
            messages => vec![context! { role => "user", content => user }],
            add_generation_prompt => true,
            bos_token => &self.bos,
            eos_token => &self.eos,
        };
        env.get_template("chat").and_then(|t| t.render(ctx)).map_err(err)
    }
}
