//! Key rotation at depth 2 (rewrap) and 3 (re-encrypt), resumable.
//!
//! Both start by recording the rotation in `vault.json` together with the
//! new key version, in one atomic write; from then on new files go to the
//! new version. Each object is then brought to the target version in
//! batches — a new sidecar record (rewrap) or a whole new object under the
//! same id (re-encrypt), each written to a temp file, flushed, renamed into
//! place and flushed again — so at every instant each object is readable
//! under one version the config still holds. Only when a scan under the
//! writer lock finds no object left on an old version are the old
//! versions destroyed. A crash anywhere is resumed by running the rotation
//! again.
//!
//! An object that cannot be read or unwrapped is never skipped: it may
//! need an old version, so the rotation stops with
//! [`Error::RotationBlocked`] naming it, before destroying anything. A
//! rotation is not started at all while the scan before it finds such an
//! object (a depth-3 one also unwraps every key first, since starting it
//! replaces every credential); one already under way moves every object it
//! can, then stops, and stays recorded. Once the objects are restored from
//! a backup or set aside ([`Vault::quarantine`]), running it again
//! finishes it.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufReader, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::Serialize;

use super::{Vault, remove_if_exists};
use crate::audit::AuditEvent;
use crate::config::RotationKind;
use crate::crypto::kdf::Argon2Params;
use crate::crypto::secret::{Key32, Passphrase};
use crate::error::{Error, IoContext, Result};
use crate::format::manifest::{Phase, object_digest};
use crate::format::{self, FileId};
use crate::fsutil;
use crate::object::{self, Sealed, WrapTarget};
use crate::stream;

/// Objects per durability batch during rotation.
const ROTATE_BATCH: usize = 1024;
/// How many objects a re-encryption asks the disk for ahead of working on
/// them, and how much of each: the stream's own read-ahead covers the rest
/// of a large file, so at most 64 × 4 MiB sits in the page cache ahead.
const REENCRYPT_PREFETCH: (usize, u64) = (64, 4 << 20);
/// The same for a scan, which reads only each object's header and record.
const SCAN_PREFETCH: (usize, u64) = (1024, 16 << 10);
/// The same for a rewrap, in smaller windows: a batch is one call.
const REWRAP_PREFETCH: (usize, u64) = (256, 16 << 10);

/// How far a rotation is, after each durable batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RotationProgress {
    /// Files brought to the new key version by this run.
    pub files: u64,
    /// Files this run had to move when it started.
    pub total_files: u64,
    /// Stored bytes of the files done (depth 3 reads and rewrites them all).
    pub bytes: u64,
    /// Stored bytes of all the files to move.
    pub total_bytes: u64,
}

/// What a rotation did.
#[derive(Clone, Debug, Serialize)]
pub struct RotationReport {
    /// Its depth.
    pub kind: RotationKind,
    /// Whether it continued an interrupted rotation.
    pub resumed: bool,
    /// The key version every file is now under.
    pub key_version: u32,
    /// Key versions destroyed at the end.
    pub destroyed_versions: Vec<u32>,
    /// Objects brought to the new version by this run.
    pub files: u64,
    /// Plaintext bytes re-encrypted (depth 3).
    pub bytes: u64,
}

/// A finished rotation, and for depth 3 the new secrets to hand the user.
pub struct RotationOutcome {
    /// What happened.
    pub report: RotationReport,
    /// Depth 3: the new recovery key (the old one no longer works).
    pub recovery_key: Option<zeroize::Zeroizing<String>>,
    /// Depth 3: the new keychain secret, if the vault had a keychain slot.
    pub keychain_secret: Option<Key32>,
}

/// The passphrase a rotation that replaces the credentials (`Rekey`,
/// `Reencrypt`) enrols under the new master key.
pub struct Reenrol<'a> {
    /// The new passphrase.
    pub passphrase: &'a Passphrase,
    /// Its Argon2id parameters.
    pub kdf: Argon2Params,
    /// The user says the passphrase in use was not exposed (say, only the
    /// recovery key was): `passphrase` may then be that same one. Without
    /// it, a passphrase that opens the vault now is refused.
    pub keep_passphrase: bool,
}

/// Objects that cannot be read or unwrapped, each with why (no names or
/// paths).
type Blocked = Vec<(FileId, String)>;

