//! The Settings screen: auto-lock, unlocking with the computer's keychain,
//! and a new recovery key (the Keys screen uses the last two as well).

use coffer_core::config::{NewSlot, SlotKind};
use coffer_core::secret::{Key32, Passphrase};
use serde::Serialize;

use super::unlock::RecoveryKey;
use crate::error::{CmdResult, UiError};
use crate::glue::{AppCore, Core, blocking, enrol_err, reauthenticate};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Managed {
    auto_lock_max: Option<u32>,
    keychain_forbidden: bool,
    by_policy: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    auto_lock_minutes: u32,
    keychain_unlock: bool,
    managed: Managed,
}

fn settings_view(core: &AppCore) -> CmdResult<Settings> {
    let pol = core.policy()?;
    let keychain_unlock = core
        .open_vault()
        .map(|v| {
            v.config()
                .slots
                .iter()
                .any(|s| s.kind() == SlotKind::Keychain)
        })
        .unwrap_or(false);
    Ok(Settings {
        auto_lock_minutes: core.auto_lock_minutes(),
        keychain_unlock,
        managed: Managed {
            auto_lock_max: pol.policy.lock.as_ref().map(|l| l.max_auto_lock_minutes),
            keychain_forbidden: !pol.policy.allows(SlotKind::Keychain),
            by_policy: pol.source.as_ref().map(|p| p.display().to_string()),
        },
    })
}

#[tauri::command]
pub async fn get_settings(core: Core<'_>) -> CmdResult<Settings> {
    let core = core.inner().clone();
    blocking(move || settings_view(&core)).await
}

#[tauri::command]
pub async fn set_auto_lock(core: Core<'_>, minutes: u32) -> CmdResult<Settings> {
    let core = core.inner().clone();
    blocking(move || {
        if minutes == 0 {
            return Err(UiError::new("invalid", "Choose at least one minute."));
        }
        if let Some(max) = core
            .policy()?
            .policy
            .lock
            .as_ref()
            .map(|l| l.max_auto_lock_minutes)
            && minutes > max
        {
            return Err(UiError::new(
                "policy",
                format!("Your organisation's policy locks the vault after at most {max} minutes."),
            ));
        }
        let mut s = core.settings();
        s.auto_lock_minutes = minutes;
        core.save_settings(s)?;
        settings_view(&core)
    })
    .await
}

#[tauri::command]
pub async fn set_keychain_unlock(
    core: Core<'_>,
    enabled: bool,
    passphrase: String,
) -> CmdResult<Settings> {
    let core = core.inner().clone();
    blocking(move || {
        let mut v = reauthenticate(&core, &Passphrase::new(passphrase))?;
        if enabled {
            coffer_keychain::enrol(&mut v).map_err(enrol_err)?;
        } else {
            coffer_keychain::forget(&mut v).map_err(enrol_err)?;
        }
        settings_view(&core)
    })
    .await
}

#[tauri::command]
pub async fn regenerate_recovery_key(core: Core<'_>, passphrase: String) -> CmdResult<RecoveryKey> {
    let core = core.inner().clone();
    blocking(move || {
        let mut v = reauthenticate(&core, &Passphrase::new(passphrase))?;
        let k = Key32::random();
        v.replace_slots(SlotKind::Recovery, NewSlot::Recovery(&k))?;
        Ok(RecoveryKey {
            recovery_key: coffer_core::recovery::encode(&k).to_string(),
            keychain_error: None,
        })
    })
    .await
}
