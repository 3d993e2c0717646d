//! Field-by-field comparison of two JSON documents with a numeric tolerance.
//!
//! ```text
//! |a - b| <= max(rel * max(|a|, |b|), abs)
//! ```
//! Used to hold `survmc analyze` against R's reference JSON: every field of `expected` must be
//! present in `actual` with the same shape; numbers agree within the tolerance; `null` matches only
//! `null`. Fields of `actual` that `expected` lacks are ignored (survmc may report more than R).

use serde_json::Value;

/// Relative and absolute tolerance; `skip_below` ignores pairs of numbers that are both below it
/// in absolute value (used for p-values below 1e-12, where R's own accuracy ends).
#[derive(Debug, Clone, Copy)]
pub struct Tolerance {
    pub rel: f64,
    pub abs: f64,
    pub skip_below: f64,
}

impl Tolerance {
    /// The reference standard: 1e-8 relative, 1e-10 absolute near zero.
    pub const REFERENCE: Tolerance = Tolerance { rel: 1e-8, abs: 1e-10, skip_below: 0.0 };
}

/// Every difference between `expected` and `actual`, each as "path: what differs".
/// `skip` lists field names whose values are not compared (e.g. "note").
pub fn differences(expected: &Value, actual: &Value, tol: Tolerance, skip: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    walk("", expected, actual, tol, skip, &mut out);
    out
}

fn walk(path: &str, e: &Value, a: &Value, tol: Tolerance, skip: &[&str], out: &mut Vec<String>) {
    match (e, a) {
        (Value::Object(em), Value::Object(am)) => {
            for (k, ev) in em {
                if skip.contains(&k.as_str()) {
                    continue;
                }
                let p = format!("{path}.{k}");
                match am.get(k) {
                    Some(av) => walk(&p, ev, av, tol, skip, out),
                    None => out.push(format!("{p}: missing")),
                }
            }
        }
        (Value::Array(ev), Value::Array(av)) => {
            if ev.len() != av.len() {
                out.push(format!("{path}: length {} expected, {} found", ev.len(), av.len()));
                return;
            }
            for (i, (x, y)) in ev.iter().zip(av).enumerate() {
                walk(&format!("{path}[{i}]"), x, y, tol, skip, out);
            }
        }
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            if x.abs() < tol.skip_below && y.abs() < tol.skip_below {
                return;
            }
            let d = (x - y).abs();
            let within = d <= (tol.rel * x.abs().max(y.abs())).max(tol.abs);
            if !within {
                out.push(format!("{path}: expected {x:e}, found {y:e} (diff {d:e})"));
            }
        }
        (Value::Null, Value::Null) => {}
        (Value::String(x), Value::String(y)) if x == y => {}
        (Value::Bool(x), Value::Bool(y)) if x == y => {}
        _ => out.push(format!("{path}: expected {e}, found {a}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_each_kind_of_difference() {
        let e = json!({"a": [1.0, 2.0], "b": null, "c": "x", "d": 1e-13, "e": 5});
        let a = json!({"a": [1.0, 2.0 + 1e-7], "b": 0.0, "c": "x", "d": 2e-13});
        let tol = Tolerance { skip_below: 1e-12, ..Tolerance::REFERENCE };
        let d = differences(&e, &a, tol, &[]);
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(d[0].starts_with(".a[1]"));
        assert!(d[1].starts_with(".b"));
        assert_eq!(d[2], ".e: missing");
        assert!(differences(&e, &e, Tolerance::REFERENCE, &[]).is_empty());
    }
}
