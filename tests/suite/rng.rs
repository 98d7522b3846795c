//! The portable RNG: ChaCha8 against published test vectors, the seed's key
//! against an independent PCG32, and stream ids that cannot collide or be
//! silently truncated.

use std::collections::HashSet;

use sharpening_lab::rng::{seed_key, CoverageSide, LinearSide, PairSide, Rng, Shuffled, Stream};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// The key stream of `rng` as bytes (each u64 is two little-endian 32-bit words).
fn stream_bytes(rng: &mut Rng, n: usize) -> Vec<u8> {
    (0..n / 8).flat_map(|_| rng.next_u64().to_le_bytes()).collect()
}

/// ChaCha8 (8 rounds, 256-bit key, 64-bit IV) test vectors of
/// draft-strombergson-chacha-test-vectors-01: TC1 (zero key and IV, two
/// blocks), TC3 (one bit set in the IV: our stream id 1) and TC7 (sequence
/// patterns in key and IV).
#[test]
fn chacha8_matches_published_test_vectors() {
    let tc1 = "3e00ef2f895f40d67f5bb8e81f09a5a12c840ec3ce9a7f3b181be188ef711a1e984ce172b9216f419f445367456d5619314a42a3da86b001387bfdb80e0cfe42\
               d2aefa0deaa5c151bf0adb6c01f2a5adc0fd581259f9a2aadcf20f8fd566a26b5032ec38bbc5da98ee0c6f568b872a65a08abf251deb21bb4b56e5d8821e68aa";
    assert_eq!(stream_bytes(&mut Rng::from_key([0; 32], 0), 128), hex(tc1));
    let tc3 = "2b8f4bb3798306ca5130d47c4f8d4ed13aa0edccc1be6942090faeeca0d7599b7ff0fe616bb25aa0153ad6fdc88b954903c22426d478b97b22b8f9b1db00cf06";
    assert_eq!(stream_bytes(&mut Rng::from_key([0; 32], 1), 64), hex(tc3));
    let key: [u8; 32] = hex("00112233445566778899aabbccddeeffffeeddccbbaa99887766554433221100").try_into().unwrap();
    let iv = u64::from_le_bytes(hex("0f1e2d3c4b596877").try_into().unwrap());
    let tc7 = "60fdedbd1a280cb741d0593b6ea0309010acf18e1471f68968f4c9e311dca149b8e027b47c81e0353db013891aa5f68ea3b13dd2f3b8dd0873bf3746e7d6c567";
    assert_eq!(stream_bytes(&mut Rng::from_key(key, iv), 64), hex(tc7));
    // Uniforms are the top 53 bits of each u64.
    let first = u64::from_le_bytes(hex("3e00ef2f895f40d6").try_into().unwrap());
    assert_eq!(Rng::from_key([0; 32], 0).uniform(), (first >> 11) as f64 / (1u64 << 53) as f64);
}

/// `rand_core`'s `seed_from_u64`, written out from its documentation: eight
/// outputs of PCG32 (multiplier 6364136223846793005, increment
/// 11634580027462260723, XSH-RR output), little-endian.
fn pcg32_key(mut state: u64) -> [u8; 32] {
    let mut key = [0u8; 32];
    for chunk in key.chunks_exact_mut(4) {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(11_634_580_027_462_260_723);
        let xorshifted = (((state >> 18) ^ state) >> 27) as u32;
        chunk.copy_from_slice(&xorshifted.rotate_right((state >> 59) as u32).to_le_bytes());
    }
    key
}

#[test]
fn a_seed_keys_chacha8_through_pcg32() {
    for seed in [0u64, 1, 7, 42, u64::MAX] {
        assert_eq!(seed_key(seed), pcg32_key(seed), "seed {seed}");
        let st = Stream::Sample { prompt: 3, sample: 5 };
        let (mut a, mut b) = (Rng::new(seed, st).unwrap(), Rng::from_key(pcg32_key(seed), st.id().unwrap()));
        for _ in 0..10 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }
}

