// The log-probability of a target token under each row's logits:
// y[r] = x[r, tgt[r]] - log(sum_i exp(x[r, i])) (log-softmax, then the
// target's entry; for scoring log pi(y_t | x, y_<t), Eq. 2 summed over t).
struct Dims { rows: u32, n: u32, _a: u32, _b: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> tgt: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;

var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let r = wid.x;
    let o = r * d.n;
    let t = lid.x;
    var m = -3.4e38;
    for (var i = t; i < d.n; i += 256u) { m = max(m, x[o + i]); }
    red[t] = m;
    workgroupBarrier();
    for (var k = 128u; k > 0u; k >>= 1u) {
        if (t < k) { red[t] = max(red[t], red[t + k]); }
        workgroupBarrier();
    }
    let mx = red[0];
    workgroupBarrier();
    var s = 0.0;
    for (var i = t; i < d.n; i += 256u) { s += exp(x[o + i] - mx); }
    red[t] = s;
    workgroupBarrier();
    for (var k = 128u; k > 0u; k >>= 1u) {
        if (t < k) { red[t] += red[t + k]; }
        workgroupBarrier();
    }
    if (t == 0u) { y[r] = x[o + min(tgt[r], d.n - 1u)] - (mx + log(red[0])); }
}
