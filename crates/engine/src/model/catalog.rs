//! Apps, objects and fields as parsed values, and the catalog that holds them in memory.

use super::access::Role;
use super::names::Name;
use super::relation::{OnDelete, RelationTarget};
use super::time::Timestamp;
use super::value::{FieldType, Value};
use crate::error::{Error, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

/// A field as clients describe it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: FieldType,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub unique: bool,
    /// A (non-unique) index, so filters and sorts on the field read only what they need.
    #[serde(default)]
    pub indexed: bool,
    #[serde(default)]
    pub default: Option<Json>,
    #[serde(default)]
    pub label: Option<String>,
    /// For a `relation` field: the object it points at (in the same app).
    #[serde(default)]
    pub object: Option<String>,
    /// For a `relation` field: what deleting the target does (default `restrict`).
    #[serde(default)]
    pub on_delete: Option<OnDelete>,
}

/// An object as clients describe it at creation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectSpec {
    pub name: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
}

/// A parsed field: its name is an identifier, its default already has the field's type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub name: Name,
    #[serde(rename = "type")]
    pub ty: FieldType,
    pub required: bool,
    pub unique: bool,
    #[serde(default)]
    pub indexed: bool,
    pub default: Option<Json>,
    pub label: Option<String>,
    /// Set exactly when the type is `relation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relation: Option<RelationTarget>,
}

impl Field {
    pub fn parse(spec: FieldSpec) -> Result<Field> {
        let name = Name::parse_field(&spec.name)?;
        if let Some(d) = &spec.default {
            Value::from_json(spec.ty, d)
                .map_err(|m| Error::validation(name.as_str(), format!("default of {name}: {m}")))?;
        }
        let relation = match (spec.ty, spec.object) {
            (FieldType::Relation, Some(object)) => Some(RelationTarget {
                object,
                on_delete: spec.on_delete.unwrap_or_default(),
            }),
            (FieldType::Relation, None) => {
                return Err(Error::validation(
                    name.as_str(),
                    format!("relation field {name} needs the object it points at (\"object\")"),
                ))
            }
            (_, Some(_)) => {
                return Err(Error::validation(
                    name.as_str(),
                    format!("only a relation field points at an object ({name})"),
                ))
            }
            (_, None) if spec.on_delete.is_some() => {
                return Err(Error::validation(
                    name.as_str(),
                    format!("only a relation field has on_delete ({name})"),
                ))
            }
            (_, None) => None,
        };
        let lookup_default = spec.default.as_ref().is_some_and(Json::is_object);
        if relation.is_some() && lookup_default {
            return Err(Error::validation(
                name.as_str(),
                format!("the default of {name} is a record id"),
            ));
        }
        Ok(Field {
            name,
            ty: spec.ty,
            required: spec.required,
            unique: spec.unique,
            // Deletes find the records pointing at a target, and filters follow relations: both
            // read this index.
            indexed: spec.indexed || relation.is_some(),
            default: spec.default.filter(|d| !d.is_null()),
            label: spec.label,
            relation,
        })
    }

    /// The default as a typed value, if the field has one.
    pub fn default_value(&self) -> Option<Value> {
        self.default
            .as_ref()
            .and_then(|d| Value::from_json(self.ty, d).ok())
    }

    pub fn to_json(&self) -> Json {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!(self.ty.as_str()));
        m.insert("required".into(), json!(self.required));
        m.insert("unique".into(), json!(self.unique));
        m.insert("indexed".into(), json!(self.indexed));
        if let Some(d) = &self.default {
            m.insert("default".into(), d.clone());
        }
        if let Some(l) = &self.label {
            m.insert("label".into(), json!(l));
        }
        if let Some(r) = &self.relation {
            m.insert("object".into(), json!(r.object));
            m.insert("on_delete".into(), json!(r.on_delete.as_str()));
        }
        Json::Object(m)
    }
}