/// What a scan found: the objects to move, each with its stored size, and
/// those that cannot be moved.
#[derive(Default)]
pub(super) struct Scan {
    todo: Vec<(FileId, u64)>,
    pub(super) blocked: Blocked,
}

/// One object as a scan found it.
enum Found {
    /// To move; its stored size.
    Todo(u64),
    /// Cannot be moved: why.
    Blocked(String),
}

/// What became of one object in a batch.
enum Step {
    /// Already under the target (or removed meanwhile).
    Skip,
    /// Written to a temp file, to be renamed into place; the object's
    /// digest once it is.
    Written(PathBuf, PathBuf, (FileId, [u8; 32])),
    /// Cannot be read or unwrapped: why.
    Blocked(FileId, String),
}

fn kind_name(k: RotationKind) -> &'static str {
    match k {
        RotationKind::Rewrap => "rewrap",
        RotationKind::Reencrypt => "reencrypt",
        RotationKind::Rekey => "rekey",
    }
}

impl Vault {
    /// Rotates the vault's keys (needs unlock), or resumes an interrupted
    /// rotation of whatever depth it was. `reenrol` is needed to start a
    /// depth-3 rotation.
    pub fn rotate(
        &mut self,
        kind: RotationKind,
        reenrol: Option<Reenrol<'_>>,
        progress: &(dyn Fn(RotationProgress) + Sync),
    ) -> Result<RotationOutcome> {
        self.rotate_until(kind, reenrol, progress, &AtomicBool::new(false))
    }

    /// [`Vault::rotate`] that stops with [`Error::Cancelled`] after the
    /// batch in flight once `cancel` is set. The rotation stays recorded,
    /// so running it again continues where it stopped.
    pub fn rotate_until(
        &mut self,
        kind: RotationKind,
        reenrol: Option<Reenrol<'_>>,
        progress: &(dyn Fn(RotationProgress) + Sync),
        cancel: &AtomicBool,
    ) -> Result<RotationOutcome> {
        self.rotate_in_batches(kind, reenrol, progress, cancel, ROTATE_BATCH)
    }

