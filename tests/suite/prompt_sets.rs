//! Prompt sets for real models (JSONL with `prompt` and `answer`): parsing
//! with line-numbered errors, the checkers, and best-of-N on a user's set
//! with Monte-Carlo metrics (here with the built-in model, whose answers are
//! short; the real-model run is in tests/suite/real_model.rs and README).

use sharpening_lab::tasks::prompt_set::{Check, PromptSet};
use sharpening_lab::tasks::{by_name, split, Task};

#[test]
fn shipped_sets_and_checkers() {
    let a = by_name("arithmetic").unwrap();
    assert_eq!(a.num_problems(), 300);
    assert!(!a.enumerable());
    let q = a.parse("What is 1 + 2? Answer in one short sentence.").unwrap();
    assert_eq!(q.answer, "3");
    for (resp, ok) in [("1 + 2 = 3.", true), ("The answer is 3", true), ("3", true), ("It is 03", true), ("1 + 2 = 4", false), ("three", false), ("-3", false)] {
        assert_eq!(a.check(&q, resp), ok, "{resp:?}");
    }
    let c = PromptSet::builtin("capitals").unwrap();
    assert_eq!(c.check_kind(), Check::Contains);
    let q = c.parse("What is the capital of Argentina? Answer in one short sentence.").unwrap();
    for (resp, ok) in [("Buenos Aires.", true), ("It's buenos aires!", true), ("Aires", false), ("Buenos Airesville", false)] {
        assert_eq!(c.check(&q, resp), ok, "{resp:?}");
    }
    // Accents and apostrophes do not make a right answer wrong.
    let q = c.parse("What is the capital of Colombia? Answer in one short sentence.").unwrap();
    assert!(c.check(&q, "The capital of Colombia is Bogotá."));
    let q = c.parse("What is the capital of Chad? Answer in one short sentence.").unwrap();
    assert!(c.check(&q, "N’Djamena") && c.check(&q, "NDjamena") && !c.check(&q, "Djamena"));
    let n = by_name("counting").unwrap();
    let q = n.parse("What number comes after 41? Answer in one short sentence.").unwrap();
    assert!(n.check(&q, "After 41 comes 42.") && !n.check(&q, "42 comes before 41."));
    assert!(c.parse("What is the capital of Mars?").is_err(), "unknown answers are refused");
}

/// The shipped sets' fixed splits: sizes, disjoint, every prompt once, the
/// answers right (sums, successors), and the held-out share near 30%.
#[test]
fn shipped_sets_have_fixed_disjoint_splits() {
    for (name, size) in [("arithmetic", 300), ("capitals", 177), ("counting", 300)] {
        let t = by_name(name).unwrap();
        assert_eq!(t.num_problems(), size, "{name}");
        let (train, eval) = split::indices(t.as_ref());
        assert_eq!(train.len() + eval.len(), size);
        assert_eq!(eval.len(), (size as f64 * 0.3).round() as usize, "{name}: 30% held out");
        let prompts: std::collections::HashSet<String> = (0..size).map(|i| t.problem(i).prompt).collect();
        assert_eq!(prompts.len(), size, "{name}: no prompt twice, so no prompt on both sides");
        let (tr, ev) = split::choose(t.as_ref(), 1000, 1000, 3).unwrap();
        assert!(tr.iter().all(|q| !ev.contains(q)), "{name}: chosen training and evaluation prompts are disjoint");
        let (tr2, _) = split::choose(t.as_ref(), 20, 5, 3).unwrap();
        assert!(tr2.iter().all(|q| tr.contains(q)), "{name}: a smaller draw stays on its side");
    }
    let a = by_name("arithmetic").unwrap();
    for i in 0..a.num_problems() {
        let q = a.problem(i);
        let nums: Vec<i64> = q.prompt.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect();
        assert_eq!(nums[0] + nums[1], q.answer.parse::<i64>().unwrap(), "{}", q.prompt);
    }
    let two_digit = (0..a.num_problems()).filter(|&i| a.problem(i).prompt.split(' ').any(|w| w.trim_end_matches('?').parse::<u32>().is_ok_and(|n| n >= 10))).count();
    assert!(two_digit >= 150, "{two_digit} sums with a two-digit number");
}

/// A user's set: lines may carry their own split; the rest are split by the
/// hash of their text (stable under reordering), at a share the user picks;
/// two files keep their roles and may not share a prompt.
#[test]
fn users_sets_split_by_line_hash_or_by_file() {
    let lines: Vec<String> = (0..200).map(|i| format!("{{\"prompt\": \"q{i}\", \"answer\": {i}}}")).collect();
    let set = PromptSet::from_jsonl("custom", &lines.join("\n"), 8).unwrap();
    let (tr, ev) = split::indices(&set);
    assert!((40..=80).contains(&ev.len()), "about 30% of 200 held out: {}", ev.len());
    let held: std::collections::HashSet<String> = ev.iter().map(|&i| set.problem(i).prompt).collect();
    let mut rev = lines.clone();
    rev.reverse();
    let set2 = PromptSet::from_jsonl("custom", &rev.join("\n"), 8).unwrap();
    let held2: std::collections::HashSet<String> = split::indices(&set2).1.iter().map(|&i| set2.problem(i).prompt).collect();
    assert_eq!(held, held2, "the split follows the text, not the line order");
    let mut half = PromptSet::from_jsonl("custom", &lines.join("\n"), 8).unwrap();
    half.set_eval_share(0.5).unwrap();
    assert!((80..=120).contains(&split::indices(&half).1.len()));
    assert!(half.set_eval_share(1.0).is_err() && half.set_eval_share(0.0).is_err());
    assert_eq!(tr.len() + ev.len(), 200);
    let tagged = PromptSet::from_jsonl("custom", "{\"prompt\": \"a\", \"answer\": 1, \"split\": \"eval\"}\n{\"prompt\": \"b\", \"answer\": 2, \"split\": \"train\"}", 8).unwrap();
    assert_eq!(split::indices(&tagged), (vec![1], vec![0]));
    let e = PromptSet::from_jsonl("custom", "{\"prompt\": \"a\", \"answer\": 1, \"split\": \"test\"}", 8).err().unwrap().to_string();
    assert!(e.contains("line 1") && e.contains("\"train\" or \"eval\""), "{e}");
    let two = PromptSet::from_two("custom", "{\"prompt\": \"a\", \"answer\": 1}", "{\"prompt\": \"b\", \"answer\": 2}\n{\"prompt\": \"c\", \"answer\": 3}", 8).unwrap();
    assert_eq!(split::indices(&two), (vec![0], vec![1, 2]));
    let e = PromptSet::from_two("custom", "{\"prompt\": \"a\", \"answer\": 1}", "{\"prompt\": \"a\", \"answer\": 1}", 8).err().unwrap().to_string();
    assert!(e.contains("in both"), "{e}");
    let only_train = PromptSet::from_jsonl("custom", "{\"prompt\": \"a\", \"answer\": 1, \"split\": \"train\"}", 8).unwrap();
    let e = split::choose(&only_train, 4, 4, 0).err().unwrap().to_string();
    assert!(e.contains("0 evaluation prompts"), "{e}");
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
