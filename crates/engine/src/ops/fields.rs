//! Changes to existing fields in an object's PATCH (`"change": {"age": {"required": true}}`):
//! whether a value is required, unique or has a default, and the label. Required-ness and
//! defaults are the engine's own rules (checked against the records there are); uniqueness is a
//! unique index, built over them. A field's type does not change in place.

use crate::core::Ctx;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{Column, Cond, FieldType, Object, Selection, Value};
use crate::store::SchemaChange;
use serde::Deserialize;
use serde_json::Value as Json;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldChange {
    /// Must be the field's own type if given (a type does not change in place).
    #[serde(rename = "type", default)]
    ty: Option<FieldType>,
    #[serde(default)]
    required: Option<bool>,
    #[serde(default)]
    unique: Option<bool>,
    /// A new default; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    default: Option<Option<Json>>,
    #[serde(default)]
    label: Option<String>,
}

fn present<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<Json>>, D::Error> {
    Option::<Json>::deserialize(d).map(Some)
}

/// Whether some record of `obj` has no value in field `i`.
fn has_empty(ctx: &mut Ctx<'_>, obj: &Object, i: usize) -> Result<bool> {
    let sel = Selection {
        cond: Cond::IsNull(Column::Field(i), true),
        sort: Vec::new(),
        limit: 1,
        offset: 0,
        after: None,
    };
    Ok(!ctx.tx.list_records(obj, &sel)?.is_empty())
}

/// Applies `change` to field `name` of `obj` (in memory), checking it against the records; the
/// index changes the store must make, if any.
pub fn change_field(
    ctx: &mut Ctx<'_>,
    obj: &mut Object,
    name: &str,
    change: FieldChange,
) -> Result<Vec<SchemaChange>> {
    let (i, field) = obj.field(name).ok_or_else(|| {
        Error::new(
            ErrorCode::UnknownField,
            format!("{} has no field {name:?}", obj.name),
        )
        .with_field(name)
    })?;
    let ty = field.ty;
    if change.ty.is_some_and(|t| t != ty) {
        return Err(Error::validation(
            name,
            format!(
                "the type of {name} cannot change in place: add a field of the new type and fill \
                 it (an update job does), then drop this one"
            ),
        ));
    }
    if let Some(Some(d)) = &change.default {
        Value::from_json(ty, d)
            .map_err(|m| Error::validation(name, format!("default of {name}: {m}")))?;
    }
    let mut out = Vec::new();
    if change.required == Some(true) && !obj.fields[i].required && has_empty(ctx, obj, i)? {
        return Err(Error::validation(
            name,
            format!("some records have no {name}: give them one before it becomes required"),
        ));
    }
    let f = &mut obj.fields[i];
    if let Some(r) = change.required {
        f.required = r;
    }
    if let Some(d) = change.default {
        f.default = d.filter(|d| !d.is_null());
    }
    if let Some(l) = change.label {
        f.label = Some(l);
    }
    if let Some(u) = change.unique.filter(|u| *u != f.unique) {
        f.unique = u;
        out.push(match u {
            true => SchemaChange::Unique(name.to_owned()),
            false => SchemaChange::NotUnique(name.to_owned()),
        });
    }
    Ok(out)
}
