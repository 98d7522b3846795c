//! RLHF-Sharpening and the theory views: the Eq. 8 loss and its gradient by
//! hand, the closed form's limits, convergence towards the closed form, the
//! token- vs sequence-level comparison and the generation-verification gap.

use candle_core::{Device, Tensor, Var};
use sharpening_lab::builtin;
use sharpening_lab::sharpen::closed_form::{closed_form, compare, log_closed_form_z, sequence_temperature};
use sharpening_lab::sharpen::exact::{Answer, Distribution};
use sharpening_lab::sharpen::gap::generation_verification_gap;
use sharpening_lab::sharpen::rlhf::eq8_loss;
use sharpening_lab::sharpen::{run_rlhf, RlhfParams};
use sharpening_lab::tasks::by_name;

#[test]
fn eq8_loss_and_gradient_by_hand() {
    // One pair: log pi(y) = -1, log pi(y') = -2, log pi_base(y) = -1.5,
    // log pi_base(y') = -1, beta = 0.5. Eq. 8's residual:
    // 0.5 (-1 + 1.5) - 0.5 (-2 + 1) - (-1.5 + 1) = 0.25 + 0.5 + 0.5 = 1.25.
    let dev = Device::Cpu;
    let a = Var::from_tensor(&Tensor::new(&[-1f32], &dev).unwrap()).unwrap();
    let b = Var::from_tensor(&Tensor::new(&[-2f32], &dev).unwrap()).unwrap();
    let loss = eq8_loss(a.as_tensor(), b.as_tensor(), &[-1.5], &[-1.0], 0.5, 0.0).unwrap();
    let l = loss.to_scalar::<f32>().unwrap();
    assert!((l - 1.5625).abs() < 1e-6, "loss {l}");
    let g = loss.backward().unwrap();
    // d/d lp_y = 2 * 1.25 * beta = 1.25; d/d lp_y' = -1.25.
    let ga = g.get(&a).unwrap().to_vec1::<f32>().unwrap()[0];
    let gb = g.get(&b).unwrap().to_vec1::<f32>().unwrap()[0];
    assert!((ga - 1.25).abs() < 1e-6 && (gb + 1.25).abs() < 1e-6, "{ga} {gb}");
    // Two pairs average; the optimism term adds alpha * mean log pi(y').
    let a2 = Tensor::new(&[-1f32, -3.0], &dev).unwrap();
    let b2 = Tensor::new(&[-2f32, -1.0], &dev).unwrap();
    let l2 = eq8_loss(&a2, &b2, &[-1.5, -2.0], &[-1.0, -1.0], 0.5, 0.1).unwrap().to_scalar::<f32>().unwrap();
    // pair 2: 0.5 (-3 + 1) - 1.5 (-2 + 1) = -1 + 1.5 = 0.5 -> 0.25; mean (1.5625 + 0.25) / 2 = 0.90625; + 0.1 * (-1.5).
    assert!((l2 - (0.90625 - 0.15)).abs() < 1e-6, "{l2}");
    // At the closed form the loss vanishes: log pi = (1 + 1/beta) log pi_base - log Z.
    let (lb1, lb2, beta) = (-0.7f64, -2.3f64, 0.8f64);
    let e = 1.0 + 1.0 / beta;
    let at = |x: f64| Tensor::new(&[(e * x - 0.4) as f32], &dev).unwrap();
    let l0 = eq8_loss(&at(lb1), &at(lb2), &[lb1], &[lb2], beta, 0.0).unwrap().to_scalar::<f32>().unwrap();
    assert!(l0 < 1e-10, "{l0}");
}

fn dist(ps: &[f64]) -> Distribution {
    Distribution { answers: ps.iter().enumerate().map(|(i, p)| Answer { tokens: vec![i as u32], logp: p.ln() }).collect(), leftover: 0.0 }
}

#[test]
fn closed_form_limits() {
    let base = dist(&[0.5, 0.3, 0.15, 0.05]);
    // beta -> infinity: pi_base itself.
    let big = closed_form(&base, 1e9);
    for (a, b) in big.answers.iter().zip(&base.answers) {
        assert!((a.logp.exp() - b.logp.exp()).abs() < 1e-6);
    }
    // small beta: (almost) all mass on y*.
    let small = closed_form(&base, 0.02);
    assert!(small.answers[0].logp.exp() > 0.999_99, "{}", small.answers[0].logp.exp());
    // beta = 1: pi_base^2 normalised.
    let one = closed_form(&base, 1.0);
    let z: f64 = [0.25, 0.09, 0.0225, 0.0025].iter().sum();
    assert!((one.answers[1].logp.exp() - 0.09 / z).abs() < 1e-12);
    assert!((log_closed_form_z(&base, 1.0) - z.ln()).abs() < 1e-12);
    assert!((one.listed_mass() - 1.0).abs() < 1e-12);
    assert_eq!(sequence_temperature(1.0), 0.5);
}

