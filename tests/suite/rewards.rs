//! Best-of-N selection under each self-reward, on hand-made answers.

use sharpening_lab::reward::{select, Judged, Reward};

fn j(text: &str, logp: f64, len: usize, verify: f64, complete: bool) -> Judged {
    Judged {
        tokens: text.bytes().map(u32::from).collect(),
        text: text.into(),
        answer: complete.then(|| text.to_string()),
        complete,
        correct: text == "46",
        logp_base: if complete { logp } else { f64::NEG_INFINITY },
        logp_norm: if complete { logp / len as f64 } else { f64::NEG_INFINITY },
        verify,
    }
}

#[test]
fn each_reward_picks_its_best() {
    let g = vec![
        j("47", -2.0, 3, -0.1, true),   // best verify
        j("46", -1.5, 3, -2.0, true),   // best loglik
        j("146", -1.8, 4, -3.0, true),  // best normalised loglik: -0.45
        j("47", -2.2, 3, -0.5, true),
        j("9999", -0.1, 4, -0.01, false), // cut off: never chosen
    ];
    assert_eq!(select(Reward::Loglik, &g), 1);
    assert_eq!(select(Reward::LoglikNorm, &g), 2);
    assert_eq!(select(Reward::SelfVerify, &g), 0);
    assert_eq!(select(Reward::Majority, &g), 0, "47 appears twice; the earliest is returned");
}

#[test]
fn majority_ties_go_to_the_earliest_answer() {
    let g = vec![j("12", -3.0, 3, 0.0, true), j("13", -1.0, 3, 0.0, true), j("13", -1.0, 3, 0.0, true), j("12", -1.0, 3, 0.0, true)];
    assert_eq!(select(Reward::Majority, &g), 0);
}

#[test]
fn reward_names_round_trip() {
    for r in Reward::ALL {
        assert_eq!(Reward::parse(r.name()).unwrap(), r);
    }
    assert_eq!(Reward::parse_list("all").unwrap().len(), 4);
    assert_eq!(Reward::parse_list("loglik, majority,loglik").unwrap(), vec![Reward::Loglik, Reward::Majority]);
    assert!(Reward::parse_list("loglik,").is_err());
}
