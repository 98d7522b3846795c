// Rotary positions (RoFormer, Su et al. 2021), the non-interleaved layout of
// candle's `rope` / Hugging Face Llama: for pair i of a head of size hd,
// (x_i, x_{i+hd/2}) -> (x_i cos - x_{i+hd/2} sin, x_{i+hd/2} cos + x_i sin),
// angle = pos * theta_i from the same f32 tables as the CPU path. Applied in
// place to the first `heads` heads of each row of the fused q|k|v buffer,
// at the row's own position (info[r].y; see kv_store.wgsl for the row layout).
struct Dims { rows: u32, heads: u32, hd: u32, stride: u32 }

@group(0) @binding(0) var<storage, read_write> qkv: array<f32>;
@group(0) @binding(1) var<storage, read> cos_t: array<f32>;
@group(0) @binding(2) var<storage, read> sin_t: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;
@group(0) @binding(4) var<storage, read> info: array<vec4<u32>>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let half = d.hd / 2u;
    // 2-D grids: at most 65535 workgroups of 256 per dimension.
    let i = gid.y * 16776960u + gid.x;
    if (i >= d.rows * d.heads * half) { return; }
    let p = i % half;
    let h = (i / half) % d.heads;
    let r = i / (half * d.heads);
    let base = r * d.stride + h * d.hd;
    let pos = info[r].y;
    let c = cos_t[pos * half + p];
    let s = sin_t[pos * half + p];
    let a = qkv[base + p];
    let b = qkv[base + p + half];
    qkv[base + p] = a * c - b * s;
    qkv[base + p + half] = b * c + a * s;
}
