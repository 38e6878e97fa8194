//! Operations: every native call, bulk entry and dialect request becomes one of these values, run by
//! one executor inside a store transaction (a savepoint each).

mod apps;
mod body;
mod bulk;
mod exec;
mod fields;
mod parse;
mod principals;
mod records;
mod relations;
mod select;

pub use body::{Body, ListBody, RecordBody};
pub use bulk::{run_bulk, run_one, too_many, BulkFeed, BulkItem, BulkMsg, BulkPlan};
pub use exec::run;
pub use parse::parse_body;
pub use records::explain_unique;
pub use relations::{
    delete_following, expand_records, related_columns, resolve_refs, widen, Deleted, Expand,
};
pub use select::resolve_filter;
pub(crate) use select::selection;

use crate::error::Result;
use crate::model::{Catalog, Object, WriteMode, Writes};
pub use crate::model::{Filter, FilterOp, Linked, ListSpec};
use serde_json::Value as Json;
use std::sync::Arc;

/// Names an object inside an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub app: String,
    pub object: String,
}

impl Target {
    pub fn new(app: impl Into<String>, object: impl Into<String>) -> Self {
        Self {
            app: app.into(),
            object: object.into(),
        }
    }
}

/// One operation. Bodies stay JSON until the executor checks them against the catalog.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    ListApps,
    CreateApp(Json),
    GetApp(String),
    PatchApp(String, Json),
    DeleteApp(String),

    ListObjects(String),
    CreateObject(String, Json),
    GetObject(Target),
    PatchObject(Target, Json),
    DeleteObject(Target),

    ListTokens(String),
    CreateToken(String, Json),
    DeleteToken(String, String),

    ListUsers(String),
    CreateUser(String, UserInput),
    GetUser(String, String),
    PatchUser(String, String, UserInput),
    DeleteUser(String, String),

    ListRecords(Target, ListSpec),
    CreateRecord(Target, Input),
    /// A record by id, with the relations to expand.
    GetRecord(Target, String, Vec<String>),
    UpdateRecord(Target, String, Input),
    ReplaceRecord(Target, String, Input),
    DeleteRecord(Target, String),
}

impl Op {
    /// Reads run on a read snapshot, outside the writer.
    pub fn is_read(&self) -> bool {
        matches!(
            self,
            Op::ListApps
                | Op::GetApp(_)
                | Op::ListObjects(_)
                | Op::GetObject(_)
                | Op::ListTokens(_)
                | Op::ListUsers(_)
                | Op::GetUser(..)
                | Op::ListRecords(..)
                | Op::GetRecord(..)
        )
    }

    /// Reads that may scan many records (a list that counts), which take turns.
    pub fn is_expensive(&self) -> bool {
        matches!(self, Op::ListRecords(_, spec) if spec.count)
    }

    /// Ops that hash a password.
    pub fn hashes(&self) -> bool {
        matches!(self, Op::CreateUser(..) | Op::PatchUser(..))
    }

    /// Ops whose writes are one SQL statement, all-or-nothing by themselves, touching no catalog
    /// (a delete that follows relations makes its own savepoint).
    pub fn is_single_statement(&self) -> bool {
        self.is_read()
            || matches!(
                self,
                Op::CreateRecord(..)
                    | Op::UpdateRecord(..)
                    | Op::ReplaceRecord(..)
                    | Op::DeleteRecord(..)
            )
    }

    /// Ops after which cached token lookups may be stale.
    pub fn touches_tokens(&self) -> bool {
        matches!(
            self,
            Op::DeleteApp(_) | Op::DeleteToken(..) | Op::PatchUser(..) | Op::DeleteUser(..)
        )
    }
}

/// A user body, and its password's argon2 hash when it was computed off the writer (hashing
/// takes tens of milliseconds: the single writer should not wait for it).
#[derive(Debug, Clone, PartialEq)]
pub struct UserInput {
    pub body: Json,
    pub password_hash: Option<String>,
}

