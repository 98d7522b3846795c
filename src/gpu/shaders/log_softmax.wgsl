// Log-softmax of each row, in place: x - max - log(sum(exp(x - max))).
struct Dims { rows: u32, n: u32, _a: u32, _b: u32 }

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<uniform> d: Dims;

var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let o = wid.x * d.n;
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
    let lse = mx + log(red[0]);
    for (var i = t; i < d.n; i += 256u) { x[o + i] = x[o + i] - lse; }
}
