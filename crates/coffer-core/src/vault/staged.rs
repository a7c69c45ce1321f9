//! A vault file replaced through a staged copy signed under a new writer
//! key (docs/FORMAT.md §17.4): `manifest.next` for `manifest.bin`,
//! `protected.next` for `protected.json`. The staged copy is written before
//! the config that holds the new key and renamed over the file after it;
//! readers take it only when it verifies under the writer key of the
//! config they trust, so whichever config a crash leaves, one of the two
//! files verifies and neither is an alarm.

use std::fs;

use super::Vault;
use crate::error::{IoContext, Result};
use crate::fsutil;

/// One file kept that way.
pub(super) struct Staged {
    /// The staged copy's name in the vault folder.
    pub(super) next: &'static str,
    /// The file it replaces.
    pub(super) file: &'static str,
    /// The most either may hold.
    pub(super) max: u64,
    /// What it is, for errors.
    pub(super) what: &'static str,
    /// What a failed rename was doing.
    pub(super) updating: &'static str,
}

impl Vault {
    /// The bytes in force: the staged copy when `verifies` accepts it (a
    /// change of writer key that a crash stopped before the rename), else
    /// the file.
    pub(super) fn read_staged(
        &self,
        s: &Staged,
        verifies: impl Fn(&[u8]) -> bool,
    ) -> Result<Vec<u8>> {
        if let Ok(b) = fsutil::read_bounded(&self.dir.join(s.next), s.max, s.what)
            && verifies(&b)
        {
            return Ok(b);
        }
        fsutil::read_bounded(&self.dir.join(s.file), s.max, s.what)
    }

    /// Under the writer lock: a staged copy that `verifies` accepts
    /// replaces the file; one that it does not (its config was never saved)
    /// is removed. Without a writer key nothing can be told, so nothing is
    /// touched.
    pub(super) fn settle_staged(&self, s: &Staged, verifies: impl Fn(&[u8]) -> bool) -> Result<()> {
        let next = self.dir.join(s.next);
        if fs::symlink_metadata(&next).is_err() || self.writer_key().is_none() {
            return Ok(());
        }
        let valid = fsutil::read_bounded(&next, s.max, s.what).is_ok_and(|b| verifies(&b));
        if valid {
            fs::rename(&next, self.dir.join(s.file)).ctx(s.updating)?;
            fsutil::sync_dir(&self.dir)
        } else {
            super::remove_if_exists(&next)
        }
    }
}
