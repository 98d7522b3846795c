//! WGSL source of the two matmul kernels, `y[m, n] (+)= x[m, k] w[n, k]^T`
//! (both operands K-contiguous: a weight is stored `[out, in]` as in the
//! Hugging Face layout), generated here so that every accumulator is a
//! named scalar: loops over arrays of accumulators are not reliably
//! unrolled by GPU compilers and spill to memory.
//!
//! - tiled: a 16x16 workgroup computes a `16 TM x 16 TM` block of `y`, each
//!   thread `TM x TM` outputs (rows `lid.y + 16 i`, columns `lid.x + 16 j`),
//!   over K in steps of `BK` staged (transposed) in workgroup memory.
//! - skinny (few rows, decoding): reading `w` is the cost, so each element
//!   of `w` is read once per 8 rows. A workgroup of 64 threads computes one
//!   column for 8 rows: threads stride over K (coalesced reads of `w`'s row;
//!   `vec4` loads when K is a multiple of 4), then reduce in workgroup memory.
//!
//! Both check every bound themselves, so they run without wgpu's injected
//! bounds checks. With `half`, `w` holds f16 values packed two per u32
//! (element `2i` in the low half) and read with `unpack2x16float` (core
//! WGSL: no `shader-f16` needed); products and sums stay f32.

const HEADER: &str = "struct Dims { m: u32, n: u32, k: u32, accumulate: u32 }
@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read> w: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;
";

fn lines(n: usize, f: impl Fn(usize) -> String) -> String {
    (0..n).map(f).collect::<Vec<_>>().join("\n")
}

/// The binding of `w` and an expression reading its element at the
/// (f32-element) index `i`.
fn weight(half: bool, i: &str) -> (&'static str, String) {
    if half {
        ("array<u32>", format!("unpack2x16float(w[({i}) >> 1u])[({i}) & 1u]"))
    } else {
        ("array<f32>", format!("w[{i}]"))
    }
}

fn header(x: &str, w: &str) -> String {
    HEADER.replacen("array<T>", x, 1).replacen("array<T>", w, 1)
}

/// The tiled kernel with `tm x tm` outputs per thread and K steps of `bk`.
pub fn tiled(tm: usize, bk: usize, half: bool) -> String {
    let (wty, wread) = weight(half, "(col0 + r) * d.k + kk");
    let bm = 16 * tm;
    let acc = lines(tm * tm, |i| format!("    var c{i} = 0.0;"));
    let a = lines(tm, |i| format!("            let a{i} = xs[c * {bm}u + lid.y + {}u];", 16 * i));
    let b = lines(tm, |j| format!("            let b{j} = ws[c * {bm}u + lid.x + {}u];", 16 * j));
    let fma = lines(tm * tm, |e| format!("            c{e} = fma(a{}, b{}, c{e});", e / tm, e % tm));
    let store = lines(tm * tm, |e| {
        format!(
            "    {{ let r = row0 + lid.y + {}u; let c = col0 + lid.x + {}u; if (r < d.m && c < d.n) {{ let o = r * d.n + c; y[o] = select(c{e}, y[o] + c{e}, d.accumulate != 0u); }} }}",
            16 * (e / tm),
            16 * (e % tm)
        )
    });
    format!(
        "{header}
var<workgroup> xs: array<f32, {xs}>;
var<workgroup> ws: array<f32, {xs}>;

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {{
    let row0 = wid.y * {bm}u;
    let col0 = wid.x * {bm}u;
    let t = lid.y * 16u + lid.x;
{acc}
    for (var k0 = 0u; k0 < d.k; k0 += {bk}u) {{
        for (var e = t; e < {xs}u; e += 256u) {{
            let r = e / {bk}u;
            let kk = k0 + e % {bk}u;
            var xv = 0.0;
            var wv = 0.0;
            if (row0 + r < d.m && kk < d.k) {{ xv = x[(row0 + r) * d.k + kk]; }}
            if (col0 + r < d.n && kk < d.k) {{ wv = {wread}; }}
            xs[(e % {bk}u) * {bm}u + r] = xv;
            ws[(e % {bk}u) * {bm}u + r] = wv;
        }}
        workgroupBarrier();
        for (var c = 0u; c < {bk}u; c++) {{
{a}
{b}
{fma}
        }}
        workgroupBarrier();
    }}
{store}
}}
",
        header = header("array<f32>", wty),
        xs = bm * bk,
    )
}

/// The skinny kernel; `vec4`: K is a multiple of 4 and loads are `vec4<f32>`
/// (with `half`, two packed u32 words per 4 weights).
pub fn skinny(vec4: bool, half: bool) -> String {
    let (ty, kdiv) = if vec4 { ("vec4<f32>", "d.k / 4u") } else { ("f32", "d.k") };
    let (wty, wread) = match (vec4, half) {
        (true, true) => ("array<vec2<u32>>", "let p = w[n * kk + k];\n            let wv = vec4<f32>(unpack2x16float(p.x), unpack2x16float(p.y));".to_string()),
        (true, false) => ("array<vec4<f32>>", "let wv = w[n * kk + k];".to_string()),
        (false, _) => {
            let (t, e) = weight(half, "n * kk + k");
            (t, format!("let wv = {e};"))
        }
    };
    let off = lines(8, |i| format!("        let o{i} = min(r0 + {i}u, d.m - 1u) * kk;"));
    let acc = if vec4 {
        lines(8, |i| format!("            a{i} = a{i} + dot(x[o{i} + k], wv);"))
    } else {
        lines(8, |i| format!("            a{i} = fma(x[o{i} + k], wv, a{i});"))
    };
    let init = lines(8, |i| format!("    var a{i} = 0.0;"));
    let save = lines(8, |i| format!("    part[{}u + t] = a{i};", 64 * i));
    format!(
        "{header}
var<workgroup> part: array<f32, 512>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {{
    // Columns beyond 65535 workgroups wrap into wid.y.
    let n = wid.y * 65535u + wid.x;
    let r0 = wid.z * 8u;
    let t = lid.x;
    let kk = {kdiv};
{init}
    if (n < d.n) {{
        // Rows past M repeat the last row (never stored): constant loop bounds.
{off}
        for (var k = t; k < kk; k += 64u) {{
            {wread}
{acc}
        }}
    }}
{save}
    workgroupBarrier();
    for (var s = 32u; s > 0u; s >>= 1u) {{
        if (t < s) {{
            for (var i = 0u; i < 8u; i++) {{ part[i * 64u + t] += part[i * 64u + t + s]; }}
        }}
        workgroupBarrier();
    }}
    if (t < 8u && n < d.n && r0 + t < d.m) {{
        let o = (r0 + t) * d.n + n;
        y[o] = select(part[t * 64u], y[o] + part[t * 64u], d.accumulate != 0u);
    }}
}}
",
        header = header(&format!("array<{ty}>"), wty),
    )
}
