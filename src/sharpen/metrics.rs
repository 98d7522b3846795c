//! Sharpening metrics, each citing its definition in arXiv 2412.01951.

use super::exact::Distribution;

/// Coverage coefficient `C_cov = E_x[1 / pi_base(y*(x)|x)]` (Eq. 6), from the
/// base model's probabilities of its own argmax answers.
pub fn coverage(p_star: &[f64]) -> f64 {
    mean(&p_star.iter().map(|p| 1.0 / p).collect::<Vec<_>>())
}

/// Share of prompts with `pi(y*|x) >= 1 - delta`: the model is
/// `(eps, delta)`-sharpened when this is at least `1 - eps` (Def. 3.1).
pub fn sharpened_fraction(p_star: &[f64], delta: f64) -> f64 {
    if p_star.is_empty() {
        return 0.0;
    }
    p_star.iter().filter(|&&p| p >= 1.0 - delta).count() as f64 / p_star.len() as f64
}

/// Probability that best-of-N with a unique argmax and the log-likelihood
/// reward returns `y*`: `1 - (1 - pi_base(y*|x))^N` (the chance that `y*` is
/// among `N` independent samples, with the Eq. 2 reward). `p_star` must be the
/// probability of `y*` under the distribution the samples come from.
pub fn bon_theory(p_star: f64, n: usize) -> f64 {
    1.0 - (1.0 - p_star).powi(n as i32)
}

/// `KL(pi || pi_base) = sum_y pi(y) log(pi(y) / pi_base(y))` over the answers
/// listed for `pi`; `base_logp(y)` gives `log pi_base(y|x)`.
pub fn kl(pi: &Distribution, base_logp: impl Fn(&[u32]) -> f64) -> f64 {
    pi.answers.iter().map(|a| a.logp.exp() * (a.logp - base_logp(&a.tokens))).sum()
}

/// The 95% Wilson score interval of a proportion, `successes` of `n`
/// independent trials (Wilson 1927): `(p + z^2/2n ± z sqrt(p(1-p)/n +
/// z^2/4n^2)) / (1 + z^2/n)` with `z = 1.959964`; `[0, 1]` when `n = 0`.
pub fn wilson_interval(successes: usize, n: usize) -> [f64; 2] {
    if n == 0 {
        return [0.0, 1.0];
    }
    const Z: f64 = 1.959_963_984_540_054;
    let (nf, p) = (n as f64, successes as f64 / n as f64);
    let denom = 1.0 + Z * Z / nf;
    let centre = p + Z * Z / (2.0 * nf);
    let half = Z * (p * (1.0 - p) / nf + Z * Z / (4.0 * nf * nf)).sqrt();
    [((centre - half) / denom).max(0.0), ((centre + half) / denom).min(1.0)]
}

pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter().sum::<f64>() / v.len() as f64
}
