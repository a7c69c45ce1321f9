//! `coffer rotate`: rewrap, or re-encrypt after a suspected compromise.

use coffer_core::config::{Credential, SlotKind};
use coffer_core::kdf::Argon2Params;
use serde_json::json;

use crate::creds;
use crate::ctx::Ctx;
use crate::exit::Failure;
use crate::keychain;
use crate::show::human_bytes;

/// `coffer rotate [--reencrypt]`.
pub fn rotate(ctx: &Ctx, reencrypt: bool, kdf: Argon2Params) -> Result<(), Failure> {
    use coffer_core::config::RotationKind;
    use coffer_core::vault::Reenrol;
    let mut v = ctx.open()?;
    // Re-encryption re-enrols the passphrase under the new master key, so
    // it needs the passphrase itself, whatever unlocks the vault.
    let pass = if reencrypt {
        let p = creds::passphrase(&ctx.cred)?;
        v.unlock(&Credential::Passphrase(&p))?;
        Some(p)
    } else {
        ctx.unlock(&mut v)?;
        None
    };
    let kind = if reencrypt {
        RotationKind::Reencrypt
    } else {
        RotationKind::Rewrap
    };
    let was_pending = v.config().rotation.is_some();
    let total = v.object_ids()?.len() as u64;
    let pb = ctx.progress(
        total,
        if reencrypt {
            "Re-encrypting"
        } else {
            "Rewrapping"
        },
    );
    let out = v.rotate(
        kind,
        pass.as_ref().map(|p| Reenrol { passphrase: p, kdf }),
        &|p: coffer_core::vault::RotationProgress| pb.set_position(p.files.min(total)),
    );
    pb.finish_and_clear();
    let out = match out {
        Err(coffer_core::Error::RotationBlocked { objects }) => {
            let pending = v.config().rotation.is_some();
            // Starting a re-encryption replaced every credential; the new
            // recovery key is only handed out when that run finishes.
            let started_reencrypt = !was_pending
                && v.config()
                    .rotation
                    .as_ref()
                    .is_some_and(|r| r.kind == RotationKind::Reencrypt);
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
                return Err(f.with_json_report(json!({
                    "blocked": list,
                    "rotation_pending": pending,
                    "new_recovery_key_needed": started_reencrypt,
                })));
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
            if started_reencrypt {
                eprintln!(
                    "This re-encryption had already replaced the recovery key{}; the new one \
                     is shown only by a run that starts and finishes it, so make a new recovery \
                     key with `coffer slots add recovery`{}.",
                    if keychain {
                        " and the keychain secret"
                    } else {
                        ""
                    },
                    if keychain {
                        " and a new keychain secret with `coffer slots add keychain`"
                    } else {
                        ""
                    }
                );
            }
            return Err(f);
        }
        other => other?,
    };
    // A re-encryption has already replaced the recovery key: a keychain
    // failure is reported after the new one has been shown, never instead.
    let keychain_failed = match &out.keychain_secret {
        Some(k) => keychain::adopt(&mut v, k)
            .err()
            .map(keychain::failed_after_recovery_key),
        None => None,
    };
    let r = &out.report;
    if ctx.json {
        let doc =
            json!({"rotation": r, "recovery_key": out.recovery_key.as_deref().map(|s| s.as_str())});
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
            if reencrypt {
                format!(" ({} re-encrypted)", human_bytes(r.bytes))
            } else {
                String::new()
            },
            r.destroyed_versions
        );
        if let Some(rk) = &out.recovery_key {
            println!(
                "\nNew recovery key (the old one no longer works; shown only once):\n\n    {}\n",
                &**rk
            );
        }
    }
    keychain_failed.map_or(Ok(()), Err)
}
