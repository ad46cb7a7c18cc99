//! Reading YAML/JSON input into typed values with precise, path-named diagnostics.
//!
//! Everything the user writes (scenarios and manifests) is parsed into a
//! `serde_json::Value` first (serde-saphyr does the YAML), then walked by hand
//! with [`Obj`]. The walk records which keys were read, so that at the end of
//! an object every unread key is either an error (a typo: "unknown field",
//! with the nearest known name) or, for Kubernetes fields the simulator knows
//! but does not model, kept verbatim and reported as "not simulated".

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// One problem found in the input, located by a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diag {
    pub path: String,
    pub message: String,
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Collected diagnostics of one input document.
#[derive(Debug, Default, Clone)]
pub struct Diags {
    pub errors: Vec<Diag>,
    pub warnings: Vec<Diag>,
    /// Valid Kubernetes fields that are kept but not simulated (path of the field).
    pub not_simulated: Vec<String>,
}

impl Diags {
    pub fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Diag {
            path: path.into(),
            message: message.into(),
        });
    }
    pub fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Diag {
            path: path.into(),
            message: message.into(),
        });
    }
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }
    pub fn extend(&mut self, other: Diags) {
        self.errors.extend(other.errors);
        self.warnings.extend(other.warnings);
        self.not_simulated.extend(other.not_simulated);
    }
}

/// Joins a path and a key the way error messages show them.
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Joins a path and a list index.
pub fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// A short description of a JSON value for "found ..." messages.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => {
            if s.len() > 40 {
                format!(
                    "string \"{}...\"",
                    &s[..s.char_indices().nth(37).map(|(i, _)| i).unwrap_or(s.len())]
                )
            } else {
                format!("string \"{s}\"")
            }
        }
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The known name nearest to `word`, if it is near enough to be a likely typo.
pub fn nearest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for k in known {
        let d = if k.to_ascii_lowercase() == lower {
            0
        } else {
            edit_distance(word, k)
        };
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, k));
        }
    }
    let limit = (word.chars().count() / 3).max(2);
    best.filter(|(d, _)| *d <= limit).map(|(_, k)| k)
}

/// Formats the "unknown field" message with a suggestion when one is near.
pub fn unknown_field_message<'a>(key: &str, known: impl IntoIterator<Item = &'a str> + Clone) -> String {
    match nearest(key, known.clone()) {
        Some(s) => format!("unknown field \"{key}\"; did you mean \"{s}\"?"),
        None => {
            let mut list: Vec<&str> = known.into_iter().collect();
            list.sort_unstable();
            list.dedup();
            format!("unknown field \"{key}\"; expected one of: {}", list.join(", "))
        }
    }
}

/// A mapping being read. Keys that are read are remembered; [`Obj::finish`]
/// reports the rest.
pub struct Obj<'v> {
    pub path: String,
    pub map: &'v Map<String, Value>,
    asked: Vec<&'static str>,
}

