//! The page's state in the URL hash: round trip, clamping, rejection of
//! malformed values with a message (never a panic), embedding flags, and the
//! mapping onto the same parameter structs the CLI uses.

use sharpening_lab::reward::Reward;
use sharpening_lab::rng::{Rng, Stream};
use sharpening_lab::sharpen::{BonParams, SftParams};
use sharpening_lab::app::Experiment;
use sharpening_lab::ui::params::{Kind, Key, UiState, PARAMS};
use sharpening_lab::ui::url;

#[test]
fn defaults_match_the_cli_defaults() {
    let s = UiState::default();
    let b = s.bon_params(5);
    let d = BonParams::default();
    assert_eq!((b.n, b.prompts, b.rewards, b.seed, b.threshold), (d.n, d.prompts, d.rewards, d.seed, d.threshold));
    let f = s.sft_params(5);
    let d = SftParams::default();
    assert_eq!((f.prompts, f.n, f.reward, f.steps, f.batch, f.eval_every), (d.prompts, d.n, d.reward, d.steps, d.batch, d.eval_every));
    assert_eq!((f.lr, f.delta, f.clip, f.threshold), (d.lr, d.delta, d.clip, d.threshold));
    assert_eq!(s.view(), Experiment::Explore);
    let r = s.rlhf_params(5);
    let d = sharpening_lab::sharpen::RlhfParams::default();
    assert_eq!((r.prompts, r.beta, r.steps, r.lr, r.pairs, r.online, r.alpha, r.eval_every), (d.prompts, d.beta, d.steps, d.lr, d.pairs, d.online, d.alpha, d.eval_every));
    let e = s.efficiency_params();
    let d = sharpening_lab::sharpen::efficiency::EfficiencyParams::default();
    assert_eq!((e.prompts, e.sft_n, e.sft_steps, e.rlhf_steps, e.beta), (d.prompts, d.sft_n, d.sft_steps, d.rlhf_steps, d.beta));
}

#[test]
fn hash_round_trips_random_states() {
    let mut rng = Rng::new(11, Stream::Fixture { a: 0, b: 0 }).unwrap();
    for _ in 0..300 {
        let mut s = UiState::default();
        for p in PARAMS {
            let v = match p.kind {
                Kind::Choice(o) => o[rng.below(o.len() as u64) as usize].to_string(),
                Kind::ChoiceSet(o) => o.iter().filter(|_| rng.below(2) == 1).copied().collect::<Vec<_>>().join(","),
                Kind::Int { min, max } => (min + rng.below((max - min + 1) as u64) as i64).to_string(),
                Kind::Float { min, max } => format!("{}", min + rng.uniform() * (max - min)),
                Kind::IntList { min, max, .. } => (0..1 + rng.below(4)).map(|_| (min + rng.below((max - min + 1) as u64) as i64).to_string()).collect::<Vec<_>>().join(","),
                Kind::FloatList { min, max, .. } => (0..1 + rng.below(4)).map(|_| format!("{}", min + rng.uniform() * (max - min))).collect::<Vec<_>>().join(","),
                Kind::Text { .. } => ["12+34=", "a&b=c#d%", "7*8=", " x y ", "ü+é="][rng.below(5) as usize].to_string(),
            };
            s.set(p.key, &v);
        }
        s.embed = rng.below(2) == 1;
        if rng.below(2) == 1 {
            s.hidden.insert(Key::Seed);
        }
        let hash = s.to_hash();
        let (back, msgs) = UiState::from_hash(&format!("#{hash}"));
        assert!(msgs.is_empty(), "a canonical hash read back with messages {msgs:?}: {hash}");
        assert_eq!(back, s, "round trip of {hash}");
    }
}

#[test]
fn prompts_with_reserved_characters_survive() {
    let mut s = UiState::default();
    s.set(Key::Prompt, "19+23=");
    let h = s.to_hash();
    assert!(h.contains("prompt=19%2B23%3D"), "{h}");
    let (back, _) = UiState::from_hash(&h);
    assert_eq!(back.get(Key::Prompt), "19+23=");
    assert_eq!(url::decode("%E2%9C%93").as_deref(), Some("✓"));
    assert_eq!(url::decode("%zz"), None);
    assert_eq!(url::decode("%E2"), None, "truncated UTF-8 is rejected");
}

