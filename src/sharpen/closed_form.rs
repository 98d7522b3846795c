//! The RLHF-Sharpening optimum in closed form, and what token-level
//! temperature does instead (arXiv 2412.01951, Sec. 4.2 and Prop. E.2).
//!
//! Maximising `E_pi[log pi_base(y|x)] - beta KL(pi || pi_base)` gives
//! `pi*_beta(y|x) ∝ pi_base(y|x)^(1 + 1/beta)`: a *sequence-level* temperature
//! `tau = beta / (1 + beta)`. Sampling each token at temperature `tau` is not the
//! same distribution, and greedy decoding can miss `y* = argmax pi_base`
//! (Prop. E.2). Everything here is exact over an enumerated distribution.
//! The normaliser `Z` sums over the base listing's answers; every unlisted
//! answer has `pi_base(y) <= leftover`, so the unlisted answers' closed-form
//! mass is at most `leftover^(1+1/beta) / Z` (since `sum p^e <= (sum p)^e`
//! for `e >= 1`), which the closed form reports as its `leftover` (a bound).
//! An answer another distribution lists but the base listing does not is
//! scored under `pi_base` directly, never dropped.

use serde::{Deserialize, Serialize};

use super::exact::{enumerate, enumerate_sampled, Distribution};
use crate::error::{param_err, Result};
use crate::model::Model;
use crate::score::{score, Scored};
use crate::rng::Stream;
use crate::sample::{sample_batch, SampleSettings};
use crate::tasks::Task;

/// `log Z = log sum_y pi_base(y)^(1+1/beta)` over the listed answers.
pub fn log_closed_form_z(base: &Distribution, beta: f64) -> f64 {
    let e = 1.0 + 1.0 / beta;
    let m = base.answers.iter().map(|a| e * a.logp).fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + base.answers.iter().map(|a| (e * a.logp - m).exp()).sum::<f64>().ln()
}

/// `pi*_beta ∝ pi_base^(1+1/beta)` over `base`'s listed answers, most likely
/// first; its `leftover` bounds the closed-form mass of unlisted answers,
/// `leftover_base^(1+1/beta) / Z`.
pub fn closed_form(base: &Distribution, beta: f64) -> Distribution {
    let e = 1.0 + 1.0 / beta;
    let log_z = log_closed_form_z(base, beta);
    let mut answers = base.answers.clone();
    for a in &mut answers {
        a.logp = e * a.logp - log_z;
    }
    Distribution { answers, leftover: (e * base.leftover.max(0.0).ln() - log_z).exp() }
}

/// The sequence-level temperature of `pi*_beta`: `beta / (1 + beta)`.
pub fn sequence_temperature(beta: f64) -> f64 {
    beta / (1.0 + beta)
}

/// One answer in the comparison, with its probability under each distribution.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CompareRow {
    pub text: String,
    pub correct: bool,
    pub p_base: f64,
    /// Under `pi*_beta` (sequence level).
    pub p_closed_form: f64,
    /// Under token-level sampling at `tau = beta / (1 + beta)`.
    pub p_token_temp: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClosedFormReport {
    pub prompt: String,
    pub answer: String,
    pub beta: f64,
    pub tau: f64,
    /// Union of the listed answers, by base probability.
    pub rows: Vec<CompareRow>,
    pub y_star: Option<String>,
    pub greedy: String,
    pub greedy_is_y_star: bool,
    /// `KL(token-level || pi*_beta)`, nats: how far temperature is from the optimum.
    pub kl_token_to_closed_form: f64,
    /// Prompts of the task (all, or the first `scan`) whose greedy answer is not `y*`.
    pub greedy_misses: Vec<GreedyMiss>,
    pub scanned: usize,
    /// Mean and largest `KL(token-level || pi*_beta)` over the scanned prompts.
    pub kl_token_scan_mean: f64,
    pub kl_token_scan_max: f64,
    /// The scanned prompt where token temperature is furthest from the optimum.
    pub kl_token_scan_max_prompt: String,
}

/// `log pi_base(y|x)` of each answer in `answers`: from the base listing, or
/// scored under `pi_base` directly when the listing misses it.
fn base_logps(model: &Model, prompt: &[u32], base: &Distribution, answers: &[Vec<u32>]) -> Result<Vec<f64>> {
    let listed = |t: &[u32]| base.answers.iter().find(|b| b.tokens == t).map(|b| b.logp);
    let missing: Vec<Vec<u32>> = answers.iter().filter(|t| listed(t).is_none()).map(|t| [t.as_slice(), &[model.tok.eos]].concat()).collect();
    let items: Vec<Scored> = missing.iter().map(|c| Scored { prompt, continuation: c }).collect();
    let mut scored = if items.is_empty() { vec![] } else { score(&model.llama, &items)? }.into_iter();
    Ok(answers.iter().map(|t| listed(t).unwrap_or_else(|| scored.next().unwrap_or(f64::NEG_INFINITY))).collect())
}

