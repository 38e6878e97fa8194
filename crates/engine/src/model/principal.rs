//! Who is calling and what an operation needs of them: a `Principal` (checked credentials) and
//! the `Need` it must meet in an app.

use super::access::Role;
use super::catalog::App;
use crate::error::{Error, Result};
use uuid::Uuid;

/// What an operation needs of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Read,
    Write,
    /// Schema, tokens, users, app settings.
    Own,
    /// Creating and listing apps: admin tokens only.
    Admin,
}

/// Who is calling, once credentials are checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    Admin {
        user: String,
    },
    Member {
        app_id: Uuid,
        user: String,
        user_id: String,
        role: Role,
    },
    /// No credentials: allowed only where an app grants an anonymous role.
    Anonymous,
}

impl Principal {
    /// The name stamped on this principal's writes.
    pub fn user_name(&self) -> &str {
        match self {
            Principal::Admin { user } | Principal::Member { user, .. } => user,
            Principal::Anonymous => "anonymous",
        }
    }

    pub fn user_id(&self) -> &str {
        match self {
            Principal::Admin { user } => user,
            Principal::Member { user_id, .. } => user_id,
            Principal::Anonymous => "anonymous",
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Principal::Admin { .. })
    }

    /// The app a member token belongs to.
    pub fn app_id(&self) -> Option<Uuid> {
        match self {
            Principal::Member { app_id, .. } => Some(*app_id),
            _ => None,
        }
    }

    /// The role this principal holds in `app`: `Err(not_found)` when the app is not theirs to see,
    /// `Err(unauthorized)` for anonymous callers of an app without an anonymous role.
    pub fn role_in(&self, app: &App) -> Result<Option<Role>> {
        match self {
            Principal::Admin { .. } => Ok(None),
            Principal::Member { app_id, role, .. } if *app_id == app.id => Ok(Some(*role)),
            Principal::Member { .. } => Err(Error::not_found(format!(
                "no app named {:?}",
                app.name.as_str()
            ))),
            Principal::Anonymous => app.anonymous_role.map(Some).ok_or_else(Error::unauthorized),
        }
    }

    /// Checks this principal may do what `need` says in `app`.
    pub fn authorize(&self, app: &App, need: Need) -> Result<()> {
        let Some(role) = self.role_in(app)? else {
            return Ok(());
        };
        let min = match need {
            Need::Read => Role::Reader,
            Need::Write => Role::Writer,
            Need::Own => Role::Owner,
            Need::Admin => return Err(Error::forbidden("only an admin token may do this")),
        };
        if role >= min {
            Ok(())
        } else if *self == Principal::Anonymous {
            Err(Error::unauthorized())
        } else {
            Err(Error::forbidden(format!(
                "the {} role may not do this",
                role.as_str()
            )))
        }
    }

    /// Checks an admin-only action (no app involved).
    pub fn require_admin(&self) -> Result<()> {
        match self {
            Principal::Admin { .. } => Ok(()),
            Principal::Anonymous => Err(Error::unauthorized()),
            Principal::Member { .. } => Err(Error::forbidden("only an admin token may do this")),
        }
    }
}
