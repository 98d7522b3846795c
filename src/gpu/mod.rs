//! The GPU path: the transformer's decoding step as WGSL compute kernels run
//! through wgpu (Vulkan or GL natively, WebGPU in the browser). candle's CPU
//! path stays the reference: every kernel and the whole step are tested
//! against it (tests/suite/gpu.rs).
//!
//! Readback is asynchronous, so the GPU work cannot hide inside one candle
//! op: the weights, the KV cache and every intermediate stay on the GPU, a
//! whole decoding step for a batch of rows is one submission of
//! pre-built dispatches (`kernels::Op`, bind groups made once, no buffer
//! created per token), and only the logits come back.
//!
//! Errors never panic: wgpu's validation errors and a lost device are caught
//! here and returned as [`Error::Gpu`], so callers can fall back to the CPU.

#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
pub mod decoder;
pub mod kernels;
pub mod plan;
mod matmul_wgsl;
mod oneshot;
pub mod sample;

use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// What the adapter is, for the page and the benchmarks.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct GpuInfo {
    pub name: String,
    pub backend: String,
    pub driver: String,
    /// A software rasteriser (lavapipe, llvmpipe, SwiftShader): correct but slow.
    pub software: bool,
    pub max_buffer_bytes: u64,
}

/// A device and queue, with errors captured instead of panicking.
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: GpuInfo,
    /// The first uncaptured error or device loss since the last check.
    fault: Arc<Mutex<Option<String>>>,
}

fn gpu_err(msg: impl Into<String>) -> Error {
    Error::Gpu(msg.into())
}

