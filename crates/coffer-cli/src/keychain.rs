//! The CLI's face of keychain failures.

use coffer_core::secret::Key32;
use coffer_keychain::KeychainError;

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

/// Saves a new keychain secret for the vault.
pub fn store(vault_id: &str, secret: &Key32) -> Result<(), Failure> {
    coffer_keychain::store(vault_id, secret).map_err(failure)
}

/// Reads the vault's keychain secret.
pub fn load(vault_id: &str) -> Result<Key32, Failure> {
    coffer_keychain::load(vault_id).map_err(failure)
}

/// Forgets the vault's keychain secret.
pub fn delete(vault_id: &str) -> Result<(), Failure> {
    coffer_keychain::delete(vault_id).map_err(failure)
}
