//! The keychain slot's secret in the OS credential store: Secret Service
//! on Linux, Keychain on macOS, Credential Manager on Windows (the
//! `keyring` crate's native stores; there is no in-memory fallback).

use coffer_core::secret::Key32;

use crate::exit::{FAILURE, Failure, NOT_FOUND};

const SERVICE: &str = "Coffer vault";

fn entry(vault_id: &str) -> Result<keyring::Entry, Failure> {
    keyring::Entry::new(SERVICE, &format!("vault-{vault_id}")).map_err(unavailable)
}

fn unavailable(e: keyring::Error) -> Failure {
    Failure {
        code: FAILURE,
        kind: "keychain_unavailable",
        message: format!("the OS keychain is not available: {e}"),
        hint: Some(
            "unlock with your passphrase instead; on Linux a Secret Service (e.g. gnome-keyring) must be running and unlocked"
                .into(),
        ),
    }
}

/// Saves a new keychain secret for the vault, replacing any earlier one.
pub fn store(vault_id: &str, secret: &Key32) -> Result<(), Failure> {
    entry(vault_id)?
        .set_secret(secret.expose())
        .map_err(unavailable)
}

/// Reads the vault's keychain secret.
pub fn load(vault_id: &str) -> Result<Key32, Failure> {
    match entry(vault_id)?.get_secret() {
        Ok(mut bytes) => {
            let k = Key32::from_slice(&bytes);
            zeroize::Zeroize::zeroize(&mut bytes);
            k.ok_or_else(|| Failure {
                code: FAILURE,
                kind: "keychain_corrupt",
                message: "the keychain entry for this vault is not a Coffer secret".into(),
                hint: Some(
                    "unlock with your passphrase and run `coffer slots add keychain`".into(),
                ),
            })
        }
        Err(keyring::Error::NoEntry) => Err(Failure {
            code: NOT_FOUND,
            kind: "not_found",
            message: "this computer's keychain holds no secret for this vault".into(),
            hint: Some("unlock with your passphrase, then run `coffer slots add keychain`".into()),
        }),
        Err(e) => Err(unavailable(e)),
    }
}

/// Forgets the vault's keychain secret (missing is fine).
pub fn delete(vault_id: &str) -> Result<(), Failure> {
    match entry(vault_id)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(unavailable(e)),
    }
}
