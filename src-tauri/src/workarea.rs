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

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use coffer_core::paths::Privacy;
use coffer_core::vault::{Actor, AddOptions, AddSource, Entry, Vault};
use notify::Watcher as _;
use serde::{Deserialize, Serialize};

use crate::error::{CmdResult, UiError};
use crate::session::guard;

const PREFIX: &str = "coffer-work-";
const MANIFEST: &str = ".coffer-manifest.json";
/// Largest manifest read (thousands of entries).
const MAX_MANIFEST_LEN: u64 = 4 << 20;
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

fn fingerprint(p: &Path) -> Option<(u64, i64)> {
    let m = fs::metadata(p).ok()?;
    Some((m.len(), coffer_core::vault::mtime_ns_of(&m)))
}

fn save_manifest(dir: &Path, files: &HashMap<PathBuf, Tracked>) {
    // `/`-separated on every OS, as recover_stale reads it.
    let rel: HashMap<String, &Tracked> = files
        .iter()
        .filter_map(|(p, t)| {
            let parts: Option<Vec<&str>> = p
                .strip_prefix(dir)
                .ok()?
                .components()
                .map(|c| c.as_os_str().to_str())
                .collect();
            Some((parts?.join("/"), t))
        })
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
        let base = coffer_core::paths::work_area_base()?;
        Self::create_in(&base, vault_dir, on_saved)
    }

    /// A fresh working area under `base`.
    fn create_in(
        base: &Path,
        vault_dir: &Path,
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
    // No private base folder: nothing of ours can be there.
    if let Ok(base) = coffer_core::paths::work_area_base() {
        recover_stale_in(&base, vault_dir);
    }
    // Where earlier builds put working areas: the runtime folder
    // itself, else the shared temporary folder. Only private folders of
    // ours are trusted there too; other users' are left alone.
    let legacy = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
    for base in legacy.into_iter().chain([std::env::temp_dir()]) {
        recover_stale_in(&base, vault_dir);
    }
}

/// `rel` from a manifest as a path inside `dir`, if it names a regular file
/// there: a valid relative path (no absolute path, drive, `..` or
/// backslash) none of whose components is a symlink.
fn inside(dir: &Path, rel: &str) -> Option<PathBuf> {
    coffer_core::format::validate_rel_path(rel).ok()?;
    let mut p = dir.to_path_buf();
    let comps: Vec<&str> = rel.split('/').collect();
    for (i, c) in comps.iter().enumerate() {
        p.push(c);
        let ft = fs::symlink_metadata(&p).ok()?.file_type();
        let last = i + 1 == comps.len();
        if (last && !ft.is_file()) || (!last && !ft.is_dir()) {
            return None;
        }
    }
    Some(p)
}

/// The trusted entries of the manifest in `dir` (a private folder of ours).
fn read_manifest(dir: &Path) -> HashMap<PathBuf, Tracked> {
    let path = dir.join(MANIFEST);
    if !fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
        return HashMap::new();
    }
    let manifest: HashMap<String, Tracked> =
        coffer_core::fsutil::read_bounded(&path, MAX_MANIFEST_LEN, "working area manifest")
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
    manifest
        .into_iter()
        .filter(|(_, t)| coffer_core::format::validate_rel_path(&t.vault_path).is_ok())
        .filter_map(|(k, t)| Some((inside(dir, &k)?, t)))
        .collect()
}

