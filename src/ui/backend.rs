//! The page's backend choice (`backend=auto|cpu|webgpu`), as pure rules the
//! worker applies before and after asking the browser for a WebGPU adapter:
//! `cpu` never uses the GPU; `auto` uses it only for a real model on a
//! hardware adapter (the built-in models are too small to gain, a fallback
//! adapter such as SwiftShader is slower than the CPU); `webgpu` forces it
//! when there is any adapter. Each refusal is the sentence the page shows.

/// Before asking for an adapter: `Some(why the CPU runs)`, or None to ask.
pub fn before_adapter(backend: &str, model_loaded: bool, real_model: bool) -> Option<String> {
    if !model_loaded {
        return Some("CPU (no model loaded yet)".into());
    }
    match backend {
        "cpu" => Some("CPU (chosen)".into()),
        "auto" if !real_model => Some("CPU — auto: the built-in models are too small to gain from a GPU (choose webgpu to force it)".into()),
        _ => None,
    }
}

/// Given the adapter (None: there is none; Some(true): a fallback, software
/// one): `Some(why the CPU runs)`, or None to open the GPU.
pub fn with_adapter(backend: &str, fallback: Option<bool>) -> Option<String> {
    match fallback {
        None => Some(format!("CPU — {backend}: this browser offers no WebGPU adapter; the experiments run on the CPU")),
        Some(true) if backend == "auto" => {
            Some("CPU — auto: the only WebGPU adapter is a fallback (software) one, slower than the CPU (choose webgpu to force it)".into())
        }
        Some(_) => None,
    }
}
