//! The data model, plain data: names, field types, apps, objects and their fields, values,
//! records, the in-memory catalog, access rows and principals, jobs and their files, batches,
//! exports, the tasks they run as, and queries.

mod access;
mod alias;
mod assembly;
mod batch;
mod borrowed;
mod catalog;
mod export;
mod filter;
mod idempotency;
mod job;
mod lease;
mod lifecycle;
mod names;
mod position;
mod principal;
mod query;
mod record;
mod relation;
mod selection;
mod task;
mod time;
mod value;

pub use access::{
    check_password, check_user_name, Role, TokenKind, TokenRow, UserRow, MIN_PASSWORD_LEN,
};
pub use alias::{AliasKind, AliasRow, ALIAS_BASE};
pub use assembly::{Assembly, AssemblyState, Part};
pub use batch::{Action, Batch, BatchOp, BatchStatus, Selected};
pub use borrowed::{RecordRef, ValueRef};
pub use catalog::{App, Catalog, Field, FieldSpec, Object, ObjectSpec};
pub use export::{
    CsvStyle, Export, ExportFormat, ExportNumbers, ExportSource, ExportStatus, Shape, Stored,
};
pub use filter::{Filter, FilterOp, Linked, ListSpec};
pub use idempotency::{Answer, IdemKey, Keyed, MAX_KEY_LEN};
pub use job::{
    Callback, CallbackStatus, Checkpoint, FileRow, Job, JobNumbers, JobOp, JobStatus, Mapping,
    Progress,
};
pub use lease::{abandoned, held, takeable, Lease};
pub use lifecycle::{cancel, Phase, Tracked};
pub use names::{Name, SYSTEM_FIELDS};
pub use position::Positions;
pub use principal::{Need, Principal};
pub use query::{
    CheckedQuery, QueryResult, QueryView, Relation, SqlSyntax, ViewColumn, Window,
    ALLOWED_FUNCTIONS, PG_FUNCTIONS, PG_TABLE_FUNCTIONS, TABLE_FUNCTIONS,
};
pub use record::{Record, RecordId, Stamp, WriteMode, Writes};
pub use relation::{Lookup, OnDelete, RelationTarget};
pub use selection::{
    decode_cursor, encode_cursor, parse_sort, CmpOp, Column, Cond, Selection, SortKey,
};
pub use task::{Held, Queue, Task, TaskKind};
pub use time::Timestamp;
pub use value::{check_value_depth, json_depth, FieldType, Value};
