//! App and object operations: tenants, and schema changes applied as DDL inside the transaction.

use super::parse::parse_body;
use super::{Output, Target};
use crate::core::Ctx;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{
    AliasKind, App, Cond, Field, FieldSpec, Name, Need, Object, ObjectSpec, Principal, Role,
    Selection, Value,
};
use crate::store::SchemaChange;
use serde::Deserialize;
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppSpec {
    name: String,
    label: Option<String>,
    anonymous_role: Option<Role>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppPatch {
    label: Option<String>,
    /// `null` removes anonymous access; absent leaves it.
    #[serde(default, deserialize_with = "present")]
    anonymous_role: Option<Option<Role>>,
}

/// Tells "absent" from "null" for patch bodies.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn secret() -> Result<String> {
    let mut buf = [0u8; 32];
    getrandom::getrandom(&mut buf).map_err(Error::internal)?;
    Ok(hex::encode(buf))
}

/// The app's document, with its numeric alias as `org_id` (the number clients that hold an
/// organisation id as an integer send; given when the app is made).
fn app_json(ctx: &mut Ctx<'_>, app: &App, who: &Principal) -> Result<Json> {
    let owner = who.is_admin()
        || matches!(
            who,
            Principal::Member {
                role: Role::Owner,
                ..
            }
        );
    let mut doc = app.to_json(owner);
    let id = app.id.to_string();
    let number = ctx
        .tx
        .alias_numbers(AliasKind::App, &[&id], false)?
        .pop()
        .flatten();
    doc["org_id"] = json!(number.map(|n| n.to_string()));
    Ok(doc)
}

pub fn list_apps(ctx: &mut Ctx<'_>, who: &Principal) -> Result<Output> {
    let visible: Vec<Arc<App>> = match who {
        Principal::Admin { .. } => ctx.catalog.apps().cloned().collect(),
        Principal::Member { app_id, .. } => ctx
            .catalog
            .apps()
            .filter(|a| a.id == *app_id)
            .cloned()
            .collect(),
        Principal::Anonymous => return Err(Error::unauthorized()),
    };
    let apps = visible
        .iter()
        .map(|a| app_json(ctx, a, who))
        .collect::<Result<Vec<_>>>()?;
    Ok(Output::ok(json!({ "apps": apps })))
}

pub fn create_app(ctx: &mut Ctx<'_>, who: &Principal, body: Json) -> Result<Output> {
    who.require_admin()?;
    let spec: AppSpec = parse_body(body, "app")?;
    let name = Name::parse(&spec.name, "app")?;
    if ctx.catalog.app(name.as_str()).is_some() {
        return Err(Error::new(
            ErrorCode::Conflict,
            format!("an app named {name} already exists"),
        )
        .with_field("name"));
    }
    let app = App {
        id: Uuid::now_v7(),
        label: spec.label.unwrap_or_else(|| name.to_string()),
        name,
        anonymous_role: spec.anonymous_role,
        secret: secret()?,
        anonymous_token: Uuid::new_v4().to_string(),
        signup_token: Uuid::new_v4().to_string(),
        created_at: ctx.now.clone(),
        updated_at: ctx.now.clone(),
        objects: BTreeMap::new(),
    };
    ctx.tx.put_app(&app)?;
    ctx.tx
        .alias_numbers(AliasKind::App, &[&app.id.to_string()], true)?;
    let out = app_json(ctx, &app, who)?;
    ctx.catalog_mut().put_app(app);
    Ok(Output::created(out))
}

pub fn get_app(ctx: &mut Ctx<'_>, who: &Principal, name: &str) -> Result<Output> {
    let app = ctx.app(who, name, Need::Read)?;
    Ok(Output::ok(app_json(ctx, &app, who)?))
}

pub fn patch_app(ctx: &mut Ctx<'_>, who: &Principal, name: &str, body: Json) -> Result<Output> {
    let app = ctx.app(who, name, Need::Own)?;
    let patch: AppPatch = parse_body(body, "app")?;
    let mut app = (*app).clone();
    if let Some(label) = patch.label {
        app.label = label;
    }
    if let Some(role) = patch.anonymous_role {
        app.anonymous_role = role;
    }
    app.updated_at = ctx.now.clone();
    ctx.tx.put_app(&app)?;
    let out = app_json(ctx, &app, who)?;
    ctx.catalog_mut().put_app(app);
    Ok(Output::ok(out))
}

pub fn delete_app(ctx: &mut Ctx<'_>, who: &Principal, name: &str) -> Result<Output> {
    let app = ctx.app(who, name, Need::Admin)?;
    ctx.tx.delete_app(&app)?;
    ctx.catalog_mut().remove_app(name);
    Ok(Output::Deleted)
}

