//! `coffer init`: a new vault, its recovery key shown once.

use coffer_core::kdf::Argon2Params;
use coffer_core::secret::Key32;
use coffer_core::vault::{CreateOptions, Vault};
use serde_json::json;

use crate::cmd::escrow::parse_pubkey;
use crate::creds;
use crate::ctx::{Ctx, vault_id_hex};
use crate::exit::Failure;
use crate::keychain;

/// `coffer init`: the recovery key is printed here and never again.
pub fn init(
    ctx: &Ctx,
    with_keychain: bool,
    escrow: Option<&str>,
    kdf: Argon2Params,
) -> Result<(), Failure> {
    let escrow = escrow.map(parse_pubkey).transpose()?;
    let pass = creds::new_passphrase(&ctx.cred, "COFFER_PASSPHRASE")?;
    let kc = with_keychain.then(Key32::random);
    let mut created = Vault::create(
        &ctx.dir,
        CreateOptions {
            passphrase: &pass,
            kdf,
            keychain_secret: kc.as_ref(),
            escrow,
        },
    )?;
    let vid = vault_id_hex(&created.vault);
    // Without it in the keychain, adding while locked (the watcher, `add`)
    // waits for an unlock on this computer; the error then says so.
    if coffer_keychain::keep_writer_key(&created.vault).is_err() && !ctx.json {
        eprintln!(
            "note: the OS keychain is not available, so files can be added only after the vault has been \
             unlocked on this computer with the keychain running"
        );
    }
    // The recovery key exists only in this process: a keychain failure is
    // reported after it has been shown, never instead of it.
    let keychain_failed = match &kc {
        Some(k) => keychain::adopt(&mut created.vault, k)
            .err()
            .map(keychain::failed_after_recovery_key),
        None => None,
    };
    if ctx.json {
        let doc = json!({"vault": ctx.dir, "vault_id": vid, "recovery_key": &*created.recovery_key,
                         "keychain": with_keychain && keychain_failed.is_none(),
                         "escrow": escrow.is_some()});
        if let Some(f) = keychain_failed {
            return Err(f.with_json_report(doc));
        }
        println!("{doc}");
    } else {
        println!("Created a vault at {}", ctx.dir.display());
        println!();
        println!(
            "Your recovery key (shown only this once; print it or write it down and keep it somewhere safe):"
        );
        println!();
        println!("    {}", &*created.recovery_key);
        println!();
        println!(
            "If you forget your passphrase, `coffer recover` with this key lets you set a new one."
        );
    }
    keychain_failed.map_or(Ok(()), Err)
}
