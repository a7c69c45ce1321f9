//! The Keys screen: key versions and unlock methods, changing the
//! passphrase, the organisation escrow, removing a method, and the
//! rotation depths with their progress.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

use coffer_core::config::{NewSlot, RotationKind, SlotKind};
use coffer_core::secret::Passphrase;
use coffer_core::vault::{Reenrol, RotationProgress, Vault};
use serde::Serialize;
use tauri::ipc::Channel;

use crate::error::{CmdResult, UiError};
use crate::glue::{AppCore, Core, blocking, enrol_err, reauthenticate};

const NS: i64 = 1_000_000_000;
const DAY: i64 = 86_400;

fn depth_name(k: RotationKind) -> &'static str {
    match k {
        RotationKind::Rewrap => "rewrap",
        RotationKind::Reencrypt => "reencrypt",
        RotationKind::Rekey => "rekey",
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    depth: &'static str,
    started_ns: i64,
    target_version: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SlotView {
    kind: &'static str,
    required_by_policy: bool,
    removable: bool,
    /// For the escrow row: the organisation key in a KMS/HSM (name,
    /// version, where it lives), when the vault is enrolled to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    kms: Option<coffer_core::escrow_key::kms::KmsKeyInfo>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    key_version: u32,
    key_created_ns: i64,
    key_age_days: i64,
    rotation_period_days: Option<u32>,
    rotation_due_ns: Option<i64>,
    pending: Option<Pending>,
    slots: Vec<SlotView>,
    files: u64,
    bytes: u64,
}

fn key_info_of(v: &Vault) -> CmdResult<KeyInfo> {
    let st = v.status()?;
    let cfg = v.config();
    let pol = &v.policy().policy;
    let period = pol.rotation.as_ref().map(|r| r.period_days);
    let now = jiff::Timestamp::now().as_second();
    let user_slots = st
        .slots
        .iter()
        .filter(|s| s.kind != SlotKind::Escrow)
        .count();
    let escrow_required = pol.escrow.as_ref().is_some_and(|e| e.required);
    // One row per kind: the screen speaks of methods, not slot ids.
    let mut slots: Vec<SlotView> = Vec::new();
    for s in &st.slots {
        if slots.iter().any(|v| v.kind == s.kind.as_str()) {
            continue;
        }
        let required = s.kind == SlotKind::Escrow && escrow_required;
        // The newest KMS key the vault is enrolled to (two during a change).
        let kms = st
            .slots
            .iter()
            .filter(|o| o.kind == s.kind)
            .filter_map(|o| o.kms.clone())
            .max_by_key(|k| k.version);
        slots.push(SlotView {
            kind: s.kind.as_str(),
            required_by_policy: required,
            // The last passphrase stays: it is how the vault is unlocked.
            removable: !required
                && s.kind != SlotKind::Passphrase
                && (s.kind == SlotKind::Escrow || user_slots > 1),
            kms,
        });
    }
    Ok(KeyInfo {
        key_version: st.key_version,
        key_created_ns: st.key_version_created * NS,
        key_age_days: (now - st.key_version_created).max(0) / DAY,
        rotation_period_days: period,
        rotation_due_ns: period.map(|d| (st.key_version_created + i64::from(d) * DAY) * NS),
        pending: cfg.rotation.as_ref().map(|r| Pending {
            depth: depth_name(r.kind),
            started_ns: r.started * NS,
            target_version: r.target_version,
        }),
        slots,
        files: st.objects,
        bytes: st.stored_bytes,
    })
}

#[tauri::command]
pub async fn key_info(core: Core<'_>) -> CmdResult<KeyInfo> {
    let core = core.inner().clone();
    blocking(move || key_info_of(&core.open_vault()?)).await
}

#[tauri::command]
pub async fn change_passphrase(
    core: Core<'_>,
    passphrase: String,
    new_passphrase: String,
) -> CmdResult<()> {
    let core = core.inner().clone();
    blocking(move || {
        let mut v = reauthenticate(&core, &Passphrase::new(passphrase))?;
        let new = Passphrase::new(new_passphrase);
        let kdf = v.policy().policy.kdf_default();
        v.replace_slots(SlotKind::Passphrase, NewSlot::Passphrase(&new, kdf))?;
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn enrol_escrow(
    core: Core<'_>,
    passphrase: String,
    public_key_path: String,
) -> CmdResult<KeyInfo> {
    let core = core.inner().clone();
    blocking(move || {
        let mut v = reauthenticate(&core, &Passphrase::new(passphrase))?;
        // A public key file is a few hundred bytes: anything over 64 KiB is
        // the wrong file, refused before it is read.
        let text = coffer_core::fsutil::read_bounded(Path::new(&public_key_path), 64 << 10, "key file")
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
            UiError::new(
                "invalid",
                "That file cannot be read. Choose the public key file IT gave you.",
            )
        })?;
        let pk = coffer_core::policy::public_key_from_text(&text).map_err(|_| {
            UiError::new(
                "invalid",
                "That file holds no organisation public key. Choose the file made by `coffer escrow keygen`.",
            )
        })?;
        v.replace_slots(SlotKind::Escrow, NewSlot::Escrow(&pk))?;
        key_info_of(&v)
    })
    .await
}

#[tauri::command]
pub async fn remove_slot(core: Core<'_>, kind: String, passphrase: String) -> CmdResult<KeyInfo> {
    let core = core.inner().clone();
    blocking(move || {
        let kind = match kind.as_str() {
            "keychain" => SlotKind::Keychain,
            "recovery" => SlotKind::Recovery,
            "escrow" => SlotKind::Escrow,
            _ => {
                return Err(UiError::new(
                    "invalid",
                    "Only the computer login, the recovery key and the organisation escrow can be removed here.",
                ));
            }
        };
        let mut v = reauthenticate(&core, &Passphrase::new(passphrase))?;
        if kind == SlotKind::Keychain {
            // The slot and the OS entry go together.
            coffer_keychain::forget(&mut v).map_err(enrol_err)?;
        } else {
            let ids: Vec<String> = v
                .config()
                .slots
                .iter()
                .filter(|s| s.kind() == kind)
                .map(|s| s.id_hex())
                .collect();
            for id in ids {
                v.remove_slot(&id)?;
            }
        }
        key_info_of(&v)
    })
    .await
}

#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RotationMsg {
    files: u64,
    total_files: u64,
    bytes: u64,
    total_bytes: u64,
    elapsed_ms: u64,
    eta_ms: Option<u64>,
}

impl RotationMsg {
    fn new(p: RotationProgress, started: Instant) -> Self {
        let elapsed = started.elapsed();
        // Time per byte so far, over the bytes left; nothing until some
        // work is done to measure.
        let eta_ms = (p.bytes > 0 && p.total_bytes >= p.bytes).then(|| {
            let left = (p.total_bytes - p.bytes) as f64;
            (elapsed.as_secs_f64() * left / p.bytes as f64 * 1000.0) as u64
        });
        RotationMsg {
            files: p.files,
            total_files: p.total_files,
            bytes: p.bytes,
            total_bytes: p.total_bytes,
            elapsed_ms: elapsed.as_millis() as u64,
            eta_ms,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RotationResult {
    depth: &'static str,
    resumed: bool,
    key_version: u32,
    destroyed_versions: Vec<u32>,
    files: u64,
    bytes: u64,
    recovery_key: Option<String>,
    /// Why the keychain secret could not be renewed (the keychain slot is
    /// gone; the passphrase and the new recovery key work).
    #[serde(skip_serializing_if = "Option::is_none")]
    keychain_error: Option<String>,
}

/// Runs (or resumes) a rotation on the session's own unlocked vault, so
/// the keys it ends with are the ones the app holds. Other vault commands
/// wait meanwhile; locking cancels the rotation after the batch in flight
/// and it resumes at the next unlock.
fn run_rotation(
    core: &AppCore,
    kind: RotationKind,
    pass: Option<&Passphrase>,
    on_progress: &Channel<RotationMsg>,
) -> CmdResult<RotationResult> {
    core.rotation_cancel.store(false, Ordering::SeqCst);
    let mut g = core.unlocked()?;
    let v = g.as_mut().expect("unlocked");
    let kdf = v.policy().policy.kdf_default();
    let started = Instant::now();
    let out = v.rotate_until(
        kind,
        pass.map(|p| Reenrol {
            passphrase: p,
            kdf,
            keep_passphrase: true,
        }),
        &|p| {
            let _ = on_progress.send(RotationMsg::new(p, started));
        },
        &core.rotation_cancel,
    );
    let out = match out {
        Err(coffer_core::Error::Cancelled) => {
            return Err(UiError::new(
                "cancelled",
                "Stopped. The rotation continues where it stopped the next time the vault is unlocked.",
            ));
        }
        other => other?,
    };
    // A re-encryption has already replaced the recovery key: a keychain
    // failure travels with the new one, never instead of it.
    let keychain_error = out.keychain_secret.as_ref().and_then(|k| {
        coffer_keychain::adopt(v, k)
            .err()
            .map(|e| enrol_err(e).message)
    });
    drop(g);
    core.emit("files-changed", ());
    let r = out.report;
    Ok(RotationResult {
        depth: depth_name(r.kind),
        resumed: r.resumed,
        key_version: r.key_version,
        destroyed_versions: r.destroyed_versions,
        files: r.files,
        bytes: r.bytes,
        recovery_key: out.recovery_key.map(|k| k.to_string()),
        keychain_error,
    })
}

#[tauri::command]
pub async fn rotate_keys(
    core: Core<'_>,
    passphrase: String,
    depth: String,
    on_progress: Channel<RotationMsg>,
) -> CmdResult<RotationResult> {
    let core = core.inner().clone();
    blocking(move || {
        let kind = match depth.as_str() {
            "rewrap" => RotationKind::Rewrap,
            "reencrypt" => RotationKind::Reencrypt,
            _ => return Err(UiError::new("invalid", "Unknown rotation depth.")),
        };
        let pass = Passphrase::new(passphrase);
        reauthenticate(&core, &pass)?;
        run_rotation(&core, kind, Some(&pass), &on_progress)
    })
    .await
}

#[tauri::command]
pub async fn resume_rotation(
    core: Core<'_>,
    on_progress: Channel<RotationMsg>,
) -> CmdResult<RotationResult> {
    let core = core.inner().clone();
    blocking(move || {
        let kind = core
            .open_vault()?
            .config()
            .rotation
            .as_ref()
            .map(|r| r.kind)
            .ok_or_else(|| UiError::new("invalid", "No rotation is waiting to continue."))?;
        // A pending rotation is resumed at its recorded depth whatever is
        // passed; a depth-3 one re-enrolled its slots when it started.
        run_rotation(&core, kind, None, &on_progress)
    })
    .await
}

#[tauri::command]
pub fn cancel_rotation(core: Core<'_>) {
    core.rotation_cancel.store(true, Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_is_time_per_byte_over_the_bytes_left() {
        let t = Instant::now() - std::time::Duration::from_secs(2);
        let m = RotationMsg::new(
            RotationProgress {
                files: 10,
                total_files: 40,
                bytes: 100,
                total_bytes: 400,
            },
            t,
        );
        let eta = m.eta_ms.expect("an estimate once work is done");
        assert!((5_900..=6_200).contains(&eta), "{eta}");
        let none = RotationMsg::new(RotationProgress::default(), Instant::now());
        assert_eq!(none.eta_ms, None);
    }
}
