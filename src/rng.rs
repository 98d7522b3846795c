//! The portable random number generator behind every random choice.
//!
//! ChaCha8 (`rand_chacha::ChaCha8Rng`): a stream cipher with a published
//! specification, so the same `(seed, stream)` yields the same numbers on every
//! platform, compiler and build (native and wasm32). Each independent use gets
//! its own stream — e.g. sample `j` of prompt `i` — so a sample does not change
//! when more samples are drawn beside it. Uniform floats are built from the top
//! 53 bits of one `u64` (no library distribution code whose output could change
//! between versions).

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// What a stream is used for; part of the stream id so uses never overlap.
#[derive(Clone, Copy, Debug)]
pub enum Purpose {
    /// Choosing the prompts of an experiment.
    Prompts = 1,
    /// Drawing samples from a model.
    Sample = 2,
    /// Shuffling training data.
    Shuffle = 3,
    /// Generating a training corpus.
    Corpus = 4,
    /// Initialising weights.
    Init = 5,
}

pub struct Rng(ChaCha8Rng);

impl Rng {
    /// The stream `(purpose, a, b)` of `seed`: `a` and `b` are up to 28 bits each
    /// (e.g. prompt index and sample index).
    pub fn new(seed: u64, purpose: Purpose, a: u64, b: u64) -> Self {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        r.set_stream(((purpose as u64) << 56) | ((a & 0x0FFF_FFFF) << 28) | (b & 0x0FFF_FFFF));
        Self(r)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `0..n` (`n > 0`), by rejection so it is unbiased.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0);
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let x = self.0.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }

    /// Standard normal draw (Box-Muller), for weight initialisation.
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}