/// `KL(tok || pi*_beta)` over `tok`'s listed answers, with
/// `log pi*_beta(y) = (1 + 1/beta) log pi_base(y) - log Z` ([`base_logps`]).
fn kl_token_to_cf(model: &Model, prompt: &[u32], tok: &Distribution, base: &Distribution, beta: f64) -> Result<f64> {
    let (e, log_z) = (1.0 + 1.0 / beta, log_closed_form_z(base, beta));
    let answers: Vec<Vec<u32>> = tok.answers.iter().map(|a| a.tokens.clone()).collect();
    let lb = base_logps(model, prompt, base, &answers)?;
    Ok(tok.answers.iter().zip(lb).map(|(a, lb)| a.logp.exp() * (a.logp - (e * lb - log_z))).sum())
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GreedyMiss {
    pub prompt: String,
    pub y_star: String,
    pub p_star: f64,
    pub greedy: String,
    pub p_greedy: f64,
}

/// Base, closed form and token-level distributions of one prompt, plus a scan
/// of `scan` prompts of the task for greedy answers that miss `y*`.
pub fn compare(model: &Model, task: &dyn Task, prompt: &str, beta: f64, threshold: f64, scan: usize) -> Result<ClosedFormReport> {
    crate::tasks::require_enumerable(task, "the closed-form comparison")?;
    if !(beta.is_finite() && beta > 0.0) {
        return param_err(format!("beta {beta} must be above 0"));
    }
    let q = task.parse(prompt)?;
    let ids = model.tok.encode_prompt(&q.prompt)?;
    let (eos, max) = (model.tok.eos, task.max_answer_tokens());
    let tau = sequence_temperature(beta);
    let base = enumerate(&model.llama, std::slice::from_ref(&ids), eos, max, threshold)?.remove(0);
    let at_tau = SampleSettings { temperature: tau, max_new_tokens: max + 1, ..SampleSettings::default() };
    let tok = enumerate_sampled(&model.llama, std::slice::from_ref(&ids), eos, max, threshold, &at_tau)?.remove(0);
    let mut keys: Vec<Vec<u32>> = base.answers.iter().map(|a| a.tokens.clone()).collect();
    for a in &tok.answers {
        if !keys.contains(&a.tokens) {
            keys.push(a.tokens.clone());
        }
    }
    // Answers only the token-level listing has are scored under pi_base.
    let lb = base_logps(model, &ids, &base, &keys)?;
    let (e, log_z) = (1.0 + 1.0 / beta, log_closed_form_z(&base, beta));
    let rows = keys
        .iter()
        .zip(&lb)
        .map(|(k, &lb)| {
            let text = model.tok.decode(k)?;
            let correct = task.check(&q, &text);
            Ok(CompareRow { text, correct, p_base: lb.exp(), p_closed_form: (e * lb - log_z).exp(), p_token_temp: tok.prob(k) })
        })
        .collect::<Result<Vec<_>>>()?;
    let kl_token_to_closed_form = kl_token_to_cf(model, &ids, &tok, &base, beta)?;
    let greedy_s = SampleSettings::greedy(max + 1);
    let g = sample_batch(&model.llama, &ids, eos, &greedy_s, 0, &Stream::samples(0, 1))?.remove(0);
    let y_star = base.y_star().map(|a| model.tok.decode(&a.tokens)).transpose()?;
    let greedy_is_y_star = g.complete && base.y_star().is_some_and(|a| a.tokens == g.tokens);
    // The scan.
    let n = scan.min(task.num_problems());
    let problems: Vec<_> = (0..n).map(|i| task.problem(i)).collect();
    let all_ids = problems.iter().map(|p| model.tok.encode_prompt(&p.prompt)).collect::<Result<Vec<_>>>()?;
    // The scan lists answers down to 1e-4 (enough for greedy and the KL).
    let scan_thr = threshold.max(1e-4);
    let dists = enumerate(&model.llama, &all_ids, eos, max, scan_thr)?;
    let toks = enumerate_sampled(&model.llama, &all_ids, eos, max, scan_thr, &at_tau)?;
    let kls: Vec<f64> = toks.iter().zip(&dists).zip(&all_ids).map(|((t, d), ids)| kl_token_to_cf(model, ids, t, d, beta)).collect::<Result<_>>()?;
    let worst = (0..kls.len()).max_by(|&a, &b| kls[a].total_cmp(&kls[b]));
    let mut greedy_misses = Vec::new();
    for ((p, ids), d) in problems.iter().zip(&all_ids).zip(&dists) {
        let g = sample_batch(&model.llama, ids, eos, &greedy_s, 0, &Stream::samples(0, 1))?.remove(0);
        if let Some(y) = d.y_star() {
            if y.tokens != g.tokens {
                greedy_misses.push(GreedyMiss {
                    prompt: p.prompt.clone(),
                    y_star: model.tok.decode(&y.tokens)?,
                    p_star: y.logp.exp(),
                    greedy: model.tok.decode(&g.tokens)?,
                    p_greedy: d.prob(&g.tokens),
                });
            }
        }
    }
    Ok(ClosedFormReport {
        prompt: q.prompt.clone(),
        answer: q.answer.clone(),
        beta,
        tau,
        rows,
        y_star,
        greedy: model.tok.decode(&g.tokens)?,
        greedy_is_y_star,
        kl_token_to_closed_form,
        greedy_misses,
        scanned: n,
        kl_token_scan_mean: kls.iter().sum::<f64>() / kls.len().max(1) as f64,
        kl_token_scan_max: worst.map_or(0.0, |i| kls[i]),
        kl_token_scan_max_prompt: worst.map_or(String::new(), |i| problems[i].prompt.clone()),
    })
}