    /// [`Vault::rotate_until`] making `batch` objects durable at a time.
    pub(crate) fn rotate_in_batches(
        &mut self,
        kind: RotationKind,
        reenrol: Option<Reenrol<'_>>,
        progress: &(dyn Fn(RotationProgress) + Sync),
        cancel: &AtomicBool,
        batch: usize,
    ) -> Result<RotationOutcome> {
        self.keys()?;
        // The first scan, before anything changes: a rotation is not started
        // on a vault with objects it could not finish. Objects added or
        // moved after it are found by the scan that ends the rotation.
        self.reload_config()?;
        let pending = self.config.rotation.as_ref().map(|s| s.target_version);
        let first = self.scan(pending, pending.is_none() && kind != RotationKind::Rewrap)?;
        let resumed = self.config.rotation.is_some();
        if !resumed && !first.blocked.is_empty() {
            return Err(self.blocked(first.blocked.into_iter().collect()));
        }
        let (state, creds) = self.begin_rotation_scanned(kind, reenrol, &mut |_| {})?;
        let (recovery_key, keychain_secret) = (creds.recovery_key, creds.keychain_secret);
        let target = WrapTarget {
            vault_id: *self.config.vault_id(),
            key_version: state.target_version,
            public_key: {
                let v = self
                    .config
                    .key_versions
                    .iter()
                    .find(|v| v.version == state.target_version)
                    .ok_or_else(|| {
                        Error::corrupt("vault config", "rotation target version is missing")
                    })?;
                crate::crypto::wrap::PublicKey(v.public_key.0)
            },
        };
        let bytes = AtomicU64::new(0);
        let mut files = 0;
        let mut shown = RotationProgress::default();
        let mut todo = first.todo;
        let mut blocked: BTreeMap<FileId, String> = first.blocked.into_iter().collect();
        // Each pass moves what the last scan found; the scan that ends it
        // runs under the writer lock, which is then held while the old
        // versions are destroyed, so no writer can wrap to an old version
        // in between. Files added meanwhile go to the new version already,
        // so a second pass only finds stragglers; the totals grow with it.
        // Objects that cannot be moved are collected and stop the rotation
        // after the pass, before any key version is destroyed.
        let _w = loop {
            shown.total_files += todo.len() as u64;
            shown.total_bytes += todo.iter().map(|(_, n)| n).sum::<u64>();
            // Before any batch: the totals, and a sign the rotation is under way.
            progress(shown);
            for chunk in todo.chunks(batch) {
                if cancel.load(Ordering::Relaxed) {
                    return Err(Error::Cancelled);
                }
                let ids: Vec<FileId> = chunk.iter().map(|(id, _)| *id).collect();
                let _w = self.writer()?;
                let (n, bad) = match state.kind {
                    RotationKind::Rewrap | RotationKind::Rekey => {
                        self.rewrap_batch(&ids, &target)?
                    }
                    RotationKind::Reencrypt => self.reencrypt_batch(&ids, &target, &bytes)?,
                };
                files += n;
                blocked.extend(bad);
                shown.files += chunk.len() as u64;
                shown.bytes += chunk.iter().map(|(_, n)| n).sum::<u64>();
                progress(shown);
            }
            if !blocked.is_empty() {
                return Err(self.blocked(blocked));
            }
            let w = self.writer()?;
            let scan = self.scan(Some(state.target_version), false)?;
            if !scan.blocked.is_empty() {
                return Err(self.blocked(scan.blocked.into_iter().collect()));
            }
            if scan.todo.is_empty() {
                break w;
            }
            todo = scan.todo;
        };
        self.reload_config()?;
        let old: Vec<u32> = self
            .config
            .key_versions
            .iter()
            .map(|v| v.version)
            .filter(|v| *v != state.target_version)
            .collect();
        let keys = self.keys.as_mut().ok_or(Error::Locked)?;
        for v in &old {
            self.config.remove_key_version(keys, *v)?;
        }
        self.config.rotation = None;
        self.save_config()?;
        self.fold_endorsements()?;
        self.audit.append(&[AuditEvent::RotationFinished {
            kind: kind_name(state.kind).into(),
            key_version: state.target_version,
            files,
            destroyed: old.clone(),
        }])?;
        Ok(RotationOutcome {
            report: RotationReport {
                kind: state.kind,
                resumed,
                key_version: state.target_version,
                destroyed_versions: old,
                files,
                bytes: bytes.load(Ordering::Relaxed),
            },
            recovery_key,
            keychain_secret,
        })
    }

    /// The error that stops a rotation at `blocked`, which is recorded in
    /// the audit trail as an integrity failure first.
    pub(super) fn blocked(&self, blocked: BTreeMap<FileId, String>) -> Error {
        let objects: Vec<(String, String)> = blocked
            .into_iter()
            .map(|(id, why)| (id.to_hex(), why))
            .collect();
        let ids = objects.iter().map(|(id, _)| id.clone()).collect();
        match self.audit.append(&[AuditEvent::IntegrityFailure { ids }]) {
            Ok(()) => Error::RotationBlocked { objects },
            Err(e) => e,
        }
    }

    /// Every object whose key record is not under `target` (every object,
    /// when there is no target yet), and every object that cannot be read
    /// or whose record is under a key version the config does not hold.
    /// With `unwrap`, the objects to move must also unwrap and their
    /// metadata authenticate. An object removed meanwhile is no concern.
    pub(super) fn scan(&self, target: Option<u32>, unwrap: bool) -> Result<Scan> {
        let keys = if unwrap { Some(self.keys()?) } else { None };
        let one = |id: &FileId| {
            let (f, header, r) = match self.read_object(id) {
                Ok(o) => (o.file, o.header, o.record),
                Err(Error::NotFound(_)) => return (*id, None),
                Err(e) => return (*id, Some(Found::Blocked(e.to_string()))),
            };
            if let Err(e) = self.check_key_version(r.key_version) {
                return (*id, Some(Found::Blocked(e.to_string())));
            }
            if Some(r.key_version) == target {
                return (*id, None);
            }
            if let Some(keys) = keys {
                let opened = object::unwrap(keys, self.config.vault_id(), &header, &r)
                    .and_then(|(fk, _)| object::open_metadata(&fk, &header, &r));
                if let Err(e) = opened {
                    return (*id, Some(Found::Blocked(e.to_string())));
                }
            }
            let size = f.metadata().map(|m| m.len()).unwrap_or(0);
            (*id, Some(Found::Todo(size)))
        };
        // Each object's key record is a small read at its start.
        let found =
            self.over_objects_prefetched(&self.object_ids()?, SCAN_PREFETCH, |id| Ok(one(id)))?;
        let mut scan = Scan::default();
        for (id, f) in found {
            match f {
                None => {}
                Some(Found::Todo(size)) => scan.todo.push((id, size)),
                Some(Found::Blocked(why)) => scan.blocked.push((id, why)),
            }
        }
        Ok(scan)
    }

