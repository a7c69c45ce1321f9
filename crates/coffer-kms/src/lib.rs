//! IT-side recovery of a Coffer vault through the organisation key that
//! lives in a KMS or an HSM. A laptop enrols to the key's public half
//! offline (`coffer_core::escrow_key::kms`); this crate, run by IT on
//! their own machine, asks the KMS/HSM to unwrap a vault's slot key. The
//! private key never leaves the KMS/HSM, and every use is in its own log.
//!
//! Kept out of the core so that HTTP, TLS and PKCS#11 stay off the file
//! path of every laptop.
//!
//! ```no_run
//! # fn main() -> Result<(), coffer_kms::KmsError> {
//! use coffer_kms::transit::{Transit, TransitOptions};
//! let store = Transit::new(TransitOptions {
//!     url: "https://bao.clinic.example:8200".into(),
//!     mount: "transit".into(),
//!     key: "coffer-escrow".into(),
//!     token: zeroize::Zeroizing::new(std::env::var("BAO_TOKEN").unwrap_or_default()),
//!     ca_file: None,
//! })?;
//! # let slots = Vec::new();
//! let unwrapped = coffer_kms::unwrap_slot(&store, &slots)?;
//! # let _ = unwrapped.slot_key;
//! # Ok(()) }
//! ```

mod error;
mod oaep;
pub mod pkcs11;
pub mod transit;

pub use error::KmsError;

use coffer_core::crypto::rsa_oaep::{OrgRsaKey, fingerprint_text};
use coffer_core::escrow_key::kms::KmsSlot;
use coffer_core::secret::Key32;
use zeroize::Zeroizing;

/// A place that holds the organisation's private key and decrypts with it.
pub trait OrgKeyStore {
    /// The key's name there (transit key name, PKCS#11 key label).
    fn key_name(&self) -> &str;
    /// Whether the store keeps versions of one key under one name.
    fn has_versions(&self) -> bool;
    /// The newest version, where the store has versions.
    fn latest_version(&self) -> Result<Option<u32>, KmsError>;
    /// The public key of `version`.
    fn public_key(&self, version: u32) -> Result<OrgRsaKey, KmsError>;
    /// RSA-OAEP-SHA-256 decryption of `ciphertext` with `version`.
    fn decrypt(&self, version: u32, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, KmsError>;
}

/// What [`unwrap_slot`] gives back.
pub struct Unwrapped<'a> {
    /// The slot key, which opens the slot's master key.
    pub slot_key: Key32,
    /// The slot it came from.
    pub slot: &'a KmsSlot,
    /// The store's public key for that slot (its fingerprint checked), to
    /// seal a fresh slot with after the recovery.
    pub public_key: OrgRsaKey,
}

/// Unwraps the slot key of the first slot made for the store's key (the
/// newest version first). A slot whose fingerprint is not the store's key
/// is never sent to it: [`KmsError::OtherKey`] says which key it was for.
pub fn unwrap_slot<'a>(
    store: &dyn OrgKeyStore,
    slots: &'a [KmsSlot],
) -> Result<Unwrapped<'a>, KmsError> {
    if slots.is_empty() {
        return Err(KmsError::NoSlot);
    }
    let mut order: Vec<&KmsSlot> = slots.iter().collect();
    order.sort_by_key(|s| std::cmp::Reverse(s.key_version));
    let mut first_err = None;
    for slot in order {
        let version = if store.has_versions() {
            slot.key_version
        } else {
            1
        };
        let key = match store.public_key(version) {
            Ok(k) => k,
            Err(KmsError::NoSuchVersion(_)) => {
                first_err.get_or_insert_with(|| other_key(slot, None));
                continue;
            }
            Err(e) => return Err(e),
        };
        if key.fingerprint() != slot.fingerprint {
            first_err.get_or_insert_with(|| other_key(slot, Some(&key)));
            continue;
        }
        let plain = store.decrypt(version, &slot.oaep)?;
        let slot_key = Key32::from_slice(&plain).ok_or(KmsError::DecryptFailed)?;
        return Ok(Unwrapped {
            slot_key,
            slot,
            public_key: key,
        });
    }
    Err(first_err.unwrap_or(KmsError::NoSlot))
}

fn other_key(slot: &KmsSlot, key: Option<&OrgRsaKey>) -> KmsError {
    KmsError::OtherKey {
        slot: format!(
            "{} v{} {}",
            slot.key_name,
            slot.key_version,
            fingerprint_text(&slot.fingerprint)
        ),
        store: key.map_or_else(
            || format!("{} with no version {}", slot.key_name, slot.key_version),
            |k| fingerprint_text(&k.fingerprint()),
        ),
    }
}
