//! Token and user operations: API keys made by owners, and app users who log in with a password.

use super::parse::parse_body;
use super::{Output, UserInput};
use crate::auth::{generate_token, hash_password, hash_token};
use crate::core::Ctx;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{
    check_password, check_user_name, Need, Principal, Role, TokenKind, TokenRow, UserRow,
};
use serde::Deserialize;
use serde_json::{json, Value as Json};
use uuid::Uuid;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenSpec {
    user: String,
    role: Role,
}

fn token_json(t: &TokenRow) -> Json {
    json!({"id": t.id, "user": t.user, "role": t.role, "created_at": t.created_at})
}

pub fn list_tokens(ctx: &mut Ctx<'_>, who: &Principal, app: &str) -> Result<Output> {
    let app = ctx.app(who, app, Need::Own)?;
    let tokens: Vec<Json> = ctx.tx.list_tokens(app.id)?.iter().map(token_json).collect();
    Ok(Output::ok(json!({ "tokens": tokens })))
}

pub fn create_token(ctx: &mut Ctx<'_>, who: &Principal, app: &str, body: Json) -> Result<Output> {
    let app = ctx.app(who, app, Need::Own)?;
    let spec: TokenSpec = parse_body(body, "token")?;
    check_user_name(&spec.user)?;
    let id = Uuid::now_v7().to_string();
    // A key named after an app user acts as that user (same id on the records it stamps).
    let user_id = ctx
        .tx
        .get_user(app.id, &spec.user)?
        .map(|u| u.id)
        .unwrap_or_else(|| id.clone());
    let row = TokenRow {
        id,
        app_id: Some(app.id),
        user: spec.user,
        user_id,
        role: Some(spec.role),
        kind: TokenKind::Key,
        expires_at: None,
        created_at: ctx.now.as_str().to_owned(),
    };
    let token = generate_token(TokenKind::Key)?;
    ctx.tx.insert_token(&row, &hash_token(&token))?;
    let mut out = token_json(&row);
    out["token"] = json!(token);
    Ok(Output::created(out))
}

pub fn delete_token(ctx: &mut Ctx<'_>, who: &Principal, app: &str, id: &str) -> Result<Output> {
    let app = ctx.app(who, app, Need::Own)?;
    if !ctx.tx.delete_token(app.id, id)? {
        return Err(Error::not_found(format!("no token with id {id:?}")));
    }
    Ok(Output::Deleted)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserSpec {
    name: String,
    password: String,
    role: Role,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    password: Option<String>,
    role: Option<Role>,
    first_name: Option<String>,
    last_name: Option<String>,
}

pub fn user_json(u: &UserRow) -> Json {
    json!({
        "id": u.id, "name": u.name, "role": u.role, "first_name": u.first_name,
        "last_name": u.last_name, "created_at": u.created_at, "updated_at": u.updated_at,
    })
}

pub fn list_users(ctx: &mut Ctx<'_>, who: &Principal, app: &str) -> Result<Output> {
    let app = ctx.app(who, app, Need::Own)?;
    let users: Vec<Json> = ctx.tx.list_users(app.id)?.iter().map(user_json).collect();
    Ok(Output::ok(json!({ "users": users })))
}

pub fn create_user(
    ctx: &mut Ctx<'_>,
    who: &Principal,
    app: &str,
    input: UserInput,
) -> Result<Output> {
    let app = ctx.app(who, app, Need::Own)?;
    let spec: UserSpec = parse_body(input.body, "user")?;
    check_user_name(&spec.name).map_err(|e| e.with_field("name"))?;
    check_password(&spec.password)?;
    if ctx.tx.get_user(app.id, &spec.name)?.is_some() {
        return Err(Error::new(
            ErrorCode::Conflict,
            format!("user {} already exists", spec.name),
        )
        .with_field("name"));
    }
    let user = UserRow {
        id: Uuid::now_v7().to_string(),
        app_id: app.id,
        name: spec.name,
        password_hash: match input.password_hash {
            Some(h) => h,
            None => hash_password(&spec.password)?,
        },
        role: spec.role,
        first_name: spec.first_name,
        last_name: spec.last_name,
        created_at: ctx.now.as_str().to_owned(),
        updated_at: ctx.now.as_str().to_owned(),
    };
    ctx.tx.insert_user(&user)?;
    Ok(Output::created(user_json(&user)))
}

fn find_user(ctx: &mut Ctx<'_>, app_id: Uuid, name: &str) -> Result<UserRow> {
    ctx.tx
        .get_user(app_id, name)?
        .ok_or_else(|| Error::not_found(format!("no user named {name:?}")))
}

pub fn get_user(ctx: &mut Ctx<'_>, who: &Principal, app: &str, name: &str) -> Result<Output> {
    let app = ctx.app(who, app, Need::Own)?;
    Ok(Output::ok(user_json(&find_user(ctx, app.id, name)?)))
}

pub fn patch_user(
    ctx: &mut Ctx<'_>,
    who: &Principal,
    app: &str,
    name: &str,
    input: UserInput,
) -> Result<Output> {
    let app = ctx.app(who, app, Need::Own)?;
    let patch: UserPatch = parse_body(input.body, "user")?;
    let mut user = find_user(ctx, app.id, name)?;
    if let Some(p) = patch.password {
        check_password(&p)?;
        user.password_hash = match input.password_hash {
            Some(h) => h,
            None => hash_password(&p)?,
        };
    }
    if let Some(r) = patch.role {
        user.role = r;
    }
    if let Some(f) = patch.first_name {
        user.first_name = f;
    }
    if let Some(l) = patch.last_name {
        user.last_name = l;
    }
    user.updated_at = ctx.now.as_str().to_owned();
    ctx.tx.update_user(&user)?;
    Ok(Output::ok(user_json(&user)))
}

pub fn delete_user(ctx: &mut Ctx<'_>, who: &Principal, app: &str, name: &str) -> Result<Output> {
    let app = ctx.app(who, app, Need::Own)?;
    if !ctx.tx.delete_user(app.id, name)? {
        return Err(Error::not_found(format!("no user named {name:?}")));
    }
    Ok(Output::Deleted)
}
