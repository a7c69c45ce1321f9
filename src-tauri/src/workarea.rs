//! The private working area: files the user opens are decrypted into a
//! per-session folder (0700, on tmpfs under $XDG_RUNTIME_DIR where there is
//! one), opened with their usual app, encrypted back as a new version when
//! saved, and wiped on lock — and, after a crash, at the next start.
//!
//! A manifest beside the files lists what each one is (vault path and the
//! size/mtime it was opened with), never anything secret, so the next start
//! can save changes made before a crash without needing an unlock: adding
//! to the vault needs only its public key.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use coffer_core::vault::{Actor, AddOptions, AddSource, Entry, Vault};
use notify::Watcher as _;
use serde::{Deserialize, Serialize};

use crate::error::{CmdResult, UiError};
use crate::session::guard;

const PREFIX: &str = "coffer-work-";
const MANIFEST: &str = ".coffer-manifest.json";
/// A save is taken once the file has been quiet this long.
const SETTLE: Duration = Duration::from_millis(700);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Tracked {
    vault_path: String,
    len: u64,
    mtime_ns: i64,
}

type Files = Arc<Mutex<HashMap<PathBuf, Tracked>>>;

/// The session's working area.
pub struct WorkArea {
    dir: PathBuf,
    files: Files,
    stop: mpsc::Sender<Option<PathBuf>>,
    _watcher: notify::RecommendedWatcher,
}

fn base_dir() -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(std::env::temp_dir)
}

fn fingerprint(p: &Path) -> Option<(u64, i64)> {
    let m = fs::metadata(p).ok()?;
    Some((m.len(), coffer_core::vault::mtime_ns_of(&m)))
}

fn save_manifest(dir: &Path, files: &HashMap<PathBuf, Tracked>) {
    let rel: HashMap<String, &Tracked> = files
        .iter()
        .filter_map(|(p, t)| Some((p.strip_prefix(dir).ok()?.to_string_lossy().into_owned(), t)))
        .collect();
    let _ = coffer_core::fsutil::atomic_write(
        &dir.join(MANIFEST),
        &serde_json::to_vec(&rel).expect("serializes"),
    );
}

/// Encrypts back every tracked file that changed since it was opened.
fn save_changed(vault_dir: &Path, files: &mut HashMap<PathBuf, Tracked>) -> usize {
    // Each file must stay inside its working area: opened from there with
    // no symlink followed.
    let changed: Vec<(PathBuf, AddSource)> = files
        .iter()
        .filter(|(p, t)| fingerprint(p).is_some_and(|f| f != (t.len, t.mtime_ns)))
        .filter_map(|(p, t)| Some((p.clone(), AddSource::for_file(p, &t.vault_path).ok()?)))
        .collect();
    if changed.is_empty() {
        return 0;
    }
    let Ok(v) = Vault::open(vault_dir) else {
        return 0;
    };
    let sources: Vec<AddSource> = changed.iter().map(|(_, s)| s.clone()).collect();
    let opts = AddOptions {
        remove_plaintext: false,
        by: Actor::App,
    };
    let mut saved = 0;
    if let Ok(outcomes) = v.add(&sources, opts, &|_| {}) {
        for ((p, _), o) in changed.iter().zip(outcomes) {
            if matches!(o, coffer_core::vault::AddOutcome::Added { .. })
                && let (Some(t), Some((len, mtime_ns))) = (files.get_mut(p), fingerprint(p))
            {
                t.len = len;
                t.mtime_ns = mtime_ns;
                saved += 1;
            }
        }
    }
    saved
}

impl WorkArea {
    /// A fresh working area; `on_saved` runs after a save was encrypted back.
    pub fn create(vault_dir: &Path, on_saved: Arc<dyn Fn() + Send + Sync>) -> CmdResult<Self> {
        let rand: [u8; 8] = coffer_core::primitives::random_array();
        let dir = base_dir().join(format!("{PREFIX}{}", data_encoding::HEXLOWER.encode(&rand)));
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
                    if save_changed(&vd, &mut files) > 0 {
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
            stop: tx,
            _watcher: watcher,
        })
    }

    /// Decrypts `entry` into the working area and returns its path.
    pub fn open(&self, vault: &Vault, entry: &Entry) -> CmdResult<PathBuf> {
        let name = entry.path.rsplit('/').next().unwrap_or("file");
        let sub = self.dir.join(&entry.id.to_hex()[..8]);
        let dest = sub.join(name);
        if dest.exists() {
            // Already open: hand out the same copy (it may hold unsaved edits).
            return Ok(dest);
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
        save_changed(vault_dir, &mut files);
        let paths: Vec<PathBuf> = files.keys().cloned().collect();
        drop(files);
        crate::system::forget_traces(&self.dir, &paths);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// At start: a working area left by a crash is saved back (changed files
/// become new versions) and wiped.
pub fn recover_stale(vault_dir: &Path) {
    let Ok(rd) = fs::read_dir(base_dir()) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        if !name.to_string_lossy().starts_with(PREFIX) || !e.path().is_dir() {
            continue;
        }
        let dir = e.path();
        let manifest: HashMap<String, Tracked> = fs::read(dir.join(MANIFEST))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let mut files: HashMap<PathBuf, Tracked> = manifest
            .into_iter()
            .map(|(k, v)| (dir.join(k), v))
            .collect();
        save_changed(vault_dir, &mut files);
        let paths: Vec<PathBuf> = files.keys().cloned().collect();
        crate::system::forget_traces(&dir, &paths);
        let _ = fs::remove_dir_all(&dir);
    }
}
