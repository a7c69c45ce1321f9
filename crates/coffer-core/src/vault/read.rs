//! Reading the vault: listing its file versions, decrypting one, and
//! extracting or opening it as a plaintext file; removing versions.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufReader, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{LOCK_FILE, Vault, home_dir, remove_if_exists};
use crate::audit::AuditEvent;
use crate::error::{Error, IoContext, Result};
use crate::format::manifest::Phase;
use crate::format::{self, FileId, Header, KeyRecord, MAX_SIDECAR_LEN};
use crate::fsutil::{self, WriterLock};
use crate::object;

/// One file version in the vault, as listed after unlocking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Object id.
    #[serde(with = "hex_id")]
    pub id: FileId,
    /// Relative path in the vault.
    pub path: String,
    /// Plaintext size.
    pub size: u64,
    /// Original modification time, ns since the epoch.
    pub mtime_ns: i64,
    /// Original permission bits.
    pub mode: u32,
    /// When this version was added, ns since the epoch.
    pub added_ns: i64,
}

pub(super) mod hex_id {
    use super::FileId;
    pub fn serialize<S: serde::Serializer>(id: &FileId, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&id.to_hex())
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<FileId, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        FileId::from_hex(&s).ok_or_else(|| serde::de::Error::custom("bad file id"))
    }
    use serde::Deserialize;
}

/// What a listing found: readable entries, and objects that failed to
/// authenticate (never silently dropped).
#[derive(Debug, Default)]
pub struct Listing {
    /// Every readable file version.
    pub entries: Vec<Entry>,
    /// Objects that could not be read, with why.
    pub unreadable: Vec<(FileId, Error)>,
    /// The vault compared with its manifest: what was added, deleted,
    /// replaced or rolled back behind its back.
    pub integrity: super::IntegrityReport,
}

/// The newest version of every path in `entries`, sorted by path.
pub fn latest_versions(entries: &[Entry]) -> Vec<Entry> {
    let mut latest: BTreeMap<&str, &Entry> = BTreeMap::new();
    for e in entries {
        match latest.get(e.path.as_str()) {
            Some(old) if (old.added_ns, old.id) >= (e.added_ns, e.id) => {}
            _ => {
                latest.insert(&e.path, e);
            }
        }
    }
    latest.into_values().cloned().collect()
}

/// An object opened for reading, by [`Vault::read_object`].
pub(crate) struct StoredObject {
    /// The object file, positioned anywhere.
    pub file: File,
    /// Its header.
    pub header: Header,
    /// The key record in force: the sidecar's when it belongs to this
    /// header, else the embedded one.
    pub record: KeyRecord,
    /// Whether `record` came from the sidecar.
    pub sidecar: bool,
    /// Where the chunk stream starts.
    pub stream_offset: u64,
}

