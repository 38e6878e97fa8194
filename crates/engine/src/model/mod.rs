//! The data model: names, field types, apps, objects and their fields, values, records, and the in-memory catalog.

mod catalog;
mod names;
mod record;
mod selection;
mod value;

pub use catalog::{App, Catalog, Field, FieldSpec, FieldType, Object, ObjectSpec};
pub use names::{Name, SYSTEM_FIELDS};
pub use record::{Record, RecordId, Stamp, Timestamp, WriteMode, Writes};
pub use selection::{
    decode_cursor, encode_cursor, parse_sort, CmpOp, Column, Cond, Selection, SortKey,
};
pub use value::Value;
