//! The glue every command stands on: the shared state ([`AppCore`]), the
//! `Core` handle commands take, running work off the UI thread, and the
//! re-authentication sensitive changes ask for. It imports no command and
//! no platform piece.

mod policy;
mod settings;
mod state;
mod writer_keys;

use std::sync::Arc;

use coffer_core::config::Credential;
use coffer_core::secret::Passphrase;
use coffer_core::vault::Vault;
use tauri::State;

use crate::error::{CmdResult, UiError};

pub use state::{AppCore, WatcherView, default_vault_dir};

/// The shared state as a command receives it.
pub(crate) type Core<'a> = State<'a, Arc<AppCore>>;

/// Runs `f` on a blocking thread: vault work never holds up the UI.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> CmdResult<T> + Send + 'static,
) -> CmdResult<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| UiError::new("internal", e.to_string()))?
}

/// A fresh handle unlocked with the passphrase just typed: sensitive
/// changes ask for it even while the vault is unlocked.
pub(crate) fn reauthenticate(core: &AppCore, passphrase: &Passphrase) -> CmdResult<Vault> {
    let mut v = core.open_vault()?;
    v.unlock(&Credential::Passphrase(passphrase))?;
    Ok(v)
}

/// A failure to enrol or forget the keychain slot as the UI sees it.
pub(crate) fn enrol_err(e: coffer_keychain::EnrolError) -> UiError {
    match e {
        coffer_keychain::EnrolError::Keychain(e) => keychain_err(e),
        coffer_keychain::EnrolError::Vault(e) => e.into(),
        other => UiError::new(
            "keychain_unavailable",
            format!("{other}. Unlock with your passphrase."),
        ),
    }
}

/// A keychain failure as the UI sees it.
pub(crate) fn keychain_err(e: coffer_keychain::KeychainError) -> UiError {
    match e {
        coffer_keychain::KeychainError::Missing => UiError::new(
            "not_found",
            "This computer's keychain holds no secret for this vault. Unlock with your passphrase.",
        ),
        other => UiError::new(
            "keychain_unavailable",
            format!("{other}. Unlock with your passphrase."),
        ),
    }
}
