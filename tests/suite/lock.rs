//! The low-coverage task `lock`: its corpus distribution written out from
//! the definition, its shipped model's structure, and the transformer
//! coverage experiment's accounting against a direct computation.

use sharpening_lab::builtin;
use sharpening_lab::rng::{Rng, Stream};
use sharpening_lab::sharpen::bon::choose_problems;
use sharpening_lab::sharpen::complexity::bon_needed;
use sharpening_lab::sharpen::coverage_lm::{run_coverage_lm, LmCoverageParams};
use sharpening_lab::sharpen::enumerate;
use sharpening_lab::sharpen::metrics::coverage;
use sharpening_lab::tasks::lock::{KEY_LEN, P_KEY};
use sharpening_lab::tasks::{Lock, Task};
use sharpening_lab::train::{Corpus, TrainParams};

/// Every answer of six digits, as digit vectors.
fn all_answers() -> Vec<Vec<u8>> {
    (0..729).map(|i| Lock::key(i).to_vec()).collect()
}

#[test]
fn the_corpus_distribution_is_the_lock_and_its_mode_is_the_key() {
    for i in [0, 1, 100, 364, 728, 2 * 243 + 2] {
        let key = Lock::key(i);
        let probs: Vec<f64> = all_answers().iter().map(|a| Lock::corpus_prob(&key, a)).collect();
        assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-12, "key {i}: the answers' probabilities sum to 1");
        let believed = Lock::believed(&key);
        let p_mode = Lock::corpus_prob(&key, &believed);
        assert!((p_mode - P_KEY.powi(KEY_LEN as i32)).abs() < 1e-15, "pi(y*) = 0.4^6");
        // The mode is unique, and its nearest rival slips at the last digit (0.75 of it).
        let mut others: Vec<f64> = all_answers().iter().filter(|a| a[..] != believed[..]).map(|a| Lock::corpus_prob(&key, a)).collect();
        others.sort_by(|a, b| b.total_cmp(a));
        assert!((others[0] / p_mode - 0.75).abs() < 1e-12, "key {i}: runner-up ratio {}", others[0] / p_mode);
        assert_eq!(believed == key, !Lock::is_marked(&key));
    }
    let marked = (0..729).filter(|&i| Lock.problem(i).marked).count();
    assert_eq!(marked, 81);
    // parse is the inverse of problem, and bad keys are refused with a message.
    for i in [0, 5, 728] {
        let q = Lock.problem(i);
        assert_eq!(Lock.parse(&q.prompt).unwrap(), q);
    }
    for bad in ["", "01221:", "0122100:", "012213:", "012210"] {
        assert!(Lock.parse(bad).unwrap_err().to_string().contains("6 digits"), "{bad:?}");
    }
    assert_eq!(Lock.extract(" 012210 "), Some("012210".into()));
    assert_eq!(Lock.extract("01221"), None);
}

#[test]
fn corpus_examples_are_keys_prefixes_and_lock_draws() {
    let corpus = Corpus::by_name("lock").unwrap();
    let tok = sharpening_lab::model::Tok::char_level(Lock::alphabet()).unwrap();
    let p = TrainParams::for_task("lock");
    let mut rng = Rng::new(3, Stream::Corpus { step: 1 }).unwrap();
    let (mut answers, mut verifications) = (0, 0);
    for _ in 0..400 {
        let ex = corpus.example(&tok, &p, 2000, &mut rng).unwrap();
        let prompt = tok.decode(&ex.prompt[1..]).unwrap();
        let target = tok.decode(&ex.target).unwrap();
        let key = &prompt[..KEY_LEN];
        if prompt.ends_with('?') {
            verifications += 1;
            assert!(target == "Y" || target == "N");
        } else {
            answers += 1;
            // The context after ':' is a prefix of the key; context + target is six digits then </s>.
            let context = &prompt[KEY_LEN + 1..];
            assert!(key.starts_with(context), "{prompt:?}");
            assert_eq!(*ex.target.last().unwrap(), tok.eos);
            assert_eq!(context.len() + target.len(), KEY_LEN, "{prompt:?} -> {target:?}");
        }
    }
    let share = verifications as f64 / 400.0;
    assert!((share - p.verify_share).abs() < 0.08, "verification share {share}");
    assert!(answers > 0);
}

#[test]
fn the_shipped_lock_model_has_low_coverage_and_the_key_as_its_mode() {
    let model = builtin::load("lock").unwrap();
    let problems = choose_problems(&Lock, 24, 5);
    let ids: Vec<Vec<u32>> = problems.iter().map(|q| model.tok.encode_prompt(&q.prompt).unwrap()).collect();
    let dists = enumerate(&model.llama, &ids, model.tok.eos, KEY_LEN, 1e-6).unwrap();
    let mut ps = Vec::new();
    for (q, d) in problems.iter().zip(&dists) {
        assert!(d.certifies_y_star(), "{}: leftover {}", q.prompt, d.leftover);
        let y = model.tok.decode(&d.y_star().unwrap().tokens).unwrap();
        let believed = Lock::text(&Lock::believed(&Lock::key(index_of(&q.prompt))));
        assert_eq!(y, believed, "{}: the model's y* is the corpus's mode", q.prompt);
        ps.push(d.y_star().unwrap().logp.exp());
    }
    let c = coverage(&ps);
    assert!(c >= 100.0, "C_cov {c} should be in the hundreds");
}

