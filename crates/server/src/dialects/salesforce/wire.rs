//! What the Salesforce Bulk API 2.0 routes share on the wire: the caller (`Authorization: Bearer`),
//! Salesforce's error bodies (`[{"errorCode","message"}]`), its 18-character ids and its time
//! format, and the API version in the path (docs/DIALECTS.md, "Salesforce").

use crate::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json as AxJson;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;
use sluice_engine::model::Principal;
use sluice_engine::{Error, ErrorCode, Result};

/// The oldest API version Bulk API 2.0 exists in (Salesforce introduced it in v41.0).
const MIN_VERSION: f64 = 41.0;

/// The API version in `v59.0`; `None` for a path no version serves.
pub fn version(segment: &str) -> Option<f64> {
    segment
        .strip_prefix('v')
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| *v >= MIN_VERSION && *v < 1000.0)
}

/// Salesforce's 404 for a path it does not serve.
pub fn not_found() -> Response {
    fault(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The requested resource does not exist",
    )
}

/// A JSON request body, or `JSON_PARSER_ERROR`'s refusal.
pub fn json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::new(ErrorCode::InvalidJson, e.to_string()))
}

/// A `PATCH` body: the state a job is asked to move to.
#[derive(Deserialize)]
pub struct StateBody {
    pub state: String,
}

/// The column delimiters Bulk API 2.0 names, and their characters.
pub const DELIMITERS: [(&str, u8); 6] = [
    ("COMMA", b','),
    ("TAB", b'\t'),
    ("SEMICOLON", b';'),
    ("PIPE", b'|'),
    ("CARET", b'^'),
    ("BACKQUOTE", b'`'),
];

/// A job's CSV format as its client names it (COMMA and LF when it does not), checked.
pub struct CsvFormat {
    pub column_delimiter: String,
    pub delimiter: u8,
    pub line_ending: String,
}

impl CsvFormat {
    pub fn parse(
        content_type: Option<String>,
        column_delimiter: Option<String>,
        line_ending: Option<String>,
    ) -> Result<CsvFormat> {
        let invalid = |what: &str, v: &str| {
            Error::new(
                ErrorCode::InvalidRequest,
                format!("InvalidJob : Invalid {what}: {v}"),
            )
        };
        if let Some(ct) = content_type.filter(|c| c != "CSV") {
            return Err(invalid("contentType", &ct));
        }
        let column_delimiter = column_delimiter.unwrap_or_else(|| "COMMA".into());
        let delimiter = DELIMITERS
            .iter()
            .find(|(n, _)| *n == column_delimiter)
            .map(|(_, c)| *c)
            .ok_or_else(|| invalid("columnDelimiter", &column_delimiter))?;
        let line_ending = line_ending.unwrap_or_else(|| "LF".into());
        if line_ending != "LF" && line_ending != "CRLF" {
            return Err(invalid("lineEnding", &line_ending));
        }
        Ok(CsvFormat {
            column_delimiter,
            delimiter,
            line_ending,
        })
    }
}

/// Salesforce's error answer: a list of one `{errorCode, message}`.
pub fn fault(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        AxJson(json!([{"errorCode": code, "message": message}])),
    )
        .into_response()
}

