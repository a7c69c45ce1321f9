//! The keychain slot's secret, kept in the OS credential store: Secret
//! Service on Linux, Keychain on macOS, Credential Manager on Windows —
//! `keyring`'s native stores, never an in-memory fallback. The CLI and the
//! desktop app share this one entry per vault, so either can unlock.
#![forbid(unsafe_code)]

use coffer_core::secret::Key32;

const SERVICE: &str = "Coffer vault";

/// What can go wrong with the keychain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeychainError {
    /// No secret stored for this vault on this computer.
    #[error("this computer's keychain holds no secret for this vault")]
    Missing,
    /// The stored entry is not a Coffer secret.
    #[error("the keychain entry for this vault is not a Coffer secret")]
    Damaged,
    /// No usable credential store (none running, locked, or refused).
    #[error("the OS keychain is not available: {0}")]
    Unavailable(String),
}

fn entry(vault_id: &str) -> Result<keyring::Entry, KeychainError> {
    keyring::Entry::new(SERVICE, &format!("vault-{vault_id}")).map_err(unavailable)
}

fn unavailable(e: keyring::Error) -> KeychainError {
    KeychainError::Unavailable(e.to_string())
}

/// Saves the vault's keychain secret, replacing any earlier one.
pub fn store(vault_id: &str, secret: &Key32) -> Result<(), KeychainError> {
    entry(vault_id)?
        .set_secret(secret.expose())
        .map_err(unavailable)
}

/// Reads the vault's keychain secret.
pub fn load(vault_id: &str) -> Result<Key32, KeychainError> {
    let mut bytes = entry(vault_id)?.get_secret().map_err(|e| match e {
        keyring::Error::NoEntry => KeychainError::Missing,
        other => unavailable(other),
    })?;
    let k = Key32::from_slice(&bytes);
    zeroize::Zeroize::zeroize(&mut bytes);
    k.ok_or(KeychainError::Damaged)
}

/// Forgets the vault's keychain secret (missing is fine).
pub fn delete(vault_id: &str) -> Result<(), KeychainError> {
    match entry(vault_id)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(unavailable(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the real Secret Service: scripts/test.sh runs the tests
    /// inside a D-Bus session with an unlocked gnome-keyring and sets
    /// COFFER_TEST_SECRET_SERVICE=1. Elsewhere there may be no keychain.
    #[test]
    fn round_trip_through_the_os_keychain() {
        if std::env::var_os("COFFER_TEST_SECRET_SERVICE").is_none() {
            eprintln!("skipped: no Secret Service session (run via scripts/test.sh)");
            return;
        }
        let id = format!("test-{}", std::process::id());
        let k = Key32::random();
        store(&id, &k).unwrap();
        assert_eq!(load(&id).unwrap().expose(), k.expose());
        delete(&id).unwrap();
        assert!(matches!(load(&id), Err(KeychainError::Missing)));
    }
}
