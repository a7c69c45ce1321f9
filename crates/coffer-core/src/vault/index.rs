//! The encrypted index cache (`index.bin`): the listing kept so that
//! unlocking does not decrypt every object's metadata again.

use std::collections::HashMap;
use std::fs;
use std::io;

use zeroize::Zeroizing;

use super::{Entry, Vault};
use crate::crypto::secret::Key32;
use crate::error::{Error, Result};
use crate::format::FileId;
use crate::format::index::{open_index, seal_index};
use crate::fsutil;

pub(super) const INDEX_FILE: &str = "index.bin";
/// Largest index we read (a million files fit easily).
const MAX_INDEX_LEN: u64 = 512 << 20;

impl Vault {
    /// The cached listing: `None` when there is none (it was deleted, or a
    /// compromise response dropped it); an error when it does not open or
    /// parse, which only damage or tampering explains.
    pub(super) fn load_index(&self, key: &Key32) -> Result<Option<HashMap<FileId, Entry>>> {
        let path = self.dir.join(INDEX_FILE);
        let bytes = match fsutil::read_bounded(&path, MAX_INDEX_LEN, "index") {
            Err(e) if fsutil::is_not_found(&e) => return Ok(None),
            r => r?,
        };
        let pt = open_index(key, self.config.vault_id(), &bytes)?;
        let entries: Vec<Entry> =
            serde_json::from_slice(&pt).map_err(|e| Error::corrupt("index", e.to_string()))?;
        Ok(Some(entries.into_iter().map(|e| (e.id, e)).collect()))
    }

    pub(super) fn save_index(&self, key: &Key32, entries: &HashMap<FileId, Entry>) -> Result<()> {
        let list: Vec<&Entry> = entries.values().collect();
        let pt = Zeroizing::new(serde_json::to_vec(&list).expect("entries serialize"));
        let bytes = seal_index(key, self.config.vault_id(), &pt);
        fsutil::atomic_write(&self.dir.join(INDEX_FILE), &bytes)
    }

    /// Drops the index cache; the next listing rebuilds it from the objects.
    pub fn rebuild_index(&self) -> Result<usize> {
        self.keys()?;
        {
            let _w = self.writer()?;
            match fs::remove_file(self.dir.join(INDEX_FILE)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::Io {
                        context: "removing the index",
                        source: e,
                    });
                }
            }
        }
        Ok(self.entries()?.entries.len())
    }
}
