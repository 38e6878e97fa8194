//! Files on local disk: normalised uploads (`files/<id>.csv`) and the result lines jobs append
//! (`jobs/<id>.result`). The embedded store's file store; a server backend keeps them in the
//! database instead, so every instance reaches them.

use crate::error::{Error, Result};
use crate::store::FileStore;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub struct LocalFiles {
    dir: PathBuf,
}

impl LocalFiles {
    pub fn open(data_dir: &Path) -> Result<LocalFiles> {
        for sub in ["files", "jobs"] {
            std::fs::create_dir_all(data_dir.join(sub)).map_err(Error::io)?;
        }
        Ok(LocalFiles {
            dir: data_dir.to_owned(),
        })
    }

    fn input(&self, id: &str) -> PathBuf {
        self.dir.join("files").join(format!("{id}.csv"))
    }

    fn result(&self, job_id: &str) -> PathBuf {
        self.dir.join("jobs").join(format!("{job_id}.result"))
    }

    /// Writes `bytes` at `offset` of a job's result lines (dropping anything after it: the work
    /// of a chunk that never committed); returns the new end. A write that fails (a full disk)
    /// gives back the space it took.
    pub fn append_result(&self, job_id: &str, offset: u64, bytes: &[u8]) -> Result<u64> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.result(job_id))
            .map_err(Error::io)?;
        let written = (|| {
            file.set_len(offset)?;
            file.seek(SeekFrom::Start(offset))?;
            file.write_all(bytes)?;
            file.flush()?;
            file.stream_position()
        })();
        if written.is_err() {
            let _ = file.set_len(offset);
        }
        written.map_err(Error::io)
    }
}

impl FileStore for LocalFiles {
    fn put_input(&self, id: &str, local: &Path) -> Result<()> {
        std::fs::rename(local, self.input(id)).map_err(Error::io)
    }

    fn open_input(&self, id: &str, offset: u64) -> Result<Box<dyn Read + Send>> {
        let mut file = File::open(self.input(id))
            .map_err(|e| Error::not_found(format!("the upload is gone: {e}")))?;
        file.seek(SeekFrom::Start(offset)).map_err(Error::io)?;
        Ok(Box::new(BufReader::with_capacity(1 << 16, file)))
    }

    fn open_result(&self, job_id: &str, len: u64) -> Result<Box<dyn Read + Send>> {
        match File::open(self.result(job_id)) {
            Ok(file) => Ok(Box::new(BufReader::new(file).take(len))),
            Err(_) if len == 0 => Ok(Box::new(std::io::empty())),
            Err(e) => Err(Error::internal(e)),
        }
    }

    fn open_result_at(&self, id: &str, from: u64, len: u64) -> Result<Box<dyn Read + Send>> {
        match File::open(self.result(id)) {
            Ok(mut file) => {
                file.seek(SeekFrom::Start(from)).map_err(Error::io)?;
                Ok(Box::new(BufReader::with_capacity(1 << 16, file).take(len)))
            }
            Err(_) if len == 0 => Ok(Box::new(std::io::empty())),
            Err(e) => Err(Error::internal(e)),
        }
    }

    fn delete_result(&self, id: &str) -> Result<()> {
        remove(&self.result(id))
    }

    fn delete_input(&self, id: &str) -> Result<()> {
        remove(&self.input(id))
    }

    fn rename_input(&self, from: &str, to: &str) -> Result<()> {
        std::fs::rename(self.input(from), self.input(to)).map_err(Error::io)
    }
}

fn remove(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(e)),
        _ => Ok(()),
    }
}
