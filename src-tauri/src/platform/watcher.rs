//! The in-process watcher of protected folders: it runs inside the app so
//! they stay protected while the window is closed and the app sits in the
//! tray; its events update the Home screen's view and reach the UI.

use std::sync::Arc;

use coffer_core::config::WriterKey;
use coffer_core::watch::{self, WatchEvent, WatchOptions};

use super::notifications::notify;
use crate::glue::AppCore;
use crate::sync::guard;

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Restarts a watcher that runs without a writer key once an unlock has
/// yielded one, so files that waited are encrypted now.
pub(crate) fn rearm_watcher(core: &Arc<AppCore>) {
    if core.watcher_keyed.load(std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let old = guard(&core.watch_handle).take();
    drop(old);
    guard(&core.watcher).running = false;
    start_watcher_with(core, core.writer_key());
}

/// Starts the in-process watcher (see [`start_watcher_with`]). Without a
/// writer key in memory it first asks the OS keychain, on a thread of its
/// own: a locked keychain asks the user, and the app must not wait for it
/// (an unlock meanwhile starts the watcher with its own key).
pub(crate) fn start_watcher(core: &Arc<AppCore>) {
    if let Some(k) = core.writer_key() {
        return start_watcher_with(core, Some(k));
    }
    let me = core.clone();
    std::thread::spawn(move || {
        let key = me
            .open_vault()
            .ok()
            .and_then(|v| coffer_keychain::load_writer_key(&coffer_keychain::vault_id(&v)).ok());
        if let Some(k) = &key {
            me.remember_writer_key(k.clone());
        }
        start_watcher_with(&me, key);
    });
}

/// Starts the in-process watcher with `writer_key` if a vault exists and it
/// is not running. Without a writer key it holds new files (they wait, and
/// each batch says why) until an unlock yields one: it is restarted then.
fn start_watcher_with(core: &Arc<AppCore>, writer_key: Option<WriterKey>) {
    let mut h = guard(&core.watch_handle);
    if h.is_some() || !core.vault_dir.join("vault.json").exists() {
        return;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let keyed = writer_key.is_some();
    // When the vault's keys are replaced (a response to an exposed
    // credential, here or by `coffer passwd --exposed`), the watcher takes
    // the new writer key from the app's memory, else the OS keychain,
    // instead of calling the new config forged.
    let writer_key_source = Some(match core.open_vault() {
        Ok(v) => core.writer_key_source_with_keychain(coffer_keychain::vault_id(&v)),
        Err(_) => core.writer_key_source(),
    });
    let opts = WatchOptions {
        writer_key,
        writer_key_source,
        ..WatchOptions::default()
    };
    match watch::start(&core.vault_dir, opts, tx) {
        Ok(handle) => {
            *h = Some(handle);
            core.watcher_keyed
                .store(keyed, std::sync::atomic::Ordering::SeqCst);
            guard(&core.watcher).running = true;
        }
        Err(e) => {
            core.emit(
                "watcher-event",
                serde_json::json!({"kind": "warning", "count": 0, "message": e.to_string()}),
            );
            return;
        }
    }
    let me = core.clone();
    std::thread::spawn(move || {
        for ev in rx {
            on_watch_event(&me, ev);
        }
    });
}

fn on_watch_event(core: &AppCore, ev: WatchEvent) {
    let mut w = guard(&core.watcher);
    w.last_event_ns = Some(now_ns());
    let payload = match ev {
        WatchEvent::Ready { folders, pending } => {
            w.folders = folders;
            w.pending = pending;
            None
        }
        WatchEvent::Encrypted { .. } => {
            w.pending = w.pending.saturating_sub(1);
            Some(serde_json::json!({"kind": "encrypted", "count": 1}))
        }
        WatchEvent::Failed { error, .. } => {
            w.failures += 1;
            notify(
                core,
                "A file could not be encrypted",
                &format!(
                    "Coffer will try again. {}",
                    crate::error::UiError::from(error).message
                ),
            );
            Some(serde_json::json!({"kind": "failed", "count": 1}))
        }
        WatchEvent::Warning(m) => {
            Some(serde_json::json!({"kind": "warning", "count": 0, "message": m}))
        }
        _ => None,
    };
    drop(w);
    if let Some(p) = payload {
        core.emit("watcher-event", p);
        core.emit("files-changed", ());
    }
}