impl From<Json> for UserInput {
    fn from(body: Json) -> Self {
        UserInput {
            body,
            password_hash: None,
        }
    }
}

/// Hashes a user body's password ahead of the writer (call on a blocking thread). Passwords the
/// op would refuse are left for it to refuse.
pub fn prehash(op: Op) -> Op {
    let hash = |u: &mut UserInput| {
        if let Some(p) = u.body.get("password").and_then(Json::as_str) {
            if p.chars().count() >= crate::model::MIN_PASSWORD_LEN {
                u.password_hash = crate::auth::hash_password(p).ok();
            }
        }
    };
    match op {
        Op::CreateUser(app, mut u) => {
            hash(&mut u);
            Op::CreateUser(app, u)
        }
        Op::PatchUser(app, name, mut u) => {
            hash(&mut u);
            Op::PatchUser(app, name, u)
        }
        other => other,
    }
}

/// A record body: as sent, or already checked against one version of its object (then the JSON
/// is kept only if the check failed: good writes say the same thing, and dropping the tree where
/// it was parsed keeps that work off the writer).
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Json(Json),
    Checked {
        object: Arc<Object>,
        writes: Result<Writes>,
        json: Option<Json>,
    },
}

impl From<Json> for Input {
    fn from(j: Json) -> Self {
        Input::Json(j)
    }
}

impl Input {
    /// The checked writes for `obj`; a check made against another version of the object is redone.
    pub fn into_writes(self, obj: &Arc<Object>, mode: WriteMode) -> Result<Writes> {
        match self {
            Input::Checked { object, writes, .. } if Arc::ptr_eq(&object, obj) => writes,
            Input::Checked {
                json: Some(json), ..
            }
            | Input::Json(json) => Writes::from_body(obj, &json, mode),
            Input::Checked {
                object,
                writes,
                json: None,
            } => {
                let json = writes.map(|w| w.to_json(&object)).unwrap_or_default();
                Writes::from_body(obj, &json, mode)
            }
        }
    }
}

/// Checks record bodies against a catalog snapshot before the op reaches the writer, so that work
/// runs in parallel on the caller's thread; the executor only redoes it if the object changed since.
pub fn precheck(catalog: &Catalog, op: Op) -> Op {
    let check = |t: &Target, input: Input, mode: WriteMode| match input {
        Input::Json(json) => match catalog.app(&t.app).and_then(|a| a.object(&t.object)) {
            Some(object) => {
                let writes = Writes::from_body(object, &json, mode);
                let json = writes.is_err().then_some(json);
                Input::Checked {
                    writes,
                    object: object.clone(),
                    json,
                }
            }
            None => Input::Json(json),
        },
        checked => checked,
    };
    match op {
        Op::CreateRecord(t, i) => {
            let i = check(&t, i, WriteMode::Whole);
            Op::CreateRecord(t, i)
        }
        Op::UpdateRecord(t, id, i) => {
            let i = check(&t, i, WriteMode::Merge);
            Op::UpdateRecord(t, id, i)
        }
        Op::ReplaceRecord(t, id, i) => {
            let i = check(&t, i, WriteMode::Whole);
            Op::ReplaceRecord(t, id, i)
        }
        other => other,
    }
}

/// What an op produced: a created resource, a plain answer, or nothing (a deletion).
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Created(Body),
    Ok(Body),
    Deleted,
}

impl Output {
    pub fn ok(j: Json) -> Output {
        Output::Ok(Body::Json(j))
    }

    pub fn created(j: Json) -> Output {
        Output::Created(Body::Json(j))
    }

    pub fn body(&self) -> Option<&Body> {
        match self {
            Output::Created(b) | Output::Ok(b) => Some(b),
            Output::Deleted => None,
        }
    }

    /// The body as a JSON value (`null` for a deletion).
    pub fn into_json(self) -> Json {
        match self {
            Output::Created(b) | Output::Ok(b) => b.into_json(),
            Output::Deleted => Json::Null,
        }
    }
}