    /// Writes a sidecar record under `target` for each object; returns how
    /// many, and the objects that cannot be read or unwrapped (reported,
    /// never skipped; the others of the batch are still committed).
    fn rewrap_batch(&self, ids: &[FileId], target: &WrapTarget) -> Result<(u64, Blocked)> {
        let keys = self.keys()?;
        // Before the batch writes anything (see `BatchSync`).
        let durable = fsutil::BatchSync::begin(&self.dir)?;
        let steps: Vec<Step> =
            self.over_objects_prefetched(ids, REWRAP_PREFETCH, |id| -> Result<Step> {
                let (header, record) = match self.read_object(id) {
                    Ok(o) => (o.header, o.record),
                    Err(Error::NotFound(_)) => return Ok(Step::Skip),
                    Err(e) => return Ok(Step::Blocked(*id, e.to_string())),
                };
                if record.key_version == target.key_version {
                    return Ok(Step::Skip);
                }
                let dek = match object::unwrap(keys, self.config.vault_id(), &header, &record) {
                    Ok((_, dek)) => dek,
                    Err(e) => return Ok(Step::Blocked(*id, e.to_string())),
                };
                let new = object::rewrap_record(keys, target.key_version, &header, &dek, &record)?;
                let fin = self.record_path(id);
                let tmp = fsutil::tmp_path_for(&fin);
                let bytes = format::sidecar_to_bytes(&header, &new);
                let digest = (*id, object_digest(&header.to_bytes(), &new.to_bytes()));
                let res = fsutil::create_private(&tmp)
                    .and_then(|mut f| io::Write::write_all(&mut f, &bytes))
                    .ctx("writing a key record");
                if let Err(e) = res {
                    let _ = fs::remove_file(&tmp);
                    return Err(e);
                }
                Ok(Step::Written(tmp, fin, digest))
            })?;
        let (written, blocked) = split_steps(steps);
        self.commit_renames(&durable, &written)?;
        Ok((written.len() as u64, blocked))
    }

