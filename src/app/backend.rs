//! Where sampling and scoring run, one type and one rule for the CLI
//! (`--backend`) and the page (`backend=`): `cpu` never uses the GPU; `auto`
//! uses it only for a real model on a hardware adapter (the built-in models
//! are too small to gain, a software adapter such as lavapipe or SwiftShader
//! is slower than the CPU); `gpu` forces it on any adapter. The rule is
//! applied in two steps because the browser answers asynchronously whether
//! there is an adapter; each refusal is the sentence the CLI prints and the
//! page shows.

use serde::{Deserialize, Serialize};

use crate::error::{param_err, Result};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    #[default]
    Auto,
    Cpu,
    Gpu,
}

impl Backend {
    pub const ALL: [Backend; 3] = [Backend::Auto, Backend::Cpu, Backend::Gpu];

    pub const fn key(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::Cpu => "cpu",
            Backend::Gpu => "gpu",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|b| b.key() == s).map_or_else(|| param_err(format!("backend {s:?}: choose cpu, gpu or auto")), Ok)
    }

    /// Before asking for an adapter: `Some(why the CPU runs)`, or None to ask.
    pub fn before_adapter(self, model_loaded: bool, real_model: bool) -> Option<String> {
        if !model_loaded {
            return Some("CPU (no model loaded yet)".into());
        }
        match self {
            Backend::Cpu => Some("CPU (chosen)".into()),
            Backend::Auto if !real_model => Some("CPU — auto: the built-in models are too small to gain from a GPU (choose gpu to force it)".into()),
            _ => None,
        }
    }

    /// Given the adapter (None: there is none; Some(true): a software one):
    /// `Some(why the CPU runs)`, or None to open the GPU.
    pub fn with_adapter(self, software: Option<bool>) -> Option<String> {
        match software {
            None => Some(format!("CPU — {}: no GPU adapter here; the experiments run on the CPU", self.key())),
            Some(true) if self == Backend::Auto => {
                Some("CPU — auto: the only GPU adapter is a software one, slower than the CPU (choose gpu to force it)".into())
            }
            Some(_) => None,
        }
    }

    /// What the page says when the GPU runs: the adapter, whether it is a
    /// software one (forced by `gpu`), and f16 weight storage where f32
    /// would exceed its buffers.
    pub fn gpu_text(info: &crate::gpu::GpuInfo, software: bool, precision: crate::gpu::Precision) -> String {
        let name = if info.name.is_empty() { "adapter" } else { &info.name };
        let forced = if software { " (a fallback, software adapter: forced by backend=gpu)" } else { "" };
        let f16 = match precision {
            crate::gpu::Precision::F16 => format!(" (weights stored as f16: as f32 they exceed this adapter's {} MB buffers; results differ from the CPU's by the rounding)", info.max_buffer_bytes >> 20),
            crate::gpu::Precision::F32 => String::new(),
        };
        format!("WebGPU — {name}{forced}: the explorer and best-of-N sample and score on the GPU; enumeration and training stay on the CPU{f16}")
    }
}