/// An object: a typed table of records inside an app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Object {
    pub id: Uuid,
    pub app_id: Uuid,
    pub name: Name,
    pub label: String,
    pub fields: Vec<Field>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Object {
    /// Builds a new object from a client's description, checking every field.
    pub fn from_spec(app_id: Uuid, spec: ObjectSpec, now: Timestamp) -> Result<Object> {
        let name = Name::parse(&spec.name, "object")?;
        let mut fields: Vec<Field> = Vec::with_capacity(spec.fields.len());
        for f in spec.fields {
            let field = Field::parse(f)?;
            if fields
                .iter()
                .any(|g| g.name.as_str().eq_ignore_ascii_case(field.name.as_str()))
            {
                return Err(Error::new(
                    ErrorCode::ValidationFailed,
                    format!("field {} is defined twice", field.name),
                )
                .with_field(field.name.as_str()));
            }
            fields.push(field);
        }
        Ok(Object {
            id: Uuid::now_v7(),
            app_id,
            label: spec.label.unwrap_or_else(|| name.to_string()),
            name,
            fields,
            created_at: now.clone(),
            updated_at: now,
        })
    }

    /// The SQL table that holds this object's records: keyed by the object's id so renames cost nothing.
    pub fn table(&self) -> String {
        format!("o_{}", self.id.simple())
    }

    pub fn field(&self, name: &str) -> Option<(usize, &Field)> {
        self.fields
            .iter()
            .enumerate()
            .find(|(_, f)| f.name.as_str() == name)
    }

    /// Looks a field up ignoring case, as SQL does for column names.
    pub fn field_ci(&self, name: &str) -> Option<(usize, &Field)> {
        self.fields
            .iter()
            .enumerate()
            .find(|(_, f)| f.name.as_str().eq_ignore_ascii_case(name))
    }

    /// The relation fields, by index, with what they point at.
    pub fn relations(&self) -> impl Iterator<Item = (usize, &Field, &RelationTarget)> {
        self.fields
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.relation.as_ref().map(|r| (i, f, r)))
    }

    pub fn to_json(&self) -> Json {
        json!({
            "id": self.id,
            "app_id": self.app_id,
            "name": self.name,
            "label": self.label,
            "fields": self.fields.iter().map(Field::to_json).collect::<Vec<_>>(),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

/// An app (tenant): its settings and its objects.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct App {
    pub id: Uuid,
    pub name: Name,
    pub label: String,
    pub anonymous_role: Option<Role>,
    /// Secret for signing job callbacks; shown to owners only.
    pub secret: String,
    /// A token clients may send to act with the anonymous role; shown to owners.
    #[serde(default)]
    pub anonymous_token: String,
    /// A token that lets clients sign new users up (with the sign-up role); shown to owners.
    /// Apps made before it existed have none (empty), so nobody can sign up there.
    #[serde(default)]
    pub signup_token: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip)]
    pub objects: BTreeMap<String, Arc<Object>>,
}

impl App {
    pub fn object(&self, name: &str) -> Option<&Arc<Object>> {
        self.objects.get(name)
    }

    pub fn object_by_id(&self, id: &str) -> Option<&Arc<Object>> {
        self.objects.values().find(|o| o.id.to_string() == id)
    }

    /// Whether some relation field of the app points at `target` (asked on every delete).
    pub fn is_pointed_at(&self, target: &str) -> bool {
        self.objects
            .values()
            .any(|o| o.relations().any(|(_, _, r)| r.object == target))
    }

    /// Every relation field of the app that points at `target`: (object, field index, rule).
    pub fn pointing_at(&self, target: &str) -> Vec<(Arc<Object>, usize, OnDelete)> {
        self.objects
            .values()
            .flat_map(|o| {
                o.relations()
                    .filter(|(_, _, r)| r.object == target)
                    .map(|(i, _, r)| (o.clone(), i, r.on_delete))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Finds an object by name or label, ignoring case, as SQL queries address them.
    pub fn object_by_name_or_label(&self, s: &str) -> Option<&Arc<Object>> {
        self.objects.get(s).or_else(|| {
            self.objects.values().find(|o| {
                o.name.as_str().eq_ignore_ascii_case(s) || o.label.eq_ignore_ascii_case(s)
            })
        })
    }

    pub fn to_json(&self, with_secret: bool) -> Json {
        let mut v = json!({
            "id": self.id,
            "name": self.name,
            "label": self.label,
            "anonymous_role": self.anonymous_role,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        });
        if with_secret {
            v["secret"] = json!(self.secret);
            v["anonymous_token"] = json!(self.anonymous_token);
            v["signup_token"] = json!(self.signup_token);
        }
        v
    }
}

/// Every app and object, kept in memory so requests resolve names without touching the store.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    apps: BTreeMap<String, Arc<App>>,
}

impl Catalog {
    pub fn app(&self, name: &str) -> Option<&Arc<App>> {
        self.apps.get(name)
    }

    pub fn app_by_id(&self, id: Uuid) -> Option<&Arc<App>> {
        self.apps.values().find(|a| a.id == id)
    }

    pub fn apps(&self) -> impl Iterator<Item = &Arc<App>> {
        self.apps.values()
    }

    pub fn put_app(&mut self, app: App) {
        self.apps.insert(app.name.to_string(), Arc::new(app));
    }

    pub fn remove_app(&mut self, name: &str) -> Option<Arc<App>> {
        self.apps.remove(name)
    }

    /// Mutable access to an app, copying it first if a reader still holds the old version.
    pub fn app_mut(&mut self, name: &str) -> Option<&mut App> {
        self.apps.get_mut(name).map(Arc::make_mut)
    }
}
