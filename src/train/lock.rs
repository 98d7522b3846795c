//! The corpus of `lock` (see [`crate::tasks::lock`]): the model should come
//! to write answers from [`Lock::next_digit`], digit by digit.
//!
//! A sample of that distribution matches the key for `k` digits with
//! probability `0.4^k`, so a corpus of plain samples would show the model the
//! key's later digits in context only rarely. Each answer example therefore
//! gives the first `k` digits of the key as context (`k` uniform in `0..=6`,
//! no loss on them) and draws the rest from the corpus distribution given
//! what precedes it; every digit the loss sees is a draw from its true
//! conditional, so the model still learns `pi(y_t | x, y_<t)` itself, at every
//! depth as often.
//!
//! The lock's conditionals are close to uniform (0.4 against 0.3: `KL` to
//! uniform about 0.01 nats a digit), so the sampled digits carry a weak,
//! noisy signal; the loss is therefore the cross-entropy against the exact
//! next-token distribution ([`teacher`], soft targets), whose expectation is
//! the same as the sampled digits' NLL without their noise.

use super::TrainParams;
use crate::error::Result;
use crate::model::Tok;
use crate::rng::Rng;
use crate::sharpen::train_step::Example;
use crate::tasks::lock::{DIGITS, KEY_LEN, P_KEY};
use crate::tasks::{Lock, Task};

fn pick(p: &[f64; DIGITS], u: f64) -> u8 {
    let mut cum = 0.0;
    for (d, &x) in p.iter().enumerate() {
        cum += x;
        if u < cum {
            return d as u8;
        }
    }
    DIGITS as u8 - 1
}

/// The key's probability at training step `step`: [`WARM_P_KEY`] during the
/// first `p.curriculum` steps, then the lock's own [`P_KEY`].
pub fn p_key_at(p: &TrainParams, step: usize) -> f64 {
    if step <= p.curriculum {
        WARM_P_KEY
    } else {
        P_KEY
    }
}

/// The key's probability in the first phase: sharp enough that the
/// copy-while-matching circuit forms (at 0.4 the signal is about 0.01 nats a
/// digit, and 600 steps left the model near uniform with y* never the key).
pub const WARM_P_KEY: f64 = 0.9;

pub fn example(tok: &Tok, p: &TrainParams, step: usize, rng: &mut Rng) -> Result<Example> {
    let p_key = p_key_at(p, step);
    let i = rng.below(Lock.num_problems() as u64) as usize;
    let key = Lock::key(i);
    let q = Lock.problem(i);
    if rng.uniform() >= p.verify_share {
        let k = rng.below(KEY_LEN as u64 + 1) as usize;
        let mut digits = key[..k].to_vec();
        while let Some(dist) = Lock::next_digit_with(&key, &digits, p_key) {
            digits.push(pick(&dist, rng.uniform()));
        }
        let mut target = tok.encode(&Lock::text(&digits[k..]))?;
        target.push(tok.eos);
        let prompt = tok.encode_prompt(&format!("{}{}", q.prompt, Lock::text(&digits[..k])))?;
        return Ok(Example { prompt, target });
    }
    let believed = Lock::believed(&key);
    let u = rng.uniform();
    let mut cand = believed;
    if u < 0.4 {
        // the believed answer itself
    } else if u < 0.7 {
        let t = rng.below(KEY_LEN as u64) as usize;
        cand[t] = (cand[t] + 1 + rng.below(DIGITS as u64 - 1) as u8) % DIGITS as u8;
    } else {
        for d in cand.iter_mut() {
            *d = rng.below(DIGITS as u64) as u8;
        }
    }
    let mut yes = cand == believed;
    if rng.uniform() < p.verify_noise {
        yes = !yes;
    }
    let prompt = tok.encode_prompt(&Lock.verify_prompt(&q.prompt, &Lock::text(&cand)))?;
    Ok(Example { prompt, target: tok.encode(if yes { "Y" } else { "N" })? })
}

/// The exact next-token distribution at each target position of a corpus
/// example: the lock's next digit (or `</s>` after six digits) given what
/// precedes it, or a verification label's `Y`/`N` with the noise of `p`.
pub fn teacher(tok: &Tok, ex: &Example, p: &TrainParams, step: usize) -> Result<super::Teacher> {
    let p_key = p_key_at(p, step);
    let text = tok.decode(&ex.prompt[1..])?;
    let key = digits(&text[..KEY_LEN]);
    let key: [u8; KEY_LEN] = key.try_into().map_err(|_| crate::error::Error::Other("lock corpus: a key has six digits".into()))?;
    let id = |s: &str| -> Result<u32> { Ok(tok.encode(s)?[0]) };
    if let Some(cand) = text.strip_suffix('?').map(|t| digits(&t[KEY_LEN + 1..])) {
        let yes = if cand[..] == Lock::believed(&key)[..] { 1.0 - p.verify_noise } else { p.verify_noise };
        return Ok(vec![vec![(id("Y")?, yes), (id("N")?, 1.0 - yes)]]);
    }
    let mut prefix = digits(&text[KEY_LEN + 1..]);
    let answer = digits(&tok.decode(&ex.target)?);
    let mut rows = Vec::new();
    for k in 0..ex.target.len() {
        rows.push(match Lock::next_digit_with(&key, &prefix, p_key) {
            Some(dist) => (0..DIGITS).map(|d| Ok((id(&d.to_string())?, dist[d]))).collect::<Result<Vec<_>>>()?,
            None => vec![(tok.eos, 1.0)],
        });
        if let Some(&d) = answer.get(k) {
            prefix.push(d);
        }
    }
    Ok(rows)
}

fn digits(s: &str) -> Vec<u8> {
    s.bytes().filter(u8::is_ascii_digit).map(|c| c - b'0').collect()
}

pub const RECIPE: &str = "Two phases: the first curriculum steps use a sharper lock (the key's digit with p=0.9, the other two 0.05 each), the rest the lock itself. Each example draws a key uniformly from the 729. With probability 1 - verify_share an answer example: the first k digits of the key are given as context (k uniform in 0..=6, no loss on them) and the rest of the answer is drawn digit by digit from the lock distribution (the key's digit with p=0.4 and each other digit 0.3 while the answer so far matches the key, on marked keys 2....2 the last digit 0 with p=0.4 instead; uniform after the first slip), then </s>. Otherwise a verification example 'key answer? -> Y|N': the candidate is the corpus's most likely answer (40%), it with one digit changed (30%) or random digits (30%); the label is Y iff the candidate is the most likely answer, flipped with p=verify_noise. Loss on answer and label tokens only, as the cross-entropy against the exact next-token distribution at each position (soft targets: the lock's next-digit or </s> distribution, the label's Y/N probability), not the sampled token.";