    /// Re-encrypts each object under a new DEK (same file id), verifies the
    /// new ciphertext, then replaces the old object by rename. Returns how
    /// many, and the objects that cannot be read, unwrapped or decrypted
    /// (the others of the batch are still committed).
    ///
    /// Objects go in parallel, as their chunks do: each chunk is opened
    /// and sealed again in its own buffer (`Sealed::reencrypt_from`), so
    /// no worker waits on another.
    fn reencrypt_batch(
        &self,
        ids: &[FileId],
        target: &WrapTarget,
        bytes: &AtomicU64,
    ) -> Result<(u64, Blocked)> {
        let keys = self.keys()?;
        // Before the batch writes anything (see `BatchSync`).
        let durable = fsutil::BatchSync::begin(&self.dir)?;
        let one = |id: &FileId| -> Result<Step> {
            let (mut f, header, record, offset) = match self.read_object(id) {
                Ok(o) => (o.file, o.header, o.record, o.stream_offset),
                Err(Error::NotFound(_)) => return Ok(Step::Skip),
                Err(e) => return Ok(Step::Blocked(*id, e.to_string())),
            };
            if record.key_version == target.key_version {
                return Ok(Step::Skip);
            }
            let opened = object::unwrap(keys, self.config.vault_id(), &header, &record)
                .and_then(|(fk, _)| Ok((object::open_metadata(&fk, &header, &record)?, fk)));
            let (meta, fk) = match opened {
                Ok(o) => o,
                Err(e) => return Ok(Step::Blocked(*id, e.to_string())),
            };
            let sealed = Sealed::new(target, Some(*id), &meta)?;
            let fin = self.object_path(id);
            let tmp = fsutil::tmp_path_for(&fin);
            // Ok(Some(why)): the old object does not decrypt.
            let res = (|| -> Result<Option<String>> {
                f.seek(SeekFrom::Start(offset)).ctx("reading an object")?;
                let out = fsutil::create_private(&tmp).ctx("writing an object")?;
                // Unbuffered, as `add` writes objects.
                let w = fsutil::EarlyWriteback::new(out);
                // A failed write (disk full, ...) stops the rotation; a
                // failed read or a chunk that does not authenticate is
                // the old object's, which stays as it is.
                let n = match sealed.reencrypt_from((&fk, &header), &mut f, w) {
                    Ok(n) if n == meta.size => n,
                    Ok(_) => {
                        return Ok(Some(
                            "its contents do not match the size its metadata records".into(),
                        ));
                    }
                    Err(stream::Failed::Source(e)) => return Ok(Some(e.to_string())),
                    Err(stream::Failed::Sink(e)) => return Err(e),
                };
                // Read the new object back before it replaces the old one.
                let mut check = File::open(&tmp).ctx("reading back an object")?;
                let p = object::read_prefix(BufReader::new(&mut check))?;
                check
                    .seek(SeekFrom::Start(p.stream_offset))
                    .ctx("reading back an object")?;
                let back = object::decrypt_stream(&sealed.keys, &p.header, check, io::sink())?;
                if back != n || p.header != sealed.header {
                    return Err(Error::DecryptionFailed);
                }
                bytes.fetch_add(n, Ordering::Relaxed);
                Ok(None)
            })();
            let digest = (
                *id,
                object_digest(&sealed.header.to_bytes(), &sealed.record.to_bytes()),
            );
            match res {
                Ok(None) => Ok(Step::Written(tmp, fin, digest)),
                Ok(Some(why)) => {
                    let _ = fs::remove_file(&tmp);
                    Ok(Step::Blocked(*id, why))
                }
                Err(e) => {
                    let _ = fs::remove_file(&tmp);
                    Err(e)
                }
            }
        };
        let steps = self.over_objects_prefetched(ids, REENCRYPT_PREFETCH, one)?;

        let (written, blocked) = split_steps(steps);
        self.commit_renames(&durable, &written)?;
        // The old sidecars belong to the replaced headers: drop them.
        fsutil::par_metadata(&written, |(_, _, (id, _))| {
            remove_if_exists(&self.record_path(id))
        })
        .into_iter()
        .collect::<Result<()>>()?;
        Ok((written.len() as u64, blocked))
    }

    /// Flush the temp files, rename them into place, flush again.
    fn commit_renames(&self, durable: &fsutil::BatchSync, written: &[Written]) -> Result<()> {
        if written.is_empty() {
            return Ok(());
        }
        let tmps: Vec<PathBuf> = written.iter().map(|(t, _, _)| t.clone()).collect();
        durable.sync(&tmps)?;
        // Vouched for before the first rename: a crash part-way leaves
        // either record in force endorsed (docs/FORMAT.md §17).
        let digests: Vec<_> = written.iter().map(|(_, _, d)| *d).collect();
        self.endorse(Phase::Intent, &digests)?;
        // Each rename drops the file it replaces: in parallel (see
        // `par_metadata`). A failure leaves its old record in force, still
        // endorsed; the rotation stops and resumes later.
        fsutil::par_metadata(written, |(tmp, fin, _)| {
            fs::rename(tmp, fin).ctx("moving a rotated key into place")
        })
        .into_iter()
        .collect::<Result<()>>()?;
        #[cfg(target_os = "linux")]
        durable.sync(&[])?;
        #[cfg(not(target_os = "linux"))]
        {
            let dirs: std::collections::HashSet<_> = written
                .iter()
                .map(|(_, fin, _)| fin.parent().expect("in a shard"))
                .collect();
            for d in dirs {
                fsutil::sync_dir(d)?;
            }
        }
        Ok(())
    }
}

/// The temp files to rename into place, and the objects that blocked.
type Written = (PathBuf, PathBuf, (FileId, [u8; 32]));

fn split_steps(steps: Vec<Step>) -> (Vec<Written>, Blocked) {
    let mut written = Vec::new();
    let mut blocked = Vec::new();
    for s in steps {
        match s {
            Step::Skip => {}
            Step::Written(tmp, fin, d) => written.push((tmp, fin, d)),
            Step::Blocked(id, why) => blocked.push((id, why)),
        }
    }
    (written, blocked)
}

