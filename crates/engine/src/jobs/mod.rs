//! Asynchronous bulk-write jobs: uploads checked and normalised to CSV, the durable queue, workers
//! that stream a file in chunks and commit each chunk with the job's checkpoint, result files, and
//! signed callbacks.

mod apply;
mod assembly;
pub mod callback;
mod files;
mod inspect;
pub mod normalize;
mod numbers;
mod plan;
mod queue;
mod refs;
pub mod result;
mod rows;
mod segment;
mod service;
mod uploads;
mod worker;

pub use callback::Renderer;
pub use inspect::{FailedRow, Preview, MAX_LOOK_ROWS};
pub(crate) use plan::check_callback;
pub use plan::{CallbackSpec, JobRequest, MappingSpec};
pub use result::{ResultLayout, ResultRow, ResultView, RowStatus};
pub use service::Jobs;
pub use uploads::Upload;