fn index_of(prompt: &str) -> usize {
    prompt[..KEY_LEN].bytes().fold(0, |v, c| v * 3 + (c - b'0') as usize)
}

#[test]
fn coverage_on_a_transformer_counts_samples_and_scores_y_star_exactly() {
    // As the command line runs its work (sharpening_lab::runtime::run).
    sharpening_lab::runtime::run(coverage_on_a_transformer)
}

fn coverage_on_a_transformer() {
    let model = builtin::load("lock").unwrap();
    let p = LmCoverageParams { prompts: 3, budgets: vec![2, 4], sft_n: vec![1, 2], alphas: vec![0.1], fit_steps: 2, batch: 4, seeds: 2, ..Default::default() };
    let r = run_coverage_lm(&model, &Lock, &p, &mut |_, _| true).unwrap();
    // C_cov and best-of-N's samples recomputed from an independent enumeration.
    let problems = choose_problems(&Lock, 3, 0);
    let ids: Vec<Vec<u32>> = problems.iter().map(|q| model.tok.encode_prompt(&q.prompt).unwrap()).collect();
    let ps: Vec<f64> = enumerate(&model.llama, &ids, model.tok.eos, KEY_LEN, 1e-6).unwrap().iter().map(|d| d.y_star().unwrap().logp.exp()).collect();
    assert!((r.c_cov - coverage(&ps)).abs() < 1e-9 * r.c_cov);
    let each: Vec<usize> = ps.iter().map(|&x| bon_needed(x, p.delta)).collect();
    assert_eq!(r.bon_samples, each.iter().sum::<usize>());
    assert_eq!(r.bon_samples_one_n, 3 * each.iter().max().unwrap());
    assert!(r.exact);
    let names: Vec<(&str, Option<usize>)> = r.methods.iter().map(|m| (m.method.as_str(), m.n)).collect();
    assert_eq!(names, [("sft", Some(1)), ("sft", Some(2)), ("rlhf_offline", None), ("rlhf_online", None), ("rlhf_refit_base", None), ("rlhf_online_fresh", None)]);
    for m in &r.methods {
        assert!(m.curve.windows(2).all(|w| w[1].samples > w[0].samples), "{}: samples grow along the curve", m.method);
        for c in &m.curve {
            assert_eq!(c.samples, c.samples_base + c.samples_policy);
            assert!(c.samples % 3 == 0 && [6, 12].contains(&c.samples), "{}: {} samples for 3 prompts at budgets 2, 4", m.method, c.samples);
            let explores = m.method == "rlhf_online" || m.method == "rlhf_online_fresh";
            assert_eq!(c.samples_policy, if explores { c.samples / 2 } else { 0 }, "{}", m.method);
            // Equal work: every method has taken fit_steps * m / 2 Adam steps at budget m.
            assert_eq!(c.optimizer_steps, Some(p.fit_steps * (c.samples / 3) / 2), "{}", m.method);
            let (data, used) = (c.dataset.unwrap(), c.distinct_examples.unwrap());
            if m.method == "sft" || m.method == "rlhf_offline" {
                // Mini-batches without replacement: every example is used
                // once the steps' draws cover the data.
                let draws = (c.optimizer_steps.unwrap() * p.batch) as f64;
                assert_eq!(used, data.min(draws), "{}: {used} of {data} used in {draws} draws", m.method);
            } else {
                assert!(used <= c.samples as f64 / 2.0 && used > 0.0, "{}: {used}", m.method);
            }
            // One value per seed, and the point is their mean.
            let seeds = c.p_star_seeds.as_ref().unwrap();
            assert_eq!(seeds.len(), 2);
            assert!((c.p_star - (seeds[0] + seeds[1]) / 2.0).abs() < 1e-12);
            assert!(seeds.iter().all(|x| (0.0..=1.0).contains(x)) && (0.0..=1.0).contains(&c.sharpened));
            let (bad, unlisted) = (c.malformed.unwrap(), c.unlisted.unwrap());
            assert!(bad >= 0.0 && unlisted >= 0.0 && bad + unlisted <= 1.0 + 1e-9, "{}: malformed {bad}, unlisted {unlisted}", m.method);
        }
        // The last point says how much mass stays on the base model's answers.
        let (last, rest) = m.curve.split_last().unwrap();
        let support = last.support.expect("the last point carries the support mass");
        assert!(support > 0.0 && support <= 1.0 + 1e-9 && support >= last.p_star, "{}: {support}", m.method);
        assert!(rest.iter().all(|c| c.support.is_none()));
    }
    // A seed's run does not depend on how many seeds run beside it (and the
    // same seed gives the same numbers).
    let first = run_coverage_lm(&model, &Lock, &LmCoverageParams { seeds: 1, ..p.clone() }, &mut |_, _| true).unwrap();
    for (m, one) in r.methods.iter().zip(&first.methods) {
        for (c, d) in m.curve.iter().zip(&one.curve) {
            assert_eq!(c.p_star_seeds.as_ref().unwrap()[0], d.p_star, "{}", m.method);
        }
    }
}
