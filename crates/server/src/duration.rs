//! Durations as flags take them: a number with a unit (`500ms`, `5s`, `2m`, `1h`), shown back the
//! same way; and the database URLs a list flag's environment variable holds.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A duration written with its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(pub Duration);

impl FromStr for Span {
    type Err = String;

    fn from_str(s: &str) -> Result<Span, String> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (number, unit) = s.split_at(split);
        let n: u64 = number
            .parse()
            .map_err(|_| format!("{s:?} is not a duration: write a number and a unit, as 5s"))?;
        let ms = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return Err(format!("{s:?}: the unit is one of ms, s, m, h")),
        };
        n.checked_mul(ms)
            .map(|ms| Span(Duration::from_millis(ms)))
            .ok_or_else(|| format!("{s:?} is too long"))
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        match ms {
            ms if ms > 0 && ms % 3_600_000 == 0 => write!(f, "{}h", ms / 3_600_000),
            ms if ms > 0 && ms % 60_000 == 0 => write!(f, "{}m", ms / 60_000),
            ms if ms % 1_000 == 0 => write!(f, "{}s", ms / 1_000),
            ms => write!(f, "{ms}ms"),
        }
    }
}

/// Database URLs given as one or several values, each possibly several URLs separated by commas
/// (a comma inside a URL, between the hosts of a multi-host URL, stays: only one followed by a
/// scheme starts another URL).
pub fn urls(values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for value in values {
        for part in value.split(',') {
            let part = part.trim();
            let starts = part.starts_with("postgres://") || part.starts_with("postgresql://");
            match out.last_mut() {
                Some(last) if !starts && !part.is_empty() => {
                    last.push(',');
                    last.push_str(part);
                }
                _ if !part.is_empty() => out.push(part.to_owned()),
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_and_show_with_their_unit() {
        for (text, ms, shown) in [
            ("5s", 5_000, "5s"),
            ("500ms", 500, "500ms"),
            ("1500ms", 1_500, "1500ms"),
            ("2m", 120_000, "2m"),
            ("1h", 3_600_000, "1h"),
            ("60s", 60_000, "1m"),
            ("0s", 0, "0s"),
        ] {
            let span: Span = text.parse().unwrap();
            assert_eq!(span.0, Duration::from_millis(ms), "{text}");
            assert_eq!(span.to_string(), shown);
        }
        for bad in ["5", "s", "5 sec", "-1s", "99999999999999999999h"] {
            assert!(bad.parse::<Span>().is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_split_at_schemes_only() {
        let given = vec![
            "postgres://a/db, postgresql://u@h1:5432,h2:5433/db?x=1".to_owned(),
            "postgres://c/db".to_owned(),
        ];
        assert_eq!(
            urls(&given),
            [
                "postgres://a/db",
                "postgresql://u@h1:5432,h2:5433/db?x=1",
                "postgres://c/db"
            ]
        );
        assert!(urls(&[String::new()]).is_empty());
    }
}
