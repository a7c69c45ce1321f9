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
    /// The new recovery key, sent once, as soon as a rotation that replaces
    /// the credentials has put them in force (before any file is moved):
    /// a lock or a cancel afterwards does not lose it.
    #[serde(skip_serializing_if = "Option::is_none")]
    recovery_key: Option<String>,
    /// Why the new keychain secret could not be kept (its slot is gone;
    /// the passphrase and the new recovery key work).
    #[serde(skip_serializing_if = "Option::is_none")]
    keychain_error: Option<String>,
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
            recovery_key: None,
            keychain_error: None,
        }
    }

    /// A message with no progress yet that carries a new credential's news.
    fn news(
        started: Instant,
        recovery_key: Option<String>,
        keychain_error: Option<String>,
    ) -> Self {
        RotationMsg {
            recovery_key,
            keychain_error,
            ..RotationMsg::new(RotationProgress::default(), started)
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
}

/// The passphrase a rotation that replaces every credential enrols.
#[derive(Debug)]
enum NewPassphrase {
    /// The one typed to re-authenticate: the user says it was not exposed.
    Keep,
    /// A new one.
    New(Passphrase),
}

/// What `rotate_keys` enrols: nothing for a rewrap or when a rotation is
/// already under way (it is finished, whatever was asked); else the new
/// passphrase, which is required unless the current one is kept.
fn new_passphrase_for(
    kind: RotationKind,
    pending: bool,
    keep: Option<bool>,
    new: Option<String>,
) -> CmdResult<Option<NewPassphrase>> {
    if kind == RotationKind::Rewrap || pending {
        return Ok(None);
    }
    if keep == Some(true) {
        return Ok(Some(NewPassphrase::Keep));
    }
    match new {
        Some(n) if !n.is_empty() => Ok(Some(NewPassphrase::New(Passphrase::new(n)))),
        _ => Err(UiError::new(
            "invalid",
            "Choose a new passphrase, or say that the one you use now was not exposed.",
        )),
    }
}

/// Runs (or resumes) a rotation on the session's own unlocked vault, so
/// the keys it ends with are the ones the app holds. Other vault commands
/// wait meanwhile; locking cancels the rotation after the batch in flight
/// and it resumes at the next unlock.
///
/// With `reenrol` (a rotation that replaces every credential, starting):
/// the rotation starts first (one config write), the new writer key is put
/// in force in the app (memory now, OS keychain on its own thread), the new
/// recovery key goes to the UI at once, the new keychain secret is adopted;
/// only then is every file moved.
fn run_rotation(
    core: &AppCore,
    kind: RotationKind,
    reenrol: Option<Reenrol<'_>>,
    on_progress: &Channel<RotationMsg>,
) -> CmdResult<RotationResult> {
    core.rotation_cancel.store(false, Ordering::SeqCst);
    let mut g = core.unlocked()?;
    let v = g.as_mut().expect("unlocked");
    let started = Instant::now();
    if let Some(r) = reenrol {
        let creds = core.begin_rotation(v, kind, Some(r))?;
        if let Some(rk) = &creds.recovery_key {
            let _ = on_progress.send(RotationMsg::news(started, Some(rk.to_string()), None));
        }
        // A keychain failure travels after the new recovery key, never
        // instead of it.
        if let Some(k) = &creds.keychain_secret
            && let Err(e) = coffer_keychain::adopt(v, k)
        {
            let why = enrol_err(e).message;
            let _ = on_progress.send(RotationMsg::news(started, None, Some(why)));
        }
    }
    let out = v.rotate_until(
        kind,
        None,
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
    })
}

#[tauri::command]
pub async fn rotate_keys(
    core: Core<'_>,
    passphrase: String,
    depth: String,
    new_passphrase: Option<String>,
    keep_passphrase: Option<bool>,
    on_progress: Channel<RotationMsg>,
) -> CmdResult<RotationResult> {
    let core = core.inner().clone();
    blocking(move || {
        let kind = match depth.as_str() {
            "rewrap" => RotationKind::Rewrap,
            "reencrypt" => RotationKind::Reencrypt,
            "rekey" => RotationKind::Rekey,
            _ => return Err(UiError::new("invalid", "Unknown rotation depth.")),
        };
        let pass = Passphrase::new(passphrase);
        let checked = reauthenticate(&core, &pass)?;
        let pending = checked.config().rotation.is_some();
        let kdf = checked.policy().policy.kdf_default();
        drop(checked);
        let new = new_passphrase_for(kind, pending, keep_passphrase, new_passphrase)?;
        let reenrol = new.as_ref().map(|n| match n {
            NewPassphrase::Keep => Reenrol {
                passphrase: &pass,
                kdf,
                keep_passphrase: true,
            },
            NewPassphrase::New(p) => Reenrol {
                passphrase: p,
                kdf,
                keep_passphrase: false,
            },
        });
        run_rotation(&core, kind, reenrol, &on_progress)
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
        // A pending rotation is resumed at its recorded depth; one that
        // replaced the credentials did so when it started.
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

    #[test]
    fn the_new_passphrase_is_required_to_replace_the_credentials_unless_kept() {
        use RotationKind::*;
        let new = || Some("a new passphrase".to_owned());
        // A rewrap, or finishing a rotation under way: nothing is enrolled.
        assert!(
            new_passphrase_for(Rewrap, false, None, new())
                .unwrap()
                .is_none()
        );
        assert!(
            new_passphrase_for(Rekey, true, None, None)
                .unwrap()
                .is_none()
        );
        assert!(
            new_passphrase_for(Reencrypt, true, Some(false), None)
                .unwrap()
                .is_none()
        );
        for kind in [Rekey, Reencrypt] {
            assert!(matches!(
                new_passphrase_for(kind, false, None, new()).unwrap(),
                Some(NewPassphrase::New(p)) if p.expose() == b"a new passphrase"
            ));
            // Kept: the current one is enrolled again, whatever else came.
            assert!(matches!(
                new_passphrase_for(kind, false, Some(true), new()).unwrap(),
                Some(NewPassphrase::Keep)
            ));
            for missing in [None, Some(String::new())] {
                let e = new_passphrase_for(kind, false, Some(false), missing).unwrap_err();
                assert_eq!(e.code, "invalid");
                assert!(e.message.ends_with('.'), "{}", e.message);
            }
        }
    }

    #[test]
    fn the_new_recovery_key_travels_in_a_message_of_its_own() {
        let m = RotationMsg::news(Instant::now(), Some("ABCD-EFGH".into()), None);
        let j = serde_json::to_value(&m).unwrap();
        assert_eq!(j["recoveryKey"], "ABCD-EFGH");
        assert_eq!(j["files"], 0);
        assert!(j.get("keychainError").is_none());
        let p = serde_json::to_value(RotationMsg::new(
            RotationProgress::default(),
            Instant::now(),
        ))
        .unwrap();
        assert!(p.get("recoveryKey").is_none() && p.get("keychainError").is_none());
    }
}
