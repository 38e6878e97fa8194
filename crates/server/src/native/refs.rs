//! Bulk references: `${c1.body.path}` in a later entry's url or body takes a value from the result
//! of the earlier entry whose `id` is `c1`.

use serde_json::Value as Json;
use sluice_engine::model::json_depth;
use sluice_engine::ops::Output;
use sluice_engine::settings::defaults::MAX_BODY_DEPTH;
use sluice_engine::{Error, ErrorCode, Result};
use std::collections::HashMap;

/// Earlier results, and which index each entry id names.
pub struct Scope<'a> {
    pub ids: &'a HashMap<String, usize>,
    pub results: &'a [Result<Output>],
}

fn bad(msg: String) -> Error {
    Error::new(ErrorCode::InvalidReference, msg)
}

impl Scope<'_> {
    /// The JSON value an expression such as `c1.body.author.id` points at.
    fn lookup(&self, expr: &str) -> Result<Json> {
        let mut parts = expr.split('.');
        let name = parts.next().unwrap_or_default();
        let idx = *self
            .ids
            .get(name)
            .filter(|i| **i < self.results.len())
            .ok_or_else(|| bad(format!("${{{expr}}}: no earlier operation has id {name:?}")))?;
        if parts.next() != Some("body") {
            return Err(bad(format!(
                "${{{expr}}}: a reference reads from an operation's body: ${{{name}.body.…}}"
            )));
        }
        let output = self.results[idx]
            .as_ref()
            .map_err(|_| bad(format!("${{{expr}}}: operation {name:?} failed")))?;
        let json = output
            .body()
            .ok_or_else(|| bad(format!("${{{expr}}}: operation {name:?} has no body")))?
            .to_json();
        let mut v = &json;
        for p in parts {
            v = match v {
                Json::Object(m) => m.get(p),
                Json::Array(a) => p.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            }
            .ok_or_else(|| {
                bad(format!(
                    "${{{expr}}}: the body of {name:?} has nothing at {p:?}"
                ))
            })?;
        }
        Ok(v.clone())
    }

    /// Replaces every reference inside a string.
    pub fn substitute(&self, s: &str) -> Result<String> {
        if !s.contains("${") {
            return Ok(s.to_owned());
        }
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let tail = &rest[start + 2..];
            let end = tail
                .find('}')
                .ok_or_else(|| bad(format!("unclosed reference in {s:?}")))?;
            match self.lookup(&tail[..end])? {
                Json::String(v) => out.push_str(&v),
                other => out.push_str(&other.to_string()),
            }
            rest = &tail[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Replaces references in every string of a body, in place; a string that is one whole
    /// reference takes the referenced value with its JSON type. The body stays within
    /// `MAX_BODY_DEPTH` levels, as it arrived: a referenced value may not nest it deeper.
    pub fn substitute_json(&self, v: &mut Json) -> Result<()> {
        self.substitute_at(v, 0)
    }

    /// `substitute_json` on a value `depth` levels into the body (the body came parsed within
    /// serde_json's nesting limit, so this walk is bounded by it).
    fn substitute_at(&self, v: &mut Json, depth: usize) -> Result<()> {
        match v {
            Json::String(s) if s.contains("${") => {
                let whole = s
                    .strip_prefix("${")
                    .and_then(|r| r.strip_suffix('}'))
                    .filter(|e| !e.contains(['$', '}']));
                *v = match whole {
                    Some(expr) => {
                        let found = self.lookup(expr)?;
                        if depth + json_depth(&found) > MAX_BODY_DEPTH {
                            return Err(bad(format!(
                                "${{{expr}}}: the value would nest the body deeper than {MAX_BODY_DEPTH} levels"
                            )));
                        }
                        found
                    }
                    None => Json::String(self.substitute(s)?),
                };
            }
            Json::Array(a) => a
                .iter_mut()
                .try_for_each(|x| self.substitute_at(x, depth + 1))?,
            Json::Object(m) => m
                .values_mut()
                .try_for_each(|x| self.substitute_at(x, depth + 1))?,
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn substitutes_from_earlier_results() {
        let ids = HashMap::from([
            ("a".to_string(), 0),
            ("b".to_string(), 1),
            ("later".to_string(), 5),
        ]);
        let results = vec![
            Ok(Output::created(json!({"id": "r1", "n": 3, "tags": ["x"]}))),
            Err(Error::not_found("gone")),
        ];
        let s = Scope {
            ids: &ids,
            results: &results,
        };
        assert_eq!(s.substitute("/x/${a.body.id}/y").unwrap(), "/x/r1/y");
        let mut body = json!({"n": "${a.body.n}", "t": "${a.body.tags.0}!", "plain": "$x"});
        s.substitute_json(&mut body).unwrap();
        assert_eq!(body, json!({"n": 3, "t": "x!", "plain": "$x"}));
        for bad in [
            "${b.body.id}",
            "${later.body.id}",
            "${zz.body.id}",
            "${a.body.nope}",
            "${a.status}",
            "${a.body.id",
        ] {
            assert_eq!(
                s.substitute(bad).unwrap_err().code,
                ErrorCode::InvalidReference,
                "{bad}"
            );
        }
    }
}