pub fn list_objects(ctx: &mut Ctx<'_>, who: &Principal, app: &str) -> Result<Output> {
    let app = ctx.app(who, app, Need::Read)?;
    let objects: Vec<Json> = app.objects.values().map(|o| o.to_json()).collect();
    Ok(Output::ok(json!({ "objects": objects })))
}

fn check_name_free(app: &App, name: &str) -> Result<()> {
    if app.objects.keys().any(|k| k.eq_ignore_ascii_case(name)) {
        return Err(Error::new(
            ErrorCode::Conflict,
            format!("an object named {name} already exists"),
        )
        .with_field("name"));
    }
    Ok(())
}

pub fn create_object(
    ctx: &mut Ctx<'_>,
    who: &Principal,
    app_name: &str,
    body: Json,
) -> Result<Output> {
    let app = ctx.app(who, app_name, Need::Own)?;
    let spec: ObjectSpec = parse_body(body, "object")?;
    if spec.fields.len() > ctx.settings.max_fields {
        return Err(Error::new(
            ErrorCode::LimitExceeded,
            format!(
                "an object may have at most {} fields",
                ctx.settings.max_fields
            ),
        )
        .with_field("fields"));
    }
    let obj = Object::from_spec(app.id, spec, ctx.now.clone())?;
    check_name_free(&app, obj.name.as_str())?;
    for f in &obj.fields {
        check_relation(ctx, &app, &obj, f)?;
    }
    ctx.tx.create_object(&obj)?;
    let out = obj.to_json();
    if let Some(app) = ctx.catalog_mut().app_mut(app_name) {
        app.objects.insert(obj.name.to_string(), Arc::new(obj));
    }
    Ok(Output::created(out))
}

