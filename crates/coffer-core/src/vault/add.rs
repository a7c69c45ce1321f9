//! Adding files: sealing a batch, making it durable, reading it back,
//! and only then removing the plaintexts (through [`crate::beneath`], never
//! following a link), with the removal journal that makes a crash in
//! between harmless.

use super::*;

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufReader, Seek, SeekFrom};
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::audit::AuditEvent;
use crate::beneath::{Beneath, Fingerprint};
use crate::error::IoContext;
use crate::format::manifest::{self, Phase};
use crate::format::{self, FileId, KeyRecord, Metadata};
use crate::object::{self, Sealed, WrapTarget};
use crate::own_folders::OwnFolders;
use crate::plaintext;

/// Files per durability batch; bytes per batch.
const BATCH_FILES: usize = 512;
const BATCH_BYTES: u64 = 256 << 20;
/// How much of each file of a batch is asked of the disk before the batch
/// is sealed (the stream's read-ahead covers the rest of a large file).
const PREFETCH_BYTES: u64 = 1 << 20;
/// Largest removal journal we read (about 300,000 entries).
const MAX_REMOVALS_LEN: u64 = 64 << 20;
/// How a plaintext that is safe in the vault but could not be removed is
/// reported (it is not stored again on the next try: the journal keeps it).
const STORED_BUT_NOT_REMOVED: &str =
    "the file is safely in the vault, but the original could not be removed";
/// A plaintext that changed between its encryption and its removal.
const CHANGED_BEFORE_REMOVAL: &str =
    "the file changed after it was encrypted; it was kept and will be added again";
/// Journal entries older than this are forgotten (their file is long gone).
const REMOVAL_MAX_AGE_NS: i64 = 7 * 24 * 3600 * 1_000_000_000;

/// What a folder walk found to add, and what it left alone.
#[derive(Debug, Default)]
pub struct Collected {
    /// Files to add.
    pub sources: Vec<AddSource>,
    /// Files left alone, with why.
    pub skipped: Vec<(PathBuf, SkipReason)>,
}

/// One file to add: where it is and where it goes in the vault.
#[derive(Clone, Debug)]
pub struct AddSource {
    /// The folder it must stay inside: it is opened and removed from there
    /// without following a symlink (canonical, see [`crate::beneath`]).
    pub within: Arc<Path>,
    /// The plaintext file on disk, below `within`.
    pub source: PathBuf,
    /// Its relative path inside the vault.
    pub vault_path: String,
}

impl AddSource {
    /// One file on its own: it must stay inside the folder that holds it
    /// (resolved now, once).
    pub fn for_file(source: &Path, vault_path: &str) -> Result<Self> {
        let name = source
            .file_name()
            .ok_or_else(|| Error::Invalid("a file name is needed".into()))?;
        let dir =
            fs::canonicalize(super::folders::parent_of(source)).ctx("finding a file to add")?;
        Ok(AddSource {
            source: dir.join(name),
            within: Arc::from(dir.as_path()),
            vault_path: vault_path.to_owned(),
        })
    }

    /// The file `source` below the canonical folder `within`.
    pub fn new(within: &Arc<Path>, source: PathBuf, vault_path: String) -> Self {
        AddSource {
            within: within.clone(),
            source,
            vault_path,
        }
    }
}

/// Why a file was left alone (nothing lost: it stays where it was).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// A symbolic link: never followed.
    Symlink,
    /// A device, socket or pipe.
    NotRegularFile,
    /// The name is not valid UTF-8.
    NameNotUtf8,
    /// An application's temporary or partial file that is still in use or
    /// was written within the quiet period; it is encrypted once quiet.
    Transient,
    /// The file has other names (hard links): removing this one would
    /// leave its data on disk, so it is left alone and not protected.
    HardLinked,
    /// It lies inside one of Coffer's own folders (the vault, its data or
    /// settings, the working area, an audit sink).
    CofferFolder,
    /// A folder could not be read (permissions); what is below it stays.
    Unreadable,
}

/// What became of one source.
#[derive(Debug)]
pub enum AddOutcome {
    /// Encrypted into the vault (and, if asked, the plaintext removed).
    Added {
        /// Its object id.
        id: FileId,
        /// Plaintext bytes.
        size: u64,
    },
    /// Left alone; see the reason.
    Skipped(SkipReason),
    /// Could not be added; the plaintext is untouched.
    Failed(Error),
}

