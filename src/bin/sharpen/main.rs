//! `sharpen`: the command line of Sharpening Lab. A thin layer over the
//! library: parse options, load a model, run, print a table or JSON.

mod args;
mod bench;
#[cfg(not(target_arch = "wasm32"))]
mod gpu_bench;
mod commands;
mod table;

use std::process::ExitCode;

const HELP: &str = "\
sharpen — sharpening experiments on small transformers (arXiv 2412.01951)

USAGE: sharpen <command> [options]

COMMANDS
  bon    best-of-N sweep       --n 1,4,16,64 --prompts 100 --reward all|loglik,... [--backend cpu|gpu|auto] [--gpu-weights f32|f16]
  sft    SFT-Sharpening        --steps 200 --prompts 64 --samples 16 --reward loglik --lr 1e-3
         on a real model (LoRA): --model F.gguf --task arithmetic|capitals|counting (or --prompts TRAIN.jsonl
         [--eval-prompts TEST.jsonl | --eval-fraction 0.3]) --prompts 24 --eval-prompts 24 --layers 10 --rank 8
         --alpha 16 --eval-samples 4 [--save-adapter DIR]
  rlhf   RLHF-Sharpening (Eq. 8) --beta 1 --steps 200 --pairs 32 --lr 1e-3 [--online --alpha A]
  score  log-probabilities of an answer      --model FILE.gguf|DIR --prompt P --answer A [--raw]
  exact  exact answer distribution of one prompt   --prompt \"12+34=\"
  explore  N samples of one prompt, every self-reward and its pick (the page's explorer)   --prompt P --n 16 [--backend cpu|gpu|auto] [--gpu-weights f32|f16]
  closed-form  pi_base^(1+1/beta) vs token temperature for one prompt   --prompt P --beta 1
  gap    generation-verification gap (verifier AUC, reweighting)        --prompts 200
  efficiency   pi(y*) vs samples from pi_base, SFT at several N vs RLHF  --sft-n 1,2,4,8,16
  complexity   samples needed for (eps, delta): best-of-N (exact), SFT (measured), Thm 4.1 / 3.1  --eps 0.05,0.1 --delta 0.05,0.1 [--gamma G]
  coverage     pi(y*) vs samples for SFT, offline RLHF, Alg. 1 (online): on a transformer (--task lock|add|mul, default lock) or Example J.1 (--task j1 --structure lock|cube --d 10)  --alphas 0,0.1
  margin       coverage vs margin: the closed form over beta, each prompt's margin vs the beta it needs  --betas 0.01,0.1,1 --delta 0.1
  train  train a built-in model from a seed        --task add|mul|lock|echo --out DIR --steps 3000
  bench  throughput and model FLOP utilisation     --quick   [--model F.gguf --lora: a LoRA step each way]
  gpu-bench  GPU vs CPU: matmul GFLOP/s, batched decoding  --sizes 256,4096 --batches 1,16,64 --shape smollm2-135m|--model F.gguf
  help   this text

COMMON OPTIONS
  --task add|mul      built-in task (default add)
  --model PATH        a Llama-family .gguf file, or a Hugging Face folder
                      (config.json, model.safetensors, tokenizer.json,
                      tokenizer_config.json if present);
                      default: the task's built-in model
  --adapter DIR       LoRA adapters in Hugging Face PEFT's layout, merged into --model
  --seed S            random seed (default 0)
  --temperature T  --top-k K  --top-p P  --max-new-tokens M   sampling
  --json              print one JSON object instead of a table
";

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so printing into a closed pipe (`sharpen ... |
    // head`) would panic in println!; the default action ends the process
    // quietly, as for any command-line tool.
    #[cfg(unix)]
    // SAFETY: called first in main, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // The built-in models are tiny: candle's thread pool costs more than it
    // gains (sampling at N = 1 measured 6x slower with 2 threads than with 1 on
    // a 2-core machine). Respect an explicit RAYON_NUM_THREADS.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match argv.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => ("help", &argv[..0]),
    };
    let run = || match cmd {
        "bon" => commands::bon(rest),
        "sft" => commands::sft(rest),
        "rlhf" => commands::rlhf(rest),
        "exact" => commands::exact(rest),
        "explore" => commands::explore(rest),
        "score" => commands::score(rest),
        "closed-form" => commands::closed_form(rest),
        "gap" => commands::gap(rest),
        "efficiency" => commands::efficiency(rest),
        "complexity" => commands::complexity(rest),
        "margin" => commands::margin(rest),
        "coverage" => commands::coverage(rest),
        "train" => commands::train(rest),
        "bench" => bench::run(rest),
        #[cfg(not(target_arch = "wasm32"))]
        "gpu-bench" => gpu_bench::run(rest),
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => Err(format!("unknown command {other:?}; commands: bon, sft, rlhf, score, exact, explore, closed-form, gap, efficiency, complexity, margin, coverage, train, bench, gpu-bench, help")),
    };
    // Freed memory stays in the process, and with one thread (the default)
    // candle's row-parallel ops run inline instead of handing each call to a
    // pool thread: neither changes a number (`runtime`).
    let result = sharpening_lab::runtime::run(run);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
