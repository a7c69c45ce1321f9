//! What a crash left: a working area found at the next start is saved back
//! (changed files become new versions, which needs no unlock) and wiped,
//! trusting only private folders of the user's and manifest entries that
//! stay inside them.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use coffer_core::paths::Privacy;

use super::manifest::{MANIFEST, MAX_MANIFEST_LEN, PREFIX, Tracked, save_changed};
use super::traces::forget_traces;

/// At start: a working area left by a crash is saved back (changed files
/// become new versions) and wiped.
pub fn recover_stale(vault_dir: &Path) {
    // No private base folder: nothing of ours can be there.
    if let Ok(base) = coffer_core::paths::work_area_base() {
        recover_stale_in(&base, vault_dir, None);
    }
    // Where earlier builds put working areas: the runtime folder
    // itself, else the shared temporary folder. Only private folders of
    // ours are trusted there too; other users' are left alone.
    let legacy = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
    for base in legacy.into_iter().chain([std::env::temp_dir()]) {
        recover_stale_in(&base, vault_dir, None);
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
pub(super) fn read_manifest(dir: &Path) -> HashMap<PathBuf, Tracked> {
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
pub(super) fn recover_stale_in(
    base: &Path,
    vault_dir: &Path,
    writer: Option<&coffer_core::vault::WriterKeySource>,
) -> usize {
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
        let r = save_changed(vault_dir, writer, &mut files);
        saved += r.saved;
        if r.unsaved > 0 {
            // Kept for a start that can encrypt them back (the writer key
            // in the keychain, or a disk with room): never wiped unsaved.
            continue;
        }
        let paths: Vec<PathBuf> = files.keys().cloned().collect();
        forget_traces(&dir, &paths);
        // Does not follow symlinks: only the folder's own entries go.
        let _ = fs::remove_dir_all(&dir);
    }
    saved
}
