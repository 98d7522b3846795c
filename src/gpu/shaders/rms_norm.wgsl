// RMSNorm (Zhang & Sennrich 2019), as candle's `rms_norm`:
// y = x / sqrt(mean(x^2) + eps) * w, one workgroup per row.
struct Dims { rows: u32, n: u32, eps: f32, _pad: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;

var<workgroup> part: array<f32, 256>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let row = wid.x;
    let t = lid.x;
    var s = 0.0;
    for (var i = t; i < d.n; i += 256u) { let v = x[row * d.n + i]; s = fma(v, v, s); }
    part[t] = s;
    workgroupBarrier();
    for (var k = 128u; k > 0u; k >>= 1u) {
        if (t < k) { part[t] += part[t + k]; }
        workgroupBarrier();
    }
    let scale = 1.0 / sqrt(part[0] / f32(d.n) + d.eps);
    for (var i = t; i < d.n; i += 256u) { y[row * d.n + i] = x[row * d.n + i] * scale * w[i]; }
}
