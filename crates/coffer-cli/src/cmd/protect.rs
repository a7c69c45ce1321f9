//! Protected folders: `protect`, `unprotect` and the `watch` that keeps
//! them encrypted.

use std::io::Write;
use std::path::Path;

use serde_json::json;

use crate::cmd::add::{report_add, run_add};
use crate::ctx::Ctx;
use crate::exit::{self, Failure};
use crate::show::{human_bytes, skip_text};

/// `coffer protect DIR`: registers it, then encrypts what is in it now.
pub fn protect(ctx: &Ctx, dir: &Path) -> Result<(), Failure> {
    let v = ctx.open_for_writing()?;
    let folder = v.register_protected(dir)?;
    let c = v.collect(&folder.path, &folder.name)?;
    let outcomes = run_add(ctx, &v, &c.sources, true, "Protecting")?;
    if !ctx.json {
        println!(
            "{} is now protected; its files go into the vault under {}/.",
            folder.path.display(),
            folder.name
        );
    }
    report_add(ctx, &c.sources, &outcomes, &c.skipped)
}

/// Runs the watcher until killed. Output names no file (it may end up in
/// the system journal): object ids and counts only.
pub fn watch(ctx: &Ctx) -> Result<(), Failure> {
    use coffer_core::watch::{self, WatchEvent, WatchOptions};
    let v = ctx.open()?;
    // Without the writer key the watcher still runs, but holds every file
    // (its batches report writer_key_unavailable) until an unlock on this
    // computer keeps the key in the OS keychain; a restart picks it up.
    let vid = crate::ctx::vault_id_hex(&v);
    let writer_key = coffer_keychain::load_writer_key(&vid).ok();
    drop(v);
    let opts = WatchOptions {
        writer_key,
        // Keys replaced by `passwd --exposed` or `rotate --reencrypt` while
        // it runs: the new writer key is in the keychain by then.
        writer_key_source: Some(coffer_keychain::writer_key_source(&vid)),
        ..WatchOptions::default()
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let _handle = watch::start(&ctx.dir, opts, tx)?;
    for ev in rx {
        let (human, machine) = match &ev {
            WatchEvent::Ready { folders, pending } => (
                format!(
                    "watching {folders} protected folders; {pending} files waiting to be encrypted"
                ),
                json!({"event": "ready", "folders": folders, "pending": pending}),
            ),
            WatchEvent::Encrypted { id, size, .. } => (
                format!(
                    "encrypted a file ({}) into the vault as {id}",
                    human_bytes(*size)
                ),
                json!({"event": "encrypted", "id": id.to_hex(), "size": size}),
            ),
            WatchEvent::Skipped { reason, .. } => (
                format!("left a file alone: {}", skip_text(reason)),
                json!({"event": "skipped", "reason": reason}),
            ),
            WatchEvent::Failed {
                error, retry_in, ..
            } => {
                let (_, kind, _) = exit::classify(error);
                (
                    format!(
                        "could not encrypt a file ({error}); trying again in {} s",
                        retry_in.as_secs().max(1)
                    ),
                    json!({"event": "failed", "error": kind, "message": error.to_string(), "retry_in_ms": retry_in.as_millis() as u64}),
                )
            }
            WatchEvent::Warning(w) => (
                format!("warning: {w}"),
                json!({"event": "warning", "message": w}),
            ),
            _ => continue,
        };
        ctx.say(human, machine);
        let _ = std::io::stdout().flush();
    }
    Ok(())
}

/// `coffer unprotect DIR`.
pub fn unprotect(ctx: &Ctx, dir: &Path) -> Result<(), Failure> {
    ctx.open_for_writing()?.unregister_protected(dir)?;
    ctx.say(
        "The folder is no longer protected; its files stay in the vault.",
        json!({"unprotected": dir}),
    );
    Ok(())
}
