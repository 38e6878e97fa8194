//! Token and user SQL on PostgreSQL.

use super::tx::PgTx;
use crate::error::{Error, Result};
use crate::model::{Role, TokenKind, TokenRow, UserRow};
use crate::store::AuthTx;
use postgres::Row;
use uuid::Uuid;

const TOKEN_COLS: &str = "id, app_id, \"user\", user_id, role, kind, expires_at, created_at";

fn token_row(r: &Row) -> Result<TokenRow> {
    let get = |e: postgres::Error| Error::internal(e);
    let role: Option<String> = r.try_get(4).map_err(get)?;
    let kind: String = r.try_get(5).map_err(get)?;
    Ok(TokenRow {
        id: r.try_get(0).map_err(get)?,
        app_id: r.try_get(1).map_err(get)?,
        user: r.try_get(2).map_err(get)?,
        user_id: r.try_get(3).map_err(get)?,
        role: role.and_then(|s| Role::parse(&s).ok()),
        kind: TokenKind::parse(&kind).unwrap_or(TokenKind::Access),
        expires_at: r.try_get(6).map_err(get)?,
        created_at: r.try_get(7).map_err(get)?,
    })
}

const USER_COLS: &str =
    "id, app_id, name, password_hash, role, first_name, last_name, created_at, updated_at";

fn user_row(r: &Row) -> Result<UserRow> {
    let get = |e: postgres::Error| Error::internal(e);
    let role: String = r.try_get(4).map_err(get)?;
    Ok(UserRow {
        id: r.try_get(0).map_err(get)?,
        app_id: r.try_get(1).map_err(get)?,
        name: r.try_get(2).map_err(get)?,
        password_hash: r.try_get(3).map_err(get)?,
        role: Role::parse(&role).unwrap_or(Role::Reader),
        first_name: r.try_get(5).map_err(get)?,
        last_name: r.try_get(6).map_err(get)?,
        created_at: r.try_get(7).map_err(get)?,
        updated_at: r.try_get(8).map_err(get)?,
    })
}

impl AuthTx for PgTx<'_> {
    fn insert_token(&mut self, t: &TokenRow, hash: &str) -> Result<()> {
        self.execute(
            &format!("INSERT INTO _tokens ({TOKEN_COLS}, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"),
            &[
                &t.id,
                &t.app_id,
                &t.user,
                &t.user_id,
                &t.role.map(Role::as_str),
                &t.kind.as_str(),
                &t.expires_at,
                &t.created_at,
                &hash,
            ],
        )?;
        Ok(())
    }

    fn find_token(&mut self, hash: &str) -> Result<Option<TokenRow>> {
        self.query_opt(
            &format!("SELECT {TOKEN_COLS} FROM _tokens WHERE hash = $1"),
            &[&hash],
        )?
        .as_ref()
        .map(token_row)
        .transpose()
    }

    fn list_tokens(&mut self, app_id: Uuid) -> Result<Vec<TokenRow>> {
        self.query(
            &format!(
                "SELECT {TOKEN_COLS} FROM _tokens WHERE app_id = $1 AND kind = 'key' ORDER BY created_at, id"
            ),
            &[&app_id],
        )?
        .iter()
        .map(token_row)
        .collect()
    }

    fn key_tokens(&mut self) -> Result<Vec<(TokenRow, String)>> {
        self.query(
            &format!(
                "SELECT {TOKEN_COLS}, hash FROM _tokens WHERE kind = 'key' ORDER BY created_at, id"
            ),
            &[],
        )?
        .iter()
        .map(|r| Ok((token_row(r)?, r.try_get(8).map_err(Error::internal)?)))
        .collect()
    }

    fn delete_token(&mut self, app_id: Uuid, id: &str) -> Result<bool> {
        Ok(self.execute(
            "DELETE FROM _tokens WHERE app_id = $1 AND id = $2",
            &[&app_id, &id],
        )? > 0)
    }

    fn purge_tokens(&mut self, now: i64) -> Result<()> {
        self.execute(
            "DELETE FROM _tokens WHERE expires_at IS NOT NULL AND expires_at < $1",
            &[&now],
        )?;
        Ok(())
    }

    fn insert_user(&mut self, u: &UserRow) -> Result<()> {
        self.execute(
            &format!(
                "INSERT INTO _users ({USER_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ),
            &[
                &u.id,
                &u.app_id,
                &u.name,
                &u.password_hash,
                &u.role.as_str(),
                &u.first_name,
                &u.last_name,
                &u.created_at,
                &u.updated_at,
            ],
        )?;
        Ok(())
    }

    fn update_user(&mut self, u: &UserRow) -> Result<()> {
        self.execute(
            "UPDATE _users SET password_hash = $2, role = $3, first_name = $4, last_name = $5,
             updated_at = $6 WHERE id = $1",
            &[
                &u.id,
                &u.password_hash,
                &u.role.as_str(),
                &u.first_name,
                &u.last_name,
                &u.updated_at,
            ],
        )?;
        self.execute(
            "DELETE FROM _tokens WHERE user_id = $1 AND kind IN ('access', 'refresh')",
            &[&u.id],
        )?;
        Ok(())
    }

    fn get_user(&mut self, app_id: Uuid, name: &str) -> Result<Option<UserRow>> {
        self.query_opt(
            &format!("SELECT {USER_COLS} FROM _users WHERE app_id = $1 AND name = $2"),
            &[&app_id, &name],
        )?
        .as_ref()
        .map(user_row)
        .transpose()
    }

    fn list_users(&mut self, app_id: Uuid) -> Result<Vec<UserRow>> {
        self.query(
            &format!(
                "SELECT {USER_COLS} FROM _users WHERE app_id = $1 ORDER BY name COLLATE \"C\""
            ),
            &[&app_id],
        )?
        .iter()
        .map(user_row)
        .collect()
    }

    fn delete_user(&mut self, app_id: Uuid, name: &str) -> Result<bool> {
        let Some(user) = self.get_user(app_id, name)? else {
            return Ok(false);
        };
        self.execute("DELETE FROM _tokens WHERE user_id = $1", &[&user.id])?;
        self.execute("DELETE FROM _users WHERE id = $1", &[&user.id])?;
        Ok(true)
    }
}