pub fn get_object(ctx: &mut Ctx<'_>, who: &Principal, t: &Target) -> Result<Output> {
    let (_, obj) = ctx.object(who, &t.app, &t.object, Need::Read)?;
    Ok(Output::ok(obj.to_json()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectPatch {
    label: Option<String>,
    #[serde(default)]
    add: Vec<FieldSpec>,
    /// Old name → new name.
    #[serde(default)]
    rename: BTreeMap<String, String>,
    #[serde(default)]
    drop: Vec<String>,
    /// Fields to give a (non-unique) index.
    #[serde(default)]
    index: Vec<String>,
    /// Fields whose index goes.
    #[serde(default)]
    unindex: Vec<String>,
    /// Changes to existing fields (required, unique, default, label), by name.
    #[serde(default)]
    change: BTreeMap<String, super::fields::FieldChange>,
}

/// Applies adds, renames, drops, then index changes, in that order; any failure undoes them all
/// (the op's savepoint).
pub fn patch_object(ctx: &mut Ctx<'_>, who: &Principal, t: &Target, body: Json) -> Result<Output> {
    let (app, obj) = ctx.object(who, &t.app, &t.object, Need::Own)?;
    let patch: ObjectPatch = parse_body(body, "object change")?;
    let mut obj = (*obj).clone();
    if let Some(label) = patch.label {
        obj.label = label;
    }
    let mut changes = Vec::new();
    let needs_default = patch.add.iter().any(|f| f.required && f.default.is_none());
    let nonempty = needs_default && has_records(ctx, &obj)?;
    for spec in patch.add {
        let field = Field::parse(spec)?;
        if obj.field_ci(field.name.as_str()).is_some() {
            return Err(Error::new(
                ErrorCode::Conflict,
                format!("field {} already exists", field.name),
            )
            .with_field(field.name.as_str()));
        }
        check_relation(ctx, &app, &obj, &field)?;
        if field.required && field.default.is_none() && nonempty {
            return Err(Error::validation(
                field.name.as_str(),
                format!(
                    "a required field added to an object with records needs a default ({})",
                    field.name
                ),
            ));
        }
        obj.fields.push(field.clone());
        changes.push(SchemaChange::Add(field));
    }
    for (from, to) in patch.rename {
        let to_name = Name::parse_field(&to)?;
        if obj
            .field_ci(&to)
            .is_some_and(|(_, f)| f.name.as_str() != from)
        {
            return Err(
                Error::new(ErrorCode::Conflict, format!("field {to} already exists"))
                    .with_field(to.as_str()),
            );
        }
        let (i, _) = obj.field(&from).ok_or_else(|| unknown(&obj, &from))?;
        obj.fields[i].name = to_name;
        changes.push(SchemaChange::Rename { from, to });
    }
    for name in patch.drop {
        let (i, _) = obj.field(&name).ok_or_else(|| unknown(&obj, &name))?;
        changes.push(SchemaChange::Drop(obj.fields.remove(i)));
    }
    for (names, indexed) in [(patch.index, true), (patch.unindex, false)] {
        for name in names {
            let (i, _) = obj.field(&name).ok_or_else(|| unknown(&obj, &name))?;
            if obj.fields[i].indexed != indexed {
                obj.fields[i].indexed = indexed;
                changes.push(match indexed {
                    true => SchemaChange::Index(name),
                    false => SchemaChange::Unindex(name),
                });
            }
        }
    }
    for (name, change) in patch.change {
        changes.extend(super::fields::change_field(ctx, &mut obj, &name, change)?);
    }
    if obj.fields.len() > ctx.settings.max_fields {
        return Err(Error::new(ErrorCode::LimitExceeded, "too many fields").with_field("add"));
    }
    for change in &changes {
        ctx.tx
            .alter_object(&obj, change)
            .map_err(|e| match (e.code, change) {
                // A new unique index over existing records that share a value.
                (ErrorCode::UniqueViolation, SchemaChange::Add(f)) => shared(f.name.as_str()),
                (ErrorCode::UniqueViolation, SchemaChange::Unique(f)) => shared(f),
                _ => e,
            })?;
    }
    obj.updated_at = ctx.now.clone();
    ctx.tx.put_object(&obj)?;
    let out = obj.to_json();
    if let Some(app) = ctx.catalog_mut().app_mut(&t.app) {
        app.objects.insert(obj.name.to_string(), Arc::new(obj));
    }
    Ok(Output::ok(out))
}

/// A new unique index over existing records that share a value.
fn shared(field: &str) -> Error {
    Error::new(
        ErrorCode::Conflict,
        format!("existing records share a value of {field}, which must be unique"),
    )
    .with_field(field)
}

fn unknown(obj: &Object, name: &str) -> Error {
    Error::new(
        ErrorCode::UnknownField,
        format!("{} has no field {name:?}", obj.name),
    )
    .with_field(name)
}

fn has_records(ctx: &mut Ctx<'_>, obj: &Object) -> Result<bool> {
    let sel = Selection {
        cond: Cond::True,
        sort: Vec::new(),
        limit: 1,
        offset: 0,
        after: None,
    };
    Ok(!ctx.tx.list_records(obj, &sel)?.is_empty())
}

/// A relation field points at an object of the same app (or its own), and its default, if any,
/// names one of that object's records.
fn check_relation(ctx: &mut Ctx<'_>, app: &App, obj: &Object, f: &Field) -> Result<()> {
    let Some(rel) = &f.relation else {
        return Ok(());
    };
    let target = match app.object(&rel.object) {
        Some(t) => t.clone(),
        None if rel.object == obj.name.as_str() => Arc::new(obj.clone()),
        None => {
            return Err(Error::validation(
                f.name.as_str(),
                format!(
                    "{} points at {:?}, which is no object of this app",
                    f.name, rel.object
                ),
            ))
        }
    };
    if let Some(Value::Text(id)) = f.default_value() {
        let key = Value::Text(id.clone());
        if ctx.tx.find_ids(&target, None, &[&key])?[0].is_none() {
            return Err(Error::new(
                ErrorCode::ReferenceNotFound,
                format!("the default of {}: no {} has id {id}", f.name, rel.object),
            )
            .with_field(f.name.as_str()));
        }
    }
    Ok(())
}

/// Refuses to drop an object that another object's relation points at.
fn check_unreferenced(app: &App, obj: &Object) -> Result<()> {
    let pointing = app.pointing_at(obj.name.as_str());
    match pointing.iter().find(|(o, _, _)| o.id != obj.id) {
        Some((o, i, _)) => {
            let field = format!("{}.{}", o.name, o.fields[*i].name);
            Err(Error::new(
                ErrorCode::StillReferenced,
                format!("{field} points at {}: drop that field first", obj.name),
            )
            .with_field(field))
        }
        None => Ok(()),
    }
}

pub fn delete_object(ctx: &mut Ctx<'_>, who: &Principal, t: &Target) -> Result<Output> {
    let (app, obj) = ctx.object(who, &t.app, &t.object, Need::Own)?;
    check_unreferenced(&app, &obj)?;
    ctx.tx.drop_object(&obj)?;
    if let Some(app) = ctx.catalog_mut().app_mut(&t.app) {
        app.objects.remove(&t.object);
    }
    Ok(Output::Deleted)
}
