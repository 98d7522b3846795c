// SwiGLU (Shazeer 2020): y = silu(g) * u with silu(g) = g / (1 + exp(-g)),
// g and u the two halves of each row of the fused gate|up product.
struct Dims { rows: u32, n: u32, _a: u32, _b: u32 }

@group(0) @binding(0) var<storage, read> gu: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> d: Dims;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    // 2-D grids: at most 65535 workgroups of 256 per dimension.
    let i = gid.y * 16776960u + gid.x;
    if (i >= d.rows * d.n) { return; }
    let r = i / d.n;
    let c = i % d.n;
    let g = gu[r * 2u * d.n + c];
    let u = gu[r * 2u * d.n + d.n + c];
    y[i] = g / (1.0 + exp(-g)) * u;
}