impl Gpu {
    /// The first adapter wgpu offers (high performance preferred), with its
    /// own limits (large buffers for real models).
    pub async fn request() -> Result<Gpu> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions { power_preference: wgpu::PowerPreference::HighPerformance, ..Default::default() })
            .await
            .map_err(|e| gpu_err(format!("no GPU adapter: {e}")))?;
        let a = adapter.get_info();
        let limits = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("sharpening-lab"),
                required_features: wgpu::Features::empty(),
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| gpu_err(format!("cannot open the GPU {}: {e}", a.name)))?;
        let fault = Arc::new(Mutex::new(None));
        let f = fault.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let mut g = f.lock().unwrap_or_else(|p| p.into_inner());
            g.get_or_insert_with(|| e.to_string());
        }));
        let f = fault.clone();
        device.set_device_lost_callback(move |reason, msg| {
            let mut g = f.lock().unwrap_or_else(|p| p.into_inner());
            g.get_or_insert_with(|| format!("the GPU device was lost ({reason:?}): {msg}"));
        });
        let info = GpuInfo {
            name: a.name.clone(),
            backend: format!("{:?}", a.backend),
            driver: format!("{} {}", a.driver, a.driver_info).trim().to_string(),
            software: a.device_type == wgpu::DeviceType::Cpu,
            max_buffer_bytes: limits.max_buffer_size.min(limits.max_storage_buffer_binding_size as u64),
        };
        Ok(Gpu { device, queue, info, fault })
    }

    /// [`Gpu::request`], blocking (native).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new_blocking() -> Result<Gpu> {
        pollster::block_on(Self::request())
    }

    /// Returns (and clears) a captured validation error or device loss.
    pub fn check(&self) -> Result<()> {
        let mut g = self.fault.lock().unwrap_or_else(|p| p.into_inner());
        match g.take() {
            Some(e) => Err(gpu_err(e)),
            None => Ok(()),
        }
    }

    /// A storage buffer holding `data`, refused (not a panic) above the limit.
    pub fn upload(&self, label: &str, data: &[f32]) -> Result<wgpu::Buffer> {
        self.fits(label, data.len() as u64 * 4)?;
        Ok(self.filled(label, bytemuck_f32(data), wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC))
    }

    /// A buffer holding `bytes` (a multiple of 4), written through the
    /// queue. Not wgpu's `create_buffer_init`: that maps the buffer and
    /// panics when the device is gone (lost or destroyed mid-run), where
    /// this leaves the error to the device's handler, so [`Gpu::check`]
    /// reports it and the caller falls back to the CPU.
    fn filled(&self, label: &str, bytes: &[u8], usage: wgpu::BufferUsages) -> wgpu::Buffer {
        let buf = self.device.create_buffer(&wgpu::BufferDescriptor { label: Some(label), size: bytes.len().max(4) as u64, usage: usage | wgpu::BufferUsages::COPY_DST, mapped_at_creation: false });
        self.queue.write_buffer(&buf, 0, bytes);
        buf
    }

    /// A weight matrix (or table) in `precision`: f32 as is, or f16
    /// (round to nearest even) packed two per u32, element `2i` in the low
    /// half, as `unpack2x16float` reads it.
    pub fn upload_weight(&self, label: &str, data: &[f32], precision: Precision) -> Result<Weight> {
        let buf = match precision {
            Precision::F32 => self.upload(label, data)?,
            Precision::F16 => {
                let words: Vec<f32> = data
                    .chunks(2)
                    .map(|p| {
                        let lo = half::f16::from_f32(p[0]).to_bits() as u32;
                        let hi = p.get(1).map_or(0, |&v| half::f16::from_f32(v).to_bits() as u32);
                        f32::from_bits(lo | hi << 16)
                    })
                    .collect();
                self.upload(label, &words)?
            }
        };
        Ok(Weight { buf, precision })
    }

    /// A zeroed storage buffer of `floats` f32 values (at least one).
    pub fn zeros(&self, label: &str, floats: usize) -> Result<wgpu::Buffer> {
        let bytes = floats.max(1) as u64 * 4;
        self.fits(label, bytes)?;
        Ok(self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        }))
    }

    /// A uniform buffer of 32-bit words (padded to 16 bytes).
    pub fn uniform(&self, words: &[u32]) -> wgpu::Buffer {
        let mut w = words.to_vec();
        while !w.len().is_multiple_of(4) {
            w.push(0);
        }
        let bytes: Vec<u8> = w.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.filled("dims", &bytes, wgpu::BufferUsages::UNIFORM)
    }

    fn fits(&self, label: &str, bytes: u64) -> Result<()> {
        if bytes > self.info.max_buffer_bytes {
            return Err(gpu_err(format!("{label} needs a {} MB buffer; {} allows {} MB", bytes >> 20, self.info.name, self.info.max_buffer_bytes >> 20)));
        }
        Ok(())
    }

    /// A mappable buffer for reading results back.
    pub fn staging(&self, floats: usize) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("staging"),
            size: floats.max(1) as u64 * 4,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// Waits for `staging` (already the target of a submitted copy) and reads
    /// its first `floats` values: natively by blocking on the device, in the
    /// browser by awaiting the mapping.
    pub async fn read_staging_async(&self, staging: &wgpu::Buffer, floats: usize) -> Result<Vec<f32>> {
        let slice = staging.slice(..floats as u64 * 4);
        let (tx, rx) = oneshot::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| tx.send(r));
        #[cfg(not(target_arch = "wasm32"))]
        self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| gpu_err(format!("waiting for the GPU: {e}")))?;
        let mapped = rx.await;
        self.check()?;
        mapped.map_err(|e| gpu_err(format!("reading back from the GPU: {e}")))?;
        let out = {
            let view = slice.get_mapped_range().map_err(|e| gpu_err(format!("reading back from the GPU: {e:?}")))?;
            view.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
        };
        staging.unmap();
        Ok(out)
    }

    /// [`Gpu::read_staging_async`], blocking (native).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_staging(&self, staging: &wgpu::Buffer, floats: usize) -> Result<Vec<f32>> {
        pollster::block_on(self.read_staging_async(staging, floats))
    }

    /// Copies `floats` values of `buf` back (a one-off staging buffer; tests).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn download(&self, buf: &wgpu::Buffer, floats: usize) -> Result<Vec<f32>> {
        let staging = self.staging(floats);
        let mut enc = self.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(buf, 0, &staging, 0, floats as u64 * 4);
        self.queue.submit([enc.finish()]);
        self.read_staging(&staging, floats)
    }

    /// Writes u32 words into a buffer (token ids, step uniforms).
    pub fn write_u32(&self, buf: &wgpu::Buffer, words: &[u32]) {
        let bytes: Vec<u8> = words.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.queue.write_buffer(buf, 0, &bytes);
    }
}

/// How weight matrices are stored on the GPU. Activations, products and
/// sums are f32 either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Exact: the CPU path's values (logits within 1e-5 of candle's).
    F32,
    /// Half the memory and bandwidth; each weight rounded to f16 (read with
    /// WGSL's core `unpack2x16float`, so every adapter has it).
    F16,
}

impl Precision {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "f32" => Ok(Self::F32),
            "f16" => Ok(Self::F16),
            _ => Err(Error::Param(format!("GPU weights {s:?}: choose f32 or f16"))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F16 => "f16",
        }
    }
}

/// A weight matrix on the GPU and how it is stored.
#[derive(Clone, Debug)]
pub struct Weight {
    pub buf: wgpu::Buffer,
    pub precision: Precision,
}

fn bytemuck_f32(data: &[f32]) -> &[u8] {
    // SAFETY: f32 has no padding or invalid bit patterns; the slice is valid
    // for len * 4 bytes and u8 has alignment 1.
    unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<u8>(), std::mem::size_of_val(data)) }
}
