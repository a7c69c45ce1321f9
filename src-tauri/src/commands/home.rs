//! The Home screen and the app shell: the app's state (vault, watcher,
//! warnings, what the vault is made of) and the device's posture.

use coffer_core::config::SlotKind;
use coffer_core::vault::Vault;
use serde::Serialize;

use crate::error::CmdResult;
use crate::glue::{AppCore, Core, WatcherView, blocking};
use crate::platform::Posture;
use crate::sync::guard;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Warning {
    code: &'static str,
    message: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct About {
    version: &'static str,
    format_version: u16,
    cipher: &'static str,
    kdf: String,
    key_version: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppState {
    vault_exists: bool,
    unlocked: bool,
    vault_dir: String,
    keychain_enrolled: bool,
    keychain_allowed: bool,
    watcher: WatcherView,
    warnings: Vec<Warning>,
    auto_lock_minutes: u32,
    /// The idle timeout in force (setting, policy cap, test override).
    auto_lock_seconds: u64,
    about: About,
}

#[tauri::command]
pub async fn app_state(core: Core<'_>) -> CmdResult<AppState> {
    let core = core.inner().clone();
    blocking(move || {
        let exists = core.vault_dir.join("vault.json").exists();
        let v = if exists {
            Some(core.open_vault()?)
        } else {
            None
        };
        let w = guard(&core.watcher).clone();
        let mut warnings = watcher_warnings(&w);
        let (mut kc_enrolled, mut kc_allowed, mut kdf, mut key_version) =
            (false, true, String::new(), 0);
        if let Some(v) = &v {
            kc_enrolled = v
                .config()
                .slots
                .iter()
                .any(|s| s.kind() == SlotKind::Keychain);
            kc_allowed = v.policy().policy.allows(SlotKind::Keychain);
            key_version = v.config().current_key_version;
            kdf = kdf_text(v);
            warnings.extend(vault_warnings(&core, v)?);
        }
        Ok(AppState {
            vault_exists: exists,
            unlocked: core.is_unlocked(),
            vault_dir: core.vault_dir.display().to_string(),
            keychain_enrolled: kc_enrolled,
            keychain_allowed: kc_allowed,
            watcher: w,
            warnings,
            auto_lock_minutes: core.auto_lock_minutes(),
            auto_lock_seconds: crate::platform::auto_lock_limit(&core).as_secs(),
            about: About {
                version: env!("CARGO_PKG_VERSION"),
                format_version: coffer_core::format::FORMAT_VERSION,
                cipher: "AES-256-GCM, 64 KiB chunks, a random key per file",
                kdf,
                key_version,
            },
        })
    })
    .await
}

fn watcher_warnings(w: &WatcherView) -> Vec<Warning> {
    let mut warnings = Vec::new();
    if w.pending > 0 {
        warnings.push(Warning {
            code: "plaintext_found",
            message: format!(
                "{} files in protected folders are waiting to be encrypted.",
                w.pending
            ),
        });
    }
    if w.failures > 0 {
        warnings.push(Warning {
            code: "encrypt_failed",
            message: "Some files could not be encrypted yet; Coffer keeps trying.".into(),
        });
    }
    warnings
}

/// The passphrase slot's key derivation, for About.
fn kdf_text(v: &Vault) -> String {
    match v.config().slots.iter().find_map(|s| match s {
        coffer_core::config::Slot::Passphrase { kdf, .. } => Some(*kdf),
        _ => None,
    }) {
        Some(k) => format!(
            "Argon2id, {} MiB, {} passes, {} lanes",
            k.m_kib / 1024,
            k.t,
            k.p
        ),
        None => String::new(),
    }
}

/// What is waiting, what the policy finds wrong, and disk encryption.
fn vault_warnings(core: &AppCore, v: &Vault) -> CmdResult<Vec<Warning>> {
    let mut warnings = Vec::new();
    let census = v.plaintext_census()?;
    let waiting: Vec<String> = census
        .waiting
        .iter()
        .filter(|(w, _)| **w != coffer_core::plaintext::Waiting::NotYetEncrypted)
        .map(|(w, n)| format!("{n} {}", w.describe()))
        .collect();
    if !waiting.is_empty() {
        warnings.push(Warning {
            code: "plaintext_waiting",
            message: format!("Not encrypted yet: {}.", waiting.join("; ")),
        });
    }
    for c in v.compliance()?.into_iter().filter(|c| !c.ok) {
        let code = match c.rule {
            coffer_core::policy::Rule::KeyRotation => "rotation_due",
            coffer_core::policy::Rule::DiskEncryption => "disk_encryption_off",
            _ => "policy_not_met",
        };
        warnings.push(Warning {
            code,
            message: format!("{}: {}", c.rule, c.detail),
        });
    }
    if v.policy().source.is_none()
        && matches!(
            coffer_core::posture::disk_encryption(&core.vault_dir),
            coffer_core::posture::DiskEncryption::Off
        )
    {
        warnings.push(Warning {
            code: "disk_encryption_off",
            message: "Full-disk encryption is off on this computer. Ask IT to turn it on.".into(),
        });
    }
    Ok(warnings)
}

#[tauri::command]
pub async fn posture(core: Core<'_>) -> CmdResult<Posture> {
    let core = core.inner().clone();
    blocking(move || crate::platform::device_posture(&core)).await
}