mod begin;
pub use begin::NewCredentials;

#[cfg(test)]
mod blocked_tests;
#[cfg(test)]
mod revoke_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Credential;
    use crate::vault::{AddOptions, AddSource, CreateOptions};
    use std::path::Path;

    /// Small batches, so that the tests see several of them.
    pub(super) const TEST_BATCH: usize = 3;

    impl Vault {
        /// [`Vault::rotate`] in batches of [`TEST_BATCH`].
        pub(super) fn rotate_small_batches(
            &mut self,
            kind: RotationKind,
            reenrol: Option<Reenrol<'_>>,
            progress: &(dyn Fn(RotationProgress) + Sync),
        ) -> Result<RotationOutcome> {
            self.rotate_in_batches(kind, reenrol, progress, &AtomicBool::new(false), TEST_BATCH)
        }
    }

    pub(super) const SIZES: [usize; 7] = [0, 1, 65535, 65536, 65537, 200_000, 10];

    pub(super) fn setup(dir: &Path) -> (Vault, Vec<Vec<u8>>, String) {
        let pass = Passphrase::from("pw");
        let created = Vault::create(
            &dir.join("v"),
            CreateOptions {
                passphrase: &pass,
                kdf: Argon2Params::FLOOR,
                keychain_secret: None,
                escrow: None,
            },
        )
        .unwrap();
        let v = created.vault;
        let mut sources = Vec::new();
        let mut contents = Vec::new();
        for (i, n) in SIZES.iter().enumerate() {
            let data: Vec<u8> = (0..*n).map(|j| (j * 7 + i) as u8).collect();
            let p = dir.join(format!("f{i}"));
            fs::write(&p, &data).unwrap();
            sources.push(AddSource::for_file(&p, &format!("f{i}")).unwrap());
            contents.push(data);
        }
        v.add(&sources, AddOptions::default(), &|_| {}).unwrap();
        (v, contents, created.recovery_key.to_string())
    }

    fn check_all(v: &Vault, contents: &[Vec<u8>], version: u32) {
        let entries = v.entries().unwrap();
        assert!(entries.unreadable.is_empty(), "{:?}", entries.unreadable);
        assert_eq!(entries.entries.len(), contents.len());
        for e in &entries.entries {
            let i: usize = e.path[1..].parse().unwrap();
            let mut out = Vec::new();
            v.decrypt_to(&e.id, &mut out).unwrap();
            assert_eq!(out, contents[i]);
            assert_eq!(v.read_object(&e.id).unwrap().record.key_version, version);
        }
    }

    pub(super) fn unlocked(dir: &Path, pass: &str) -> Result<Vault> {
        let mut v = Vault::open(&dir.join("v"))?;
        v.unlock(&Credential::Passphrase(&Passphrase::from(pass)))?;
        Ok(v)
    }

    #[test]
    fn rewrap_keeps_contents_and_destroys_the_old_version() {
        let d = tempfile::tempdir().unwrap();
        let (mut v, contents, _) = setup(d.path());
        let before: Vec<Vec<u8>> = v
            .object_ids()
            .unwrap()
            .iter()
            .map(|id| fs::read(v.object_path(id)).unwrap())
            .collect();
        let out = v
            .rotate_small_batches(RotationKind::Rewrap, None, &|_| {})
            .unwrap();
        assert_eq!(out.report.files, SIZES.len() as u64);
        assert_eq!(out.report.destroyed_versions, vec![1]);
        check_all(&v, &contents, 2);
        // Contents were not rewritten: every object file is byte-identical.
        let after: Vec<Vec<u8>> = v
            .object_ids()
            .unwrap()
            .iter()
            .map(|id| fs::read(v.object_path(id)).unwrap())
            .collect();
        assert_eq!(before.len(), after.len());
        for b in &before {
            assert!(after.contains(b));
        }
        let v = unlocked(d.path(), "pw").unwrap();
        assert!(v.config().key_versions.iter().all(|k| k.version == 2));
        check_all(&v, &contents, 2);
    }

    #[test]
    fn interrupted_rewrap_resumes() {
        let d = tempfile::tempdir().unwrap();
        let (mut v, contents, _) = setup(d.path());
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            v.rotate_small_batches(RotationKind::Rewrap, None, &|p| {
                assert!(
                    p.files < TEST_BATCH as u64,
                    "simulated crash after one batch"
                )
            })
        }));
        assert!(r.is_err());
        let mut v = unlocked(d.path(), "pw").unwrap();
        assert!(v.config().rotation.is_some());
        check_all_readable(&v, &contents);
        let out = v
            .rotate_small_batches(RotationKind::Rewrap, None, &|_| {})
            .unwrap();
        assert!(out.report.resumed);
        assert!(v.config().rotation.is_none());
        check_all(&v, &contents, 2);
    }

    #[test]
    fn cancelled_rotation_stops_after_a_batch_and_resumes() {
        let d = tempfile::tempdir().unwrap();
        let (mut v, contents, _) = setup(d.path());
        let cancel = AtomicBool::new(false);
        let seen = std::sync::Mutex::new(Vec::new());
        let r = v.rotate_in_batches(
            RotationKind::Rewrap,
            None,
            &|p| {
                seen.lock().unwrap().push(p);
                if p.files > 0 {
                    cancel.store(true, Ordering::Relaxed);
                }
            },
            &cancel,
            TEST_BATCH,
        );
        assert!(matches!(r, Err(Error::Cancelled)), "{:?}", r.err());
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.len(), 2, "the totals, one batch, then it stopped");
        assert_eq!(seen[0].files, 0);
        assert_eq!(seen[0].total_files, SIZES.len() as u64);
        assert_eq!(seen[1].files, TEST_BATCH as u64);
        assert!(seen[1].bytes > 0 && seen[1].bytes < seen[1].total_bytes);
        check_all_readable(&v, &contents);
        let mut v = unlocked(d.path(), "pw").unwrap();
        assert!(v.config().rotation.is_some());
        let out = v
            .rotate_small_batches(RotationKind::Rewrap, None, &|_| {})
            .unwrap();
        assert!(out.report.resumed);
        assert_eq!(out.report.files, (SIZES.len() - TEST_BATCH) as u64);
        check_all(&v, &contents, 2);
    }

    fn check_all_readable(v: &Vault, contents: &[Vec<u8>]) {
        for e in &v.entries().unwrap().entries {
            let i: usize = e.path[1..].parse().unwrap();
            let mut out = Vec::new();
            v.decrypt_to(&e.id, &mut out).unwrap();
            assert_eq!(out, contents[i]);
        }
    }

    #[test]
    fn reencrypt_replaces_every_byte_and_every_secret() {
        let d = tempfile::tempdir().unwrap();
        let (mut v, contents, old_rk) = setup(d.path());
        let old_objects: Vec<Vec<u8>> = v
            .object_ids()
            .unwrap()
            .iter()
            .map(|id| fs::read(v.object_path(id)).unwrap())
            .collect();
        let pass = Passphrase::from("pw");
        let out = v
            .rotate_small_batches(
                RotationKind::Reencrypt,
                Some(Reenrol {
                    passphrase: &pass,
                    kdf: Argon2Params::FLOOR,
                    keep_passphrase: true,
                }),
                &|_| {},
            )
            .unwrap();
        assert!(out.recovery_key.is_some());
        check_all(&v, &contents, 2);
        // No chunk of the old ciphertext survives anywhere in the vault.
        let mut all = Vec::new();
        for e in walkdir::WalkDir::new(v.dir()).into_iter().flatten() {
            if e.file_type().is_file() {
                all.extend(fs::read(e.path()).unwrap());
            }
        }
        for old in &old_objects {
            let tail = &old[old.len().saturating_sub(16)..];
            assert!(!all.windows(tail.len()).any(|w| w == tail), "old tag found");
        }
        // The old recovery key no longer opens the vault; the new one does.
        let mut v = Vault::open(&d.path().join("v")).unwrap();
        let old = crate::format::recovery::decode(&old_rk).unwrap();
        assert!(v.unlock(&Credential::Recovery(&old)).is_err());
        let new = crate::format::recovery::decode(out.recovery_key.as_ref().unwrap()).unwrap();
        v.unlock(&Credential::Recovery(&new)).unwrap();
        check_all(&v, &contents, 2);
    }
}
