//! Record SQL on PostgreSQL: the store's `RecordTx`, with the reads and counts; single writes go
//! through `single_writes`, batched ones through `batched_writes`.

use super::locks::{lock_unique, Past};
use super::single_writes::{insert, update};
use super::tx::{Params, PgTx};
use super::value::{params, read_record, uuid, PgValue};
use super::{batched_writes, catalog, relations, schema};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{App, Catalog, Object, Record, Selection, Stamp, Value, Writes};
use crate::store::sql::{count_sql, list_sql, quote, select_list, Flavor};
use crate::store::{RecordTx, RowWrite, SchemaChange};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

fn one(tx: &mut PgTx<'_>, sql: &str, p: &Params<'_>) -> Result<Option<postgres::Row>> {
    tx.query_opt(sql, p)
}

/// Counts within `within`; `None` when that takes longer. The count runs in a savepoint, so a
/// count cut short leaves the transaction usable.
fn count_within(
    tx: &mut PgTx<'_>,
    obj: &Object,
    sel: &Selection,
    within: Duration,
) -> Result<Option<u64>> {
    if within.is_zero() {
        return Ok(None);
    }
    let (sql, values) = count_sql(Flavor::Postgres, obj, &sel.cond);
    let values: Vec<PgValue<'_>> = values.into_iter().map(PgValue).collect();
    let p = params(&values, &[]);
    let ms = within.as_millis().max(1);
    let counted = tx.isolated(|tx| {
        tx.batch(&format!("SET LOCAL statement_timeout = {ms}"))?;
        let n: i64 = one(tx, &sql, &p)?
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(Error::internal)?
            .unwrap_or(0);
        Ok(n as u64)
    });
    match counted {
        Ok(n) => {
            tx.batch("SET LOCAL statement_timeout TO DEFAULT")?;
            Ok(Some(n))
        }
        Err(e) if e.code == ErrorCode::Timeout => Ok(None),
        Err(e) => Err(e),
    }
}

impl RecordTx for PgTx<'_> {
    fn load_catalog(&mut self) -> Result<Catalog> {
        catalog::load_catalog(self)
    }

    fn put_app(&mut self, app: &App) -> Result<()> {
        catalog::put_app(self, app)
    }

    fn delete_app(&mut self, app: &App) -> Result<()> {
        for obj in app.objects.values() {
            schema::drop_table(self, obj)?;
        }
        catalog::delete_app(self, app.id)
    }

    fn create_object(&mut self, obj: &Object) -> Result<()> {
        catalog::put_object(self, obj)?;
        let role = self.shared.query_role.clone();
        schema::create_table(self, obj, &role)
    }

    fn put_object(&mut self, obj: &Object) -> Result<()> {
        catalog::put_object(self, obj)
    }

    fn alter_object(&mut self, obj: &Object, change: &SchemaChange) -> Result<()> {
        schema::alter_table(self, obj, change)
    }

    fn drop_object(&mut self, obj: &Object) -> Result<()> {
        schema::drop_table(self, obj)?;
        catalog::delete_object(self, obj.id)
    }

    fn insert_record(
        &mut self,
        obj: &Arc<Object>,
        id: &str,
        w: &Writes,
        stamp: &Stamp,
    ) -> Result<()> {
        lock_unique(self, obj, &[RowWrite { id, writes: w }], Past::Nothing)?;
        insert(self, obj, id, w, stamp)
    }

    fn update_record(
        &mut self,
        obj: &Arc<Object>,
        id: &str,
        w: &Writes,
        stamp: &Stamp,
    ) -> Result<bool> {
        lock_unique(self, obj, &[RowWrite { id, writes: w }], Past::Nothing)?;
        update(self, obj, id, w, stamp)
    }

    fn delete_record(&mut self, obj: &Object, id: &str) -> Result<bool> {
        let Some(rid) = uuid(id) else {
            return Ok(false);
        };
        let sql = format!("DELETE FROM {} WHERE id = $1", quote(&obj.table()));
        Ok(self.execute(&sql, &[&rid])? > 0)
    }

    fn get_record(&mut self, obj: &Object, id: &str) -> Result<Option<Record>> {
        let Some(rid) = uuid(id) else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT {} FROM {} WHERE id = $1",
            select_list(obj),
            quote(&obj.table())
        );
        one(self, &sql, &[&rid])?
            .map(|r| read_record(obj, &r).map_err(Error::internal))
            .transpose()
    }

    fn find_id(&mut self, obj: &Object, field: usize, value: &Value) -> Result<Option<String>> {
        let sql = format!(
            "SELECT id FROM {} WHERE {} = $1 LIMIT 1",
            quote(&obj.table()),
            quote(obj.fields[field].name.as_str())
        );
        one(self, &sql, &[&PgValue(value)])?
            .map(|r| r.try_get::<_, Uuid>(0).map(|u| u.hyphenated().to_string()))
            .transpose()
            .map_err(Error::internal)
    }

    fn list_records(&mut self, obj: &Object, sel: &Selection) -> Result<Vec<Record>> {
        let keys = sel.keys();
        let (sql, values) = list_sql(Flavor::Postgres, obj, sel, &keys);
        let values: Vec<PgValue<'_>> = values.into_iter().map(PgValue).collect();
        self.query(&sql, &params(&values, &[]))?
            .iter()
            .map(|r| read_record(obj, r).map_err(Error::internal))
            .collect()
    }

    fn put_records(&mut self, obj: &Object, records: &[Record]) -> Result<()> {
        batched_writes::put_records(self, obj, records)
    }

    fn count_records(
        &mut self,
        obj: &Object,
        sel: &Selection,
        within: Duration,
    ) -> Result<Option<u64>> {
        count_within(self, obj, sel, within)
    }

    fn find_ids(
        &mut self,
        obj: &Object,
        field: Option<usize>,
        keys: &[&Value],
    ) -> Result<Vec<Option<String>>> {
        batched_writes::find_ids(self, obj, field, keys, batched_writes::Lock::None)
    }

    fn find_ids_to_point_at(
        &mut self,
        obj: &Object,
        field: Option<usize>,
        keys: &[&Value],
    ) -> Result<Vec<Option<String>>> {
        batched_writes::find_ids(self, obj, field, keys, batched_writes::Lock::KeyShare)
    }

    fn lock_unique(&mut self, obj: &Object, rows: &[RowWrite<'_>]) -> Result<()> {
        lock_unique(self, obj, rows, Past::Object)
    }

    fn lock_for_delete(&mut self, obj: &Object, ids: &[&str]) -> Result<()> {
        relations::lock_for_delete(self, obj, ids)
    }

    fn insert_records(
        &mut self,
        obj: &Arc<Object>,
        rows: &[RowWrite<'_>],
        stamp: &Stamp,
    ) -> Result<Vec<Result<()>>> {
        batched_writes::insert_records(self, obj, rows, stamp)
    }

    fn update_records(
        &mut self,
        obj: &Arc<Object>,
        rows: &[RowWrite<'_>],
        stamp: &Stamp,
    ) -> Result<Vec<Result<bool>>> {
        batched_writes::update_records(self, obj, rows, stamp)
    }

    fn referencing(
        &mut self,
        obj: &Object,
        field: usize,
        targets: &[&str],
    ) -> Result<Vec<(String, String)>> {
        relations::referencing(self, obj, field, targets)
    }

    fn delete_records(&mut self, obj: &Object, ids: &[&str]) -> Result<Vec<Result<bool>>> {
        batched_writes::delete_records(self, obj, ids)
    }
}