/// Options of [`Vault::add`].
#[derive(Clone, Copy, Debug, Default)]
pub struct AddOptions {
    /// Remove each plaintext once its ciphertext is durable and verified.
    pub remove_plaintext: bool,
    /// Who is adding (recorded in the audit trail).
    pub by: Actor,
}

/// A plaintext about to be removed because a verified object holds it.
/// Written (durably) before the removals, cleared after: if a crash comes
/// in between, the next add recognises the file by its identity — no name
/// is stored — and removes it instead of storing it a second time, but only
/// if the object named is still there and is the one written for that file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Removal {
    fingerprint: Fingerprint,
    #[serde(with = "hex_id")]
    id: FileId,
    /// [`object_binding`] of the object written for the file. Entries from
    /// before it existed have none and never justify a removal.
    #[serde(default)]
    object: String,
    at_ns: i64,
}

/// SHA-256 of an object's header and key record as written, hex: names the
/// exact object, not just its id.
fn object_binding(header: &format::Header, record: &KeyRecord) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(header.to_bytes());
    h.update(record.to_bytes());
    data_encoding::HEXLOWER.encode(&h.finalize())
}

struct Pending {
    index: usize,
    tmp: PathBuf,
    fin: PathBuf,
    sealed: Sealed,
    size: u64,
    fingerprint: Fingerprint,
}

impl Pending {
    fn digest(&self) -> (FileId, [u8; 32]) {
        (
            self.sealed.header.file_id,
            manifest::object_digest(
                &self.sealed.header.to_bytes(),
                &self.sealed.record.to_bytes(),
            ),
        )
    }
}

/// Whether a folder between `within` and `file` (both included) holds a
/// Coffer vault, whatever name it is reached by.
fn inside_a_vault(within: &Path, file: &Path) -> bool {
    file.ancestors()
        .skip(1)
        .take_while(|d| d.starts_with(within))
        .any(crate::own_folders::looks_like_vault)
}

impl Vault {
    /// Encrypts `sources` into the vault. Works while locked. Durability is
    /// bought per batch: all of a batch's objects are written, flushed with
    /// one `syncfs`, renamed into place and flushed again; only then, and
    /// only after each object has been read back and authenticated, are the
    /// plaintexts removed (if asked).
    pub fn add(
        &self,
        sources: &[AddSource],
        opts: AddOptions,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Vec<AddOutcome>> {
        let mut outcomes: Vec<Option<AddOutcome>> = (0..sources.len()).map(|_| None).collect();
        let mut journal = if opts.remove_plaintext {
            self.load_removals()
        } else {
            Vec::new()
        };
        let journal_at_start = journal.len();
        let own = self.own_folders();
        let mut done = Progress::default();
        let mut start = 0;
        while start < sources.len() {
            // Cut a batch by count and by (pre-read) size.
            let mut end = start;
            let mut bytes = 0u64;
            while end < sources.len() && end - start < BATCH_FILES && bytes < BATCH_BYTES {
                bytes += fs::symlink_metadata(&sources[end].source)
                    .map(|m| m.len())
                    .unwrap_or(0);
                end += 1;
            }
            // Cold small files read by two workers one at a time left the
            // cores waiting on the disk: the batch is asked for at once,
            // each file opened as `seal_one` will open it (below its folder,
            // no link followed anywhere in its path, non-blocking).
            for s in &sources[start..end] {
                if let Ok(f) = Beneath::new(&s.within).open_read(&s.source) {
                    fsutil::prefetch_file(&f, PREFETCH_BYTES);
                }
            }
            let _w = self.writer()?;
            let target = self.current_target()?;
            // Before the batch writes anything (see `BatchSync`).
            let durable = fsutil::BatchSync::begin(&self.dir)?;
            let batch: Vec<(usize, Result<Pending, AddOutcome>)> = (start..end)
                .into_par_iter()
                .map(|i| {
                    let r = self.seal_one(
                        &own,
                        &target,
                        i,
                        &sources[i],
                        &journal,
                        opts.remove_plaintext,
                    );
                    (i, r)
                })
                .collect();
            let mut pending = Vec::new();
            // Each added file's identity, for the audit record (a report
            // matches plaintext the watcher found against it).
            let mut identities = vec![None; end - start];
            for (i, r) in batch {
                match r {
                    Ok(p) => {
                        identities[i - start] = Some(p.fingerprint);
                        pending.push(p)
                    }
                    Err(o) => {
                        if let AddOutcome::Added { id, .. } = &o {
                            identities[i - start] =
                                journal.iter().find(|r| r.id == *id).map(|r| r.fingerprint);
                            journal.retain(|r| r.id != *id);
                        }
                        outcomes[i] = Some(o);
                    }
                }
            }
            // Vouched for before it is in place, and done before any
            // plaintext goes (docs/FORMAT.md §17).
            self.endorse_intents(&mut pending, &mut outcomes)?;
            self.commit_batch(&durable, &mut pending, &mut outcomes)?;
            let digests: Vec<_> = pending.iter().map(Pending::digest).collect();
            self.endorse(Phase::Done, &digests)?;
            if opts.remove_plaintext {
                self.remove_plaintexts(&pending, sources, &mut outcomes, &mut journal)?;
            }
            for p in &pending {
                if outcomes[p.index].is_none() {
                    outcomes[p.index] = Some(AddOutcome::Added {
                        id: p.sealed.header.file_id,
                        size: p.size,
                    });
                }
                done.bytes += p.size;
            }
            let (ids, files): (Vec<String>, Vec<String>) = outcomes[start..end]
                .iter()
                .zip(&identities)
                .filter_map(|(o, fp)| match o {
                    Some(AddOutcome::Added { id, .. }) => Some((
                        id.to_hex(),
                        fp.map(|f| self.file_identity(&f)).unwrap_or_default(),
                    )),
                    _ => None,
                })
                .unzip();
            if !ids.is_empty() {
                self.audit.append(&[AuditEvent::FilesAdded {
                    ids,
                    by: opts.by.as_str().into(),
                    files,
                }])?;
            }
            done.files += (end - start) as u64;
            progress(done);
            start = end;
        }
        if self.is_unlocked() {
            let _w = self.writer()?;
            self.fold_endorsements()?;
        }
        if journal_at_start > 0 {
            let cutoff = now_ns() - REMOVAL_MAX_AGE_NS;
            journal.retain(|r| r.at_ns > cutoff);
            let _w = self.writer()?;
            self.save_removals(&journal)?;
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.expect("every source has an outcome"))
            .collect())
    }

