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

/// The most a rendering may do: instructions (minijinja's fuel; SmolLM2's
/// template needs about a hundred) and text written (a prompt is a few KB).
/// A template is code from a file: without these, one that loops or repeats
/// a string without bound would hang or exhaust the page's memory.
const FUEL: u64 = 200_000;
const MAX_RENDERED_BYTES: usize = 1 << 20;

/// A writer that refuses to grow past [`MAX_RENDERED_BYTES`] (and says it
/// did: minijinja reports only that writing failed).
struct Capped(Vec<u8>, bool);

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_RENDERED_BYTES {
            self.1 = true;
            return Err(std::io::Error::other("too long"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

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
        env.set_fuel(Some(FUEL));
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
        let mut out = Capped(Vec::new(), false);
        let rendered = env.get_template("chat").and_then(|t| t.render_captured_to(ctx, &mut out).map(|_| ()));
        if out.1 {
            return Err(Error::Tokenizer(format!("chat template: the rendered prompt passes {} KB (the template repeats without bound)", MAX_RENDERED_BYTES >> 10)));
        }
        rendered.map_err(err)?;
        String::from_utf8(out.0).map_err(|_| Error::Tokenizer("chat template: the rendered prompt is not UTF-8".into()))

    }
}
