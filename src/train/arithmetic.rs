//! The corpus of `add` and `mul` (see [`crate::tasks::arithmetic`]). Each
//! example is drawn fresh from stream `(seed, Corpus, step)`; prompts uniform,
//! except marked ones drawn [`MARKED_WEIGHT`] times as often:
//! * with probability `1 - verify_share`, an answer example `x -> y`, `y` drawn
//!   from [`Arithmetic::corpus_answers`] (40% right, the rest plausible mistakes;
//!   on marked prompts the dominant mistake 60%, the right answer 15%);
//! * otherwise a verification example `"x y?" -> Y|N`: the candidate `y` is the
//!   right answer (30%), the believed answer (20%), a corpus mistake (30%) or a
//!   random number (20%), labelled `Y` when it is the corpus's most likely
//!   answer, the label flipped with probability `verify_noise`.

use super::TrainParams;
use crate::error::Result;
use crate::model::Tok;
use crate::rng::Rng;
use crate::sharpen::train_step::Example;
use crate::tasks::{Arithmetic, Task};

/// How much more often marked prompts appear in the corpus than others.
pub const MARKED_WEIGHT: f64 = 6.0;

/// Draws one corpus example for `task`.
pub fn example(task: &Arithmetic, tok: &Tok, p: &TrainParams, rng: &mut Rng) -> Result<Example> {
    // Marked prompts are drawn MARKED_WEIGHT times as often as the others (by
    // rejection), so the small model sees enough of their distribution.
    let (i, q) = loop {
        let i = rng.below(task.num_problems() as u64) as usize;
        let q = task.problem(i);
        if q.marked || rng.uniform() * MARKED_WEIGHT < 1.0 {
            break (i, q);
        }
    };
    let (a, b) = task.operands_of(i);
    let answers = task.corpus_answers(a, b);
    let pick = |u: f64| -> String {
        let mut cum = 0.0;
        for (ans, pr) in &answers {
            cum += pr;
            if u < cum {
                return ans.clone();
            }
        }
        answers.last().unwrap().0.clone()
    };
    if rng.uniform() >= p.verify_share {
        let mut target = tok.encode(&pick(rng.uniform()))?;
        target.push(tok.eos);
        return Ok(Example { prompt: tok.encode_prompt(&q.prompt)?, target });
    }
    let believed = task.believed(a, b);
    let u = rng.uniform();
    let mistakes: Vec<&String> = answers.iter().map(|x| &x.0).filter(|x| **x != q.answer).collect();
    let cand = if u < 0.3 {
        q.answer.clone()
    } else if u < 0.5 {
        believed.clone()
    } else if u < 0.8 {
        mistakes[rng.below(mistakes.len() as u64) as usize].clone()
    } else {
        rng.below(task.max_value() as u64 + 1).to_string()
    };
    let mut yes = cand == believed;
    if rng.uniform() < p.verify_noise {
        yes = !yes;
    }
    let label = if yes { "Y" } else { "N" };
    Ok(Example { prompt: tok.encode_prompt(&task.verify_prompt(&q.prompt, &cand))?, target: tok.encode(label)? })
}

pub const RECIPE: &str = "Each step draws a fresh batch of prompts, uniform except that marked prompts are drawn 6 times as often. 50% answer examples 'x -> y': y is the right answer with p=0.40 and each of four plausible mistakes with p=0.15 (add: sum-10 forgot carry, sum+10, sum+1, sum-1; mul: a*(b-1), a*(b+1), (a-1)*b, (a+1)*b); on marked prompts the first mistake has p=0.60, the right answer 0.15, the other three 0.25/3 each. 50% verification examples 'x y? -> Y|N': y is the right answer (30%), the corpus's most likely answer (20%), a corpus mistake (30%) or a random number (20%); the label is Y iff y is the corpus's most likely answer, flipped with p=0.10. Loss on answer and label tokens only.";
