//! Relations between objects where records are written, deleted and read: lookups and id checks
//! before writes, `on_delete` rules around deletes, `expand` after reads, and lists of the
//! records linked to one record.

mod deletes;
mod expand;
mod linked;
mod refs;

pub use deletes::{delete_following, Deleted};
pub use expand::{expand_records, related_columns, widen, Expand};
pub use linked::linked_cond;
pub use refs::resolve_refs;
