//! The ways to unlock: `slots`, `passwd` and `recover`.

use std::path::Path;

use coffer_core::config::{Credential, NewSlot, SlotKind};
use coffer_core::kdf::Argon2Params;
use coffer_core::secret::Key32;
use serde_json::json;

use crate::cli::SlotsCmd;
use crate::cmd::escrow::{parse_pubkey, read_escrow_private};
use crate::creds;
use crate::ctx::Ctx;
use crate::exit::Failure;
use crate::keychain;
use crate::show::fmt_time;

/// `coffer slots list|add|remove`.
pub fn slots(ctx: &Ctx, action: SlotsCmd) -> Result<(), Failure> {
    match action {
        SlotsCmd::List => {
            let s = ctx.open()?.status()?;
            if ctx.json {
                println!("{}", json!({"slots": s.slots}));
            } else {
                for sl in &s.slots {
                    let kms = sl.kms.as_ref().map_or(String::new(), |k| {
                        format!("  key {} v{} in {}", k.key, k.version, k.provider.as_str())
                    });
                    println!(
                        "{}  {:<10} created {}{kms}",
                        sl.id,
                        sl.kind.as_str(),
                        fmt_time(sl.created * 1_000_000_000)
                    );
                }
            }
            Ok(())
        }
        SlotsCmd::Add { kind, escrow, kdf } => {
            let mut v = ctx.unlocked()?;
            let (id, extra) = match kind.as_str() {
                "passphrase" => {
                    let p = creds::new_passphrase(&ctx.cred, "COFFER_NEW_PASSPHRASE")?;
                    (v.add_slot(NewSlot::Passphrase(&p, kdf.params()))?, None)
                }
                "keychain" => (keychain::enrol(&mut v)?, None),
                "recovery" => {
                    let k = Key32::random();
                    let id = v.replace_slots(SlotKind::Recovery, NewSlot::Recovery(&k))?;
                    (id, Some(coffer_core::recovery::encode(&k)))
                }
                "escrow" => {
                    let pk = parse_pubkey(
                        escrow
                            .as_deref()
                            .ok_or_else(|| Failure::usage("--escrow PUBKEY is needed", None))?,
                    )?;
                    (
                        v.replace_slots(SlotKind::Escrow, NewSlot::Escrow(&pk))?,
                        None,
                    )
                }
                other => {
                    return Err(Failure::usage(
                        format!("unknown slot kind {other}"),
                        Some("use passphrase, keychain, recovery or escrow"),
                    ));
                }
            };
            match &extra {
                Some(rk) if !ctx.json => println!(
                    "New recovery key (the old one no longer opens this vault, though an older copy of its\n\
                     settings, such as a backup, still accepts it: if it was exposed, run\n\
                     `coffer passwd --exposed --keep-passphrase`; shown only once):\n\n    {}\n",
                    &**rk
                ),
                _ => {}
            }
            ctx.say(format!("Added {kind} slot {id}."), json!({"added": kind, "slot": id, "recovery_key": extra.as_deref().map(|s| s.as_str())}));
            Ok(())
        }
        SlotsCmd::Remove { id } => {
            let mut v = ctx.unlocked()?;
            let kind = keychain::forget_slot(&mut v, &id)?;
            ctx.say(
                format!("Removed {} slot {id}.", kind.as_str()),
                json!({"removed": kind, "slot": id}),
            );
            Ok(())
        }
    }
}

/// `coffer recover [--escrow-key FILE]`.
pub fn recover(ctx: &Ctx, escrow_key: Option<&Path>, kdf: Argon2Params) -> Result<(), Failure> {
    let mut v = ctx.open()?;
    let how = if let Some(path) = escrow_key {
        let sk = read_escrow_private(path)?;
        v.unlock(&Credential::Escrow(&sk))?;
        "escrow"
    } else {
        let k = creds::recovery_key()?;
        v.unlock(&Credential::Recovery(&k))?;
        "recovery_key"
    };
    let p = creds::new_passphrase(&ctx.cred, "COFFER_NEW_PASSPHRASE")?;
    v.replace_slots(SlotKind::Passphrase, NewSlot::Passphrase(&p, kdf))?;
    ctx.say(
        "Recovered: the vault has a new passphrase. Your recovery key still works; make a new one with `coffer slots add recovery` if it was exposed.",
        json!({"recovered": true, "method": how}),
    );
    Ok(())
}

/// `coffer passwd`.
pub fn passwd(ctx: &Ctx, kdf: Argon2Params) -> Result<(), Failure> {
    let mut v = ctx.unlocked()?;
    let p = creds::new_passphrase(&ctx.cred, "COFFER_NEW_PASSPHRASE")?;
    let id = v.replace_slots(SlotKind::Passphrase, NewSlot::Passphrase(&p, kdf))?;
    ctx.say(
        "Passphrase changed. The old passphrase no longer unlocks this vault; an older copy of its settings (a backup) still opens with it. If someone may know it, run `coffer passwd --exposed`.",
        json!({"passphrase_changed": true, "slot": id}),
    );
    Ok(())
}
