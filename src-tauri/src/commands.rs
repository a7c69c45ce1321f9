//! The Tauri commands of docs/IPC.md: each takes the shared state, makes
//! one core call and maps its error. Long work runs on a blocking thread
//! and reports progress over a channel.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use coffer_core::config::{Credential, NewSlot, SlotKind};
use coffer_core::secret::{Key32, Passphrase};
use coffer_core::vault::{self, Actor, AddOptions, AddOutcome, CreateOptions, Vault};
use serde::Serialize;
use tauri::State;
use tauri::ipc::Channel;

use crate::error::{CmdResult, UiError};
use crate::session::{AppCore, WatcherView};
use crate::workarea::WorkArea;

pub(crate) type Core<'a> = State<'a, Arc<AppCore>>;

pub(crate) fn vault_id_hex(v: &Vault) -> String {
    data_encoding::HEXLOWER.encode(v.config().vault_id())
}

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

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> CmdResult<T> + Send + 'static,
) -> CmdResult<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| UiError::new("internal", e.to_string()))?
}

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
        let mut warnings = Vec::new();
        let w = crate::session::guard(&core.watcher).clone();
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
            if let Some(k) = v.config().slots.iter().find_map(|s| match s {
                coffer_core::config::Slot::Passphrase { kdf, .. } => Some(*kdf),
                _ => None,
            }) {
                kdf = format!(
                    "Argon2id, {} MiB, {} passes, {} lanes",
                    k.m_kib / 1024,
                    k.t,
                    k.p
                );
            }
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
                let code = match c.rule.as_str() {
                    "key rotation" => "rotation_due",
                    "full-disk encryption" => "disk_encryption_off",
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
                    message: "Full-disk encryption is off on this computer. Ask IT to turn it on."
                        .into(),
                });
            }
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryKey {
    recovery_key: String,
}

#[tauri::command]
pub async fn create_vault(
    core: Core<'_>,
    passphrase: String,
    with_keychain: bool,
) -> CmdResult<RecoveryKey> {
    let core = core.inner().clone();
    blocking(move || {
        let pass = Passphrase::new(passphrase);
        let kc = with_keychain.then(Key32::random);
        let created = Vault::create(
            &core.vault_dir,
            CreateOptions {
                passphrase: &pass,
                kdf: coffer_core::policy::load()?.policy.kdf_default(),
                keychain_secret: kc.as_ref(),
                escrow: None,
            },
        )?;
        if let Some(k) = &kc {
            coffer_keychain::store(&vault_id_hex(&created.vault), k).map_err(keychain_err)?;
        }
        let rk = created.recovery_key.to_string();
        core.set_unlocked(created.vault);
        core.start_watcher();
        Ok(RecoveryKey { recovery_key: rk })
    })
    .await
}

fn unlock_with(
    core: &AppCore,
    cred: impl FnOnce(&Vault) -> CmdResult<Credential2>,
) -> CmdResult<()> {
    let mut v = core.open_vault()?;
    match cred(&v)? {
        Credential2::Passphrase(p) => v.unlock(&Credential::Passphrase(&p))?,
        Credential2::Keychain(k) => v.unlock(&Credential::Keychain(&k))?,
    };
    crate::keys_audit::announce_pending_rotation(core, &v);
    core.set_unlocked(v);
    core.emit("files-changed", ());
    Ok(())
}

enum Credential2 {
    Passphrase(Passphrase),
    Keychain(Key32),
}

#[tauri::command]
pub async fn unlock(core: Core<'_>, passphrase: String) -> CmdResult<()> {
    let core = core.inner().clone();
    blocking(move || {
        unlock_with(&core, |_| {
            Ok(Credential2::Passphrase(Passphrase::new(passphrase)))
        })
    })
    .await
}

#[tauri::command]
pub async fn unlock_with_keychain(core: Core<'_>) -> CmdResult<()> {
    let core = core.inner().clone();
    blocking(move || {
        unlock_with(&core, |v| {
            coffer_keychain::load(&vault_id_hex(v))
                .map(Credential2::Keychain)
                .map_err(keychain_err)
        })
    })
    .await
}

#[tauri::command]
pub async fn recover(
    core: Core<'_>,
    recovery_key: String,
    new_passphrase: String,
) -> CmdResult<()> {
    let core = core.inner().clone();
    blocking(move || {
        let rk = coffer_core::recovery::decode(&recovery_key)?;
        let mut v = core.open_vault()?;
        v.unlock(&Credential::Recovery(&rk))?;
        let p = Passphrase::new(new_passphrase);
        v.replace_slots(
            SlotKind::Passphrase,
            NewSlot::Passphrase(&p, v.policy().policy.kdf_default()),
        )?;
        core.set_unlocked(v);
        Ok(())
    })
    .await
}

