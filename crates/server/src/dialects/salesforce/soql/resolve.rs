//! Names as Salesforce clients write them → the app's objects, fields and joins. Salesforce is
//! case-insensitive in both, and so is this: the FROM name is an object's name (or label), a field
//! is a field of the object, `Id` the record id, and Salesforce's standard system fields map to
//! sluice's (`CreatedDate` → `created_at`, `LastModifiedDate` and `SystemModstamp` → `updated_at`,
//! `CreatedById` → `created_by`, `LastModifiedById` → `updated_by`, which hold user names). A
//! parent's field `X.Field` goes through the object's relation field named `X`, `XId`
//! (`Account` → `AccountId`) or, for a custom relationship `X__r`, `X__c`; each relation used is
//! one LEFT JOIN, so a record without a parent still reads, with its parent's fields empty.

use super::ast::Path;
use super::{located, SoqlError, INVALID_FIELD, INVALID_TYPE, MALFORMED_QUERY};
use sluice_engine::model::{App, Field, FieldType, Object};
use std::sync::Arc;

/// How a column's values compare and read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text, compared without regard to (ASCII) case, as Salesforce compares strings.
    Text,
    Integer,
    Number,
    Boolean,
    Date,
    DateTime,
    Json,
    /// A record id (`id`, a relation field): compared exactly, in lower case.
    Id,
    /// Text compared exactly (`created_by`, a user name).
    Exact,
}

impl Kind {
    fn of(ty: FieldType) -> Kind {
        match ty {
            FieldType::Text => Kind::Text,
            FieldType::Integer => Kind::Integer,
            FieldType::Number => Kind::Number,
            FieldType::Boolean => Kind::Boolean,
            FieldType::Date => Kind::Date,
            FieldType::Datetime => Kind::DateTime,
            FieldType::Json => Kind::Json,
            FieldType::Relation => Kind::Id,
        }
    }

    /// The type as Salesforce's messages name it.
    pub fn soap_type(self) -> &'static str {
        match self {
            Kind::Text | Kind::Exact | Kind::Json => "string",
            Kind::Integer => "int",
            Kind::Number => "double",
            Kind::Boolean => "boolean",
            Kind::Date => "date",
            Kind::DateTime => "dateTime",
            Kind::Id => "id",
        }
    }
}

/// A column the query names.
#[derive(Debug, Clone)]
pub struct Column {
    /// `"t0"."name"`.
    pub sql: String,
    pub kind: Kind,
    /// The join it is read through (`None`: the FROM object itself).
    pub join: Option<usize>,
    /// The field as the query wrote it, for messages.
    pub written: String,
}

/// One parent read through a relation field of the FROM object.
#[derive(Debug, Clone)]
pub struct Join {
    /// The relation field of the FROM object.
    pub field: String,
    pub target: Arc<Object>,
    /// The parent's alias in the SQL.
    pub alias: String,
}

/// The FROM object's alias in the SQL (parents are `t1`, `t2`…).
pub const BASE: &str = "t0";

pub struct Scope<'a> {
    soql: &'a str,
    app: &'a App,
    pub base: Arc<Object>,
    alias: Option<String>,
    pub joins: Vec<Join>,
}

/// `name` as an SQL identifier.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

const WSDL: &str = "Please reference your WSDL or the describe call for the appropriate names.";

