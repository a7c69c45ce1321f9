//! Where objects and their sidecar records lie on disk, and clearing what a
//! crash left behind.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{OBJ_EXT, OBJECTS_DIR, REC_EXT, Vault};
use crate::error::{Error, IoContext, Result};
use crate::format::FileId;
use crate::fsutil::{self, TMP_SUFFIX};

impl Vault {
    pub(crate) fn shard_dir(&self, id: &FileId) -> PathBuf {
        self.dir
            .join(OBJECTS_DIR)
            .join(data_encoding::HEXLOWER.encode(&id.0[..1]))
    }

    pub(crate) fn object_path(&self, id: &FileId) -> PathBuf {
        self.shard_dir(id)
            .join(format!("{}.{OBJ_EXT}", id.to_hex()))
    }

    pub(crate) fn record_path(&self, id: &FileId) -> PathBuf {
        self.shard_dir(id)
            .join(format!("{}.{REC_EXT}", id.to_hex()))
    }

    /// Runs `work` on each of `ids` in parallel, a window of `window`
    /// objects at a time, asking the disk for the next window's objects
    /// (their first `bytes`, and their sidecars) while this one is worked
    /// on: two workers that each wait on a cold read in turn leave the
    /// cores idle. Stops after
    /// the first window in which `work` failed.
    pub(crate) fn over_objects_prefetched<T: Send>(
        &self,
        ids: &[FileId],
        (window, bytes): (usize, u64),
        work: impl Fn(&FileId) -> Result<T> + Sync,
    ) -> Result<Vec<T>> {
        // Sidecars too: a rotated vault has one beside most objects.
        let prefetch = |w: &[FileId]| {
            let paths: Vec<PathBuf> = w
                .iter()
                .flat_map(|id| [self.object_path(id), self.record_path(id)])
                .collect();
            fsutil::prefetch(paths.iter().map(PathBuf::as_path), bytes);
        };
        let windows: Vec<&[FileId]> = ids.chunks(window.max(1)).collect();
        let mut done = Vec::with_capacity(ids.len());
        for (k, w) in windows.iter().enumerate() {
            if k == 0 {
                prefetch(w);
            }
            if let Some(next) = windows.get(k + 1) {
                prefetch(next);
            }
            done.extend(w.par_iter().map(&work).collect::<Result<Vec<_>>>()?);
        }
        Ok(done)
    }

    /// Every object id on disk.
    pub fn object_ids(&self) -> Result<Vec<FileId>> {
        let mut ids = Vec::new();
        for shard in self.shards()? {
            for e in fs::read_dir(&shard).ctx("listing the vault")? {
                let e = e.ctx("listing the vault")?;
                let name = e.file_name();
                let Some(name) = name.to_str() else { continue };
                if let Some(hex) = name.strip_suffix(".obj")
                    && let Some(id) = FileId::from_hex(hex)
                {
                    ids.push(id);
                }
            }
        }
        Ok(ids)
    }

    pub(super) fn shards(&self) -> Result<Vec<PathBuf>> {
        let mut v = Vec::new();
        let root = self.dir.join(OBJECTS_DIR);
        for e in fs::read_dir(&root).ctx("listing the vault")? {
            let e = e.ctx("listing the vault")?;
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                v.push(e.path());
            }
        }
        Ok(v)
    }

    /// Removes temp files and sidecars whose object is gone. Caller holds
    /// the writer lock.
    pub(super) fn clean_leftovers(&self) -> Result<()> {
        for shard in self.shards()? {
            for e in fs::read_dir(&shard).ctx("listing the vault")? {
                let e = e.ctx("listing the vault")?;
                let name = e.file_name();
                let name = name.to_string_lossy();
                let stale_record = name
                    .strip_suffix(".rec")
                    .and_then(FileId::from_hex)
                    .is_some_and(|id| !self.object_path(&id).exists());
                if name.ends_with(TMP_SUFFIX) || stale_record {
                    fs::remove_file(e.path()).ctx("removing a leftover temporary file")?;
                }
            }
        }
        for e in fs::read_dir(&self.dir).ctx("listing the vault")? {
            let e = e.ctx("listing the vault")?;
            if e.file_name().to_string_lossy().ends_with(TMP_SUFFIX) {
                fs::remove_file(e.path()).ctx("removing a leftover temporary file")?;
            }
        }
        Ok(())
    }
}

pub(crate) fn remove_if_exists(p: &Path) -> Result<()> {
    match fs::remove_file(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::Io {
            context: "removing an object",
            source: e,
        }),
    }
}

pub(super) fn create_private_dir(dir: &Path) -> Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).ctx("creating the vault folder")
}
