//! The executor: runs one op against a transaction, after checking who may run it.

use super::{apps, principals, records, Op, Output, Target};
use crate::auth::{Need, Principal};
use crate::error::{Error, Result};
use crate::model::{App, Catalog, Object, Timestamp};
use crate::settings::Settings;
use crate::store::Tx;
use std::sync::Arc;

/// What an op runs against: a transaction and the catalog as this transaction sees it.
pub struct Ctx<'a> {
    pub tx: &'a mut dyn Tx,
    pub catalog: &'a mut Arc<Catalog>,
    pub settings: &'a Settings,
    pub now: Timestamp,
}

impl Ctx<'_> {
    /// Finds an app and checks `who` may do `need` in it; an app the caller cannot see is "not found".
    pub fn app(&self, who: &Principal, name: &str, need: Need) -> Result<Arc<App>> {
        let app = self
            .catalog
            .app(name)
            .ok_or_else(|| Error::not_found(format!("no app named {name:?}")))?;
        who.authorize(app, need)?;
        Ok(app.clone())
    }

    pub fn object(
        &self,
        who: &Principal,
        t: &Target,
        need: Need,
    ) -> Result<(Arc<App>, Arc<Object>)> {
        let app = self.app(who, &t.app, need)?;
        let obj = app.object(&t.object).cloned().ok_or_else(|| {
            Error::not_found(format!("app {} has no object named {:?}", t.app, t.object))
        })?;
        Ok((app, obj))
    }

    /// Mutable catalog access for schema changes; copies on write if readers share it.
    pub fn catalog_mut(&mut self) -> &mut Catalog {
        Arc::make_mut(self.catalog)
    }
}

pub fn run(ctx: &mut Ctx<'_>, who: &Principal, op: Op) -> Result<Output> {
    match op {
        Op::ListApps => apps::list_apps(ctx, who),
        Op::CreateApp(body) => apps::create_app(ctx, who, body),
        Op::GetApp(app) => apps::get_app(ctx, who, &app),
        Op::PatchApp(app, body) => apps::patch_app(ctx, who, &app, body),
        Op::DeleteApp(app) => apps::delete_app(ctx, who, &app),
        Op::ListObjects(app) => apps::list_objects(ctx, who, &app),
        Op::CreateObject(app, body) => apps::create_object(ctx, who, &app, body),
        Op::GetObject(t) => apps::get_object(ctx, who, &t),
        Op::PatchObject(t, body) => apps::patch_object(ctx, who, &t, body),
        Op::DeleteObject(t) => apps::delete_object(ctx, who, &t),
        Op::ListTokens(app) => principals::list_tokens(ctx, who, &app),
        Op::CreateToken(app, body) => principals::create_token(ctx, who, &app, body),
        Op::DeleteToken(app, id) => principals::delete_token(ctx, who, &app, &id),
        Op::ListUsers(app) => principals::list_users(ctx, who, &app),
        Op::CreateUser(app, input) => principals::create_user(ctx, who, &app, input),
        Op::GetUser(app, name) => principals::get_user(ctx, who, &app, &name),
        Op::PatchUser(app, name, input) => principals::patch_user(ctx, who, &app, &name, input),
        Op::DeleteUser(app, name) => principals::delete_user(ctx, who, &app, &name),
        Op::ListRecords(t, spec) => records::list(ctx, who, &t, &spec),
        Op::CreateRecord(t, input) => records::create(ctx, who, &t, input),
        Op::GetRecord(t, id) => records::get(ctx, who, &t, &id),
        Op::UpdateRecord(t, id, input) => records::update(ctx, who, &t, &id, input, false),
        Op::ReplaceRecord(t, id, input) => records::update(ctx, who, &t, &id, input, true),
        Op::DeleteRecord(t, id) => records::delete(ctx, who, &t, &id),
    }
}

/// Parses a JSON body into a typed spec, naming the offending field on failure.
pub fn parse_body<T: serde::de::DeserializeOwned>(
    body: serde_json::Value,
    what: &str,
) -> Result<T> {
    serde_json::from_value(body).map_err(|e| {
        let msg = e.to_string();
        let field = msg
            .split('`')
            .nth(1)
            .filter(|_| msg.starts_with("unknown field") || msg.starts_with("missing field"))
            .map(str::to_owned);
        let code = if msg.starts_with("unknown field") {
            crate::error::ErrorCode::UnknownField
        } else if msg.starts_with("missing field") {
            crate::error::ErrorCode::Required
        } else {
            crate::error::ErrorCode::ValidationFailed
        };
        let mut err = Error::new(code, format!("invalid {what}: {msg}"));
        if let Some(f) = field {
            err = err.with_field(f);
        }
        err
    })
}
