//! The files a user brings to a real model besides its weights, as the page
//! keeps them: their own prompt set (a training file and optionally a file
//! of evaluation prompts) and a LoRA adapter (PEFT's two files). None of
//! them is part of the link; each load command carries them to the worker
//! ([`RealExtras`]), so a model reloaded for another task keeps them.

use crate::app::protocol::{AdapterFiles, CustomPrompts, PromptsFile, RealExtras};

/// Which file picker the files came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Picked {
    /// The prompt set (task `custom`): one JSONL file.
    Prompts,
    /// A second JSONL file: every line held out for evaluation.
    EvalPrompts,
    /// A LoRA adapter: `adapter_config.json` and `adapter_model.safetensors`
    /// chosen together (names may carry a prefix, as the page's downloads
    /// do); no files = remove the adapter.
    Adapter,
}

#[derive(Clone, Debug, Default)]
pub struct UserFiles {
    pub prompts: Option<PromptsFile>,
    pub eval_prompts: Option<PromptsFile>,
    pub adapter: Option<AdapterFiles>,
}

impl Picked {
    pub const ALL: [Picked; 3] = [Picked::Prompts, Picked::EvalPrompts, Picked::Adapter];

    /// The id of the page's file input.
    pub fn input_id(self) -> &'static str {
        match self {
            Picked::Prompts => "prompts-file",
            Picked::EvalPrompts => "prompts-eval-file",
            Picked::Adapter => "adapter-files",
        }
    }

    /// The largest file read: a prompt set 8 MB (10,000 prompts of a few
    /// hundred bytes), an adapter 256 MB.
    pub fn max_bytes(self) -> f64 {
        if self == Picked::Adapter { 256e6 } else { 8e6 }
    }
}

impl UserFiles {
    /// Takes files from picker `picked`; Ok(what the page says about it), or
    /// Err(why they cannot be used: not UTF-8, a missing adapter file).
    pub fn accept(&mut self, picked: Picked, mut files: Vec<(String, Vec<u8>)>) -> Result<String, String> {
        let not_in_link = "is not part of the link: whoever opens it chooses the file again.";
        match picked {
            Picked::EvalPrompts if self.prompts.is_none() => {
                Err("choose the training prompt set first (the first file); the second file is the held-out set for it".into())
            }
            Picked::Prompts | Picked::EvalPrompts => {
                let (name, bytes) = files.pop().ok_or("no file was chosen")?;

                let text = String::from_utf8(bytes).map_err(|_| format!("{name} is not UTF-8 text (a JSONL file has one JSON object per line)"))?;
                let file = Some(PromptsFile { name, text });
                if picked == Picked::Prompts {
                    self.prompts = file;
                    Ok(format!("A prompt set from a file {not_in_link}"))
                } else {
                    self.eval_prompts = file;
                    Ok(format!("Every line of the second file is held out for evaluation; the first file's lines are all for training. It {not_in_link}"))
                }
            }
            Picked::Adapter if files.is_empty() => {
                self.adapter = None;
                Ok("The LoRA adapter is removed: the model's own weights again.".into())
            }
            Picked::Adapter => {
                let mut take = |suffix: &str| files.iter().position(|(n, _)| n.ends_with(suffix)).map(|i| files.swap_remove(i).1);
                let (config, weights) = (take("adapter_config.json"), take(".safetensors"));
                let (Some(config), Some(weights)) = (config, weights) else {
                    return Err("a LoRA adapter is two files chosen together: adapter_config.json and adapter_model.safetensors (PEFT's layout)".into());
                };
                self.adapter = Some(AdapterFiles { config, weights });
                Ok(format!("The LoRA adapter is merged into the model's weights (runs and exports name it); it {not_in_link}"))
            }
        }
    }

    /// What a load of a real model for `task` carries: the prompt set for
    /// task `custom` (held-out share `eval_share` when there is no second
    /// file) and the adapter.
    pub fn extras(&self, task: &str, eval_share: f64) -> RealExtras {
        let prompts = self.prompts.clone().filter(|_| task == "custom").map(|train| CustomPrompts { train, eval: self.eval_prompts.clone(), eval_share });
        RealExtras { prompts, adapter: self.adapter.clone() }
    }
}