impl Vault {
    /// Opens an object and reads its header and the key record in force.
    pub(crate) fn read_object(&self, id: &FileId) -> Result<StoredObject> {
        let mut f = match File::open(self.object_path(id)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::NotFound("object".into()));
            }
            Err(e) => {
                return Err(Error::Io {
                    context: "opening an object",
                    source: e,
                });
            }
        };
        let prefix = object::read_prefix(BufReader::new(&mut f))?;
        let rec = fsutil::read_bounded(&self.record_path(id), MAX_SIDECAR_LEN, "key record file");
        let (record, sidecar) = match rec {
            Ok(bytes) => {
                let (h, r) = format::parse_sidecar(&bytes)?;
                if h == prefix.header {
                    (r, true)
                } else {
                    (prefix.record, false)
                }
            }
            Err(e) if fsutil::is_not_found(&e) => (prefix.record, false),
            Err(e) => return Err(e),
        };
        if prefix.header.file_id != *id {
            return Err(Error::corrupt(
                "object",
                "object id does not match its name",
            ));
        }
        Ok(StoredObject {
            file: f,
            header: prefix.header,
            record,
            sidecar,
            stream_offset: prefix.stream_offset,
        })
    }

    pub(super) fn read_entry(&self, id: &FileId) -> Result<Entry> {
        let keys = self.keys()?;
        let StoredObject { header, record, .. } = self.read_object(id)?;
        let (fk, _) = object::unwrap(keys, self.config.vault_id(), &header, &record)?;
        let m = object::open_metadata(&fk, &header, &record)?;
        Ok(Entry {
            id: *id,
            path: m.path,
            size: m.size,
            mtime_ns: m.mtime_ns,
            mode: m.mode,
            added_ns: m.added_ns,
        })
    }

    /// Every file version in the vault (needs unlock). Objects that fail to
    /// authenticate are returned separately, never silently dropped.
    pub fn entries(&self) -> Result<Listing> {
        let keys = self.keys()?;
        let index_key = keys.index_key(self.config.vault_id());
        let mut integrity = self.integrity_now()?;
        let mut cached = match self.load_index(&index_key) {
            Ok(c) => c.unwrap_or_default(),
            Err(_) => {
                // A cache: rebuilt from the objects, but never silently.
                let p = super::Problem {
                    kind: super::ProblemKind::IndexTampered,
                    ids: Vec::new(),
                    generations: None,
                };
                self.audit.append(&[AuditEvent::VaultIntegrity {
                    problem: p.kind.as_str().into(),
                    ids: Vec::new(),
                }])?;
                integrity.problems.push(p);
                Default::default()
            }
        };
        // What no genuine writer vouched for (made with the public key alone,
        // or put in place of a listed object) is named in `integrity` and
        // never served as a file: FORMAT.md §17.5.
        let suspect: HashSet<FileId> = integrity
            .problems
            .iter()
            .filter(|p| {
                matches!(
                    p.kind,
                    super::ProblemKind::UnknownObject | super::ProblemKind::ChangedObject
                )
            })
            .flat_map(|p| p.ids.iter().filter_map(|i| FileId::from_hex(i)))
            .collect();
        let on_disk: Vec<FileId> = self
            .object_ids()?
            .into_iter()
            .filter(|id| !suspect.contains(id))
            .collect();
        let disk_set: HashSet<FileId> = on_disk.iter().copied().collect();
        let before = cached.len();
        cached.retain(|id, _| disk_set.contains(id));
        let mut changed = cached.len() != before;
        let missing: Vec<FileId> = on_disk
            .into_iter()
            .filter(|id| !cached.contains_key(id))
            .collect();
        let read: Vec<(FileId, Result<Entry>)> = missing
            .par_iter()
            .map(|id| (*id, self.read_entry(id)))
            .collect();
        let mut bad = Vec::new();
        for (id, r) in read {
            match r {
                Ok(e) => {
                    cached.insert(id, e);
                    changed = true;
                }
                Err(e) => bad.push((id, e)),
            }
        }
        if !bad.is_empty() {
            self.audit.append(&[AuditEvent::IntegrityFailure {
                ids: bad.iter().map(|(id, _)| id.to_hex()).collect(),
            }])?;
        }
        if changed {
            // A cache: if another writer is busy, or the disk is full, the
            // next listing saves it. Failing the listing for it would deny
            // reading a vault on a full disk for no gain.
            if let Ok(_w) = WriterLock::acquire(&self.dir.join(LOCK_FILE), Duration::ZERO) {
                let _ = self.save_index(&index_key, &cached);
            }
        }
        let mut entries: Vec<Entry> = cached.into_values().collect();
        entries.sort_by(|a, b| a.path.cmp(&b.path).then(a.added_ns.cmp(&b.added_ns)));
        Ok(Listing {
            entries,
            unreadable: bad,
            integrity,
        })
    }

    /// All versions of `path`, oldest first (needs unlock).
    pub fn versions(&self, path: &str) -> Result<Vec<Entry>> {
        let all = self.entries()?.entries;
        let mut v: Vec<Entry> = all.into_iter().filter(|e| e.path == path).collect();
        if v.is_empty() {
            return Err(Error::NotFound("file".into()));
        }
        v.sort_by_key(|e| (e.added_ns, e.id));
        Ok(v)
    }

    /// Decrypts one version to `out`. Each chunk is written only after it
    /// authenticates; on failure the caller must discard what was written.
    pub fn decrypt_to(&self, id: &FileId, out: impl Write + Send) -> Result<u64> {
        self.audit
            .append(&[AuditEvent::FileOpened { id: id.to_hex() }])?;
        self.decrypt_object(id, out)
    }

    pub(super) fn decrypt_object(&self, id: &FileId, out: impl Write + Send) -> Result<u64> {
        let keys = self.keys()?;
        let StoredObject {
            file: mut f,
            header,
            record,
            stream_offset: offset,
            ..
        } = self.read_object(id)?;
        let (fk, _) = object::unwrap(keys, self.config.vault_id(), &header, &record)?;
        f.seek(SeekFrom::Start(offset)).ctx("reading an object")?;
        // Unbuffered: the stream reads whole chunks, and a buffer would copy
        // every byte once more.
        object::decrypt_stream(&fk, &header, f, out)
    }

    /// Decrypts `entry` to the new file `dest`: written to a temp file
    /// beside it and renamed only after the last chunk authenticates, so a
    /// tampered object never leaves partial plaintext. Refuses to replace
    /// an existing file.
    pub fn extract(&self, entry: &Entry, dest: &Path) -> Result<()> {
        self.policy.check_extract_to(dest, &home_dir())?;
        self.audit.append(&[AuditEvent::FileExtracted {
            id: entry.id.to_hex(),
        }])?;
        self.write_plaintext(entry, dest)
    }

    /// Decrypts `entry` into the app's private working area (a per-session
    /// 0700 folder the caller owns) to be opened with its usual app. Audited
    /// as an open; extraction-destination policy does not apply there.
    pub fn open_into(&self, entry: &Entry, dest: &Path) -> Result<()> {
        self.audit.append(&[AuditEvent::FileOpened {
            id: entry.id.to_hex(),
        }])?;
        self.write_plaintext(entry, dest)
    }

    pub(super) fn write_plaintext(&self, entry: &Entry, dest: &Path) -> Result<()> {
        // Windows takes a ':' as a drive or alternate-stream separator; the
        // path rules allow it (FORMAT.md §7) for the OSes that do not.
        #[cfg(windows)]
        if format::windows_unsafe_component(&entry.path) {
            return Err(Error::Invalid(
                "the file's name or folder holds a ':', which Windows does not allow; it cannot be extracted on Windows".into(),
            ));
        }
        if fs::symlink_metadata(dest).is_ok() {
            return Err(Error::Invalid(
                "the destination already exists; choose another folder or remove it first".into(),
            ));
        }
        if let Some(parent) = dest.parent()
            && !parent.as_os_str().is_empty()
        {
            fs::create_dir_all(parent).ctx("creating the destination folder")?;
        }
        let tmp = fsutil::tmp_path_for(dest);
        let res = (|| -> Result<()> {
            let file = fsutil::create_private(&tmp).ctx("creating the extracted file")?;
            // Unbuffered: the stream writes whole batches from its zeroizing
            // buffers; a BufWriter would keep a plaintext copy it never wipes.
            let mut out = fsutil::EarlyWriteback::new(file);
            self.decrypt_object(&entry.id, &mut out)?;
            let file = out.into_inner();
            let mtime = if entry.mtime_ns >= 0 {
                UNIX_EPOCH + Duration::from_nanos(entry.mtime_ns as u64)
            } else {
                UNIX_EPOCH - Duration::from_nanos(entry.mtime_ns.unsigned_abs())
            };
            let _ = file.set_modified(mtime);
            #[cfg(unix)]
            if entry.mode != 0 {
                use std::os::unix::fs::PermissionsExt;
                let _ = file.set_permissions(fs::Permissions::from_mode(entry.mode & 0o777));
            }
            file.sync_all().ctx("syncing the extracted file")?;
            fs::rename(&tmp, dest).ctx("moving the extracted file into place")?;
            Ok(())
        })();
        if res.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        res?;
        fsutil::sync_dir(dest.parent().unwrap_or(Path::new(".")))
    }

    /// Removes every version of `path` (needs unlock). Returns how many.
    pub fn remove(&self, path: &str) -> Result<usize> {
        let victims = self.versions(path)?;
        let _w = self.writer()?;
        // Only an explicit removal may drop an object from the manifest.
        let gone: Vec<(FileId, [u8; 32])> = victims.iter().map(|e| (e.id, [0; 32])).collect();
        self.endorse(Phase::Remove, &gone)?;
        let mut dirs = HashSet::new();
        for e in &victims {
            // Object first: a sidecar without its object is cleaned up at
            // open, an object without its sidecar could be unreadable.
            remove_if_exists(&self.object_path(&e.id))?;
            remove_if_exists(&self.record_path(&e.id))?;
            dirs.insert(self.shard_dir(&e.id));
        }
        for d in dirs {
            fsutil::sync_dir(&d)?;
        }
        self.fold_endorsements()?;
        self.audit.append(&[AuditEvent::FilesRemoved {
            ids: victims.iter().map(|e| e.id.to_hex()).collect(),
        }])?;
        Ok(victims.len())
    }
}
