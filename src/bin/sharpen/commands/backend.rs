//! `--backend cpu|gpu|auto`: where sampling runs, by the rule the page uses
//! too (`app::backend::Backend`): `gpu` uses the GPU path (wgpu: Vulkan or
//! GL) on any adapter, `auto` only for a real model (`--model`) on a
//! hardware adapter; either falls back to the CPU with a notice when there
//! is no adapter, the model does not fit, or the GPU fails during the run.
//! The choice and its reason go to stderr (only when `--backend` is given),
//! so `--json` output is the same on either backend with f32 GPU weights.
//! `--gpu-weights f16` stores the GPU's weight matrices as f16 (half the
//! memory; numbers no longer identical to the CPU's: the JSON parameters
//! then say `gpu_weights`); without the flag f16 is used only when f32
//! matrices exceed the adapter's buffer size.

use sharpening_lab::decode::{on_cpu, Decode};
use sharpening_lab::model::Model;

use super::fail;

/// What a run does with the backend it is given.
pub type RunOn<'a, T> = dyn FnMut(&mut dyn Decode) -> sharpening_lab::Result<T> + 'a;

/// The command line built for wasm (only type-checked) has the CPU only.
#[cfg(target_arch = "wasm32")]
pub fn with_backend<T>(_backend: &str, _weights: &str, model: &Model, _real: bool, run: &mut RunOn<T>) -> Result<(T, Ran), String> {
    Ok((run(&mut *on_cpu(&model.llama)).map_err(fail)?, Ran::Cpu))
}

/// Where a run went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ran {
    Cpu,
    /// The GPU path, weights stored as f32 (`false`) or f16 (`true`).
    Gpu { f16: bool },
}

/// Runs `run` on the backend `--backend` names (empty: the CPU, silently);
/// `real`: the model is a real one (`--model`).
#[cfg(not(target_arch = "wasm32"))]
pub fn with_backend<T>(backend: &str, weights: &str, model: &Model, real: bool, run: &mut RunOn<T>) -> Result<(T, Ran), String> {
    // Empty: f32 when the largest matrix fits the adapter's buffers, else f16.
    let chosen = if weights.is_empty() { None } else { Some(sharpening_lab::gpu::Precision::parse(weights).map_err(|e| format!("--gpu-weights: {e}"))?) };
    let cpu = |why: String, run: &mut RunOn<T>| {
        eprintln!("backend: {why}");
        Ok((run(&mut *on_cpu(&model.llama)).map_err(fail)?, Ran::Cpu))
    };
    if backend.is_empty() {
        // The default: no notice (stderr stays for errors).
        return Ok((run(&mut *on_cpu(&model.llama)).map_err(fail)?, Ran::Cpu));
    }
    let backend = sharpening_lab::app::backend::Backend::parse(backend).map_err(|e| format!("--{e}"))?;
    if let Some(why) = backend.before_adapter(true, real) {
        return cpu(why, run);
    }
    use sharpening_lab::gpu::{decoder::GpuModel, kernels::Kernels, sample::GpuDecode, Gpu};
    let gpu = match Gpu::new_blocking() {
        Ok(g) => g,
        Err(e) => return cpu(format!("CPU — {e}"), run),
    };
    if let Some(why) = backend.with_adapter(Some(gpu.info.software)) {
        return cpu(format!("{why} ({})", gpu.info.name), run);
    }
    let kernels = match Kernels::new(&gpu) {
        Ok(k) => k,
        Err(e) => return cpu(format!("CPU — {e}"), run),
    };
    let Some(precision) = chosen.or_else(|| GpuModel::precision_for(&gpu, model.llama.config())) else {
        return cpu(format!("CPU — the model's largest weight matrix exceeds {}'s {} MB buffers even as f16", gpu.info.name, gpu.info.max_buffer_bytes >> 20), run);
    };
    let gm = match GpuModel::new(&gpu, &kernels, model.llama.config(), &model.tensors, precision) {
        Ok(m) => m,
        Err(e) => return cpu(format!("CPU — the model does not fit the GPU path ({e})"), run),
    };
    eprintln!(
        "backend: GPU — {} ({}, {} weights): answers are sampled and self-verification scored on the GPU; exact distributions stay on the CPU",
        gpu.info.name,
        gpu.info.backend,
        precision.name()
    );
    match run(&mut GpuDecode::new(&gm)) {
        Err(sharpening_lab::Error::Gpu(e)) => cpu(format!("CPU — the GPU failed during the run ({e}); running again on the CPU"), run),
        other => Ok((other.map_err(fail)?, Ran::Gpu { f16: precision == sharpening_lab::gpu::Precision::F16 })),
    }
}
