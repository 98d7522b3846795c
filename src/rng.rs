//! The portable random number generator behind every random choice.
//!
//! ChaCha8 (`rand_chacha::ChaCha8Rng`, Bernstein's original variant with a
//! 64-bit block counter and a 64-bit nonce): a stream cipher with a published
//! specification and test vectors, so the same `(seed, stream)` yields the same
//! numbers on every platform, compiler and build (native and wasm32). The
//! cipher key is the seed expanded by `rand_core`'s documented PCG32 step
//! (`SeedableRng::seed_from_u64`); the nonce is the stream id.
//!
//! Every independent use gets its own stream, named by what it is for
//! ([`Stream`]) — e.g. sample `j` of prompt `i`, so a sample does not change
//! when more samples are drawn beside it, or the pair of RLHF step `s` for
//! pair slot `k` on prompt `i`. A stream id packs the use's purpose (top 8
//! bits) and its fields in fixed bit ranges below it, so two different streams
//! never share an id; a field value that does not fit its range is an error,
//! never truncated. Uniform floats are built from the top 53 bits of one
//! `u64` (no library distribution code whose output could change between
//! versions).

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::error::{Error, Result};

/// Which answer of an RLHF pair (Eq. 8) a stream draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PairSide {
    /// `y`: from `pi_base` (offline) or from the model being trained (online, Alg. 1).
    Y = 0,
    /// `y'`: always from `pi_base`.
    YPrime = 1,
}

/// Which data a shuffle reorders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shuffled {
    /// SFT-Sharpening's mini-batches of the best-of-N dataset.
    SftBatches = 0,
    /// The order in which RLHF-Sharpening visits its prompts.
    RlhfPrompts = 1,
}

/// One random stream, named by what it is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Choosing the prompts of an experiment.
    Prompts,
    /// Sample `sample` of prompt `prompt` (best-of-N, the explorer, SFT's
    /// best-of-N dataset): prompt and sample below 2^28 each.
    Sample { prompt: u64, sample: u64 },
    /// Fresh samples that evaluate a fine-tuned real model (LoRA): prompt and
    /// sample below 2^28 each.
    EvalSample { prompt: u64, sample: u64 },
    /// One answer of the RLHF pair drawn at training step `step` (below
    /// 2^24) for pair slot `slot` (below 2^11) on prompt `prompt` (below 2^20).
    Pair { step: u64, prompt: u64, slot: u64, side: PairSide },
    /// Shuffle number `epoch` (below 2^28) of some training data.
    Shuffle { of: Shuffled, epoch: u64 },
    /// The training-corpus batch of the built-in trainer's step `step` (below 2^28).
    Corpus { step: u64 },
    /// Initial values of the built-in trainer's `tensor`-th weight (below 2^28).
    Init { tensor: u64 },
    /// Initial `A` matrix of LoRA adapter number `adapter` (below 2^28).
    LoraInit { adapter: u64 },
    /// Draw `draw` (below 2^32) of run `run` (below 2^16) of Example J.1's
    /// experiments, from the policy being trained or from the base model.
    Linear { run: u64, draw: u64, side: LinearSide },
    /// Draw `draw` (below 2^24) for prompt `prompt` (below 2^16) of run `run`
    /// (below 2^8) of the coverage experiment on a transformer: an answer
    /// from the base model or from the model being trained, or the choice of
    /// a mini-batch from the dataset.
    Coverage { run: u64, prompt: u64, draw: u64, side: CoverageSide },
    /// Random inputs of tests and benchmarks (random weights, rows, prompts):
    /// `a` and `b` below 2^28 each.
    Fixture { a: u64, b: u64 },
}

/// The purpose byte of each kind of stream (the top 8 bits of its id).
mod purpose {
    pub const PROMPTS: u64 = 1;
    pub const SAMPLE: u64 = 2;
    pub const SHUFFLE: u64 = 3;
    pub const CORPUS: u64 = 4;
    pub const INIT: u64 = 5;
    pub const PAIR: u64 = 6;
    pub const LORA_INIT: u64 = 7;
    pub const EVAL_SAMPLE: u64 = 8;
    pub const FIXTURE: u64 = 9;
    pub const LINEAR: u64 = 10;
    pub const COVERAGE: u64 = 11;
}

/// Which model a draw of Example J.1 comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinearSide {
    Base = 0,
    Policy = 1,
}