/// Salesforce's answer for a sluice error.
pub fn error(e: &Error) -> Response {
    use ErrorCode as C;
    let (status, code) = match e.code {
        C::Unauthorized => {
            return fault(
                StatusCode::UNAUTHORIZED,
                "INVALID_SESSION_ID",
                "Session expired or invalid",
            )
        }
        C::Forbidden => (StatusCode::FORBIDDEN, "INSUFFICIENT_ACCESS"),
        C::NotFound => (StatusCode::NOT_FOUND, "NOT_FOUND"),
        C::Conflict | C::NotReady => (StatusCode::BAD_REQUEST, "INVALIDJOBSTATE"),
        C::InvalidJson => (StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR"),
        C::TooLarge | C::LimitExceeded => (StatusCode::BAD_REQUEST, "EXCEEDED_QUOTA"),
        C::Internal | C::Unavailable | C::Busy => {
            (StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN_EXCEPTION")
        }
        _ => (StatusCode::BAD_REQUEST, "INVALIDJOB"),
    };
    fault(status, code, &e.message)
}

/// The caller: an access token from `/services/oauth2/token` or an app token, as
/// `Authorization: Bearer` (Salesforce's clients also send `OAuth <token>`). An admin token names
/// no app: the server's default app is used.
pub async fn caller(state: &State, headers: &HeaderMap) -> Result<(Principal, String)> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| {
            scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth")
        })
        .map(|(_, t)| t.trim())
        .ok_or_else(Error::unauthorized)?;
    let who = state.engine.auth().authenticate(Some(token)).await?;
    if who == Principal::Anonymous {
        return Err(Error::unauthorized());
    }
    let named = match who.app_id() {
        Some(_) => None,
        None => state.config.default_app.as_deref(),
    };
    let app = crate::dialects::app_for(&state.engine, &who, named)?;
    Ok((who, app))
}

/// The key prefixes of Salesforce's ids: jobs, users and organizations.
pub const JOB: &str = "750";
pub const USER: &str = "005";
pub const ORG: &str = "00D";
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// An 18-character Salesforce id for a numeric alias: the key prefix, the number in base 62 over
/// 12 characters, and Salesforce's case-safe suffix.
pub fn sf_id(prefix: &str, number: u64) -> String {
    let mut digits = [b'0'; 12];
    let mut n = number;
    for d in digits.iter_mut().rev() {
        *d = BASE62[(n % 62) as usize];
        n /= 62;
    }
    let mut id = String::with_capacity(18);
    id.push_str(prefix);
    id.extend(digits.iter().map(|&b| char::from(b)));
    let suffix = case_suffix(&id);
    id.push_str(&suffix);
    id
}

/// The number a job id (15 or 18 characters) stands for.
pub fn job_number(id: &str) -> Option<u64> {
    let id = match id.len() {
        18 if case_suffix(&id[..15]) == id[15..] => &id[..15],
        15 => id,
        _ => return None,
    };
    let digits = id.strip_prefix(JOB)?;
    digits.bytes().try_fold(0u64, |n, b| {
        let d = BASE62.iter().position(|&c| c == b)? as u64;
        n.checked_mul(62)?.checked_add(d)
    })
}

/// Salesforce's 3-character suffix that makes a 15-character id case-insensitive: for each
/// 5-character block, a bit per uppercase letter, as a letter or digit of `A-Z0-5`.
fn case_suffix(id15: &str) -> String {
    const CHARS: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    id15.as_bytes()
        .chunks(5)
        .map(|block| {
            let bits = block
                .iter()
                .enumerate()
                .filter(|(_, b)| b.is_ascii_uppercase())
                .fold(0usize, |acc, (i, _)| acc | (1 << i));
            char::from(CHARS[bits])
        })
        .collect()
}

/// Salesforce's timestamps: milliseconds and a `+0000` offset.
pub fn sf_time(t: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(t) {
        Ok(d) => d
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
            .to_string(),
        Err(_) => t.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{case_suffix, job_number, sf_id, JOB};

    #[test]
    fn job_ids_round_trip_in_salesforce_shape() {
        for n in [0u64, 1, 61, 62, 1_000_000_000_000_000_123, u64::MAX / 2] {
            let id = sf_id(JOB, n);
            assert_eq!(id.len(), 18, "{id}");
            assert!(id.starts_with("750"));
            assert_eq!(job_number(&id), Some(n), "{id}");
            assert_eq!(job_number(&id[..15]), Some(n));
        }
        assert_eq!(job_number("001000000000001AAA"), None);
        assert_eq!(job_number("750000000000001ZZZ"), None);
        assert_eq!(job_number("nope"), None);
    }

    #[test]
    fn the_case_suffix_is_salesforces() {
        // Salesforce's documented example: 001A0000006Vm9r → 001A0000006Vm9rIAC.
        assert_eq!(case_suffix("001A0000006Vm9r"), "IAC");
    }
}
