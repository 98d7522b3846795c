// Y[M, N] (+)= X[M, K] * W[N, K]^T, both operands K-contiguous (a weight is
// stored [out, in] as in the Hugging Face layout). Tiled: a 16x16 workgroup
// computes a (16*TM) x (16*TM) block of Y, each thread TM x TM outputs, over
// K in steps of BK staged in workgroup memory. TM and BK are substituted by
// the Rust side (two variants are benchmarked). Bounds are checked, so any
// M, N, K work.
struct Dims { m: u32, n: u32, k: u32, accumulate: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;

const TM: u32 = {TM}u;
const BK: u32 = {BK}u;
const BM: u32 = 16u * TM;

var<workgroup> xs: array<f32, {XS}>; // [BK][BM]
var<workgroup> ws: array<f32, {XS}>; // [BK][BM]

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let row0 = wid.y * BM;
    let col0 = wid.x * BM;
    let t = lid.y * 16u + lid.x;
    var acc: array<f32, {ACC}>;
    for (var i = 0u; i < TM * TM; i++) { acc[i] = 0.0; }
    for (var k0 = 0u; k0 < d.k; k0 += BK) {
        // Stage BM x BK of X and of W (transposed to [BK][BM]).
        for (var e = t; e < BM * BK; e += 256u) {
            let r = e / BK;
            let c = e % BK;
            let kk = k0 + c;
            var xv = 0.0;
            var wv = 0.0;
            if (row0 + r < d.m && kk < d.k) { xv = x[(row0 + r) * d.k + kk]; }
            if (col0 + r < d.n && kk < d.k) { wv = w[(col0 + r) * d.k + kk]; }
            xs[c * BM + r] = xv;
            ws[c * BM + r] = wv;
        }
        workgroupBarrier();
        for (var c = 0u; c < BK; c++) {
            var a: array<f32, {TM}>;
            var b: array<f32, {TM}>;
            for (var i = 0u; i < TM; i++) {
                a[i] = xs[c * BM + lid.y + 16u * i];
                b[i] = ws[c * BM + lid.x + 16u * i];
            }
            for (var i = 0u; i < TM; i++) {
                for (var j = 0u; j < TM; j++) {
                    acc[i * TM + j] = fma(a[i], b[j], acc[i * TM + j]);
                }
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < TM; i++) {
        let r = row0 + lid.y + 16u * i;
        for (var j = 0u; j < TM; j++) {
            let c = col0 + lid.x + 16u * j;
            if (r < d.m && c < d.n) {
                let o = r * d.n + c;
                if (d.accumulate != 0u) { y[o] = y[o] + acc[i * TM + j]; } else { y[o] = acc[i * TM + j]; }
            }
        }
    }
}
