//! Token and user SQL.

use super::tx::{map_err, SqliteTx};
use crate::error::Result;
use crate::model::{Role, TokenKind, TokenRow, UserRow};
use crate::store::AuthTx;
use rusqlite::{params, OptionalExtension, Row};
use uuid::Uuid;

const TOKEN_COLS: &str = "id, app_id, user, user_id, role, kind, expires_at, created_at";

fn token_row(r: &Row<'_>) -> rusqlite::Result<TokenRow> {
    let app_id: Option<String> = r.get(1)?;
    let role: Option<String> = r.get(4)?;
    let kind: String = r.get(5)?;
    Ok(TokenRow {
        id: r.get(0)?,
        app_id: app_id.and_then(|s| Uuid::parse_str(&s).ok()),
        user: r.get(2)?,
        user_id: r.get(3)?,
        role: role.and_then(|s| Role::parse(&s).ok()),
        kind: TokenKind::parse(&kind).unwrap_or(TokenKind::Access),
        expires_at: r.get(6)?,
        created_at: r.get(7)?,
    })
}

const USER_COLS: &str =
    "id, app_id, name, password_hash, role, first_name, last_name, created_at, updated_at";

fn user_row(r: &Row<'_>) -> rusqlite::Result<UserRow> {
    let app_id: String = r.get(1)?;
    let role: String = r.get(4)?;
    Ok(UserRow {
        id: r.get(0)?,
        app_id: Uuid::parse_str(&app_id).unwrap_or_default(),
        name: r.get(2)?,
        password_hash: r.get(3)?,
        role: Role::parse(&role).unwrap_or(Role::Reader),
        first_name: r.get(5)?,
        last_name: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
    })
}

impl AuthTx for SqliteTx<'_> {
    fn insert_token(&mut self, t: &TokenRow, hash: &str) -> Result<()> {
        self.conn
            .prepare_cached(&format!(
                "INSERT INTO _tokens ({TOKEN_COLS}, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ))
            .and_then(|mut s| {
                s.execute(params![
                    t.id,
                    t.app_id.map(|u| u.to_string()),
                    t.user,
                    t.user_id,
                    t.role.map(Role::as_str),
                    t.kind.as_str(),
                    t.expires_at,
                    t.created_at,
                    hash
                ])
            })
            .map_err(map_err)?;
        Ok(())
    }

    fn find_token(&mut self, hash: &str) -> Result<Option<TokenRow>> {
        self.conn
            .prepare_cached(&format!("SELECT {TOKEN_COLS} FROM _tokens WHERE hash = ?1"))
            .and_then(|mut s| s.query_row([hash], token_row).optional())
            .map_err(map_err)
    }

    fn list_tokens(&mut self, app_id: Uuid) -> Result<Vec<TokenRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {TOKEN_COLS} FROM _tokens WHERE app_id = ?1 AND kind = 'key' ORDER BY created_at, id"
            ))
            .map_err(map_err)?;
        let rows = stmt
            .query_map([app_id.to_string()], token_row)
            .map_err(map_err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(map_err)
    }

    fn key_tokens(&mut self) -> Result<Vec<(TokenRow, String)>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {TOKEN_COLS}, hash FROM _tokens WHERE kind = 'key' ORDER BY created_at, id"
            ))
            .map_err(map_err)?;
        let rows = stmt
            .query_map([], |r| Ok((token_row(r)?, r.get(8)?)))
            .map_err(map_err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(map_err)
    }

    fn delete_token(&mut self, app_id: Uuid, id: &str) -> Result<bool> {
        self.conn
            .execute(
                "DELETE FROM _tokens WHERE app_id = ?1 AND id = ?2",
                params![app_id.to_string(), id],
            )
            .map(|n| n > 0)
            .map_err(map_err)
    }

    fn purge_tokens(&mut self, now: i64) -> Result<()> {
        self.conn
            .execute(
                "DELETE FROM _tokens WHERE expires_at IS NOT NULL AND expires_at < ?1",
                [now],
            )
            .map_err(map_err)?;
        Ok(())
    }

    fn insert_user(&mut self, u: &UserRow) -> Result<()> {
        self.conn
            .prepare_cached(&format!(
                "INSERT INTO _users ({USER_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ))
            .and_then(|mut s| {
                s.execute(params![
                    u.id,
                    u.app_id.to_string(),
                    u.name,
                    u.password_hash,
                    u.role.as_str(),
                    u.first_name,
                    u.last_name,
                    u.created_at,
                    u.updated_at
                ])
            })
            .map_err(map_err)?;
        Ok(())
    }

    fn update_user(&mut self, u: &UserRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE _users SET password_hash = ?2, role = ?3, first_name = ?4, last_name = ?5, updated_at = ?6
                 WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.execute(params![u.id, u.password_hash, u.role.as_str(), u.first_name, u.last_name, u.updated_at])
            })
            .map_err(map_err)?;
        self.conn
            .execute(
                "DELETE FROM _tokens WHERE user_id = ?1 AND kind IN ('access', 'refresh')",
                [&u.id],
            )
            .map_err(map_err)?;
        Ok(())
    }

    fn get_user(&mut self, app_id: Uuid, name: &str) -> Result<Option<UserRow>> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {USER_COLS} FROM _users WHERE app_id = ?1 AND name = ?2"
            ))
            .and_then(|mut s| {
                s.query_row(params![app_id.to_string(), name], user_row)
                    .optional()
            })
            .map_err(map_err)
    }

    fn list_users(&mut self, app_id: Uuid) -> Result<Vec<UserRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {USER_COLS} FROM _users WHERE app_id = ?1 ORDER BY name"
            ))
            .map_err(map_err)?;
        let rows = stmt
            .query_map([app_id.to_string()], user_row)
            .map_err(map_err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(map_err)
    }

    fn delete_user(&mut self, app_id: Uuid, name: &str) -> Result<bool> {
        let Some(user) = self.get_user(app_id, name)? else {
            return Ok(false);
        };
        self.conn
            .execute("DELETE FROM _tokens WHERE user_id = ?1", [&user.id])
            .map_err(map_err)?;
        self.conn
            .execute("DELETE FROM _users WHERE id = ?1", [&user.id])
            .map_err(map_err)?;
        Ok(true)
    }
}
