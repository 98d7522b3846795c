//! Prompt sets for real models (JSONL with `prompt` and `answer`): parsing
//! with line-numbered errors, the checkers, and best-of-N on a user's set
//! with Monte-Carlo metrics (here with the built-in model, whose answers are
//! short; the real-model run is in tests/real_model.rs and README).

use sharpening_lab::tasks::prompt_set::{Check, PromptSet};
use sharpening_lab::tasks::{by_name, Task};

#[test]
fn shipped_sets_and_checkers() {
    let a = by_name("arithmetic").unwrap();
    assert_eq!(a.num_problems(), 30);
    assert!(!a.enumerable());
    let q = a.parse("What is 1 + 2?").unwrap();
    assert_eq!(q.answer, "3");
    for (resp, ok) in [("1 + 2 = 3.", true), ("The answer is 3", true), ("3", true), ("It is 03", true), ("1 + 2 = 4", false), ("three", false), ("-3", false)] {
        assert_eq!(a.check(&q, resp), ok, "{resp:?}");
    }
    let c = PromptSet::builtin("capitals").unwrap();
    assert_eq!(c.check_kind(), Check::Contains);
    let q = c.parse("What is the capital of Argentina?").unwrap();
    for (resp, ok) in [("Buenos Aires.", true), ("It's buenos aires!", true), ("Aires", false), ("Buenos Airesville", false)] {
        assert_eq!(c.check(&q, resp), ok, "{resp:?}");
    }
    assert!(c.parse("What is the capital of Mars?").is_err(), "unknown answers are refused");
}

#[test]
fn malformed_prompt_sets_name_the_line() {
    for (text, needle) in [
        ("", "no prompts"),
        ("{\"prompt\": \"x\"}", "line 1"),
        ("{\"prompt\": \"x\", \"answer\": 1}\nnot json", "line 2"),
        ("{\"prompt\": \"\", \"answer\": \"a\"}", "empty"),
        ("{\"prompt\": \"x\", \"answer\": [1]}", "not text or a number"),
    ] {
        let e = PromptSet::from_jsonl("custom", text, 8).err().expect("must fail").to_string();
        assert!(e.contains(needle), "{text:?}: {e}");
    }
    let ok = PromptSet::from_jsonl("custom", "{\"prompt\": \"a\", \"answer\": 7}\n\n{\"prompt\": \"b\", \"answer\": \"-2\"}\n", 8).unwrap();
    assert_eq!(ok.check_kind(), Check::LastNumber);
    assert_eq!(ok.num_problems(), 2);
}

#[test]
fn best_of_n_on_a_users_prompt_set() {
    let dir = std::env::temp_dir().join(format!("sharpening-prompts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("sums.jsonl");
    std::fs::write(&file, "{\"prompt\": \"12+34=\", \"answer\": 46}\n{\"prompt\": \"25+13=\", \"answer\": 38}\n{\"prompt\": \"39+25=\", \"answer\": 64}\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sharpen"))
        .args(["bon", "--prompts", file.to_str().unwrap(), "--n", "1,8", "--reward", "loglik,loglik_norm,majority", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["task"], "custom");
    assert_eq!(v["prompts"], 3);
    assert_eq!(v["exact"], false);
    let acc = |n: u64, r: &str| v["rows"].as_array().unwrap().iter().find(|x| x["n"] == n && x["reward"] == r).unwrap()["accuracy"].as_f64().unwrap();
    assert!(acc(8, "loglik") >= acc(1, "loglik"), "best-of-8 by likelihood is no worse here");
    let _ = std::fs::remove_dir_all(dir);
}