#[test]
fn rlhf_converges_towards_the_closed_form() {
    let model = builtin::load("add").unwrap();
    let task = by_name("add").unwrap();
    // Eight prompts need a lower learning rate than the default's 1e-3: at
    // 1e-3 the model moves mass onto answers pi_base almost never samples,
    // which the pairs from pi_base do not constrain, and KL(pi || pi*_beta)
    // ends at 0.57 (README; the default 64 prompts converge at 1e-3).
    let p = RlhfParams { prompts: 8, steps: 120, pairs: 16, lr: 3e-4, eval_every: 40, seed: 4, ..Default::default() };
    let r = run_rlhf(&model, task.as_ref(), &p, &mut |_, _| true).unwrap();
    let kls: Vec<f64> = r.steps.iter().map(|s| s.kl_to_closed_form).collect();
    assert_eq!(r.steps.len(), 4);
    assert!(kls.windows(2).all(|w| w[1] < w[0]), "KL to the closed form must fall: {kls:?}");
    assert!(*kls.last().unwrap() < 0.05, "final KL {kls:?}");
    assert!(kls[0] > 0.2, "the base model is far from pi_base^2: {kls:?}");
    let (first, last) = (&r.steps[0].metrics, &r.steps.last().unwrap().metrics);
    assert!(last.p_star > first.p_star + 0.1, "sharpening: pi(y*) {} -> {}", first.p_star, last.p_star);
}

/// Every answer of every pair comes from its own random stream, keyed by
/// (step, prompt, slot): as many distinct streams as draws, and pairs of one
/// prompt and slot at different steps coincide only as often as independent
/// draws from pi_base do (exactly `(sum_y pi_base(y)^2)^2` per comparison).
#[test]
fn rlhf_pairs_are_fresh_draws() {
    use std::collections::{HashMap, HashSet};
    use sharpening_lab::sharpen::bon::choose_problems;
    use sharpening_lab::sharpen::enumerate;
    let model = builtin::load("add").unwrap();
    let task = by_name("add").unwrap();
    let p = RlhfParams { prompts: 8, steps: 40, pairs: 16, eval_every: 40, seed: 4, ..Default::default() };
    let r = run_rlhf(&model, task.as_ref(), &p, &mut |_, _| true).unwrap();
    assert_eq!(r.draws.len(), 40 * 16);
    let streams: HashSet<u64> = r.draws.iter().flat_map(|d| d.streams).collect();
    assert_eq!(streams.len(), 2 * r.draws.len(), "every answer drawn from a stream of its own");
    let last = r.steps.last().unwrap();
    assert_eq!((last.samples_drawn, last.samples_policy), (2 * r.draws.len(), 0), "offline: both answers from pi_base");
    // Coincidences of the same prompt and slot across steps.
    let problems = choose_problems(task.as_ref(), 8, 4);
    let ids: Vec<Vec<u32>> = problems.iter().map(|q| model.tok.encode_prompt(&q.prompt).unwrap()).collect();
    let dists = enumerate(&model.llama, &ids, model.tok.eos, task.max_answer_tokens(), 1e-6).unwrap();
    let collide: Vec<f64> = dists.iter().map(|d| d.answers.iter().map(|a| a.logp.exp().powi(2)).sum::<f64>().powi(2)).collect();
    let mut by_slot: HashMap<(usize, usize), Vec<&sharpening_lab::sharpen::rlhf::PairDraw>> = HashMap::new();
    for (k, d) in r.draws.iter().enumerate() {
        by_slot.entry((d.prompt, k % 16)).or_default().push(d);
    }
    let (mut same, mut expected, mut comparisons) = (0usize, 0.0, 0usize);
    for ((prompt, _), ds) in &by_slot {
        for i in 0..ds.len() {
            for j in i + 1..ds.len() {
                comparisons += 1;
                expected += collide[*prompt];
                same += usize::from(ds[i].y == ds[j].y && ds[i].y_prime == ds[j].y_prime);
            }
        }
    }
    assert!(comparisons > 200, "{comparisons} comparisons");
    let (rate, want) = (same as f64 / comparisons as f64, expected / comparisons as f64);
    // Comparisons share draws, so allow 6 binomial standard errors.
    let se = (want * (1.0 - want) / comparisons as f64).sqrt();
    assert!((rate - want).abs() < 6.0 * se, "identical pairs at one prompt and slot: {rate:.3} of {comparisons}, independent draws give {want:.3}");
    // Online: y from the model being trained, y' from pi_base, each counted.
    let online = RlhfParams { online: true, alpha: 0.01, steps: 10, ..p };
    let r = run_rlhf(&model, task.as_ref(), &online, &mut |_, _| true).unwrap();
    let last = r.steps.last().unwrap();
    assert_eq!((last.samples_drawn, last.samples_policy), (160, 160));
    assert_eq!(r.draws.iter().flat_map(|d| d.streams).collect::<HashSet<_>>().len(), 320);
    assert!(r.online && r.alpha == 0.01);
}