/// [`recover_stale`] under `base`; returns how many files were saved back.
fn recover_stale_in(base: &Path, vault_dir: &Path) -> usize {
    let Ok(rd) = fs::read_dir(base) else {
        return 0;
    };
    let mut saved = 0;
    for e in rd.flatten() {
        if !e.file_name().to_string_lossy().starts_with(PREFIX) {
            continue;
        }
        let dir = e.path();
        let mut files = match coffer_core::paths::privacy(&dir) {
            // A symlink, a file or someone else's: left alone.
            Privacy::NotOurs => continue,
            // Ours, but others could have written to it: wiped unread.
            Privacy::Exposed => HashMap::new(),
            Privacy::Private => read_manifest(&dir),
        };
        saved += save_changed(vault_dir, &mut files);
        let paths: Vec<PathBuf> = files.keys().cloned().collect();
        crate::system::forget_traces(&dir, &paths);
        // Does not follow symlinks: only the folder's own entries go.
        let _ = fs::remove_dir_all(&dir);
    }
    saved
}

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_core::kdf::Argon2Params;
    use coffer_core::secret::Passphrase;
    use coffer_core::vault::CreateOptions;

    struct Fixture {
        _tmp: tempfile::TempDir,
        root: PathBuf,
        base: PathBuf,
        vault: Vault,
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let vault = Vault::create(
            &root.join("vault"),
            CreateOptions {
                passphrase: &Passphrase::from("pw"),
                kdf: Argon2Params::FLOOR,
                keychain_secret: None,
                escrow: None,
            },
        )
        .unwrap()
        .vault;
        let base =
            coffer_core::paths::work_area_base_from(None, Some(&root.join("cache"))).unwrap();
        Fixture {
            _tmp: tmp,
            root,
            base,
            vault,
        }
    }

    impl Fixture {
        /// A working area left by a crash: `files` (path inside it,
        /// contents), listed in its manifest as `(manifest key, vault
        /// path)` with a size and time that no longer match.
        fn stale(&self, name: &str, files: &[(&str, &str)], manifest: &[(&str, &str)]) -> PathBuf {
            let dir = self.base.join(format!("{PREFIX}{name}"));
            let mut b = fs::DirBuilder::new();
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                b.mode(0o700);
            }
            b.create(&dir).unwrap();
            for (rel, text) in files {
                let p = dir.join(rel);
                fs::create_dir_all(p.parent().unwrap()).unwrap();
                fs::write(p, text).unwrap();
            }
            let m: HashMap<&str, Tracked> = manifest
                .iter()
                .map(|(k, vp)| {
                    let t = Tracked {
                        vault_path: vp.to_string(),
                        len: 0,
                        mtime_ns: 0,
                    };
                    (*k, t)
                })
                .collect();
            fs::write(dir.join(MANIFEST), serde_json::to_vec(&m).unwrap()).unwrap();
            dir
        }

        fn recover(&self) -> usize {
            recover_stale_in(&self.base, self.vault.dir())
        }

        fn stored(&self) -> Vec<String> {
            let mut v: Vec<String> = self
                .vault
                .entries()
                .unwrap()
                .entries
                .into_iter()
                .map(|e| e.path)
                .collect();
            v.sort();
            v
        }
    }

    #[test]
    fn a_proper_stale_folder_is_imported_and_wiped() {
        let f = fixture();
        let dir = f.stale(
            "0001",
            &[
                ("ab12cd34/letter.pdf", "edited"),
                ("ef56ab78/scan.tif", "new"),
            ],
            &[
                ("ab12cd34/letter.pdf", "Scans/letter.pdf"),
                ("ef56ab78/scan.tif", "Scans/2026/scan.tif"),
            ],
        );
        assert_eq!(f.recover(), 2);
        assert_eq!(f.stored(), ["Scans/2026/scan.tif", "Scans/letter.pdf"]);
        assert!(!dir.exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_stale_folder_others_could_write_is_wiped_unread() {
        use std::os::unix::fs::PermissionsExt;
        let f = fixture();
        for (i, mode) in [0o750, 0o705, 0o777, 0o710].into_iter().enumerate() {
            let dir = f.stale(
                &format!("open{i}"),
                &[("ab12cd34/letter.pdf", "planted")],
                &[("ab12cd34/letter.pdf", "Scans/letter.pdf")],
            );
            fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(f.recover(), 0, "{mode:o}");
            assert!(!dir.exists(), "{mode:o}");
        }
        assert!(f.stored().is_empty());
    }

    #[test]
    fn manifest_entries_outside_the_folder_are_not_imported() {
        let f = fixture();
        let outside = f.root.join("outside.txt");
        let abs = f.root.join("abs.txt");
        fs::write(&outside, "not the app's").unwrap();
        fs::write(&abs, "not the app's either").unwrap();
        let abs_key = abs.to_str().unwrap().to_owned();
        #[allow(unused_mut)] // Only Unix adds the symlink cases.
        let mut files = vec![("ab12cd34/ok-name.pdf", "edited")];
        #[allow(unused_mut)]
        let mut manifest = vec![
            ("../outside.txt", "Scans/outside.txt"),
            ("ab12cd34/../../outside.txt", "Scans/outside.txt"),
            (abs_key.as_str(), "Scans/abs.txt"),
            ("ab12cd34\\..\\..\\outside.txt", "Scans/outside.txt"),
            // A file inside, but a vault path that is not valid.
            ("ab12cd34/ok-name.pdf", "../escaped.pdf"),
        ];
        #[cfg(unix)]
        {
            // A symlink on the way, to a folder outside.
            files.push(("ef56ab78/x", "y"));
            manifest.push(("link/outside.txt", "Scans/outside.txt"));
            manifest.push(("ef56ab78/filelink", "Scans/outside.txt"));
        }
        let dir = f.stale("0002", &files, &manifest);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&f.root, dir.join("link")).unwrap();
            std::os::unix::fs::symlink(&outside, dir.join("ef56ab78/filelink")).unwrap();
        }
        assert_eq!(f.recover(), 0);
        assert!(f.stored().is_empty());
        assert_eq!(fs::read_to_string(&outside).unwrap(), "not the app's");
        assert_eq!(fs::read_to_string(&abs).unwrap(), "not the app's either");
        assert!(!dir.exists());
        assert!(f.root.join("vault").is_dir());
    }

    #[cfg(unix)]
    #[test]
    fn what_is_not_a_folder_of_ours_is_left_alone() {
        let f = fixture();
        // A folder elsewhere that looks like a working area, linked in.
        let elsewhere = f.root.join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        fs::write(elsewhere.join("letter.pdf"), "someone's").unwrap();
        let m = serde_json::json!({"letter.pdf": {"vault_path": "Scans/letter.pdf", "len": 0, "mtime_ns": 0}});
        fs::write(elsewhere.join(MANIFEST), m.to_string()).unwrap();
        let link = f.base.join(format!("{PREFIX}link"));
        std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
        let file = f.base.join(format!("{PREFIX}file"));
        fs::write(&file, "x").unwrap();
        assert_eq!(f.recover(), 0);
        assert!(f.stored().is_empty());
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            fs::read_to_string(elsewhere.join("letter.pdf")).unwrap(),
            "someone's"
        );
        assert!(elsewhere.join(MANIFEST).exists());
        assert!(file.exists());
    }

    #[test]
    fn an_oversized_manifest_is_not_read() {
        let f = fixture();
        let dir = f.stale(
            "0003",
            &[("ab12cd34/letter.pdf", "edited")],
            &[("ab12cd34/letter.pdf", "Scans/letter.pdf")],
        );
        fs::File::options()
            .append(true)
            .open(dir.join(MANIFEST))
            .unwrap()
            .set_len(5 << 30)
            .unwrap();
        assert_eq!(f.recover(), 0);
        assert!(!dir.exists());
    }

    #[test]
    fn a_new_working_area_is_private_and_under_the_base() {
        let f = fixture();
        let wa = WorkArea::create_in(&f.base, f.vault.dir(), Arc::new(|| {})).unwrap();
        assert_eq!(wa.dir.parent(), Some(f.base.as_path()));
        assert_eq!(
            coffer_core::paths::privacy(&wa.dir),
            coffer_core::paths::Privacy::Private
        );
        let dir = wa.dir.clone();
        wa.close(f.vault.dir());
        assert!(!dir.exists());
    }
}