#[tauri::command]
pub fn lock(core: Core<'_>) {
    core.lock("manual");
}

#[tauri::command]
pub fn touch_activity(core: Core<'_>) {
    core.touch();
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileRow {
    id: String,
    path: String,
    size: u64,
    mtime_ns: i64,
    added_ns: i64,
    versions: usize,
}

#[tauri::command]
pub async fn list_files(core: Core<'_>) -> CmdResult<Vec<FileRow>> {
    let core = core.inner().clone();
    blocking(move || {
        let g = core.unlocked()?;
        let all = g.as_ref().expect("unlocked").entries()?.entries;
        let mut counts = std::collections::HashMap::new();
        for e in &all {
            *counts.entry(e.path.clone()).or_insert(0usize) += 1;
        }
        Ok(vault::latest_versions(&all)
            .into_iter()
            .map(|e| FileRow {
                id: e.id.to_hex(),
                versions: counts[&e.path],
                path: e.path,
                size: e.size,
                mtime_ns: e.mtime_ns,
                added_ns: e.added_ns,
            })
            .collect())
    })
    .await
}

#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressMsg {
    files: u64,
    total_files: u64,
    bytes: u64,
}

#[derive(Serialize)]
pub struct Failed {
    path: String,
    message: String,
}

#[derive(Serialize)]
pub struct AddResult {
    added: u64,
    failed: Vec<Failed>,
    skipped: u64,
}

fn add_and_report(
    core: &AppCore,
    collected: vault::Collected,
    remove_plaintext: bool,
    on_progress: &Channel<ProgressMsg>,
) -> CmdResult<AddResult> {
    let v = core.open_vault()?;
    let total = collected.sources.len() as u64;
    let outcomes = v.add(
        &collected.sources,
        AddOptions {
            remove_plaintext,
            by: Actor::App,
        },
        &|p| {
            let _ = on_progress.send(ProgressMsg {
                files: p.files,
                total_files: total,
                bytes: p.bytes,
            });
        },
    )?;
    let mut r = AddResult {
        added: 0,
        failed: Vec::new(),
        skipped: collected.skipped.len() as u64,
    };
    for (s, o) in collected.sources.iter().zip(outcomes) {
        match o {
            AddOutcome::Added { .. } => r.added += 1,
            AddOutcome::Skipped(_) => r.skipped += 1,
            AddOutcome::Failed(e) => r.failed.push(Failed {
                path: s.source.display().to_string(),
                message: UiError::from(e).message,
            }),
        }
    }
    core.emit("files-changed", ());
    Ok(r)
}

#[tauri::command]
pub async fn add_paths(
    core: Core<'_>,
    paths: Vec<String>,
    on_progress: Channel<ProgressMsg>,
) -> CmdResult<AddResult> {
    let core = core.inner().clone();
    blocking(move || {
        let v = core.open_vault()?;
        let mut all = vault::Collected::default();
        for p in paths {
            let p = PathBuf::from(p);
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| UiError::new("invalid", "That file has no usable name."))?
                .to_owned();
            let c = v.collect(&p, &name)?;
            all.sources.extend(c.sources);
            all.skipped.extend(c.skipped);
        }
        add_and_report(&core, all, false, &on_progress)
    })
    .await
}

fn find_entry(v: &Vault, id: &str) -> CmdResult<vault::Entry> {
    v.entries()?
        .entries
        .into_iter()
        .find(|e| e.id.to_hex() == id)
        .ok_or_else(|| UiError::new("not_found", "That file is no longer in the vault."))
}

