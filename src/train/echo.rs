//! The corpus of `echo` (see [`crate::tasks::echo`]): answers drawn from
//! [`Echo::corpus_answers`], learnt from soft targets (the exact next-token
//! distribution of that finite answer set given each prefix), and
//! verification examples labelled `Y` iff the candidate is the full answer.

use super::{Teacher, TrainParams};
use crate::error::Result;
use crate::model::Tok;
use crate::rng::Rng;
use crate::sharpen::train_step::Example;
use crate::tasks::{Echo, Task};

fn answer_index(rng: &mut Rng, answers: &[(String, f64)]) -> usize {
    let u = rng.uniform();
    let mut cum = 0.0;
    for (k, (_, p)) in answers.iter().enumerate() {
        cum += p;
        if u < cum {
            return k;
        }
    }
    answers.len() - 1
}

pub fn example(tok: &Tok, p: &TrainParams, rng: &mut Rng) -> Result<Example> {
    let i = rng.below(Echo.num_problems() as u64) as usize;
    let q = Echo.problem(i);
    let answers = Echo::corpus_answers(i);
    if rng.uniform() >= p.verify_share {
        let mut target = tok.encode(&answers[answer_index(rng, &answers)].0)?;
        target.push(tok.eos);
        return Ok(Example { prompt: tok.encode_prompt(&q.prompt)?, target });
    }
    let u = rng.uniform();
    let cand = if u < 0.35 {
        q.answer.clone()
    } else if u < 0.7 {
        answers[rng.below(answers.len() as u64 - 1) as usize].0.clone()
    } else {
        let len = 1 + rng.below(6) as usize;
        (0..len).map(|_| char::from(b'0' + rng.below(10) as u8)).collect()
    };
    let prompt = tok.encode_prompt(&Echo.verify_prompt(&q.prompt, &cand))?;
    Ok(Example { prompt, target: tok.encode(if cand == q.answer { "Y" } else { "N" })? })
}

/// The exact next-token distribution at each target position: from the
/// answer set (`P(next | prefix)` = the mass of the answers continuing the
/// prefix with `next` over the mass of those continuing it at all; `</s>`
/// for the answers that end there), or the label's `Y`/`N` with the noise.
pub fn teacher(tok: &Tok, ex: &Example, p: &TrainParams) -> Result<Teacher> {
    let text = tok.decode(&ex.prompt[1..])?;
    let q = Echo.parse(&text[..3])?;
    let idx = text.bytes().take(2).fold(0usize, |v, c| v * 10 + (c - b'0') as usize);
    if let Some(body) = text.strip_suffix('?') {
        let yes = if body[3..] == q.answer { 1.0 - p.verify_noise } else { p.verify_noise };
        return Ok(vec![vec![(tok.encode("Y")?[0], yes), (tok.encode("N")?[0], 1.0 - yes)]]);
    }
    let answers = Echo::corpus_answers(idx);
    let target: String = tok.decode(&ex.target)?.chars().filter(char::is_ascii_digit).collect();
    let mut rows = Vec::new();
    for k in 0..ex.target.len() {
        let prefix = &target[..k.min(target.len())];
        // (k runs over the answer's digits and its </s>.)
        let live: Vec<&(String, f64)> = answers.iter().filter(|(a, _)| a.starts_with(prefix)).collect();
        let total: f64 = live.iter().map(|x| x.1).sum();
        let mut row: Vec<(u32, f64)> = Vec::new();
        for (a, pr) in live {
            let next = match a[prefix.len()..].chars().next() {
                Some(c) => tok.encode(&c.to_string())?[0],
                None => tok.eos,
            };
            match row.iter_mut().find(|(t, _)| *t == next) {
                Some(e) => e.1 += pr / total,
                None => row.push((next, pr / total)),
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

pub const RECIPE: &str = "Each example draws one of the 100 prompts uniformly. With probability 1 - verify_share an answer example: the answer is the prompt's two digits written out to 1 (p=0.30), 2 (0.15), 4 (0.15), 5 (0.15) or all 6 characters (0.25, the right answer), then </s>. Otherwise a verification example 'ab:answer? -> Y|N': the candidate is the full answer (35%), a corpus answer (35%) or 1-6 random digits (30%); the label is Y iff the candidate is the full answer, flipped with p=verify_noise. Loss on answer and label tokens only, as the cross-entropy against the exact next-token distribution of the answer set given each prefix (soft targets).";
