//! Who may do what: roles, the kinds of stored token, the stored rows of tokens and users, and what
//! a user's name and password must be.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An app member's role; the order is the order of power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Reader,
    Writer,
    Owner,
}

impl Role {
    pub fn parse(s: &str) -> Result<Role> {
        match s {
            "reader" => Ok(Role::Reader),
            "writer" => Ok(Role::Writer),
            "owner" => Ok(Role::Owner),
            _ => Err(Error::validation(
                "role",
                format!("role {s:?} is not one of owner, writer, reader"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Writer => "writer",
            Role::Owner => "owner",
        }
    }
}

/// The kinds of stored token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A long-lived API key made by an owner or admin.
    Key,
    /// A short-lived access token issued at login.
    Access,
    /// A refresh token issued at login, exchanged for a new access token.
    Refresh,
    /// The bootstrap or an extra admin token.
    Admin,
}

impl TokenKind {
    pub const ALL: [TokenKind; 4] = [
        TokenKind::Key,
        TokenKind::Access,
        TokenKind::Refresh,
        TokenKind::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Key => "key",
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
            TokenKind::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<TokenKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A stored token: what it grants; the secret itself is only kept as a digest.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRow {
    pub id: String,
    /// `None` for admin tokens.
    pub app_id: Option<Uuid>,
    pub user: String,
    pub user_id: String,
    pub role: Option<Role>,
    pub kind: TokenKind,
    /// Unix seconds; `None` never expires.
    pub expires_at: Option<i64>,
    pub created_at: String,
}

/// A stored app user; the password only as its argon2 hash.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRow {
    pub id: String,
    pub app_id: Uuid,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
    pub first_name: String,
    pub last_name: String,
    pub created_at: String,
    pub updated_at: String,
}

impl UserRow {
    /// "First Last" when the user has a name, else the login name.
    pub fn display_name(&self) -> String {
        let full = format!("{} {}", self.first_name, self.last_name);
        match full.trim() {
            "" => self.name.clone(),
            name => name.to_owned(),
        }
    }
}

/// Shortest password accepted for app users.
pub const MIN_PASSWORD_LEN: usize = 8;
const MAX_USER_NAME: usize = 200;

/// User names are free text (often e-mail addresses), but bounded and printable.
pub fn check_user_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.len() > MAX_USER_NAME || name.chars().any(char::is_control) {
        return Err(Error::validation(
            "user",
            "a user name must be 1 to 200 printable characters",
        ));
    }
    Ok(())
}

/// An app user's password: at least `MIN_PASSWORD_LEN` characters.
pub fn check_password(p: &str) -> Result<()> {
    if p.chars().count() < MIN_PASSWORD_LEN {
        return Err(Error::validation(
            "password",
            format!("a password needs at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    Ok(())
}
