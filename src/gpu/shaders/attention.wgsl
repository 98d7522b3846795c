// Attention of each row's token over its sequence's KV cache, causal
// (Vaswani et al. 2017, scaled dot product, softmax over positions
// 0..position of the row; see kv_store.wgsl for info). Positions below
// `shared` are read from the prefix slot (a prompt prefilled once for all
// the sequences that continue it), the rest from the row's own slot. Grouped K/V heads:
// query head h reads K/V head h / (q_heads / kv_heads), as repeat_kv on the
// CPU path). One workgroup of 64 threads per (row, head); the scores of at
// most 2048 positions are staged in workgroup memory.
struct Dims { rows: u32, q_heads: u32, kv_heads: u32, hd: u32, max_len: u32, scale: f32, _a: u32, _b: u32 }

@group(0) @binding(0) var<storage, read> qkv: array<f32>;
@group(0) @binding(1) var<storage, read> kc: array<f32>;
@group(0) @binding(2) var<storage, read> vc: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> d: Dims;
@group(0) @binding(5) var<storage, read> info: array<vec4<u32>>;

const MAX_LEN: u32 = 2048u;
var<workgroup> scores: array<f32, 2048>;
var<workgroup> q: array<f32, 256>;
var<workgroup> red: array<f32, 64>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let h = wid.x;
    let r = wid.y;
    let t = lid.x;
    let kvh = h / (d.q_heads / d.kv_heads);
    let stride = (d.q_heads + 2u * d.kv_heads) * d.hd;
    for (var e = t; e < d.hd; e += 64u) { q[e] = qkv[r * stride + h * d.hd + e]; }
    workgroupBarrier();
    let row = info[r];
    let len = min(row.y + 1u, MAX_LEN);
    let own = (row.x * d.kv_heads + kvh) * d.max_len * d.hd;
    let pre = (row.w * d.kv_heads + kvh) * d.max_len * d.hd;
    var mx = -3.4e38;
    for (var j = t; j < len; j += 64u) {
        var s = 0.0;
        for (var e = 0u; e < d.hd; e++) { s = fma(q[e], kc[select(own, pre, j < row.z) + j * d.hd + e], s); }
        s = s * d.scale;
        scores[j] = s;
        mx = max(mx, s);
    }
    red[t] = mx;
    workgroupBarrier();
    for (var k = 32u; k > 0u; k >>= 1u) {
        if (t < k) { red[t] = max(red[t], red[t + k]); }
        workgroupBarrier();
    }
    let m = red[0];
    workgroupBarrier();
    var sum = 0.0;
    for (var j = t; j < len; j += 64u) { let p = exp(scores[j] - m); scores[j] = p; sum += p; }
    red[t] = sum;
    workgroupBarrier();
    for (var k = 32u; k > 0u; k >>= 1u) {
        if (t < k) { red[t] += red[t + k]; }
        workgroupBarrier();
    }
    let inv = 1.0 / red[0];
    for (var e = t; e < d.hd; e += 64u) {
        var o = 0.0;
        for (var j = 0u; j < len; j++) { o = fma(scores[j], vc[select(own, pre, j < row.z) + j * d.hd + e], o); }
        y[(r * d.q_heads + h) * d.hd + e] = o * inv;
    }
}
