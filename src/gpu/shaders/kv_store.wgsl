// Stores each row's k and v (after rotary positions) in the KV cache. A row
// is one token of one sequence: info[r] = (slot, position, shared, prefix
// slot): its k/v go to cache slot `slot` at `position`. Cache layout
// [slots, kv_heads, max_len, hd]. Rows of one dispatch may be several
// positions of the same sequence (a prefill or scoring pass).
struct Dims { rows: u32, kv_heads: u32, hd: u32, q_heads: u32, max_len: u32, _a: u32, _b: u32, _c: u32 }

@group(0) @binding(0) var<storage, read> qkv: array<f32>;
@group(0) @binding(1) var<storage, read_write> kc: array<f32>;
@group(0) @binding(2) var<storage, read_write> vc: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;
@group(0) @binding(4) var<storage, read> info: array<vec4<u32>>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let kvd = d.kv_heads * d.hd;
    // 2-D grids: at most 65535 workgroups of 256 per dimension.
    let i = gid.y * 16776960u + gid.x;
    if (i >= d.rows * kvd) { return; }
    let r = i / kvd;
    let j = i % kvd;
    let h = j / d.hd;
    let e = j % d.hd;
    let stride = (d.q_heads + 2u * d.kv_heads) * d.hd;
    let src = r * stride + d.q_heads * d.hd + j;
    let dst = ((info[r].x * d.kv_heads + h) * d.max_len + info[r].y) * d.hd + e;
    kc[dst] = qkv[src];
    vc[dst] = qkv[src + kvd];
}
