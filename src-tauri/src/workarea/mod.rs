//! The private working area: files the user opens are decrypted into a
//! per-session folder (0700) under a per-user private base folder — on
//! tmpfs under $XDG_RUNTIME_DIR where that is the user's own, else in the
//! user's cache folder, never the shared /tmp ([`coffer_core::paths`]) —
//! opened with their usual app, encrypted back as a new version when
//! saved, and wiped on lock — and, after a crash, at the next start.
//!
//! A manifest beside the files lists what each one is (vault path and the
//! size/mtime it was opened with), never anything secret, so the next start
//! can save changes made before a crash without needing an unlock: adding
//! to the vault needs only its public key. The next start trusts a left
//! folder only if it is a private folder of the user's, and a manifest
//! entry only if it names a regular file inside that folder (no absolute
//! path, no `..`, no symlink on the way) and a valid vault path.
//!
//! This room imports nothing of the app but its errors and `sync`: the state holds a
//! [`WorkArea`]; the working area knows no state.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use coffer_core::vault::{Entry, Vault};
use notify::Watcher as _;

use crate::error::{CmdResult, UiError};
use crate::sync::guard;

mod manifest;
mod recover;
#[cfg(test)]
mod tests;
mod traces;

use coffer_core::vault::WriterKeySource;
use manifest::{PREFIX, Tracked, fingerprint, save_changed, save_manifest};
pub use recover::recover_stale;

/// A save is taken once the file has been quiet this long.
const SETTLE: Duration = Duration::from_millis(700);

type Files = Arc<Mutex<HashMap<PathBuf, Tracked>>>;

/// The session's working area.
pub struct WorkArea {
    dir: PathBuf,
    files: Files,
    /// Where the vault's writer key comes from, for encrypting saves back
    /// (it decrypts nothing): the app's memory, which has held it since the
    /// unlock and follows a change of keys. None: the OS keychain.
    writer: Option<WriterKeySource>,
    stop: mpsc::Sender<Option<PathBuf>>,
    _watcher: notify::RecommendedWatcher,
}

impl WorkArea {
    /// A fresh working area; `on_saved` runs after a save was encrypted back.
    pub fn create(
        vault_dir: &Path,
        writer: Option<WriterKeySource>,
        on_saved: Arc<dyn Fn() + Send + Sync>,
    ) -> CmdResult<Self> {
        let base = coffer_core::paths::work_area_base()?;
        Self::create_in(&base, vault_dir, writer, on_saved)
    }

    /// A fresh working area under `base`.
    fn create_in(
        base: &Path,
        vault_dir: &Path,
        writer: Option<WriterKeySource>,
        on_saved: Arc<dyn Fn() + Send + Sync>,
    ) -> CmdResult<Self> {
        let rand: [u8; 8] = coffer_core::primitives::random_array();
        let dir = base.join(format!("{PREFIX}{}", data_encoding::HEXLOWER.encode(&rand)));
        let mut b = fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(&dir).map_err(|e| {
            UiError::new("io", format!("Cannot create the private working area: {e}"))
        })?;
        let files: Files = Arc::new(Mutex::new(HashMap::new()));
        let (tx, rx) = mpsc::channel::<Option<PathBuf>>();
        let ev_tx = tx.clone();
        let mut watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
            if let Ok(ev) = ev {
                for p in ev.paths {
                    let _ = ev_tx.send(Some(p));
                }
            }
        })
        .map_err(|e| UiError::new("io", format!("Cannot watch the working area: {e}")))?;
        watcher
            .watch(&dir, notify::RecursiveMode::Recursive)
            .map_err(|e| UiError::new("io", format!("Cannot watch the working area: {e}")))?;
        let (vd, fl, d) = (vault_dir.to_path_buf(), files.clone(), dir.clone());
        let w = writer.clone();
        std::thread::spawn(move || {
            let mut due: HashMap<PathBuf, Instant> = HashMap::new();
            loop {
                let wait = due
                    .values()
                    .min()
                    .map(|t| t.saturating_duration_since(Instant::now()));
                let msg = match wait {
                    None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                    Some(w) => rx.recv_timeout(w),
                };
                match msg {
                    Ok(Some(p)) => {
                        if guard(&fl).contains_key(&p) {
                            due.insert(p, Instant::now() + SETTLE);
                        }
                    }
                    Ok(None) | Err(RecvTimeoutError::Disconnected) => return,
                    Err(RecvTimeoutError::Timeout) => {}
                }
                let now = Instant::now();
                let ready: Vec<PathBuf> = due
                    .iter()
                    .filter(|(_, t)| **t <= now)
                    .map(|(p, _)| p.clone())
                    .collect();
                if !ready.is_empty() {
                    for p in &ready {
                        due.remove(p);
                    }
                    let mut files = guard(&fl);
                    if save_changed(&vd, w.as_ref(), &mut files).saved > 0 {
                        save_manifest(&d, &files);
                        drop(files);
                        on_saved();
                    }
                }
            }
        });
        Ok(WorkArea {
            dir,
            files,
            writer,
            stop: tx,
            _watcher: watcher,
        })
    }

    /// Decrypts `entry` into the working area and returns its path.
    pub fn open(&self, vault: &Vault, entry: &Entry) -> CmdResult<PathBuf> {
        let name = entry.path.rsplit('/').next().unwrap_or("file");
        // The whole id: anyone with the public key can seal an object whose
        // id shares a prefix with another's, and must not get its copy.
        let sub = self.dir.join(entry.id.to_hex());
        let dest = sub.join(name);
        if dest.exists() {
            // Already open: hand out the same copy (it may hold unsaved
            // edits), if it is the copy of this very file.
            if guard(&self.files)
                .get(&dest)
                .is_some_and(|t| t.vault_path == entry.path)
            {
                return Ok(dest);
            }
            return Err(UiError::new(
                "invalid",
                "Another copy is already open under that name; close it and try again.",
            ));
        }
        vault.open_into(entry, &dest)?;
        let (len, mtime_ns) = fingerprint(&dest).unwrap_or((entry.size, entry.mtime_ns));
        let mut files = guard(&self.files);
        files.insert(
            dest.clone(),
            Tracked {
                vault_path: entry.path.clone(),
                len,
                mtime_ns,
            },
        );
        save_manifest(&self.dir, &files);
        Ok(dest)
    }

    /// Saves what changed, removes traces the desktop keeps of the files,
    /// and wipes the folder.
    pub fn close(self, vault_dir: &Path) {
        let _ = self.stop.send(None);
        let mut files = guard(&self.files);
        if save_changed(vault_dir, self.writer.as_ref(), &mut files).unsaved > 0 {
            // An edit that could not be encrypted back is never wiped: the
            // working area stays, with its manifest, and the next start
            // saves it back (recover_stale).
            save_manifest(&self.dir, &files);
            return;
        }
        let paths: Vec<PathBuf> = files.keys().cloned().collect();
        drop(files);
        traces::forget_traces(&self.dir, &paths);
        let _ = fs::remove_dir_all(&self.dir);
    }
}