/// The final `KL(pi || pi*_beta)` of the default run for each seed.
fn default_rlhf_final_kl(seeds: std::ops::Range<u64>) -> Vec<f64> {
    let model = builtin::load("add").unwrap();
    let task = by_name("add").unwrap();
    seeds
        .map(|seed| {
            // Evaluated at the end only: evaluations draw nothing, so the
            // final KL is the default run's (a quarter of its time is the
            // evaluations every 10 steps).
            let d = RlhfParams::default();
            let r = run_rlhf(&model, task.as_ref(), &RlhfParams { seed, eval_every: d.steps, ..d }, &mut |_, _| true).unwrap();
            assert_eq!(r.steps.last().unwrap().metrics.step, d.steps);
            r.steps.last().unwrap().kl_to_closed_form
        })
        .collect()
}

#[test]
fn default_rlhf_final_kl_over_ten_seeds() {
    // Two halves on two threads (the test machine has two cores).
    let kls: Vec<f64> = std::thread::scope(|sc| {
        // Each on a one-thread pool of its own, as the command line runs its
        // work (sharpening_lab::runtime::run).
        let a = sc.spawn(|| sharpening_lab::runtime::run(|| default_rlhf_final_kl(0..5)));
        let b = sc.spawn(|| sharpening_lab::runtime::run(|| default_rlhf_final_kl(5..10)));
        [a.join().unwrap(), b.join().unwrap()].concat()
    });
    eprintln!("final KL(pi || pi*_beta), seeds 0-9: {kls:?}");
    let mut sorted = kls.clone();
    sorted.sort_by(f64::total_cmp);
    let median = (sorted[4] + sorted[5]) / 2.0;
    assert!(median < RLHF_KL_MEDIAN, "median {median} ({kls:?})");
    assert!(sorted[9] < RLHF_KL_MAX, "largest {} ({kls:?})", sorted[9]);
}

/// The README's claim: over seeds 0-9 the median final KL is below
/// RLHF_KL_MEDIAN and the largest below RLHF_KL_MAX (nats).
const RLHF_KL_MEDIAN: f64 = 0.03;
const RLHF_KL_MAX: f64 = 0.07;

/// Greedy decoding by hand: the argmax token after each prefix, until `</s>`.
fn greedy_by_hand(model: &sharpening_lab::model::Model, prompt: &[u32], max: usize) -> Vec<u32> {
    use sharpening_lab::score::next_token_logits;
    let mut out = Vec::new();
    for _ in 0..=max {
        let row = next_token_logits(&model.llama, &[[prompt, &out].concat()]).unwrap().remove(0);
        let best = (0..row.len()).max_by(|&a, &b| row[a].total_cmp(&row[b]).then(b.cmp(&a))).unwrap() as u32;
        if best == model.tok.eos {
            break;
        }
        out.push(best);
    }
    out
}

