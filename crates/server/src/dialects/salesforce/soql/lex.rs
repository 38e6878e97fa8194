//! SOQL's tokens, in one pass without recursion: names, quoted strings with Salesforce's escape
//! sequences, numbers, date and dateTime literals (`2024-01-31`, `2024-01-31T10:00:00Z`,
//! `…+01:00`), and the operators.

use super::{malformed, SoqlError};
use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A name or a keyword (keywords are names the parser knows, in any case).
    Word(String),
    /// A quoted string: its value, and the same text as a LIKE pattern whose escape is `\`.
    Str {
        value: String,
        pattern: String,
    },
    /// A number as written (`-12`, `3.5`).
    Num(String),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    /// `( ) , . : = != <> < <= > >=`
    Sym(&'static str),
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    /// Byte offset in the query.
    pub at: usize,
}

impl Tok {
    /// The token as a message quotes it (`unexpected token: 'FROM'`).
    pub fn shown(&self) -> String {
        match self {
            Tok::Word(w) => w.clone(),
            Tok::Str { value, .. } => value.clone(),
            Tok::Num(n) => n.clone(),
            Tok::Date(d) => d.format("%Y-%m-%d").to_string(),
            Tok::DateTime(t) => t.to_rfc3339(),
            Tok::Sym(s) => (*s).to_owned(),
            Tok::Eof => "<EOF>".to_owned(),
        }
    }

    /// Whether this is the keyword `kw` (upper case), in any case.
    pub fn is(&self, kw: &str) -> bool {
        matches!(self, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }
}

const SYMBOLS: [&str; 13] = [
    "!=", "<>", "<=", ">=", "(", ")", ",", ".", ":", "=", "<", ">", ";",
];

pub fn lex(soql: &str) -> Result<Vec<Token>, SoqlError> {
    let bytes = soql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let at = i;
        let tok = if c.is_ascii_alphabetic() || c == b'_' {
            let end = run(bytes, i, |b| b.is_ascii_alphanumeric() || b == b'_');
            i = end;
            Tok::Word(soql[at..end].to_owned())
        } else if c == b'\'' {
            let (tok, end) = string(soql, i)?;
            i = end;
            tok
        } else if c.is_ascii_digit()
            || ((c == b'-' || c == b'+') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let (tok, end) = number_or_date(soql, i)?;
            i = end;
            tok
        } else if let Some(s) = SYMBOLS.iter().find(|s| soql[i..].starts_with(**s)) {
            i += s.len();
            Tok::Sym(s)
        } else {
            let ch = soql[i..].chars().next().unwrap_or(' ');
            let why = if ch == '"' {
                "unexpected token: '\"' (strings are quoted with single quotes)".to_owned()
            } else {
                format!("unexpected token: '{ch}'")
            };
            return Err(malformed(soql, at, &why));
        };
        out.push(Token { tok, at });
    }
    out.push(Token {
        tok: Tok::Eof,
        at: soql.len(),
    });
    Ok(out)
}

/// The end of the run of bytes from `i` that `keep` accepts.
fn run(bytes: &[u8], mut i: usize, keep: impl Fn(u8) -> bool) -> usize {
    while i < bytes.len() && keep(bytes[i]) {
        i += 1;
    }
    i
}

/// A quoted string from the quote at `start`. Salesforce's escapes: `\n \r \t \b \f \" \' \\`
/// (either case for the letters), and in LIKE patterns `\_` and `\%` for the characters
/// themselves (SOQL and SOSL Reference, "Quoted String Escape Sequences").
fn string(soql: &str, start: usize) -> Result<(Tok, usize), SoqlError> {
    let mut value = String::new();
    let mut pattern = String::new();
    let mut chars = soql[start + 1..].char_indices();
    while let Some((off, ch)) = chars.next() {
        match ch {
            '\'' => {
                let end = start + 1 + off + 1;
                return Ok((Tok::Str { value, pattern }, end));
            }
            '\\' => {
                let Some((_, esc)) = chars.next() else { break };
                let plain = match esc {
                    'n' | 'N' => '\n',
                    'r' | 'R' => '\r',
                    't' | 'T' => '\t',
                    'b' | 'B' => '\u{8}',
                    'f' | 'F' => '\u{c}',
                    '"' | '\'' | '\\' | '_' | '%' => esc,
                    other => {
                        return Err(malformed(
                            soql,
                            start + 1 + off,
                            &format!("Invalid string literal: illegal escape sequence \\{other}"),
                        ))
                    }
                };
                value.push(plain);
                // In the pattern every character written escaped stands for itself.
                if matches!(plain, '\\' | '_' | '%') {
                    pattern.push('\\');
                }
                pattern.push(plain);
            }
            other => {
                value.push(other);
                pattern.push(other);
            }
        }
    }
    Err(malformed(
        soql,
        start,
        "unexpected token: unterminated string literal",
    ))
}

/// A number (`12`, `-3.5`), a date (`2024-01-31`) or a dateTime (`2024-01-31T10:00:00Z`, with
/// `+hh:mm`/`-hh:mm` offsets and optional fractions of a second).
fn number_or_date(soql: &str, start: usize) -> Result<(Tok, usize), SoqlError> {
    let bytes = soql.as_bytes();
    let digits = run(bytes, start, |b| b.is_ascii_digit());
    let is_date = digits - start == 4 && bytes.get(digits) == Some(&b'-');
    let mut has_time = false;
    let end = if is_date {
        let mut end = run(bytes, start, |b| b.is_ascii_digit() || b == b'-');
        if matches!(bytes.get(end), Some(b'T' | b't')) {
            has_time = true;
            end = run(bytes, end + 1, |b| {
                b.is_ascii_digit() || matches!(b, b':' | b'.' | b'+' | b'-' | b'Z' | b'z')
            });
        }
        end
    } else {
        let sign = usize::from(matches!(bytes[start], b'-' | b'+'));
        let whole = run(bytes, start + sign, |b| b.is_ascii_digit());
        match bytes.get(whole) {
            Some(b'.') if bytes.get(whole + 1).is_some_and(u8::is_ascii_digit) => {
                run(bytes, whole + 1, |b| b.is_ascii_digit())
            }
            _ => whole,
        }
    };
    if bytes
        .get(end)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    {
        let ch = soql[end..].chars().next().unwrap_or(' ');
        return Err(malformed(soql, end, &format!("unexpected token: '{ch}'")));
    }
    let text = &soql[start..end];
    let tok = if !is_date {
        Tok::Num(text.to_owned())
    } else if !has_time {
        let d = NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .filter(|_| text.len() == 10)
            .ok_or_else(|| malformed(soql, start, &format!("invalid date: {text}")))?;
        Tok::Date(d)
    } else {
        // Salesforce writes dateTimes as RFC 3339 with `Z` or a `±hh:mm` offset.
        let t = DateTime::parse_from_rfc3339(&text.to_ascii_uppercase())
            .map_err(|_| malformed(soql, start, &format!("invalid dateTime: {text}")))?;
        Tok::DateTime(t.with_timezone(&Utc))
    };
    Ok((tok, end))
}