#[tauri::command]
pub async fn open_file(core: Core<'_>, id: String) -> CmdResult<()> {
    let core = core.inner().clone();
    blocking(move || {
        let path = {
            let g = core.unlocked()?;
            let v = g.as_ref().expect("unlocked");
            let entry = find_entry(v, &id)?;
            let mut wa = crate::session::guard(&core.workarea);
            if wa.is_none() {
                let c2 = core.clone();
                *wa = Some(WorkArea::create(
                    &core.vault_dir,
                    Arc::new(move || c2.emit("files-changed", ())),
                )?);
            }
            wa.as_ref().expect("created").open(v, &entry)?
        };
        if std::env::var_os("COFFER_APP_NO_OPENER").is_none()
            && let Some(app) = core.app()
        {
            use tauri_plugin_opener::OpenerExt;
            app.opener()
                .open_path(path.display().to_string(), None::<&str>)
                .map_err(|e| {
                    UiError::new("io", format!("No application could open the file: {e}"))
                })?;
        }
        core.touch();
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn extract_file(core: Core<'_>, id: String, dest_dir: String) -> CmdResult<String> {
    let core = core.inner().clone();
    blocking(move || {
        let g = core.unlocked()?;
        let v = g.as_ref().expect("unlocked");
        let entry = find_entry(v, &id)?;
        let name = entry.path.rsplit('/').next().unwrap_or("file");
        let dest = Path::new(&dest_dir).join(name);
        v.extract(&entry, &dest)?;
        Ok(dest.display().to_string())
    })
    .await
}

#[tauri::command]
pub async fn remove_file(core: Core<'_>, path: String) -> CmdResult<usize> {
    let core = core.inner().clone();
    blocking(move || {
        let g = core.unlocked()?;
        let n = g.as_ref().expect("unlocked").remove(&path)?;
        core.emit("files-changed", ());
        Ok(n)
    })
    .await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FolderView {
    path: String,
    name: String,
    files: usize,
    last_activity_ns: Option<i64>,
    mandatory: bool,
}

#[tauri::command]
pub async fn protected_folders(core: Core<'_>) -> CmdResult<Vec<FolderView>> {
    let core = core.inner().clone();
    blocking(move || {
        let v = core.open_vault()?;
        let home = dirs::home_dir().unwrap_or_default();
        let mandatory = v.policy().policy.mandatory_folders(&home);
        // File counts need names, so they are shown only while unlocked.
        let entries = core
            .unlocked()
            .ok()
            .and_then(|g| g.as_ref().and_then(|v| v.entries().ok()))
            .map(|l| vault::latest_versions(&l.entries));
        Ok(v.protected_folders()?
            .into_iter()
            .map(|f| {
                let prefix = format!("{}/", f.name);
                let mine: Vec<&vault::Entry> = entries
                    .iter()
                    .flatten()
                    .filter(|e| e.path.starts_with(&prefix))
                    .collect();
                FolderView {
                    files: mine.len(),
                    last_activity_ns: mine.iter().map(|e| e.added_ns).max(),
                    mandatory: mandatory.contains(&f.path),
                    path: f.path.display().to_string(),
                    name: f.name,
                }
            })
            .collect())
    })
    .await
}

#[derive(Serialize)]
pub struct Preview {
    files: usize,
    bytes: u64,
}

#[tauri::command]
pub async fn preview_protect(core: Core<'_>, path: String) -> CmdResult<Preview> {
    let core = core.inner().clone();
    blocking(move || {
        let v = core.open_vault()?;
        if let Some((relation, what)) = v.own_folders().conflict(Path::new(&path)) {
            return Err(coffer_core::Error::UnsafeFolder { relation, what }.into());
        }
        let c = v.collect(Path::new(&path), "x")?;
        let bytes = c
            .sources
            .iter()
            .filter_map(|s| std::fs::metadata(&s.source).ok())
            .map(|m| m.len())
            .sum();
        Ok(Preview {
            files: c.sources.len(),
            bytes,
        })
    })
    .await
}

#[tauri::command]
pub async fn protect_folder(
    core: Core<'_>,
    path: String,
    on_progress: Channel<ProgressMsg>,
) -> CmdResult<AddResult> {
    let core = core.inner().clone();
    blocking(move || {
        let v = core.open_vault()?;
        let folder = v.register_protected(Path::new(&path))?;
        let c = v.collect(&folder.path, &folder.name)?;
        add_and_report(&core, c, true, &on_progress)
    })
    .await
}

#[tauri::command]
pub async fn unprotect_folder(core: Core<'_>, path: String) -> CmdResult<()> {
    let core = core.inner().clone();
    blocking(move || Ok(core.open_vault()?.unregister_protected(Path::new(&path))?)).await
}

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
    let pol = coffer_core::policy::load()?;
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
            auto_lock_max: pol.policy.lock.map(|l| l.max_auto_lock_minutes),
            keychain_forbidden: !pol.policy.allows(SlotKind::Keychain),
            by_policy: pol.source.map(|p| p.display().to_string()),
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
        if let Some(max) = coffer_core::policy::load()?
            .policy
            .lock
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

pub(crate) fn reauthenticate(core: &AppCore, passphrase: &Passphrase) -> CmdResult<Vault> {
    let mut v = core.open_vault()?;
    v.unlock(&Credential::Passphrase(passphrase))?;
    Ok(v)
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
        let vid = vault_id_hex(&v);
        if enabled {
            let k = Key32::random();
            v.replace_slots(SlotKind::Keychain, NewSlot::Keychain(&k))?;
            coffer_keychain::store(&vid, &k).map_err(keychain_err)?;
        } else {
            let ids: Vec<String> = v
                .config()
                .slots
                .iter()
                .filter(|s| s.kind() == SlotKind::Keychain)
                .map(|s| s.id_hex())
                .collect();
            for id in ids {
                v.remove_slot(&id)?;
            }
            coffer_keychain::delete(&vid).map_err(keychain_err)?;
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
        })
    })
    .await
}
