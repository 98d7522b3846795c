//! Log-probabilities from a row of logits, written once for the crate (the
//! GPU's `token_logp` kernel is checked against these): everything in f64,
//! the maximum subtracted before exponentiating, in one fixed order, so the
//! sampler, the scorer and the enumeration agree to the bit.

/// `log sum_i exp(logits_i / temperature)`, max-shifted.
pub fn log_normaliser(logits: &[f32], temperature: f64) -> f64 {
    let max = logits.iter().map(|&l| l as f64 / temperature).fold(f64::NEG_INFINITY, f64::max);
    max + logits.iter().map(|&l| (l as f64 / temperature - max).exp()).sum::<f64>().ln()
}

/// Log-probabilities of every token from one row of logits divided by
/// `temperature` (1.0 = the model's own distribution).
pub fn log_softmax_row(logits: &[f32], temperature: f64) -> Vec<f64> {
    let lse = log_normaliser(logits, temperature);
    logits.iter().map(|&l| l as f64 / temperature - lse).collect()
}

/// `log_softmax_row(logits, 1.0)[tok]` without building the whole row.
pub fn log_prob_of(logits: &[f32], tok: u32) -> f64 {
    logits[tok as usize] as f64 - log_normaliser(logits, 1.0)
}
