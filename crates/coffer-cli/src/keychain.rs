//! The CLI's face of keychain failures.

use coffer_core::config::SlotKind;
use coffer_core::secret::Key32;
use coffer_core::vault::Vault;
use coffer_keychain::{EnrolError, KeychainError};

use crate::exit::{FAILURE, Failure, NOT_FOUND};

fn failure(e: KeychainError) -> Failure {
    let (code, kind, hint) = match &e {
        KeychainError::Missing => (
            NOT_FOUND,
            "not_found",
            "unlock with your passphrase, then run `coffer slots add keychain`",
        ),
        KeychainError::Damaged => (
            FAILURE,
            "keychain_corrupt",
            "unlock with your passphrase and run `coffer slots add keychain`",
        ),
        _ => (
            FAILURE,
            "keychain_unavailable",
            "unlock with your passphrase instead; on Linux a Secret Service (e.g. gnome-keyring) must be running and unlocked",
        ),
    };
    Failure {
        code,
        kind,
        message: e.to_string(),
        hint: Some(hint.into()),
    }
}

/// Reads the vault's keychain secret.
pub fn load(vault_id: &str) -> Result<Key32, Failure> {
    coffer_keychain::load(vault_id).map_err(failure)
}

fn enrol_failure(e: EnrolError) -> Failure {
    match e {
        EnrolError::Keychain(e) => failure(e),
        EnrolError::Vault(e) => Failure::from(e),
        other => Failure::from(coffer_core::Error::Invalid(other.to_string())),
    }
}

/// A new keychain slot and its OS entry, in place of any earlier pair.
pub fn enrol(v: &mut Vault) -> Result<String, Failure> {
    coffer_keychain::enrol(v).map_err(enrol_failure)
}

/// Keeps in the OS store the secret the core just sealed into the
/// vault's keychain slot (the slot goes if that fails).
pub fn adopt(v: &mut Vault, secret: &Key32) -> Result<(), Failure> {
    coffer_keychain::adopt(v, secret).map_err(enrol_failure)
}

/// A keychain failure after a new recovery key was made: the key has been
/// shown (or is in the JSON document) and must not be lost with the error,
/// so the hint says the rest of the command went through.
pub fn failed_after_recovery_key(mut f: Failure) -> Failure {
    f.hint = Some(format!(
        "everything else was done and the new recovery key is printed with this message; unlocking with the \
         computer's keychain is not set up: {}",
        f.hint
            .as_deref()
            .unwrap_or("try `coffer slots add keychain` later")
    ));
    f
}

/// Removes slot `id`, and the OS entry when it was the keychain's.
pub fn forget_slot(v: &mut Vault, id: &str) -> Result<SlotKind, Failure> {
    coffer_keychain::forget_slot(v, id).map_err(enrol_failure)
}
