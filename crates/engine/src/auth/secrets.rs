//! Token and password secrets: tokens are random and stored as SHA-256 digests; passwords use argon2.

use crate::error::{Error, Result};
use crate::model::TokenKind;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Each kind of token has its own prefix, so a leaked token says what it is.
fn prefix(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Key => "sk_",
        TokenKind::Access => "sa_",
        TokenKind::Refresh => "sr_",
        TokenKind::Admin => "sadm_",
    }
}

/// A new random token: a kind prefix and 256 bits of entropy.
pub fn generate_token(kind: TokenKind) -> Result<String> {
    let mut buf = [0u8; 32];
    getrandom::getrandom(&mut buf).map_err(Error::internal)?;
    Ok(format!(
        "{}{}",
        prefix(kind),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
    ))
}

/// Tokens carry full entropy, so one SHA-256 round is enough to make a stolen table useless.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let a = generate_token(TokenKind::Key).unwrap();
        let b = generate_token(TokenKind::Key).unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("sk_"));
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), hash_token(&b));
    }

    #[test]
    fn passwords_verify() {
        let h = hash_password("s3cret").unwrap();
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("s3cret!", &h));
        assert!(!verify_password("s3cret", "not a hash"));
    }
}
