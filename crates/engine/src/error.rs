//! The one table of error codes: every failure the engine reports carries a stable code, never an HTTP status.

use std::fmt;

/// Declares every error code once, on one line with its wire string and HTTP status number,
/// generating the enum, `ALL`, `as_str` and `status` — so the compiler checks each is complete.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $code:ident => $wire:literal, $status:literal;)+) => {
        /// Stable, machine-readable error codes. Front doors map each status number to their
        /// own status type in one place.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $code,)+
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(Self::$code,)+];

            /// The code on the wire: stable, snake case.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$code => $wire,)+
                }
            }

            /// The HTTP status number a front door answers this code with.
            pub const fn status(self) -> u16 {
                match self {
                    $(Self::$code => $status,)+
                }
            }
        }
    };
}

error_codes! {
    InvalidJson => "invalid_json", 400;
    InvalidRequest => "invalid_request", 400;
    InvalidFile => "invalid_file", 422;
    ValidationFailed => "validation_failed", 422;
    Required => "required", 422;
    UnknownField => "unknown_field", 422;
    UniqueViolation => "unique_violation", 409;
    /// A relation names no record of its object (by id or by a lookup).
    ReferenceNotFound => "reference_not_found", 422;
    /// A record other records still point at under `on_delete: restrict`.
    StillReferenced => "still_referenced", 409;
    NotFound => "not_found", 404;
    Conflict => "conflict", 409;
    Unauthorized => "unauthorized", 401;
    Forbidden => "forbidden", 403;
    TooLarge => "too_large", 413;
    LimitExceeded => "limit_exceeded", 413;
    TooManyAttempts => "too_many_attempts", 429;
    MethodNotAllowed => "method_not_allowed", 405;
    InvalidReference => "invalid_reference", 400;
    NotApplied => "not_applied", 424;
    Timeout => "timeout", 422;
    /// The server is at a bound it keeps (readers, expensive calls): retry shortly.
    Busy => "busy", 503;
    /// The caller sent more requests than its rate allows: retry later.
    RateLimited => "rate_limited", 429;
    /// The disk is full: nothing was applied; retry once space is back.
    InsufficientStorage => "insufficient_storage", 507;
    /// An idempotency key was used before for another request.
    IdempotencyMismatch => "idempotency_mismatch", 422;
    /// The first request with this idempotency key is still running.
    IdempotencyInFlight => "idempotency_in_flight", 409;
    /// The work has not produced its file yet.
    NotReady => "not_ready", 409;
    /// The file was deleted after its retention period.
    Expired => "expired", 410;
    /// A requested byte range lies outside the file.
    RangeNotSatisfiable => "range_not_satisfiable", 416;
    Unavailable => "unavailable", 503;
    Internal => "internal", 500;
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

    #[test]
    fn statuses_are_errors() {
        for code in ErrorCode::ALL {
            assert!((400..600).contains(&code.status()), "{code}");
        }
        assert_eq!(ErrorCode::UniqueViolation.status(), 409);
        assert_eq!(ErrorCode::NotApplied.status(), 424);
    }
}