impl<'a> Scope<'a> {
    /// The scope of `FROM name [alias]`; an unknown object is Salesforce's `INVALID_TYPE`.
    pub fn new(
        soql: &'a str,
        app: &'a App,
        name: &str,
        at: usize,
        alias: Option<String>,
    ) -> Result<Scope<'a>, SoqlError> {
        let Some(base) = app.object_by_name_or_label(name).cloned() else {
            return Err(SoqlError::new(
                INVALID_TYPE,
                located(
                    soql,
                    at,
                    &format!(
                        "sObject type '{name}' is not supported. If you are attempting to use a \
                         custom object, be sure to append the '__c' after the entity name. {WSDL}"
                    ),
                ),
            ));
        };
        Ok(Scope {
            soql,
            app,
            base,
            alias,
            joins: Vec::new(),
        })
    }

    /// The column `path` names: a field of the FROM object, or of a parent one level up.
    pub fn column(&mut self, path: &Path) -> Result<Column, SoqlError> {
        let mut parts = path.parts.as_slice();
        if let (Some(alias), [first, rest @ ..]) = (&self.alias, parts) {
            if !rest.is_empty() && first.eq_ignore_ascii_case(alias) {
                parts = rest;
            }
        }
        match parts {
            [name] => {
                let (column, kind) = field(&self.base, name)
                    .ok_or_else(|| self.no_such_column(path, name, &self.base))?;
                Ok(Column {
                    sql: format!("{}.{}", quote(BASE), quote(&column)),
                    kind,
                    join: None,
                    written: path.text(),
                })
            }
            [relationship, name] => {
                let join = self.join(path, relationship)?;
                let target = self.joins[join].target.clone();
                let (column, kind) =
                    field(&target, name).ok_or_else(|| self.no_such_column(path, name, &target))?;
                Ok(Column {
                    sql: format!("{}.{}", quote(&self.joins[join].alias), quote(&column)),
                    kind,
                    join: Some(join),
                    written: path.text(),
                })
            }
            _ => Err(SoqlError::new(
                MALFORMED_QUERY,
                located(
                    self.soql,
                    path.at,
                    &format!(
                        "relationship fields reach one level up at most here: '{}'",
                        path.text()
                    ),
                ),
            )),
        }
    }

    /// The join through the relation field `relationship` names, made once however many of the
    /// parent's fields the query reads.
    fn join(&mut self, path: &Path, relationship: &str) -> Result<usize, SoqlError> {
        let found = relation(&self.base, relationship).and_then(|f| {
            let target = f.relation.as_ref()?;
            Some((f.name.to_string(), self.app.object(&target.object)?.clone()))
        });
        let Some((field, target)) = found else {
            return Err(SoqlError::new(
                INVALID_FIELD,
                located(
                    self.soql,
                    path.at,
                    &format!(
                        "Didn't understand relationship '{relationship}' in field path. If you \
                         are attempting to use a custom relationship, be sure to append the \
                         '__r' after the custom relationship name. {WSDL}"
                    ),
                ),
            ));
        };
        if let Some(i) = self.joins.iter().position(|j| j.field == field) {
            return Ok(i);
        }
        self.joins.push(Join {
            field,
            target,
            alias: format!("t{}", self.joins.len() + 1),
        });
        Ok(self.joins.len() - 1)
    }

    fn no_such_column(&self, path: &Path, name: &str, on: &Object) -> SoqlError {
        SoqlError::new(
            INVALID_FIELD,
            located(
                self.soql,
                path.at,
                &format!(
                    "No such column '{name}' on entity '{}'. If you are attempting to use a \
                     custom field, be sure to append the '__c' after the custom field name. {WSDL}",
                    on.name
                ),
            ),
        )
    }
}

/// A field of `obj` by the name a Salesforce client gives it: its own field first, then the
/// system fields under Salesforce's names or sluice's.
fn field(obj: &Object, name: &str) -> Option<(String, Kind)> {
    if let Some((_, f)) = obj.field_ci(name) {
        return Some((f.name.to_string(), Kind::of(f.ty)));
    }
    let (column, kind) = match name.to_ascii_lowercase().as_str() {
        "id" => ("id", Kind::Id),
        "createddate" | "created_at" => ("created_at", Kind::DateTime),
        "lastmodifieddate" | "systemmodstamp" | "updated_at" => ("updated_at", Kind::DateTime),
        "createdbyid" | "created_by" => ("created_by", Kind::Exact),
        "lastmodifiedbyid" | "updated_by" => ("updated_by", Kind::Exact),
        _ => return None,
    };
    Some((column.to_owned(), kind))
}

/// The relation field of `obj` a relationship name reaches: the field of that name, else
/// `<name>Id` (standard relationships: `Account` is the field `AccountId`), else for a custom
/// relationship `<x>__r` the field `<x>__c`.
fn relation<'o>(obj: &'o Object, name: &str) -> Option<&'o Field> {
    let named = |n: &str| {
        obj.relations()
            .map(|(_, f, _)| f)
            .find(|f| f.name.as_str().eq_ignore_ascii_case(n))
    };
    let custom = name
        .len()
        .checked_sub(3)
        .filter(|&cut| {
            name.get(cut..)
                .is_some_and(|s| s.eq_ignore_ascii_case("__r"))
        })
        .and_then(|cut| name.get(..cut))
        .map(|stem| format!("{stem}__c"));
    named(name)
        .or_else(|| named(&format!("{name}Id")))
        .or_else(|| custom.as_deref().and_then(named))
}
