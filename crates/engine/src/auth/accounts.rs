//! App users as they see themselves: self sign-up (whoever holds an app's sign-up token may create
//! a user of that app, with the sign-up role, and is logged in as that user) and a caller's own
//! profile.

use super::{hash_password, Auth, Session};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{check_password, check_user_name, Principal, Role, UserRow};
use uuid::Uuid;

/// The role users who sign themselves up get: they may read; an owner grants more.
pub const SIGNUP_ROLE: Role = Role::Reader;

/// A new user's details, as a sign-up form gives them.
#[derive(Debug, Clone, Default)]
pub struct SignUp {
    pub name: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
}

impl Auth {
    /// Creates a user in the app whose sign-up token is `signup_token` and logs them in.
    /// An unknown token is unauthorized; a taken name is a conflict.
    pub async fn sign_up(&self, signup_token: &str, new: SignUp) -> Result<Session> {
        let app = self
            .core
            .catalog()
            .apps()
            .find(|a| !a.signup_token.is_empty() && a.signup_token == signup_token)
            .cloned()
            .ok_or_else(|| Error::new(ErrorCode::Unauthorized, "invalid sign-up token"))?;
        check_user_name(&new.name).map_err(|e| e.with_field("name"))?;
        check_password(&new.password)?;
        let password = new.password.clone();
        // Hashing takes tens of milliseconds: off the async threads and the writer.
        let password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(Error::internal)??;
        let now = self.core.now().as_str().to_owned();
        let user = UserRow {
            id: Uuid::now_v7().to_string(),
            app_id: app.id,
            name: new.name,
            password_hash,
            role: SIGNUP_ROLE,
            first_name: new.first_name,
            last_name: new.last_name,
            created_at: now.clone(),
            updated_at: now,
        };
        let row = user.clone();
        self.core
            .transact(move |ctx| {
                if ctx.tx.get_user(row.app_id, &row.name)?.is_some() {
                    return Err(Error::new(
                        ErrorCode::Conflict,
                        format!("user {} already exists", row.name),
                    )
                    .with_field("name"));
                }
                ctx.tx.insert_user(&row)
            })
            .await?;
        self.issue(app.name.to_string(), user).await
    }

    /// The app user a principal acts as, if it is one (an API key may name no user).
    pub async fn profile(&self, who: &Principal) -> Result<Option<UserRow>> {
        let Principal::Member { app_id, user, .. } = who else {
            return Ok(None);
        };
        let (app_id, name) = (*app_id, user.clone());
        self.core
            .read(move |ctx| ctx.tx.get_user(app_id, &name))
            .await
    }
}