#[test]
fn out_of_range_values_are_clamped_with_a_message() {
    let (s, msgs) = UiState::from_hash("#temperature=50&top_p=0&steps=-3&seed=99999999999&n=0,4,4,5000,x&samples=1e9");
    assert_eq!(s.get(Key::Temperature), "10");
    assert_eq!(s.get(Key::TopP), "0.01");
    assert_eq!(s.get(Key::Steps), "0");
    assert_eq!(s.get(Key::Seed), "4294967295");
    assert_eq!(s.get(Key::N), "1,4,1024");
    assert_eq!(s.get(Key::Samples), "16", "a malformed number falls back to the default");
    assert_eq!(msgs.len(), 6, "one message per changed value: {msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("Temperature") && m.contains("50")), "{msgs:?}");
}

#[test]
fn malformed_and_unknown_parameters_never_fail() {
    let nasty = [
        "#", "#&&&", "#=", "#==1", "#task", "#task=", "#task=div", "#lr=NaN", "#lr=inf", "#lr=-inf", "#%", "#%4", "#seed=%FF%FE",
        "#bogus=1", "#bogus_hide=1", "#view=../../etc", "#rewards=none", "#rewards=loglik,nope", "#prompt=%00%01abc",
        "#n=,,,", "#temperature=1e400", "#embed=yes", "#seed=18446744073709551616",
    ];
    for h in nasty {
        let (s, _msgs) = UiState::from_hash(h);
        // Every value is canonical again: the state maps onto valid parameters.
        s.bon_params(5).validate().unwrap_or_else(|e| panic!("{h}: {e}"));
        s.sft_params(5).validate().unwrap_or_else(|e| panic!("{h}: {e}"));
        s.explore_params(5).sampling.validate().unwrap();
        let (again, msgs) = UiState::from_hash(&s.to_hash());
        assert_eq!(again, s, "{h}");
        assert!(msgs.is_empty(), "{h}: {msgs:?}");
    }
    let (s, msgs) = UiState::from_hash("#task=div&bogus=1&rewards=loglik,nope");
    assert_eq!(s.task(), "add");
    assert_eq!(s.get(Key::Rewards), "loglik");
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    let (s, _) = UiState::from_hash("#prompt=%00%01abc");
    assert_eq!(s.get(Key::Prompt), "abc", "control characters are removed");
}

/// Every control of the view: the model's, the main ones and "More settings".
fn all_controls(s: &UiState) -> String {
    use sharpening_lab::ui::controls::{controls_html, Group};
    [Group::Model, Group::Main, Group::More].map(|g| controls_html(s, g)).concat()
}

#[test]
fn embed_and_hide_flags() {
    let (s, msgs) = UiState::from_hash("#view=sft&embed=1&seed_hide=1&lr_hide=true&steps_hide=0");
    assert!(msgs.is_empty(), "{msgs:?}");
    assert!(s.embed);
    assert!(s.is_hidden(Key::Seed) && s.is_hidden(Key::Lr) && !s.is_hidden(Key::Steps));
    assert_eq!(s.view(), Experiment::Sft);
    let html = all_controls(&s);
    assert!(!html.contains("name=\"seed\"") && !html.contains("name=\"lr\""), "hidden controls are left out");
    assert!(html.contains("name=\"steps\"") && html.contains("<label for=\"ctl-steps\">"));
    let h = s.to_hash();
    assert!(h.contains("embed=1") && h.contains("lr_hide=1") && h.contains("seed_hide=1"), "{h}");
}

#[test]
fn state_maps_to_run_parameters() {
    let (s, _) = UiState::from_hash("#view=bon&n=16,4&prompts=12&rewards=majority,loglik&temperature=0.7&top_k=5&seed=9");
    let b = s.bon_params(5);
    assert_eq!(b.n, vec![4, 16]);
    assert_eq!(b.rewards, vec![Reward::Loglik, Reward::Majority], "rewards in canonical order");
    assert_eq!((b.prompts, b.seed, b.sampling.top_k, b.sampling.temperature, b.sampling.max_new_tokens), (12, 9, 5, 0.7, 5));
    // Every control of every view has a label (the held-out share shows only for the user's own set).
    for (v, task) in Experiment::ALL.into_iter().flat_map(|v| [(v, "add"), (v, "custom")]) {
        let (s, _) = UiState::from_hash(&format!("#view={}&task={task}", v.key()));
        let html = all_controls(&s);
        for p in PARAMS.iter().filter(|p| p.views.contains(&v)) {
            let labelled = html.contains(&format!("for=\"ctl-{}\"", p.name)) || html.contains(&format!("<legend>{}</legend>", p.label));
            let shown = p.key != Key::EvalShare || task == "custom";
            assert_eq!(labelled, shown, "control {} in view {:?} with task {task}: labelled {labelled}", p.name, v);
        }
    }
}

#[test]
fn real_model_defaults_keep_the_users_values() {
    let (mut ui, _) = UiState::from_hash("#task=arithmetic&prompts=20");
    let notice = ui.real_model_defaults().expect("some defaults change");
    assert_eq!(ui.get(Key::Prompts), "20", "a value from the link stays");
    assert_eq!((ui.get(Key::N), ui.get(Key::Steps), ui.get(Key::Samples)), ("1,4,8", "10", "8"));
    assert!(notice.contains("steps 10") && !notice.contains("prompts 10"), "{notice}");
    assert!(ui.real_model_defaults().is_none(), "applied once");
}

/// The backend rule (one for the page and the CLI): cpu never, auto only
/// for a real model on a hardware adapter, gpu on any adapter; each refusal
/// says why. The page's parameter and the CLI's flag spell it the same.
#[test]
fn backend_choice_rules() {
    use sharpening_lab::app::backend::Backend;
    assert_eq!(Backend::Auto.before_adapter(false, true).unwrap(), "CPU (no model loaded yet)");
    assert_eq!(Backend::Cpu.before_adapter(true, true).unwrap(), "CPU (chosen)");
    assert!(Backend::Auto.before_adapter(true, false).unwrap().contains("too small"));
    assert_eq!(Backend::Auto.before_adapter(true, true), None, "a real model: ask for an adapter");
    assert_eq!(Backend::Gpu.before_adapter(true, false), None, "gpu forces it on a built-in model");
    for b in [Backend::Auto, Backend::Gpu] {
        assert!(b.with_adapter(None).unwrap().contains("no GPU adapter"));
        assert_eq!(b.with_adapter(Some(false)), None, "{b:?}: a hardware adapter is used");
    }
    assert!(Backend::Auto.with_adapter(Some(true)).unwrap().contains("software one"));
    assert_eq!(Backend::Gpu.with_adapter(Some(true)), None, "gpu: even a software adapter");
    let Kind::Choice(keys) = sharpening_lab::ui::params::param(Key::Backend).kind else { panic!() };
    assert_eq!(keys.iter().map(|k| Backend::parse(k).unwrap()).collect::<Vec<_>>(), Backend::ALL);
    assert!(Backend::parse("webgpu").is_err());
    let (ui, msgs) = UiState::from_hash("#backend=gpu");
    assert!(msgs.is_empty() && ui.backend() == Backend::Gpu);
}

/// Every parameter is declared at its key's index, its name is unique, and
/// its default is valid (so `num` never falls back on a bad default).
#[test]
fn parameter_keys_index_their_declarations() {
    use sharpening_lab::ui::params::{normalize, param, param_named};
    for (i, p) in PARAMS.iter().enumerate() {
        assert_eq!(p.key as usize, i, "{} is declared out of order", p.name);
        assert_eq!(param(p.key).name, p.name);
        assert_eq!(param_named(p.name).unwrap().key, p.key, "{} is not unique", p.name);
        assert_eq!(normalize(p, p.default), (p.default.to_string(), None), "{}'s default", p.name);
    }
}
