//! Where jobs keep their files on local disk: normalised uploads, result lines, rendered result
//! ZIPs, and uploads still streaming in. Ids name files, so only UUIDs are accepted.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use uuid::Uuid;

pub struct Files {
    dir: PathBuf,
}

impl Files {
    /// Makes the folders under `data_dir` and clears uploads a crash cut short (they were never
    /// registered).
    pub fn open(data_dir: &Path) -> Result<Files> {
        for sub in ["files", "jobs", "uploads"] {
            std::fs::create_dir_all(data_dir.join(sub)).map_err(Error::internal)?;
        }
        for entry in std::fs::read_dir(data_dir.join("uploads"))
            .map_err(Error::internal)?
            .flatten()
        {
            let _ = std::fs::remove_file(entry.path());
        }
        Ok(Files {
            dir: data_dir.to_owned(),
        })
    }

    /// A fresh path to stream an upload to before it is registered.
    pub fn upload_path(&self) -> PathBuf {
        self.dir.join("uploads").join(Uuid::new_v4().to_string())
    }

    /// A registered upload, normalised to CSV.
    pub fn input(&self, file_id: &str) -> PathBuf {
        self.dir.join("files").join(format!("{file_id}.csv"))
    }

    /// A job's result lines, appended chunk by chunk.
    pub fn result_lines(&self, job_id: &str) -> PathBuf {
        self.dir.join("jobs").join(format!("{job_id}.result"))
    }

    /// A job's result rendered as a ZIP: one per layout and number of rows done.
    pub fn result_zip(&self, job_id: &str, layout: &str, rows_done: u64) -> PathBuf {
        self.dir
            .join("jobs")
            .join(format!("{job_id}.{layout}.{rows_done}.zip"))
    }
}

/// Checks an id that names a file: only UUIDs.
pub fn check_id(id: &str, what: &str) -> Result<()> {
    Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| Error::not_found(format!("no {what} with id {id:?}")).with_field(what))
}