/// What a draw of the transformer coverage experiment is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CoverageSide {
    /// An answer from `pi_base`.
    Base = 0,
    /// An answer from the model being trained.
    Policy = 1,
    /// Which triples of the dataset a refit step uses.
    Batch = 2,
}

/// `value` checked to fit in `bits` bits.
fn field(name: &str, value: u64, bits: u32) -> Result<u64> {
    if value >> bits != 0 {
        return Err(Error::Param(format!("random stream: {name} {value} does not fit in {bits} bits (at most {})", (1u64 << bits) - 1)));
    }
    Ok(value)
}

impl Stream {
    /// The 64-bit stream id: purpose in bits 56..64, the fields below.
    /// Layouts (high to low): `Sample`, `EvalSample`: prompt 28 | sample 28;
    /// `Pair`: step 24 | prompt 20 | slot 11 | side 1; `Shuffle`: epoch 28 |
    /// data 28; `Corpus`, `Init`: value 28 | 0; `LoraInit`: adapter 28;
    /// `Fixture`: a 28 | b 28; `Linear`: run 16 | draw 32 | side 1;
    /// `Coverage`: run 8 | prompt 16 | draw 24 | side 2.
    pub fn id(&self) -> Result<u64> {
        let (purpose, payload) = match *self {
            Stream::Prompts => (purpose::PROMPTS, 0),
            Stream::Sample { prompt, sample } => (purpose::SAMPLE, field("prompt", prompt, 28)? << 28 | field("sample", sample, 28)?),
            Stream::EvalSample { prompt, sample } => (purpose::EVAL_SAMPLE, field("prompt", prompt, 28)? << 28 | field("sample", sample, 28)?),
            Stream::Pair { step, prompt, slot, side } => (
                purpose::PAIR,
                field("step", step, 24)? << 32 | field("prompt", prompt, 20)? << 12 | field("pair slot", slot, 11)? << 1 | side as u64,
            ),
            Stream::Shuffle { of, epoch } => (purpose::SHUFFLE, field("epoch", epoch, 28)? << 28 | of as u64),
            Stream::Corpus { step } => (purpose::CORPUS, field("step", step, 28)? << 28),
            Stream::Init { tensor } => (purpose::INIT, field("tensor", tensor, 28)? << 28),
            Stream::LoraInit { adapter } => (purpose::LORA_INIT, field("adapter", adapter, 28)?),
            Stream::Fixture { a, b } => (purpose::FIXTURE, field("fixture a", a, 28)? << 28 | field("fixture b", b, 28)?),
            Stream::Linear { run, draw, side } => (purpose::LINEAR, field("run", run, 16)? << 33 | field("draw", draw, 32)? << 1 | side as u64),
            Stream::Coverage { run, prompt, draw, side } => (
                purpose::COVERAGE,
                field("run", run, 8)? << 42 | field("prompt", prompt, 16)? << 26 | field("draw", draw, 24)? << 2 | side as u64,
            ),
        };
        Ok(purpose << 56 | payload)
    }

    /// The streams of samples `0..n` of prompt `prompt`.
    pub fn samples(prompt: u64, n: usize) -> Vec<Stream> {
        (0..n as u64).map(|sample| Stream::Sample { prompt, sample }).collect()
    }
}

/// The ChaCha8 key of a seed: `rand_core`'s `seed_from_u64` (32 bytes from
/// eight PCG32 outputs).
pub fn seed_key(seed: u64) -> [u8; 32] {
    ChaCha8Rng::seed_from_u64(seed).get_seed()
}

pub struct Rng(ChaCha8Rng);

impl Rng {
    /// The stream `stream` of `seed`; an error when a field of `stream` does
    /// not fit its bit range.
    pub fn new(seed: u64, stream: Stream) -> Result<Self> {
        Ok(Self::from_key(seed_key(seed), stream.id()?))
    }

    /// The stream `Stream::Prompts` of `seed` (it has no fields, so it always fits).
    pub fn prompts(seed: u64) -> Self {
        Self::from_key(seed_key(seed), purpose::PROMPTS << 56)
    }

    /// ChaCha8 with this key and nonce `stream_id`, from block 0.
    pub fn from_key(key: [u8; 32], stream_id: u64) -> Self {
        let mut r = ChaCha8Rng::from_seed(key);
        r.set_stream(stream_id);
        Self(r)
    }

    /// The next 64 bits of the key stream (two little-endian 32-bit words).
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
