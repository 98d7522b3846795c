// Token embedding: y[r, :] = table[ids[r], :].
struct Dims { rows: u32, n: u32, vocab: u32, _pad: u32 }

@group(0) @binding(0) var<storage, read> table: array<f32>;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    // 2-D grids: at most 65535 workgroups of 256 per dimension.
    let i = gid.y * 16776960u + gid.x;
    if (i >= d.rows * d.n) { return; }
    let r = i / d.n;
    let id = min(ids[r], d.vocab - 1u);
    y[i] = table[id * d.n + i % d.n];
}
