//! What the working area tracks of each opened file (the manifest beside
//! the files) and saving changed files back into the vault; shared by the
//! live working area and crash recovery.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use coffer_core::vault::{Actor, AddOptions, AddSource, Vault, WriterKeySource};
use serde::{Deserialize, Serialize};

/// The name every working area folder starts with.
pub(super) const PREFIX: &str = "coffer-work-";
/// The manifest's file name inside a working area.
pub(super) const MANIFEST: &str = ".coffer-manifest.json";
/// Largest manifest read (thousands of entries).
pub(super) const MAX_MANIFEST_LEN: u64 = 4 << 20;

/// One opened file: where it belongs in the vault and the size and time
/// it had when opened (a change to either means it was saved).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Tracked {
    pub(super) vault_path: String,
    pub(super) len: u64,
    pub(super) mtime_ns: i64,
}

pub(super) fn fingerprint(p: &Path) -> Option<(u64, i64)> {
    let m = fs::metadata(p).ok()?;
    Some((m.len(), coffer_core::vault::mtime_ns_of(&m)))
}

pub(super) fn save_manifest(dir: &Path, files: &HashMap<PathBuf, Tracked>) {
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

/// What [`save_changed`] did: files encrypted back, and changed files it
/// could not encrypt back (which must then stay where they are).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct SaveBack {
    pub saved: usize,
    pub unsaved: usize,
}

/// Encrypts back every tracked file that changed since it was opened.
/// Adding needs the vault's writer key (docs/FORMAT.md §4.5): from
/// `writer` (the app's memory, kept since its unlock), else the one the OS
/// keychain keeps.
pub(super) fn save_changed(
    vault_dir: &Path,
    writer: Option<&WriterKeySource>,
    files: &mut HashMap<PathBuf, Tracked>,
) -> SaveBack {
    // Each file must stay inside its working area: opened from there with
    // no symlink followed.
    let changed: Vec<(PathBuf, AddSource)> = files
        .iter()
        .filter(|(p, t)| fingerprint(p).is_some_and(|f| f != (t.len, t.mtime_ns)))
        .filter_map(|(p, t)| Some((p.clone(), AddSource::for_file(p, &t.vault_path).ok()?)))
        .collect();
    let all_unsaved = SaveBack {
        saved: 0,
        unsaved: changed.len(),
    };
    if changed.is_empty() {
        return SaveBack::default();
    }
    let Ok(mut v) = Vault::open(vault_dir) else {
        return all_unsaved;
    };
    if !arm(&mut v, writer) {
        return all_unsaved;
    }
    let sources: Vec<AddSource> = changed.iter().map(|(_, s)| s.clone()).collect();
    let Ok(outcomes) = add_following_key_changes(&mut v, &sources) else {
        return all_unsaved;
    };
    let mut saved = 0;
    for ((p, _), o) in changed.iter().zip(outcomes) {
        if matches!(o, coffer_core::vault::AddOutcome::Added { .. })
            && let (Some(t), Some((len, mtime_ns))) = (files.get_mut(p), fingerprint(p))
        {
            t.len = len;
            t.mtime_ns = mtime_ns;
            saved += 1;
        }
    }
    SaveBack {
        saved,
        unsaved: changed.len() - saved,
    }
}

/// Hands `v` (opened locked) the writer key: the one of `memory` that
/// verifies the config, with `memory` as the source of a fresh one should a
/// rotation replace the keys; else the OS keychain's (which sets the
/// keychain as the source). Only when neither has a key that verifies is a
/// key checked in a way that records a config that fails: the memory's,
/// if the keychain could not be asked.
fn arm(v: &mut Vault, memory: Option<&WriterKeySource>) -> bool {
    let held = memory.map(|m| m()).unwrap_or_default();
    if let Some(m) = memory
        && let Some(k) = held.iter().find(|k| v.config().verify(k).is_ok())
    {
        v.set_writer_key_source(m.clone());
        return v.set_writer_key(k.clone()).is_ok();
    }
    match coffer_keychain::arm_writer(v) {
        Ok(()) => true,
        Err(coffer_keychain::EnrolError::Keychain(_)) => match (memory, held.first()) {
            (Some(m), Some(k)) => {
                v.set_writer_key_source(m.clone());
                v.set_writer_key(k.clone()).is_ok()
            }
            _ => false,
        },
        Err(_) => false,
    }
}

/// `v.add`, taking a fresh writer key from the handle's source and trying
/// once more when a rotation replaced the keys since `v` was armed (the
/// core says [`coffer_core::Error::WriterKeyUnavailable`] then, and
/// records no tampering).
pub(super) fn add_following_key_changes(
    v: &mut Vault,
    sources: &[AddSource],
) -> coffer_core::Result<Vec<coffer_core::vault::AddOutcome>> {
    let opts = || AddOptions {
        remove_plaintext: false,
        by: Actor::App,
    };
    match v.add(sources, opts(), &|_| {}) {
        Err(coffer_core::Error::WriterKeyUnavailable) if v.refresh_writer_key() => {
            v.add(sources, opts(), &|_| {})
        }
        r => r,
    }
}
