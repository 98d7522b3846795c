//! LoRA SFT-Sharpening (the real-model fine-tuning path), on the built-in
//! model so it runs everywhere: fresh adapters change nothing, training raises
//! the log-likelihood of the best-of-N answers and leaves the base weights
//! alone, and a fixed seed gives the same numbers.

use candle_core::Tensor;
use candle_nn::{VarBuilder, VarMap};
use sharpening_lab::builtin;
use sharpening_lab::model::Llama;
use sharpening_lab::sharpen::lora_sft::{run_lora_sft, LoraParams};
use sharpening_lab::tasks::by_name;

fn params() -> LoraParams {
    let mut p = LoraParams { prompts: 12, n: 8, steps: 15, lr: 1e-2, rank: 4, eval_samples: 4, ..Default::default() };
    p.sampling.max_new_tokens = 4;
    p
}

#[test]
fn fresh_adapters_leave_the_model_unchanged() {
    let m = builtin::load("add").unwrap();
    let vars = VarMap::new();
    let vb = VarBuilder::from_tensors(m.tensors.clone(), candle_core::DType::F32, m.llama.device());
    let mut adapted = Llama::new(m.llama.config(), vb, false).unwrap();
    adapted.add_lora(&vars, 4, 8.0, 0).unwrap();
    assert!(adapted.weights_kind().contains("LoRA"));
    let ids = Tensor::new(&[[1u32, 5, 7, 9, 3]], m.llama.device()).unwrap();
    let a = m.llama.forward(&ids, None).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let b = adapted.forward(&ids, None).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(a, b, "B = 0 at the start: the adapted model is the base model");
    assert!(adapted.add_lora(&vars, 0, 8.0, 0).is_err(), "rank 0 is refused");
}

#[test]
fn lora_sft_raises_the_likelihood_of_its_dataset_deterministically() {
    let m = builtin::load("add").unwrap();
    let task = by_name("add").unwrap();
    let before: Vec<f32> = m.tensors["model.layers.0.mlp.up_proj.weight"].flatten_all().unwrap().to_vec1().unwrap();
    let clock = || 0.0;
    let r = run_lora_sft(&m, task.as_ref(), &params(), &clock, &mut |_, _| true).unwrap();
    assert!(r.dataset_size > 0 && r.adapter_params > 0);
    assert!(
        r.after.dataset_logp > r.before.dataset_logp + 0.05,
        "log pi(y_BoN|x): {} -> {}",
        r.before.dataset_logp,
        r.after.dataset_logp
    );
    assert!(r.steps.last().unwrap().loss < r.steps[0].loss);
    let after: Vec<f32> = m.tensors["model.layers.0.mlp.up_proj.weight"].flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(before, after, "the base weights are frozen");
    let again = run_lora_sft(&m, task.as_ref(), &params(), &clock, &mut |_, _| true).unwrap();
    assert_eq!(serde_json::to_string(&r).unwrap(), serde_json::to_string(&again).unwrap(), "same seed, same numbers");
    // Cancelling stops the run with an error.
    let mut calls = 0;
    let e = run_lora_sft(&m, task.as_ref(), &params(), &clock, &mut |_, _| { calls += 1; calls < 3 }).unwrap_err();
    assert!(matches!(e, sharpening_lab::Error::Cancelled), "{e}");
    // Bad parameters are errors.
    assert!(run_lora_sft(&m, task.as_ref(), &LoraParams { rank: 0, ..params() }, &clock, &mut |_, _| true).is_err());
}