    /// The audit trail's identity of a file read as `f`.
    fn file_identity(&self, f: &Fingerprint) -> String {
        #[cfg(unix)]
        let (dev, ino) = (f.dev, f.ino);
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        crate::audit::file_identity(&self.audit.identity().vault, dev, ino, f.len, f.mtime_ns)
    }

    fn seal_one(
        &self,
        own: &OwnFolders,
        target: &WrapTarget,
        index: usize,
        src: &AddSource,
        journal: &[Removal],
        verify: bool,
    ) -> Result<Pending, AddOutcome> {
        let fail = |context: &'static str| {
            move |source: io::Error| AddOutcome::Failed(Error::Io { context, source })
        };
        format::validate_rel_path(&src.vault_path)
            .map_err(|e| AddOutcome::Failed(Error::Invalid(format!("unusable name: {e}"))))?;
        // Whatever a walk or an event let through: Coffer's own files are
        // never encrypted away (copying one in, as the working area's saves
        // do, removes nothing).
        if verify && (own.holds(&src.source) || inside_a_vault(&src.within, &src.source)) {
            return Err(AddOutcome::Skipped(SkipReason::CofferFolder));
        }
        let beneath = Beneath::new(&src.within);
        let mut file = match beneath.open_read(&src.source) {
            Ok(f) => f,
            Err(e) if crate::beneath::is_symlink_error(&e) => {
                return Err(AddOutcome::Skipped(SkipReason::Symlink));
            }
            Err(e) => return Err(fail("opening a file to add")(e)),
        };
        let meta = file.metadata().map_err(fail("reading a file to add"))?;
        if !meta.is_file() {
            return Err(AddOutcome::Skipped(SkipReason::NotRegularFile));
        }
        if verify && plaintext::is_hard_linked(&meta) {
            return Err(AddOutcome::Skipped(SkipReason::HardLinked));
        }
        let fingerprint = Fingerprint::of(&meta);
        if let Some(r) = journal.iter().find(|r| r.fingerprint == fingerprint)
            && self.holds_object_for(r)
        {
            // Stored and verified before a crash interrupted its removal.
            drop(file);
            return match beneath.remove_if_unchanged(&src.source, &fingerprint) {
                Ok(true) => Err(match src.source.parent().map(fsutil::sync_dir) {
                    Some(Err(e)) => AddOutcome::Failed(e),
                    _ => AddOutcome::Added {
                        id: r.id,
                        size: fingerprint.len,
                    },
                }),
                Ok(false) => Err(AddOutcome::Failed(Error::Invalid(
                    CHANGED_BEFORE_REMOVAL.into(),
                ))),
                Err(e) => Err(fail(STORED_BUT_NOT_REMOVED)(e)),
            };
        }
        let md = Metadata {
            path: src.vault_path.clone(),
            size: meta.len(),
            mtime_ns: fingerprint.mtime_ns,
            mode: mode_of(&meta),
            added_ns: now_ns(),
        };
        let sealed = Sealed::new(target, None, &md).map_err(AddOutcome::Failed)?;
        let id = sealed.header.file_id;
        let shard = self.shard_dir(&id);
        if !shard.exists() {
            fs::create_dir_all(&shard).map_err(fail("creating a vault folder"))?;
        }
        let fin = self.object_path(&id);
        let tmp = fsutil::tmp_path_for(&fin);
        let written = (|| -> Result<u64> {
            let out = fsutil::create_private(&tmp).ctx("creating an object")?;
            // Unbuffered: the prefix goes in one write and the stream in one
            // `writev` per batch; a BufWriter would copy every byte again.
            sealed.write(&mut file, fsutil::EarlyWriteback::new(out))
        })();
        let changed = match &written {
            Ok(n) => {
                *n != md.size
                    || file
                        .metadata()
                        .map(|m| Fingerprint::of(&m) != fingerprint)
                        .unwrap_or(true)
            }
            Err(_) => false,
        };
        if written.is_err() || changed {
            let _ = fs::remove_file(&tmp);
            return Err(AddOutcome::Failed(match written {
                Err(e) => e,
                Ok(_) => Error::Invalid(
                    "the file changed while it was being encrypted; it was left as it is".into(),
                ),
            }));
        }
        // Before a plaintext may go, what is on disk must read back and
        // authenticate. Reading the temp file now sees the same bytes the
        // rename will publish and the batch flush will make durable, and
        // keeps the window between commit and removal short.
        if verify && let Err(e) = self.verify_written(&tmp, &sealed, md.size) {
            let _ = fs::remove_file(&tmp);
            return Err(AddOutcome::Failed(e));
        }
        Ok(Pending {
            index,
            tmp,
            fin,
            sealed,
            size: md.size,
            fingerprint,
        })
    }

    /// Vouches for a sealed batch before it is put in place. On a full
    /// disk the largest sealed files give their space back (they fail, as
    /// they would have had they not fit) until the endorsements fit, so a
    /// nearly full disk still takes what it can.
    fn endorse_intents(
        &self,
        pending: &mut Vec<Pending>,
        outcomes: &mut [Option<AddOutcome>],
    ) -> Result<()> {
        loop {
            let digests: Vec<_> = pending.iter().map(Pending::digest).collect();
            match self.endorse(Phase::Intent, &digests) {
                Ok(()) => return Ok(()),
                Err(Error::Io { source, .. })
                    if source.kind() == io::ErrorKind::StorageFull && !pending.is_empty() =>
                {
                    let largest = (0..pending.len())
                        .max_by_key(|&i| pending[i].size)
                        .expect("not empty");
                    let p = pending.swap_remove(largest);
                    let _ = fs::remove_file(&p.tmp);
                    outcomes[p.index] = Some(AddOutcome::Failed(Error::Io {
                        context: "writing an object",
                        source,
                    }));
                }
                Err(e) => {
                    for p in pending.iter() {
                        let _ = fs::remove_file(&p.tmp);
                    }
                    return Err(e);
                }
            }
        }
    }

    /// Makes a batch durable: flush, rename into place, flush again.
    fn commit_batch(
        &self,
        durable: &fsutil::BatchSync,
        pending: &mut Vec<Pending>,
        outcomes: &mut [Option<AddOutcome>],
    ) -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let tmps: Vec<PathBuf> = pending.iter().map(|p| p.tmp.clone()).collect();
        durable.sync(&tmps)?;
        // In parallel: a rename can wait on the disk (fsutil::par_metadata).
        let mut renamed = fsutil::par_metadata(pending, |p| fs::rename(&p.tmp, &p.fin)).into_iter();
        let mut dirs = HashSet::new();
        pending.retain(|p| match renamed.next().expect("one result per object") {
            Ok(()) => {
                dirs.insert(p.fin.parent().expect("shard").to_path_buf());
                true
            }
            Err(source) => {
                let _ = fs::remove_file(&p.tmp);
                outcomes[p.index] = Some(AddOutcome::Failed(Error::Io {
                    context: "moving an object into place",
                    source,
                }));
                false
            }
        });
        #[cfg(target_os = "linux")]
        durable.sync(&[])?;
        #[cfg(not(target_os = "linux"))]
        for d in &dirs {
            fsutil::sync_dir(d)?;
        }
        Ok(())
    }

    /// Reads each committed object back, authenticates every chunk with the
    /// keys it was sealed under, checks the plaintext is unchanged since it
    /// was read, then removes it and makes the removals durable.
    /// Removes the plaintexts of a committed (durable, verified) batch.
    /// The journal names each file's identity first, so a crash part-way
    /// never stores a file twice; files whose removal fails stay in the
    /// journal, so retries do not store them again either.
    fn remove_plaintexts(
        &self,
        pending: &[Pending],
        sources: &[AddSource],
        outcomes: &mut [Option<AddOutcome>],
        journal: &mut Vec<Removal>,
    ) -> Result<()> {
        let at_ns = now_ns();
        let batch: Vec<&Pending> = pending
            .iter()
            .filter(|p| outcomes[p.index].is_none())
            .collect();
        if batch.is_empty() {
            return Ok(());
        }
        for p in &batch {
            journal.push(Removal {
                fingerprint: p.fingerprint,
                id: p.sealed.header.file_id,
                object: object_binding(&p.sealed.header, &p.sealed.record),
                at_ns,
            });
        }
        self.save_removals(journal)?;
        let mut done = HashSet::new();
        let mut parents = HashSet::new();
        // Opened from the folder's own descriptor with no link followed,
        // and checked to be the file that was read: a symlink or another
        // file swapped in since can never be what is removed. In parallel:
        // freeing a file's blocks can wait on the disk (fsutil::par_metadata).
        let removed = fsutil::par_metadata(&batch, |p| {
            let src = &sources[p.index];
            Beneath::new(&src.within).remove_if_unchanged(&src.source, &p.fingerprint)
        });
        for (p, removed) in batch.iter().zip(removed) {
            let src = &sources[p.index];
            match removed {
                Ok(true) => {
                    done.insert(p.sealed.header.file_id);
                    if let Some(d) = src.source.parent() {
                        parents.insert(d.to_path_buf());
                    }
                }
                Ok(false) => {
                    done.insert(p.sealed.header.file_id);
                    outcomes[p.index] = Some(AddOutcome::Failed(Error::Invalid(
                        CHANGED_BEFORE_REMOVAL.into(),
                    )));
                }
                Err(e)
                    if e.kind() == io::ErrorKind::NotFound
                        || crate::beneath::is_symlink_error(&e) =>
                {
                    done.insert(p.sealed.header.file_id);
                    outcomes[p.index] = Some(AddOutcome::Failed(Error::Invalid(
                        CHANGED_BEFORE_REMOVAL.into(),
                    )));
                }
                Err(source) => {
                    outcomes[p.index] = Some(AddOutcome::Failed(Error::Io {
                        context: STORED_BUT_NOT_REMOVED,
                        source,
                    }));
                }
            }
        }
        for d in parents {
            // A folder removed meanwhile has nothing left to flush.
            match fsutil::sync_dir(&d) {
                Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
                other => other?,
            }
        }
        journal.retain(|r| !done.contains(&r.id));
        self.save_removals(journal)
    }

    /// Whether the journal entry `r` names an object that is in the vault
    /// and is the very one written for its file (same header and key
    /// record, a stream as long as the file's length needs).
    fn holds_object_for(&self, r: &Removal) -> bool {
        if r.object.is_empty() {
            return false;
        }
        let Ok(mut f) = File::open(self.object_path(&r.id)) else {
            return false;
        };
        let Ok(len) = f.metadata().map(|m| m.len()) else {
            return false;
        };
        match object::read_prefix(BufReader::new(&mut f)) {
            Ok(p) => {
                p.header.file_id == r.id
                    && object_binding(&p.header, &p.record) == r.object
                    && p.stream_offset + format::stream_len(r.fingerprint.len) == len
                    // A planted object with a forged journal entry is not
                    // endorsed: only what a genuine writer vouched for
                    // justifies removing a plaintext.
                    && self.is_endorsed(
                        &r.id,
                        &manifest::object_digest(&p.header.to_bytes(), &p.record.to_bytes()),
                    )
            }
            Err(_) => false,
        }
    }

    fn load_removals(&self) -> Vec<Removal> {
        // Only an optimisation against storing a file twice after a crash:
        // an unreadable journal costs at most a duplicate version.
        fsutil::read_bounded(
            &self.dir.join(REMOVALS_FILE),
            MAX_REMOVALS_LEN,
            "removal journal",
        )
        .ok()
        .and_then(|b| serde_json::from_slice::<Vec<Removal>>(&b).ok())
        .unwrap_or_default()
        .into_iter()
        // Old entries are never trusted, not only pruned when saved.
        .filter(|r| r.at_ns > now_ns() - REMOVAL_MAX_AGE_NS)
        .collect()
    }

    fn save_removals(&self, journal: &[Removal]) -> Result<()> {
        let path = self.dir.join(REMOVALS_FILE);
        if journal.is_empty() {
            remove_if_exists(&path)?;
            return fsutil::sync_dir(&self.dir);
        }
        fsutil::atomic_write(&path, &serde_json::to_vec(journal).expect("serializes"))
    }

    fn verify_written(&self, path: &Path, sealed: &Sealed, size: u64) -> Result<()> {
        let mut f = File::open(path).ctx("reading back an object")?;
        let prefix = object::read_prefix(BufReader::new(&mut f))?;
        if prefix.header != sealed.header || prefix.record != sealed.record {
            return Err(Error::DecryptionFailed);
        }
        f.seek(SeekFrom::Start(prefix.stream_offset))
            .ctx("reading back an object")?;
        let n = object::decrypt_stream(&sealed.keys, &prefix.header, f, io::sink())?;
        if n != size {
            return Err(Error::DecryptionFailed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;
    use crate::config::Credential;
    use crate::crypto::kdf::Argon2Params;
    use crate::crypto::secret::Passphrase;

    fn new_vault(dir: &Path) -> Vault {
        let pass = Passphrase::from("pw");
        Vault::create(
            dir,
            CreateOptions {
                passphrase: &pass,
                kdf: Argon2Params::FLOOR,
                keychain_secret: None,
                escrow: None,
            },
        )
        .unwrap()
        .vault
    }

    fn add(v: &Vault, src: &Path, vault_path: &str, remove: bool) -> AddOutcome {
        v.add(
            &[AddSource::for_file(src, vault_path).unwrap()],
            AddOptions {
                remove_plaintext: remove,
                ..Default::default()
            },
            &|_| {},
        )
        .unwrap()
        .pop()
        .unwrap()
    }

    #[test]
    fn same_path_twice_makes_two_versions() {
        let d = tempfile::tempdir().unwrap();
        let v = new_vault(&d.path().join("v"));
        let f = d.path().join("scan.pdf");
        fs::write(&f, b"first").unwrap();
        add(&v, &f, "scan.pdf", false);
        fs::write(&f, b"second").unwrap();
        add(&v, &f, "scan.pdf", false);
        let vs = v.versions("scan.pdf").unwrap();
        assert_eq!(vs.len(), 2);
        let mut out = Vec::new();
        v.decrypt_to(&vs[0].id, &mut out).unwrap();
        assert_eq!(out, b"first");
        assert_eq!(
            latest_versions(&v.entries().unwrap().entries)[0].id,
            vs[1].id
        );
    }

    #[test]
    fn interrupted_removal_is_finished_not_stored_twice() {
        let d = tempfile::tempdir().unwrap();
        let v = new_vault(&d.path().join("v"));
        let f = d.path().join("letter.txt");
        fs::write(&f, b"dear colleague").unwrap();
        let AddOutcome::Added { id, .. } = add(&v, &f, "letter.txt", false) else {
            panic!("not added")
        };
        // As left by a crash between the journal write and the unlink.
        let fp = Fingerprint::of(&fs::metadata(&f).unwrap());
        let crate::vault::read::StoredObject { header, record, .. } = v.read_object(&id).unwrap();
        v.save_removals(&[Removal {
            fingerprint: fp,
            id,
            object: object_binding(&header, &record),
            at_ns: now_ns(),
        }])
        .unwrap();
        match add(&v, &f, "letter.txt", true) {
            AddOutcome::Added { id: again, .. } => assert_eq!(again, id),
            other => panic!("{other:?}"),
        }
        assert!(!f.exists());
        assert_eq!(v.object_ids().unwrap().len(), 1);
        assert!(!v.dir().join(REMOVALS_FILE).exists());
    }

    #[test]
    fn a_journal_entry_that_names_another_object_removes_nothing() {
        let d = tempfile::tempdir().unwrap();
        let v = new_vault(&d.path().join("v"));
        let other = d.path().join("other.txt");
        fs::write(&other, b"something else, of another length").unwrap();
        let AddOutcome::Added { id, .. } = add(&v, &other, "other.txt", false) else {
            panic!("not added")
        };
        let crate::vault::read::StoredObject { header, record, .. } = v.read_object(&id).unwrap();
        let f = d.path().join("letter.txt");
        fs::write(&f, b"dear colleague").unwrap();
        let fp = Fingerprint::of(&fs::metadata(&f).unwrap());
        // Forged or stale: the letter's identity, but an object that is
        // not the letter's (wrong length), or no binding at all.
        for object in [object_binding(&header, &record), String::new()] {
            v.save_removals(&[Removal {
                fingerprint: fp,
                id,
                object,
                at_ns: now_ns(),
            }])
            .unwrap();
            assert!(!v.holds_object_for(&v.load_removals()[0]));
        }
        // So the letter is stored for real before it goes.
        let AddOutcome::Added { id: new, .. } = add(&v, &f, "letter.txt", true) else {
            panic!("not added")
        };
        assert_ne!(new, id);
        assert!(!f.exists());
        let mut v = v;
        v.unlock(&Credential::Passphrase(&Passphrase::from("pw")))
            .unwrap();
        let mut out = Vec::new();
        v.decrypt_to(&new, &mut out).unwrap();
        assert_eq!(out, b"dear colleague");
    }

    #[test]
    fn plaintext_removed_only_after_verified_commit() {
        let d = tempfile::tempdir().unwrap();
        let v = new_vault(&d.path().join("v"));
        let f = d.path().join("x.bin");
        fs::write(&f, vec![7u8; 200_000]).unwrap();
        assert!(matches!(
            add(&v, &f, "x.bin", true),
            AddOutcome::Added { .. }
        ));
        assert!(!f.exists());
        assert!(!v.dir().join(REMOVALS_FILE).exists());
        let r = v.verify(&|_| {}).unwrap();
        assert!(r.ok() && r.temp_files == 0);
    }

    #[test]
    fn adding_works_while_locked_and_listing_needs_unlock() {
        let d = tempfile::tempdir().unwrap();
        let writer = new_vault(&d.path().join("v"))
            .keys()
            .unwrap()
            .writer_key()
            .unwrap()
            .clone();
        let mut v = Vault::open(&d.path().join("v")).unwrap();
        let f = d.path().join("a");
        fs::write(&f, b"a").unwrap();
        // No key to check the config's public key with: refused, and the
        // plaintext stays.
        let r = v.add(
            &[AddSource::for_file(&f, "a").unwrap()],
            AddOptions {
                remove_plaintext: true,
                ..Default::default()
            },
            &|_| {},
        );
        assert!(matches!(r, Err(Error::WriterKeyUnavailable)), "{r:?}");
        assert!(f.exists());
        v.set_writer_key(writer).unwrap();
        assert!(matches!(add(&v, &f, "a", false), AddOutcome::Added { .. }));
        assert!(matches!(v.entries(), Err(Error::Locked)));
        v.unlock(&Credential::Passphrase(&Passphrase::from("pw")))
            .unwrap();
        let report = v.integrity_at_unlock().unwrap();
        assert!(report.ok(), "{report:?}");
        assert_eq!(report.added_while_locked.len(), 1);
        let listing = v.entries().unwrap();
        assert_eq!(listing.entries.len(), 1);
        assert!(listing.integrity.ok());
        assert!(listing.integrity.added_while_locked.is_empty());
    }
}
