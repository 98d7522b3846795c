//! A small `--key value` argument parser: every option is declared by the
//! subcommand that reads it, and anything unknown, repeated or malformed is a
//! one-line error.

use std::collections::BTreeMap;
use std::str::FromStr;

pub struct Args {
    values: BTreeMap<String, Option<String>>,
    used: std::cell::RefCell<Vec<String>>,
}

impl Args {
    /// Parses `--key value` pairs and bare `--flag`s (`flags` lists the latter).
    pub fn parse(raw: &[String], flags: &[&str]) -> Result<Self, String> {
        let mut values = BTreeMap::new();
        let mut it = raw.iter();
        while let Some(a) = it.next() {
            let key = a.strip_prefix("--").ok_or_else(|| format!("unexpected argument {a:?} (options start with --)"))?;
            let (key, inline) = match key.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (key.to_string(), None),
            };
            let value = if flags.contains(&key.as_str()) {
                if inline.is_some() {
                    return Err(format!("--{key} takes no value"));
                }
                None
            } else {
                match inline {
                    Some(v) => Some(v),
                    None => Some(it.next().ok_or_else(|| format!("--{key} needs a value"))?.clone()),
                }
            };
            if values.insert(key.clone(), value).is_some() {
                return Err(format!("--{key} given twice"));
            }
        }
        Ok(Self { values, used: Default::default() })
    }

    pub fn flag(&self, key: &str) -> bool {
        self.used.borrow_mut().push(key.into());
        self.values.contains_key(key)
    }

    pub fn str(&self, key: &str) -> Option<String> {
        self.used.borrow_mut().push(key.into());
        self.values.get(key).cloned().flatten()
    }

    /// A typed option with a default.
    pub fn get<T: FromStr>(&self, key: &str, default: T) -> Result<T, String> {
        match self.str(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("--{key}: cannot read {v:?} as a {}", kind::<T>())),
        }
    }

    /// A comma-separated list of numbers.
    pub fn list<T: FromStr + Clone>(&self, key: &str, default: &[T]) -> Result<Vec<T>, String> {
        match self.str(key) {
            None => Ok(default.to_vec()),
            Some(v) => v
                .split(',')
                .map(|x| x.trim().parse().map_err(|_| format!("--{key}: cannot read {x:?} as a {}", kind::<T>())))
                .collect(),
        }
    }

    /// Fails on any option the subcommand did not read.
    pub fn finish(&self) -> Result<(), String> {
        let used = self.used.borrow();
        match self.values.keys().find(|k| !used.contains(k)) {
            Some(k) => Err(format!("unknown option --{k} for this command (see sharpen help)")),
            None => Ok(()),
        }
    }
}

fn kind<T>() -> &'static str {
    let n = std::any::type_name::<T>();
    if n.contains("f64") {
        "number"
    } else if n.contains("u64") || n.contains("usize") {
        "whole number"
    } else {
        "value"
    }
}