#[test]
fn token_temperature_is_not_the_closed_form() {
    let model = builtin::load("add").unwrap();
    let task = by_name("add").unwrap();
    let r = compare(&model, task.as_ref(), "19+23=", 1.0, 1e-6, 200).unwrap();
    let sum = |f: fn(&sharpening_lab::sharpen::closed_form::CompareRow) -> f64| r.rows.iter().map(f).sum::<f64>();
    assert!((sum(|x| x.p_closed_form) - 1.0).abs() < 1e-6);
    assert!(sum(|x| x.p_token_temp) > 0.99 && sum(|x| x.p_base) > 0.99);
    // KL(token-level || closed form) recomputed here from the rows, with the
    // closed form rebuilt from pi_base: pi_base^2 / sum pi_base^2 at beta = 1.
    let z: f64 = r.rows.iter().map(|x| x.p_base.powi(2)).sum();
    let kl: f64 = r.rows.iter().filter(|x| x.p_token_temp > 0.0).map(|x| x.p_token_temp * (x.p_token_temp / (x.p_base.powi(2) / z)).ln()).sum();
    assert!((r.kl_token_to_closed_form - kl).abs() < 1e-6, "{} vs {kl}", r.kl_token_to_closed_form);
    for x in &r.rows {
        assert!((x.p_closed_form - x.p_base.powi(2) / z).abs() < 1e-6, "{x:?}");
    }
    assert_eq!(r.scanned, 200);
    assert!(r.kl_token_scan_max > 0.01 && r.kl_token_scan_max >= r.kl_token_scan_mean, "token-level temperature 0.5 is not pi_base^2 on some prompt: {} {}", r.kl_token_scan_mean, r.kl_token_scan_max);
    // Every greedy miss reported is one: decoded here token by token, it is
    // not the listed y*, and the probabilities are the enumeration's.
    let problems: Vec<_> = (0..200).map(|i| task.problem(i)).collect();
    let ids: Vec<Vec<u32>> = problems.iter().map(|q| model.tok.encode_prompt(&q.prompt).unwrap()).collect();
    let dists = sharpening_lab::sharpen::enumerate(&model.llama, &ids, model.tok.eos, task.max_answer_tokens(), 1e-4).unwrap();
    let mut misses = Vec::new();
    for (i, d) in dists.iter().enumerate() {
        let g = greedy_by_hand(&model, &ids[i], task.max_answer_tokens());
        let y = &d.y_star().unwrap().tokens;
        if &g != y {
            misses.push((problems[i].prompt.clone(), model.tok.decode(y).unwrap(), d.prob(y), model.tok.decode(&g).unwrap(), d.prob(&g)));
        }
    }
    let got: Vec<_> = r.greedy_misses.iter().map(|m| (m.prompt.clone(), m.y_star.clone(), m.p_star, m.greedy.clone(), m.p_greedy)).collect();
    assert_eq!(got, misses);
}

/// The generation-verification gap recomputed here from each prompt's
/// enumerated answers and the verifier's P(Y) scored one answer at a time:
/// sample accuracy, the AUC by comparing every (right, wrong) pair, and the
/// verifier-reweighted accuracy.
#[test]
fn generation_verification_gap_is_measured() {
    use sharpening_lab::score::{score, Scored};
    use sharpening_lab::sharpen::bon::choose_problems;
    let model = builtin::load("add").unwrap();
    let task = by_name("add").unwrap();
    let g = generation_verification_gap(&model, task.as_ref(), 40, 0, 1e-4).unwrap();
    let problems = choose_problems(task.as_ref(), 40, 0);
    let yes = model.tok.encode(task.verify_yes()).unwrap();
    let (mut acc, mut aucs, mut rew) = (0.0, vec![], 0.0);
    for q in &problems {
        let ids = model.tok.encode_prompt(&q.prompt).unwrap();
        let d = sharpening_lab::sharpen::enumerate(&model.llama, &[ids], model.tok.eos, task.max_answer_tokens(), 1e-4).unwrap().remove(0);
        let mut rows = Vec::new();
        for a in &d.answers {
            let text = model.tok.decode(&a.tokens).unwrap();
            let vp = model.tok.encode_prompt(&task.verify_prompt(&q.prompt, &text)).unwrap();
            let v = score(&model.llama, &[Scored { prompt: &vp, continuation: &yes }]).unwrap()[0].exp();
            rows.push((a.logp.exp(), task.check(q, &text), v));
        }
        let right: f64 = rows.iter().filter(|r| r.1).map(|r| r.0).sum();
        let mass: f64 = rows.iter().map(|r| r.0).sum();
        acc += right;
        let w: f64 = rows.iter().map(|r| r.0 * r.2).sum();
        rew += rows.iter().filter(|r| r.1).map(|r| r.0 * r.2).sum::<f64>() / w * mass;
        if right > 0.0 && mass - right > 0.0 {
            let mut num = 0.0;
            for a in rows.iter().filter(|r| r.1) {
                for b in rows.iter().filter(|r| !r.1) {
                    num += a.0 * b.0 * if a.2 > b.2 { 1.0 } else if a.2 == b.2 { 0.5 } else { 0.0 };
                }
            }
            aucs.push(num / (right * (mass - right)));
        }
    }
    let n = problems.len() as f64;
    assert!((g.sample_accuracy - acc / n).abs() < 1e-6, "{} vs {}", g.sample_accuracy, acc / n);
    assert!((g.reweighted_accuracy - rew / n).abs() < 1e-6, "{} vs {}", g.reweighted_accuracy, rew / n);
    assert_eq!(g.auc_prompts, aucs.len());
    assert!((g.verifier_auc - aucs.iter().sum::<f64>() / aucs.len() as f64).abs() < 1e-6);
    // The README's numbers for add (200 prompts) are in the card test; here
    // the verifier must beat chance and the gap must have the README's sign.
    assert!(g.verifier_auc > 0.55 && g.gap > 0.0, "{g:?}");
}
