//! Relations between objects where records are written, deleted and read: lookups and id checks
//! before writes, `on_delete` rules around deletes, and `expand` after reads.

mod deletes;
mod expand;
mod refs;

pub use deletes::{delete_following, Deleted};
pub use expand::{expand_records, related_columns, widen, Expand};
pub use refs::{related, resolve_refs};