#[test]
fn stream_ids_keep_their_layouts_and_never_collide() {
    // The layouts older runs used (so the shipped models and earlier numbers
    // reproduce): purpose byte, then two 28-bit fields.
    assert_eq!(Stream::Prompts.id().unwrap(), 1 << 56);
    assert_eq!(Stream::Sample { prompt: 3, sample: 5 }.id().unwrap(), 2 << 56 | 3 << 28 | 5);
    assert_eq!(Stream::Shuffle { of: Shuffled::RlhfPrompts, epoch: 9 }.id().unwrap(), 3 << 56 | 9 << 28 | 1);
    assert_eq!(Stream::Corpus { step: 11 }.id().unwrap(), 4 << 56 | 11 << 28);
    assert_eq!(Stream::Init { tensor: 2 }.id().unwrap(), 5 << 56 | 2 << 28);
    // Every stream of a grid of field values gets its own id.
    let mut all = Vec::new();
    for a in [0u64, 1, 2, 255, (1 << 11) - 1] {
        for b in [0u64, 1, 3, (1 << 11) - 1] {
            all.push(Stream::Sample { prompt: a, sample: b });
            all.push(Stream::EvalSample { prompt: a, sample: b });
            all.push(Stream::Corpus { step: a * 4096 + b });
            all.push(Stream::Init { tensor: a * 4096 + b });
            all.push(Stream::LoraInit { adapter: a * 4096 + b });
            all.push(Stream::Shuffle { of: Shuffled::SftBatches, epoch: a * 4096 + b });
            all.push(Stream::Shuffle { of: Shuffled::RlhfPrompts, epoch: a * 4096 + b });
            for side in [LinearSide::Base, LinearSide::Policy] {
                all.push(Stream::Linear { run: a, draw: b << 20 | a, side });
            }
            for side in [CoverageSide::Base, CoverageSide::Policy, CoverageSide::Batch] {
                all.push(Stream::Coverage { run: a & 255, prompt: b, draw: a << 11 | b, side });
            }
            for c in [0u64, 1, 100_000 % (1 << 20)] {
                for side in [PairSide::Y, PairSide::YPrime] {
                    all.push(Stream::Pair { step: a, prompt: c, slot: b, side });
                }
            }
        }
    }
    all.push(Stream::Prompts);
    let streams: HashSet<Stream> = all.iter().copied().collect();
    let ids: HashSet<u64> = all.iter().map(|s| s.id().unwrap()).collect();
    assert_eq!(ids.len(), streams.len(), "two different streams share an id");
    // A pair's step is part of its stream: the same slot at two steps differs.
    let at = |step| Stream::Pair { step, prompt: 4, slot: 7, side: PairSide::Y };
    assert_ne!(at(1).id().unwrap(), at(2).id().unwrap());
    assert_ne!(Rng::new(0, at(1)).unwrap().next_u64(), Rng::new(0, at(2)).unwrap().next_u64());
}

#[test]
fn a_field_that_does_not_fit_is_an_error_not_a_mask() {
    let too_big = [
        Stream::Sample { prompt: 1 << 28, sample: 0 },
        Stream::Sample { prompt: 0, sample: 1 << 28 },
        Stream::EvalSample { prompt: 1 << 28, sample: 0 },
        Stream::Pair { step: 1 << 24, prompt: 0, slot: 0, side: PairSide::Y },
        Stream::Pair { step: 0, prompt: 1 << 20, slot: 0, side: PairSide::Y },
        Stream::Pair { step: 0, prompt: 0, slot: 1 << 11, side: PairSide::YPrime },
        Stream::Shuffle { of: Shuffled::SftBatches, epoch: 1 << 28 },
        Stream::Corpus { step: 1 << 28 },
        Stream::Init { tensor: 1 << 28 },
        Stream::LoraInit { adapter: 1 << 28 },
        Stream::Linear { run: 1 << 16, draw: 0, side: LinearSide::Base },
        Stream::Linear { run: 0, draw: 1 << 32, side: LinearSide::Policy },
        Stream::Coverage { run: 1 << 8, prompt: 0, draw: 0, side: CoverageSide::Base },
        Stream::Coverage { run: 0, prompt: 1 << 16, draw: 0, side: CoverageSide::Policy },
        Stream::Coverage { run: 0, prompt: 0, draw: 1 << 24, side: CoverageSide::Batch },
    ];
    for s in too_big {
        let e = s.id().unwrap_err().to_string();
        assert!(e.contains("does not fit"), "{s:?}: {e}");
        assert!(Rng::new(0, s).is_err());
    }
    // The largest values that fit are accepted.
    assert!(Stream::Pair { step: (1 << 24) - 1, prompt: (1 << 20) - 1, slot: (1 << 11) - 1, side: PairSide::YPrime }.id().is_ok());
}
