//! `sharpen exact`: the exact answer distribution of one prompt.

use serde_json::json;
use sharpening_lab::sharpen::enumerate;

use super::{envelope, fail, task_and_model};
use crate::args::Args;
use crate::table::Table;

pub fn exact(raw: &[String]) -> Result<(), String> {
    let a = Args::parse(raw, &["json"])?;
    let (task, model, source) = task_and_model(&a)?;
    let prompt = a.str("prompt").unwrap_or_else(|| task.problem(0).prompt);
    let threshold: f64 = a.get("threshold", 1e-6)?;
    let show: usize = a.get("show", 15)?;
    let json = a.flag("json");
    a.finish()?;
    sharpening_lab::tasks::require_enumerable(task.as_ref(), "sharpen exact").map_err(fail)?;
    let q = task.parse(&prompt).map_err(fail)?;
    let ids = model.tok.encode_prompt(&q.prompt).map_err(fail)?;
    let d = enumerate(&model.llama, &[ids], model.tok.eos, task.max_answer_tokens(), threshold).map_err(fail)?.remove(0);
    let rows: Vec<(String, f64, f64, bool)> = d
        .answers
        .iter()
        .map(|a| {
            let text = model.tok.decode(&a.tokens).unwrap_or_default();
            let ok = task.check(&q, &text);
            (text, a.logp.exp(), a.logp, ok)
        })
        .collect();
    if json {
        let answers: Vec<_> = rows.iter().map(|(t, p, lp, ok)| json!({"answer": t, "p": p, "logp": lp, "correct": ok})).collect();
        let report = json!({
            "prompt": q.prompt, "correct_answer": q.answer, "marked": q.marked,
            "answers": answers, "leftover": d.leftover, "entropy": d.entropy(),
            "y_star": rows.first().map(|r| r.0.clone()), "p_star": rows.first().map(|r| r.1),
        });
        let v = envelope("exact", task.as_ref(), &model, &source, 0, json!({"prompt": prompt, "threshold": threshold}), report);
        println!("{v}");
        return Ok(());
    }
    println!("exact answer distribution of {:?} (correct answer {}{}); model {} {}", q.prompt, q.answer,
        if q.marked { ", a marked prompt" } else { "" }, source, model.short_hash());
    let mut t = Table::new(&["rank", "answer", "probability", "log p", "oracle"]);
    for (i, (text, p, lp, ok)) in rows.iter().take(show).enumerate() {
        let tag = if i == 0 { " <- y*" } else { "" };
        t.row(vec![(i + 1).to_string(), format!("{text}{tag}"), format!("{p:.4}"), format!("{lp:.3}"), if *ok { "right" } else { "wrong" }.into()]);
    }
    t.print();
    if rows.len() > show {
        let rest: f64 = rows[show..].iter().map(|r| r.1).sum();
        println!("  ... {} more answers with total probability {rest:.4}", rows.len() - show);
    }
    println!("{} answers listed (probability >= {threshold:.0e}), unlisted mass {:.2e}, sum {:.6}; entropy {:.3} nats",
        rows.len(), d.leftover, d.listed_mass() + d.leftover, d.entropy());
    Ok(())
}
