//! `sharpen explore`: the page's prompt explorer on the command line. N
//! samples of one prompt, each judged by every self-reward (log pi, Eq. 2;
//! its length-normalised form; majority; self-verification), the pick of
//! each, and the exact (or, for free text, sampled) answer distribution.
//! `--json` prints the same object as the page's JSON export. `--backend`
//! (`--gpu-weights`) as for `sharpen bon`: the same explorer loop samples and
//! scores on the GPU path.

use serde_json::json;
use sharpening_lab::decode::block_on;
use sharpening_lab::sharpen::explore::{explore_on, ExploreParams};

use super::{envelope, sampling, task_and_model};
use crate::args::Args;
use crate::table::Table;

pub fn explore(raw: &[String]) -> Result<(), String> {
    let a = Args::parse(raw, &["json"])?;
    let (task, model, source) = task_and_model(&a)?;
    let defaults = ExploreParams::default();
    let p = ExploreParams {
        prompt: a.str("prompt").unwrap_or_else(|| task.problem(0).prompt),
        n: a.get("n", defaults.n)?,
        sampling: sampling(&a, task.as_ref())?,
        seed: a.get("seed", 0)?,
        threshold: a.get("threshold", defaults.threshold)?,
        show: a.get("show", defaults.show)?,
    };
    let json_out = a.flag("json");
    let (backend, weights, real) = (a.str("backend").unwrap_or_default(), a.str("gpu-weights").unwrap_or_default(), a.str("model").is_some());
    a.finish()?;
    let (r, ran) = super::backend::with_backend(&backend, &weights, &model, real, &mut |dec| block_on(explore_on(&model, task.as_ref(), &p, dec)))?;
    if json_out {
        let mut params = json!(p);
        if ran == (super::backend::Ran::Gpu { f16: true }) {
            // f16 weights change the numbers: the export says so.
            params["gpu_weights"] = "f16".into();
        }
        println!("{}", envelope("explore", task.as_ref(), &model, &source, p.seed, params, json!(r)));
        return Ok(());
    }
    println!("{} samples of {:?} (correct answer {}) at T {}, seed {}; model {source} {}", p.n, r.prompt, r.answer, p.sampling.temperature, p.seed, model.short_hash());
    let mut t = Table::new(&["#", "sample", "log pi", "log pi / len", "votes", "P(yes)", "oracle"]);
    for (i, (s, v)) in r.samples.iter().zip(&r.votes).enumerate() {
        let text: String = s.text.chars().take(48).collect();
        t.row(vec![i.to_string(), format!("{text:?}"), format!("{:.3}", s.logp_base), format!("{:.3}", s.logp_norm), v.to_string(),
            format!("{:.3}", s.verify.exp()), if s.correct { "right" } else { "wrong" }.into()]);
    }
    t.print();
    let cut = r.samples.iter().filter(|s| !s.complete).count();
    if cut > 0 {
        println!("{cut} of the {} samples were cut off at the token budget (log pi -inf: not a complete answer; --max-new-tokens)", r.samples.len());
    }
    for pick in &r.picks {
        println!("best-of-{} by {}: sample {} ({})", p.n, pick.reward.name(), pick.index, if r.samples[pick.index].correct { "right" } else { "wrong" });
    }
    Ok(())
}
