//! The executor: runs one op against a transaction, after checking who may run it.

use super::{apps, principals, records, Op, Output};
use crate::core::Ctx;
use crate::error::Result;
use crate::model::Principal;

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
        Op::GetRecord(t, id, expand) => records::get(ctx, who, &t, &id, &expand),
        Op::UpdateRecord(t, id, input) => records::update(ctx, who, &t, &id, input, false),
        Op::ReplaceRecord(t, id, input) => records::update(ctx, who, &t, &id, input, true),
        Op::DeleteRecord(t, id) => records::delete(ctx, who, &t, &id),
    }
}
