//! The one table of error codes: every failure the engine reports carries a stable code, never an HTTP status.

use std::fmt;

/// Stable, machine-readable error codes. Front doors map each to a status in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidJson,
    InvalidRequest,
    InvalidFile,
    ValidationFailed,
    Required,
    UnknownField,
    UniqueViolation,
    NotFound,
    Conflict,
    Unauthorized,
    Forbidden,
    TooLarge,
    LimitExceeded,
    TooManyAttempts,
    MethodNotAllowed,
    InvalidReference,
    NotApplied,
    Timeout,
    /// The server is at a bound it keeps (readers, expensive calls): retry shortly.
    Busy,
    /// The caller sent more requests than its rate allows: retry later.
    RateLimited,
    /// The disk is full: nothing was applied; retry once space is back.
    InsufficientStorage,
    /// An idempotency key was used before for another request.
    IdempotencyMismatch,
    /// The first request with this idempotency key is still running.
    IdempotencyInFlight,
    /// The work has not produced its file yet.
    NotReady,
    /// The file was deleted after its retention period.
    Expired,
    /// A requested byte range lies outside the file.
    RangeNotSatisfiable,
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 28] = [
        Self::InvalidJson,
        Self::InvalidFile,
        Self::InvalidRequest,
        Self::ValidationFailed,
        Self::Required,
        Self::UnknownField,
        Self::UniqueViolation,
        Self::NotFound,
        Self::Conflict,
        Self::Unauthorized,
        Self::Forbidden,
        Self::TooLarge,
        Self::LimitExceeded,
        Self::TooManyAttempts,
        Self::MethodNotAllowed,
        Self::InvalidReference,
        Self::NotApplied,
        Self::Timeout,
        Self::Busy,
        Self::RateLimited,
        Self::InsufficientStorage,
        Self::IdempotencyMismatch,
        Self::IdempotencyInFlight,
        Self::NotReady,
        Self::Expired,
        Self::RangeNotSatisfiable,
        Self::Unavailable,
        Self::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::InvalidRequest => "invalid_request",
            Self::InvalidFile => "invalid_file",
            Self::ValidationFailed => "validation_failed",
            Self::Required => "required",
            Self::UnknownField => "unknown_field",
            Self::UniqueViolation => "unique_violation",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::TooLarge => "too_large",
            Self::LimitExceeded => "limit_exceeded",
            Self::TooManyAttempts => "too_many_attempts",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::InvalidReference => "invalid_reference",
            Self::NotApplied => "not_applied",
            Self::Timeout => "timeout",
            Self::Busy => "busy",
            Self::RateLimited => "rate_limited",
            Self::InsufficientStorage => "insufficient_storage",
            Self::IdempotencyMismatch => "idempotency_mismatch",
            Self::IdempotencyInFlight => "idempotency_in_flight",
            Self::NotReady => "not_ready",
            Self::Expired => "expired",
            Self::RangeNotSatisfiable => "range_not_satisfiable",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A domain error: a code, a human message, and where it applies the field or input row.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
    pub row: Option<u64>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The message of `Error::token_expired`.
const TOKEN_EXPIRED: &str = "the token has expired";

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            row: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn with_row(mut self, row: u64) -> Self {
        self.row = Some(row);
        self
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationFailed, message).with_field(field)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn unauthorized() -> Self {
        Self::new(ErrorCode::Unauthorized, "missing or invalid credentials")
    }

    /// A token that was valid and has expired: some clients refresh on exactly this.
    pub fn token_expired() -> Self {
        Self::new(ErrorCode::Unauthorized, TOKEN_EXPIRED)
    }

    pub fn is_token_expired(&self) -> bool {
        self.code == ErrorCode::Unauthorized && self.message == TOKEN_EXPIRED
    }

    /// A file-system failure: a full disk is the caller's to know (`insufficient_storage`: retry
    /// once space is back); anything else is internal.
    pub fn io(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => Self::new(
                ErrorCode::InsufficientStorage,
                "the server's disk is full; nothing was applied, retry once space is freed",
            ),
            _ => Self::internal(e),
        }
    }

    /// A failure writing CSV: a full disk as `io` says, anything else internal.
    pub fn csv(e: csv::Error) -> Self {
        match e.into_kind() {
            csv::ErrorKind::Io(io) => Self::io(io),
            other => Self::internal(format!("{other:?}")),
        }
    }

    /// A failure writing a ZIP: a full disk as `io` says, anything else internal.
    pub fn zip(e: zip::result::ZipError) -> Self {
        match e {
            zip::result::ZipError::Io(io) => Self::io(io),
            other => Self::internal(other),
        }
    }

    /// An unexpected failure: the detail goes to the log, the caller gets a generic message.
    pub fn internal(detail: impl fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        ::metrics::counter!(INTERNAL_ERRORS).increment(1);
        Self::new(ErrorCode::Internal, "internal error")
    }
}

/// The counter of internal errors, counted (through the `metrics` facade) where each is logged;
/// `crate::metrics` describes it.
pub const INTERNAL_ERRORS: &str = "sluice_internal_errors_total";

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_snake_case() {
        let names: HashSet<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        for n in names {
            assert!(n.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{n}");
        }
    }
}
