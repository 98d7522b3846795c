// Y[M, N] (+)= X[M, K] * W[N, K]^T for few rows M (decoding): reading W is
// the cost, so each weight element is read once per 8 rows. A workgroup of
// 64 threads computes one column n for rows 8*z .. 8*z+7: the threads stride
// over K (coalesced reads of W's row n), then reduce in workgroup memory.
struct Dims { m: u32, n: u32, k: u32, accumulate: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;

const R: u32 = 8u;
var<workgroup> part: array<f32, 512>; // [R][64]

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    // Columns beyond 65535 workgroups wrap into wid.y.
    let n = wid.y * 65535u + wid.x;
    let r0 = wid.z * R;
    let t = lid.x;
    var acc: array<f32, 8>;
    for (var i = 0u; i < R; i++) { acc[i] = 0.0; }
    if (n < d.n) {
        // Rows past M repeat the last row (their sums are never stored), so
        // the loops have constant bounds and acc stays in registers.
        var xo: array<u32, 8>;
        for (var i = 0u; i < R; i++) { xo[i] = min(r0 + i, d.m - 1u) * d.k; }
        for (var k = t; k < d.k; k += 64u) {
            let wv = w[n * d.k + k];
            for (var i = 0u; i < R; i++) {
                acc[i] = fma(x[xo[i] + k], wv, acc[i]);
            }
        }
    }
    for (var i = 0u; i < R; i++) { part[i * 64u + t] = acc[i]; }
    workgroupBarrier();
    for (var s = 32u; s > 0u; s >>= 1u) {
        if (t < s) {
            for (var i = 0u; i < R; i++) { part[i * 64u + t] += part[i * 64u + t + s]; }
        }
        workgroupBarrier();
    }
    if (t < R && n < d.n && r0 + t < d.m) {
        let o = (r0 + t) * d.n + n;
        if (d.accumulate != 0u) { y[o] = y[o] + part[t * 64u]; } else { y[o] = part[t * 64u]; }
    }
}
