//! `coffer rotate` (rewrap, or re-encrypt after a suspected compromise) and
//! `coffer passwd --exposed` (a credential someone may know): what each
//! revokes is in docs/THREAT_MODEL.md.

use coffer_core::config::{Credential, RotationKind, SlotKind};
use coffer_core::kdf::Argon2Params;
use coffer_core::vault::{NewCredentials, Reenrol, RotationProgress, Vault};
use serde_json::json;

use crate::creds;
use crate::ctx::Ctx;
use crate::exit::Failure;
use crate::keychain;
use crate::show::human_bytes;

fn kind_name(kind: RotationKind) -> &'static str {
    match kind {
        RotationKind::Rewrap => "rewrap",
        RotationKind::Reencrypt => "reencrypt",
        RotationKind::Rekey => "rekey",
    }
}

/// Runs a rotation of `kind` to its end, or first finishes the one under
/// way. `Reencrypt` and `Rekey` replace every credential: they take a new
/// passphrase (`COFFER_NEW_PASSPHRASE`, or typed twice) unless
/// `keep_passphrase` says the one in use was not exposed, and show the new
/// recovery key as soon as the new credentials are in force, before the
/// long part.
pub fn respond(
    ctx: &Ctx,
    kind: RotationKind,
    keep_passphrase: bool,
    kdf: Argon2Params,
) -> Result<(), Failure> {
    let mut v = ctx.open()?;
    let pending = v.config().rotation.as_ref().map(|r| r.kind);
    let starts_replacing = kind != RotationKind::Rewrap && pending.is_none();
    let pass = if starts_replacing && keep_passphrase {
        // The kept passphrase is enrolled again: it must be the one typed.
        let p = creds::passphrase(&ctx.cred)?;
        v.unlock(&Credential::Passphrase(&p))?;
        Some(p)
    } else {
        ctx.unlock(&mut v)?;
        if starts_replacing {
            Some(creds::new_passphrase_for_response(&ctx.cred)?)
        } else {
            None
        }
    };
    if let Some(p) = pending
        && p != kind
        && !ctx.json
    {
        eprintln!(
            "A {} rotation was interrupted; it is finished first.",
            kind_name(p)
        );
    }
    let mut new_creds = NewCredentials::default();
    if let Some(p) = &pass {
        let vid = crate::ctx::vault_id_hex(&v);
        // Staged in the keychain before the new config is written: a
        // watcher running meanwhile takes it instead of calling the new
        // config forged.
        let begun = v.begin_rotation_staging(
            kind,
            Some(Reenrol {
                passphrase: p,
                kdf,
                keep_passphrase,
            }),
            &mut |w| {
                let _ = coffer_keychain::stage_writer_key(&vid, w);
            },
        );
        new_creds = match begun {
            Ok((_, c)) => c,
            Err(coffer_core::Error::RotationBlocked { objects }) => {
                return Err(blocked(ctx, &v, objects, None));
            }
            Err(e) => return Err(e.into()),
        };
        // The keys this computer keeps for working while locked follow.
        let _ = coffer_keychain::keep_writer_key(&v);
        if !ctx.json
            && let Some(rk) = &new_creds.recovery_key
        {
            println!(
                "The vault's keys and credentials are replaced. New recovery key (the old one no \
                 longer works; shown only once, write it down now):\n\n    {}\n",
                &**rk
            );
        }
    }
    // A keychain failure is reported after the new recovery key was shown,
    // never instead of it.
    let keychain_failed = match &new_creds.keychain_secret {
        Some(k) => keychain::adopt(&mut v, k)
            .err()
            .map(keychain::failed_after_recovery_key),
        None => None,
    };
    let out = finish(ctx, &mut v, kind);
    let out = match out {
        Err(coffer_core::Error::RotationBlocked { objects }) => {
            let rk = new_creds.recovery_key.as_deref().map(|s| s.as_str());
            return Err(blocked(ctx, &v, objects, rk));
        }
        other => other?,
    };
    let r = &out.report;
    if ctx.json {
        let doc = json!({
            "rotation": r,
            "recovery_key": new_creds.recovery_key.as_deref().map(|s| s.as_str()),
        });
        if let Some(f) = keychain_failed {
            return Err(f.with_json_report(doc));
        }
        println!("{doc}");
    } else {
        println!(
            "{} {} files to key version {}{}; destroyed key versions {:?}.",
            if r.resumed {
                "Resumed and finished: moved"
            } else {
                "Moved"
            },
            r.files,
            r.key_version,
            if r.kind == RotationKind::Reencrypt {
                format!(" ({} re-encrypted)", human_bytes(r.bytes))
            } else {
                String::new()
            },
            r.destroyed_versions
        );
        println!("{}", what_it_revoked(r.kind));
    }
    keychain_failed.map_or(Ok(()), Err)
}

/// Moves every object, with a progress bar on a terminal.
fn finish(
    ctx: &Ctx,
    v: &mut Vault,
    kind: RotationKind,
) -> coffer_core::Result<coffer_core::vault::RotationOutcome> {
    let total = v.object_ids()?.len() as u64;
    let pb = ctx.progress(
        total,
        match v.config().rotation.as_ref().map_or(kind, |r| r.kind) {
            RotationKind::Reencrypt => "Re-encrypting",
            _ => "Rewrapping",
        },
    );
    let out = v.rotate(kind, None, &|p: RotationProgress| {
        pb.set_position(p.files.min(total))
    });
    pb.finish_and_clear();
    out
}

fn what_it_revoked(kind: RotationKind) -> &'static str {
    match kind {
        RotationKind::Rewrap => {
            "Scheduled rotation done. It does not revoke a credential: an older copy of the \
             vault's settings still opens with the credentials it accepted. If someone may know \
             a passphrase or recovery key, run `coffer passwd --exposed`."
        }
        RotationKind::Rekey => {
            "Old copies of the vault's settings (backups, synced history) no longer open \
             anything added from now on, with any credential. Files already in the vault before \
             keep their contents and file keys: if their contents may have been copied too, run \
             `coffer rotate --reencrypt`."
        }
        RotationKind::Reencrypt => {
            "Every file was re-encrypted under new keys: no old copy of the vault's settings or \
             files, and no old credential, opens anything in the vault now."
        }
    }
}

/// The error that stops a rotation at `objects`, told in full.
/// `recovery_key`: the one this run made before it stopped (a JSON caller
/// gets it here; people were shown it already).
fn blocked(
    ctx: &Ctx,
    v: &Vault,
    objects: Vec<(String, String)>,
    recovery_key: Option<&str>,
) -> Failure {
    let pending = v.config().rotation.is_some();
    let keychain = v
        .config()
        .slots
        .iter()
        .any(|s| s.kind() == SlotKind::Keychain);
    let list: Vec<_> = objects
        .iter()
        .map(|(id, why)| json!({"id": id, "reason": why}))
        .collect();
    let f = Failure::from(coffer_core::Error::RotationBlocked {
        objects: objects.clone(),
    });
    if ctx.json {
        return f.with_json_report(json!({
            "blocked": list,
            "rotation_pending": pending,
            "recovery_key": recovery_key,
        }));
    }
    eprintln!(
        "These stored objects cannot be read or unwrapped{}:",
        if pending {
            " (the rotation stays pending and finishes when run again)"
        } else {
            " (the rotation was not started)"
        }
    );
    for (id, why) in &objects {
        eprintln!("  {id}: {why}");
    }
    if recovery_key.is_some() && keychain {
        eprintln!(
            "The new recovery key and the new keychain secret were set up before this stop; \
             nothing more is needed for them."
        );
    }
    f
}
