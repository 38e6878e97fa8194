//! Local scratch space for jobs: uploads while they stream in and are checked, and rendered result
//! ZIPs (a cache any instance can rebuild from the store). Ids name files, so only UUIDs are
//! accepted.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use uuid::Uuid;

pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// Makes the folders under `data_dir` and clears uploads a crash cut short (they were never
    /// registered).
    pub fn open(data_dir: &Path) -> Result<Scratch> {
        for sub in ["uploads", "cache"] {
            std::fs::create_dir_all(data_dir.join(sub)).map_err(Error::io)?;
        }
        for entry in std::fs::read_dir(data_dir.join("uploads"))
            .map_err(Error::io)?
            .flatten()
        {
            let _ = std::fs::remove_file(entry.path());
        }
        Ok(Scratch {
            dir: data_dir.to_owned(),
        })
    }

    /// A fresh path to stream an upload to before it is checked.
    pub fn upload_path(&self) -> PathBuf {
        self.dir.join("uploads").join(Uuid::new_v4().to_string())
    }

    /// Where upload `id` is normalised before the store keeps it.
    pub fn normalized_path(&self, id: &str) -> PathBuf {
        self.dir.join("uploads").join(format!("{id}.csv"))
    }

    /// A job's result rendered as a ZIP: one per layout and number of rows done.
    pub fn result_zip(&self, job_id: &str, layout: &str, rows_done: u64) -> PathBuf {
        self.dir
            .join("cache")
            .join(format!("{job_id}.{layout}.{rows_done}.zip"))
    }
}

/// Checks an id that names a file: only UUIDs.
pub fn check_id(id: &str, what: &str) -> Result<()> {
    Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| Error::not_found(format!("no {what} with id {id:?}")).with_field(what))
}
