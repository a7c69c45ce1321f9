//! Key derivation below the DEK: one HKDF-SHA256 extract per content
//! instance, one expand per purpose, each with its own label.

use crate::crypto::primitives::{ct_eq, hkdf32};
use crate::crypto::secret::Key32;
use crate::format::{FileId, Header};

/// HKDF info label of the chunk-payload key.
pub const LABEL_PAYLOAD: &[u8] = b"coffer/v1/payload-key";
/// HKDF info label of the metadata key.
pub const LABEL_METADATA: &[u8] = b"coffer/v1/metadata-key";
/// HKDF info label of the key commitment.
pub const LABEL_COMMITMENT: &[u8] = b"coffer/v1/key-commitment";

/// The keys one content instance uses, derived from its DEK.
pub struct FileKeys {
    /// AES-256-GCM key of the chunk stream.
    pub payload: Key32,
    /// AES-256-GCM key of the metadata record.
    pub metadata: Key32,
    /// Stored in the header; proves which DEK the content belongs to.
    pub commitment: [u8; 32],
}

impl FileKeys {
    /// Derives the keys for `dek` under a header's `salt` and `file_id`.
    pub fn derive(dek: &Key32, salt: &[u8; 32], file_id: &FileId) -> Self {
        let k = |label: &[u8]| hkdf32(salt, dek.expose(), &[label, &file_id.0]);
        FileKeys {
            payload: k(LABEL_PAYLOAD),
            metadata: k(LABEL_METADATA),
            commitment: *k(LABEL_COMMITMENT).expose(),
        }
    }

    /// Derives the keys and checks them against the header's commitment, so
    /// a DEK that is not this content's never releases a byte.
    pub fn derive_checked(dek: &Key32, header: &Header) -> crate::Result<Self> {
        let keys = Self::derive(dek, &header.salt, &header.file_id);
        if ct_eq(&keys.commitment, &header.commitment) {
            Ok(keys)
        } else {
            Err(crate::Error::DecryptionFailed)
        }
    }
}
