//! Record tables on PostgreSQL: one typed table per object, readable by the query role, with the
//! same indexes as on SQLite. Text compares byte-wise (`COLLATE "C"`), as SQLite's does, so lists
//! sort the same on both backends; indexes put NULLs first, as the lists order them.

use super::tx::PgTx;
use super::value::{sql_type, PgValue};
use crate::error::Result;
use crate::model::{Field, FieldType, Object};
use crate::store::sql::quote;
use crate::store::SchemaChange;

fn column_type(f: &Field) -> String {
    match f.ty {
        FieldType::Text => "text COLLATE \"C\"".to_owned(),
        ty => sql_type(ty).to_owned(),
    }
}

fn index_name(obj: &Object, field: &str, kind: &str) -> String {
    quote(&format!("{}_{kind}_{field}", obj.table()))
}

/// A field's non-unique index, ending with `id` as every list's order does.
fn plain_index(obj: &Object, field: &str) -> String {
    format!(
        "CREATE INDEX IF NOT EXISTS {} ON {} ({} NULLS FIRST, id);",
        index_name(obj, field, "i"),
        quote(&obj.table()),
        quote(field)
    )
}

fn unique_index(obj: &Object, field: &str) -> String {
    format!(
        "CREATE UNIQUE INDEX {} ON {} ({});",
        index_name(obj, field, "u"),
        quote(&obj.table()),
        quote(field)
    )
}

fn drop_indexes(obj: &Object, field: &str) -> String {
    format!(
        "DROP INDEX IF EXISTS {}; DROP INDEX IF EXISTS {};",
        index_name(obj, field, "u"),
        index_name(obj, field, "i")
    )
}

fn indexes_of(obj: &Object, f: &Field) -> String {
    let mut sql = String::new();
    if f.unique {
        sql.push_str(&unique_index(obj, f.name.as_str()));
    }
    if f.indexed {
        sql.push_str(&plain_index(obj, f.name.as_str()));
    }
    sql
}

/// The record table. Required-ness is enforced by the engine; uniqueness by unique indexes.
pub fn create_table(tx: &mut PgTx<'_>, obj: &Object, query_role: &str) -> Result<()> {
    let table = quote(&obj.table());
    let mut sql = format!(
        "CREATE TABLE {table} (id uuid NOT NULL PRIMARY KEY, created_at timestamptz NOT NULL, \
         updated_at timestamptz NOT NULL, created_by text NOT NULL, updated_by text NOT NULL"
    );
    for f in &obj.fields {
        sql.push_str(&format!(", {} {}", quote(f.name.as_str()), column_type(f)));
    }
    sql.push_str(");");
    for f in &obj.fields {
        sql.push_str(&indexes_of(obj, f));
    }
    // The second wall behind the query checker: the query role reads record tables and nothing
    // else.
    sql.push_str(&format!(
        "GRANT SELECT ON {table} TO {};",
        quote(query_role)
    ));
    tx.batch(&sql)
}

/// Applies one field change.
pub fn alter_table(tx: &mut PgTx<'_>, obj: &Object, change: &SchemaChange) -> Result<()> {
    let table = quote(&obj.table());
    let sql = match change {
        SchemaChange::Add(f) => {
            let column = quote(f.name.as_str());
            tx.batch(&format!(
                "ALTER TABLE {table} ADD COLUMN {column} {};",
                column_type(f)
            ))?;
            if let Some(d) = f.default_value() {
                // Existing records take the new field's default.
                tx.execute(
                    &format!("UPDATE {table} SET {column} = $1"),
                    &[&PgValue(&d)],
                )?;
            }
            indexes_of(obj, f)
        }
        SchemaChange::Rename { from, to } => {
            let mut s = format!(
                "ALTER TABLE {table} RENAME COLUMN {} TO {};",
                quote(from),
                quote(to)
            );
            // Index names carry the field's name: rebuild them under the new one.
            if let Some((_, f)) = obj.field(to).filter(|(_, f)| f.unique || f.indexed) {
                s.push_str(&drop_indexes(obj, from));
                s.push_str(&indexes_of(obj, f));
            }
            s
        }
        SchemaChange::Drop(f) => format!(
            "{} ALTER TABLE {table} DROP COLUMN {};",
            drop_indexes(obj, f.name.as_str()),
            quote(f.name.as_str())
        ),
        SchemaChange::Index(field) => plain_index(obj, field),
        SchemaChange::Unindex(field) => {
            format!("DROP INDEX IF EXISTS {};", index_name(obj, field, "i"))
        }
        SchemaChange::Unique(field) => unique_index(obj, field),
        SchemaChange::NotUnique(field) => {
            format!("DROP INDEX IF EXISTS {};", index_name(obj, field, "u"))
        }
    };
    if sql.is_empty() {
        return Ok(());
    }
    tx.batch(&sql)
}

pub fn drop_table(tx: &mut PgTx<'_>, obj: &Object) -> Result<()> {
    tx.batch(&format!("DROP TABLE IF EXISTS {};", quote(&obj.table())))
}
