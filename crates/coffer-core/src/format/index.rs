//! The index file (`index.bin`): the vault's listing, sealed with the
//! index key so that names never lie on disk in the clear.

use zeroize::Zeroizing;

use super::Reader;
use crate::crypto::primitives::{self, random_array};
use crate::crypto::secret::Key32;
use crate::error::{Error, Result};

const INDEX_MAGIC: &[u8; 8] = b"COFFERIX";
const INDEX_VERSION: u16 = 1;

fn index_aad(vault_id: &[u8; 16]) -> Vec<u8> {
    [&INDEX_MAGIC[..], &INDEX_VERSION.to_be_bytes(), vault_id].concat()
}

/// `magic ‖ BE16 version ‖ nonce ‖ AES-256-GCM(index key, JSON entries)`.
pub fn seal_index(key: &Key32, vault_id: &[u8; 16], plaintext: &[u8]) -> Vec<u8> {
    let nonce = random_array();
    let ct = primitives::seal(key, &nonce, &index_aad(vault_id), plaintext);
    [&INDEX_MAGIC[..], &INDEX_VERSION.to_be_bytes(), &nonce, &ct].concat()
}

/// Parses and opens an index file.
pub fn open_index(key: &Key32, vault_id: &[u8; 16], bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let mut r = Reader::new(bytes, "index");
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
