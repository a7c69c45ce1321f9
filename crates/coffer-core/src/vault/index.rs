//! The encrypted index cache (`index.bin`): the listing kept so that
//! unlocking does not decrypt every object's metadata again.

use std::collections::HashMap;
use std::fs;
use std::io;

use zeroize::Zeroizing;

use super::{Entry, Vault};
use crate::error::{Error, Result};
use crate::format::{self, FileId};
use crate::fsutil;
use crate::primitives::{self, random_array};
use crate::secret::Key32;

pub(super) const INDEX_FILE: &str = "index.bin";
const INDEX_MAGIC: &[u8; 8] = b"COFFERIX";
const INDEX_VERSION: u16 = 1;
/// Largest index we read (a million files fit easily).
const MAX_INDEX_LEN: u64 = 512 << 20;

impl Vault {
    pub(super) fn load_index(&self, key: &Key32) -> Option<HashMap<FileId, Entry>> {
        let path = self.dir.join(INDEX_FILE);
        let bytes = fsutil::read_bounded(&path, MAX_INDEX_LEN, "index").ok()?;
        let pt = open_index(key, self.config.vault_id(), &bytes).ok()?;
        let entries: Vec<Entry> = serde_json::from_slice(&pt).ok()?;
        Some(entries.into_iter().map(|e| (e.id, e)).collect())
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

fn index_aad(vault_id: &[u8; 16]) -> Vec<u8> {
    [&INDEX_MAGIC[..], &INDEX_VERSION.to_be_bytes(), vault_id].concat()
}

/// `magic ‖ BE16 version ‖ nonce ‖ AES-256-GCM(index key, JSON entries)`.
fn seal_index(key: &Key32, vault_id: &[u8; 16], plaintext: &[u8]) -> Vec<u8> {
    let nonce = random_array();
    let ct = primitives::seal(key, &nonce, &index_aad(vault_id), plaintext);
    [&INDEX_MAGIC[..], &INDEX_VERSION.to_be_bytes(), &nonce, &ct].concat()
}

/// Parses and opens an index file.
pub fn open_index(key: &Key32, vault_id: &[u8; 16], bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let mut r = format::Reader::new(bytes, "index");
    if r.take(8)? != INDEX_MAGIC {
        return Err(Error::corrupt("index", "bad magic"));
    }
    let v = r.u16()?;
    if v != INDEX_VERSION {
        return Err(Error::UnsupportedVersion {
            what: "index",
            version: v.into(),
        });
    }
    let nonce: [u8; 12] = r.array()?;
    let ct = r.take(bytes.len() - 22)?;
    primitives::open(key, &nonce, &index_aad(vault_id), ct)
}