impl<'v> Obj<'v> {
    /// Starts reading `v` as a mapping; reports an error and returns `None` otherwise.
    pub fn new(path: impl Into<String>, v: &'v Value, d: &mut Diags) -> Option<Obj<'v>> {
        let path = path.into();
        match v {
            Value::Object(map) => Some(Obj {
                path,
                map,
                asked: Vec::new(),
            }),
            other => {
                d.error(path, format!("expected a mapping, found {}", describe(other)));
                None
            }
        }
    }

    pub fn at(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// The raw value of `key`; `null` counts as absent, as in Kubernetes.
    pub fn get(&mut self, key: &'static str) -> Option<&'v Value> {
        self.asked.push(key);
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    pub fn has(&self, key: &str) -> bool {
        matches!(self.map.get(key), Some(v) if !v.is_null())
    }

    pub fn str(&mut self, key: &'static str, d: &mut Diags) -> Option<String> {
        let v = self.get(key)?;
        match v {
            Value::String(s) => Some(s.clone()),
            other => {
                d.error(self.at(key), format!("expected a string, found {}", describe(other)));
                None
            }
        }
    }

    /// A string that may also be written as a plain number or boolean (e.g. a
    /// quantity `8` or a label value). YAML turns such scalars into numbers.
    pub fn scalar_str(&mut self, key: &'static str, d: &mut Diags) -> Option<String> {
        let v = self.get(key)?;
        scalar_to_string(v).or_else(|| {
            d.error(self.at(key), format!("expected a string, found {}", describe(v)));
            None
        })
    }

    pub fn req_str(&mut self, key: &'static str, d: &mut Diags) -> Option<String> {
        if !self.has(key) {
            self.asked.push(key);
            d.error(self.at(key), "required field is missing");
            return None;
        }
        self.str(key, d)
    }

    pub fn bool(&mut self, key: &'static str, d: &mut Diags) -> Option<bool> {
        let v = self.get(key)?;
        match v {
            Value::Bool(b) => Some(*b),
            other => {
                d.error(
                    self.at(key),
                    format!("expected true or false, found {}", describe(other)),
                );
                None
            }
        }
    }

    pub fn i64(&mut self, key: &'static str, d: &mut Diags) -> Option<i64> {
        let v = self.get(key)?;
        let p = self.at(key);
        value_i64(&p, v, d)
    }

    /// An int32 as Kubernetes types it: out-of-range values are errors.
    pub fn i32(&mut self, key: &'static str, d: &mut Diags) -> Option<i32> {
        let n = self.i64(key, d)?;
        match i32::try_from(n) {
            Ok(n) => Some(n),
            Err(_) => {
                d.error(self.at(key), format!("expected a 32-bit integer, found {n}"));
                None
            }
        }
    }

    pub fn u64(&mut self, key: &'static str, d: &mut Diags) -> Option<u64> {
        let n = self.i64(key, d)?;
        if n < 0 {
            d.error(self.at(key), format!("expected a non-negative integer, found {n}"));
            return None;
        }
        Some(n as u64)
    }

    /// A duration such as `90s` or `1h30m`, in milliseconds.
    pub fn duration(&mut self, key: &'static str, d: &mut Diags) -> Option<u64> {
        let v = self.get(key)?;
        let p = self.at(key);
        value_duration(&p, v, d)
    }

    pub fn obj(&mut self, key: &'static str, d: &mut Diags) -> Option<Obj<'v>> {
        let v = self.get(key)?;
        Obj::new(self.at(key), v, d)
    }

    /// A list: each item with its path.
    pub fn list(&mut self, key: &'static str, d: &mut Diags) -> Vec<(String, &'v Value)> {
        let Some(v) = self.get(key) else {
            return Vec::new();
        };
        match v {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (index(&self.at(key), i), v))
                .collect(),
            other => {
                d.error(self.at(key), format!("expected a list, found {}", describe(other)));
                Vec::new()
            }
        }
    }

    /// A list of strings.
    pub fn str_list(&mut self, key: &'static str, d: &mut Diags) -> Vec<String> {
        let mut out = Vec::new();
        for (p, v) in self.list(key, d) {
            match v {
                Value::String(s) => out.push(s.clone()),
                other => d.error(p, format!("expected a string, found {}", describe(other))),
            }
        }
        out
    }

    /// A map of string to string (labels, annotations, nodeSelector).
    pub fn str_map(&mut self, key: &'static str, d: &mut Diags) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let Some(o) = self.obj(key, d) else {
            return out;
        };
        for (k, v) in o.map {
            if v.is_null() {
                continue;
            }
            match scalar_to_string(v) {
                Some(s) => {
                    out.insert(k.clone(), s);
                }
                None => d.error(join(&o.path, k), format!("expected a string, found {}", describe(v))),
            }
        }
        out
    }

    /// Ends the read: unread keys in `kept` are returned (and noted as not
    /// simulated); any other unread key is an "unknown field" error naming the
    /// nearest known key.
    pub fn finish(self, d: &mut Diags, kept: &[&'static str]) -> BTreeMap<String, Value> {
        self.finish_with(d, kept, true)
    }

    /// Like [`Obj::finish`], with control over whether kept keys are noted.
    pub fn finish_with(self, d: &mut Diags, kept: &[&'static str], note: bool) -> BTreeMap<String, Value> {
        let mut extra = BTreeMap::new();
        for (k, v) in self.map {
            if self.asked.iter().any(|a| *a == k) {
                continue;
            }
            if kept.iter().any(|a| *a == k) {
                if note && !v.is_null() {
                    d.not_simulated.push(join(&self.path, k));
                }
                extra.insert(k.clone(), v.clone());
                continue;
            }
            let known = self.asked.iter().copied().chain(kept.iter().copied());
            d.error(join(&self.path, k), unknown_field_message(k, known));
        }
        extra
    }
}

/// Converts a scalar to its string form (`8` → "8", `true` → "true").
pub fn scalar_to_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(number_string(n)),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn number_string(n: &serde_json::Number) -> String {
    if let Some(f) = n.as_f64().filter(|_| n.is_f64())
        && f.fract() == 0.0
        && f.abs() < 1e15
    {
        return format!("{}", f as i64);
    }
    n.to_string()
}

pub fn value_i64(path: &str, v: &Value, d: &mut Diags) -> Option<i64> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                return Some(i);
            }
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() <= 9.007e15
            {
                return Some(f as i64);
            }
            d.error(path, format!("expected an integer, found number {n}"));
            None
        }
        other => {
            d.error(path, format!("expected an integer, found {}", describe(other)));
            None
        }
    }
}

pub fn value_duration(path: &str, v: &Value, d: &mut Diags) -> Option<u64> {
    match v {
        Value::String(s) => match crate::units::parse_duration(s) {
            Ok(ms) => Some(ms),
            Err(e) => {
                d.error(path, e);
                None
            }
        },
        Value::Number(n) if n.as_u64() == Some(0) => Some(0),
        other => {
            d.error(
                path,
                format!(
                    "expected a duration such as \"90s\", \"10m\" or \"1h30m\", found {}",
                    describe(other)
                ),
            );
            None
        }
    }
}

/// Parses one YAML (or JSON) text holding one or more documents.
///
/// Booleans follow YAML 1.2: only `true`/`false` are booleans, so `name: n`
/// or `region: no` stay strings (the YAML 1.1 "Norway problem" is avoided).
pub fn parse_yaml_documents(text: &str) -> Result<Vec<Value>, String> {
    let mut opts = serde_saphyr::Options::default();
    opts.strict_booleans = true;
    serde_saphyr::from_multiple_with_options::<Value>(text, opts).map_err(|e| {
        let s = e.to_string();
        // serde-saphyr prefixes "error: " and adds a code snippet; keep the first line.
        let first = s.lines().next().unwrap_or(&s);
        first.trim_start_matches("error: ").to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_suggests_typos_and_case() {
        assert_eq!(
            nearest("backofLimit", ["backoffLimit", "completions"]),
            Some("backoffLimit")
        );
        assert_eq!(
            nearest("Completions", ["backoffLimit", "completions"]),
            Some("completions")
        );
        assert_eq!(nearest("zzz", ["backoffLimit", "completions"]), None);
    }

    #[test]
    fn finish_reports_unknown_and_keeps_unmodelled() {
        let v: Value = serde_json::json!({"name": "a", "image": "busybox", "imag": 1});
        let mut d = Diags::default();
        let mut o = Obj::new("c", &v, &mut d).unwrap();
        assert_eq!(o.str("name", &mut d).as_deref(), Some("a"));
        let extra = o.finish(&mut d, &["image"]);
        assert!(extra.contains_key("image"));
        assert_eq!(d.not_simulated, vec!["c.image".to_string()]);
        assert_eq!(d.errors.len(), 1);
        assert_eq!(d.errors[0].path, "c.imag");
        assert!(
            d.errors[0].message.contains("did you mean \"image\""),
            "{}",
            d.errors[0].message
        );
    }

    #[test]
    fn yaml_booleans_are_strict_so_short_names_stay_strings() {
        let docs = parse_yaml_documents("a: n\nb: no\nc: true\nd: yes\n").unwrap();
        assert_eq!(docs[0], serde_json::json!({"a": "n", "b": "no", "c": true, "d": "yes"}));
    }

    #[test]
    fn integers_accept_integral_floats_and_reject_strings() {
        let mut d = Diags::default();
        assert_eq!(value_i64("x", &serde_json::json!(1000.0), &mut d), Some(1000));
        assert_eq!(value_i64("x", &serde_json::json!("3"), &mut d), None);
        assert_eq!(d.errors[0].message, "expected an integer, found string \"3\"");
    }
}
