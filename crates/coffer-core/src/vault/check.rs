//! Checking the vault: verifying every object, and inspecting the layout
//! of one.

use std::fs;
use std::io;

use rayon::prelude::*;
use serde::Serialize;

use super::{Progress, QuarantinedObject, Vault};
use crate::audit::AuditEvent;
use crate::error::{Error, IoContext, Result};
use crate::format::{self, CHUNK_OVERHEAD, CHUNK_SIZE, FileId};
use crate::fsutil::TMP_SUFFIX;

/// Result of [`Vault::verify`].
#[derive(Clone, Debug, Default, Serialize)]
pub struct VerifyReport {
    /// Objects examined.
    pub objects: u64,
    /// Objects whose every chunk authenticated (only when unlocked).
    pub decrypted: u64,
    /// Object ids that failed, with why.
    pub failures: Vec<(String, String)>,
    /// Sidecar records with no object.
    pub orphan_records: u64,
    /// Leftover temporary files.
    pub temp_files: u64,
    /// Whether contents were checked (needs unlock) or only structure.
    pub full: bool,
    /// Objects set aside in `quarantine/` ([`Vault::quarantine`]): no
    /// longer part of the vault, not checked and not counted above.
    pub quarantined: Vec<QuarantinedObject>,
    /// The vault compared with its manifest (absent when no writer key is
    /// at hand: locked, with no key from the OS keychain).
    pub integrity: Option<super::IntegrityReport>,
}

impl VerifyReport {
    /// Whether nothing is wrong: every object checks, and the vault as a
    /// whole is what its manifest says.
    pub fn ok(&self) -> bool {
        self.failures.is_empty() && self.integrity.as_ref().is_none_or(|i| i.ok())
    }
}

/// What `inspect` shows of one object: layout only, no secret.
#[derive(Clone, Debug, Serialize)]
pub struct Inspection {
    /// Object id.
    pub id: String,
    /// Format version.
    pub format_version: u16,
    /// Chunk size.
    pub chunk_size: usize,
    /// Header salt (hex; not secret).
    pub salt: String,
    /// Key commitment (hex; not secret).
    pub commitment: String,
    /// Key version of the record in force.
    pub key_version: u32,
    /// Whether a sidecar record supersedes the embedded one.
    pub sidecar: bool,
    /// Length of the record in force.
    pub record_len: usize,
    /// Length of the encrypted metadata.
    pub metadata_len: usize,
    /// Where the chunk stream starts.
    pub stream_offset: u64,
    /// Object file size.
    pub object_len: u64,
    /// Number of chunks.
    pub chunks: u64,
    /// Plaintext size implied by the layout.
    pub plaintext_len: u64,
}

impl Vault {
    /// Checks every object. Locked: structure only (headers, records,
    /// stream lengths). Unlocked: every chunk and metadata record
    /// authenticates too.
    pub fn verify(&self, progress: &(dyn Fn(Progress) + Sync)) -> Result<VerifyReport> {
        let ids = self.object_ids()?;
        let full = self.keys.is_some();
        let done = std::sync::atomic::AtomicU64::new(0);
        let results: Vec<(FileId, Result<()>)> = ids
            .par_iter()
            .map(|id| {
                let r = self.check_object(id, full);
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                if n.is_multiple_of(64) {
                    progress(Progress { files: n, bytes: 0 });
                }
                (*id, r)
            })
            .collect();
        let mut report = VerifyReport {
            objects: ids.len() as u64,
            full,
            quarantined: self.quarantined()?,
            ..Default::default()
        };
        for (id, r) in results {
            match r {
                Ok(()) => report.decrypted += u64::from(full),
                Err(e) => report.failures.push((id.to_hex(), e.to_string())),
            }
        }
        for shard in self.shards()? {
            for e in fs::read_dir(&shard).ctx("listing the vault")? {
                let name = e.ctx("listing the vault")?.file_name();
                let name = name.to_string_lossy();
                if name.ends_with(TMP_SUFFIX) {
                    report.temp_files += 1;
                } else if let Some(id) = name.strip_suffix(".rec").and_then(FileId::from_hex)
                    && !self.object_path(&id).exists()
                {
                    report.orphan_records += 1;
                }
            }
        }
        if !report.failures.is_empty() {
            self.audit.append(&[AuditEvent::IntegrityFailure {
                ids: report.failures.iter().map(|(id, _)| id.clone()).collect(),
            }])?;
        }
        report.integrity = match self.integrity_now() {
            Ok(i) => Some(i),
            Err(Error::WriterKeyUnavailable) => None,
            Err(e) => return Err(e),
        };
        // The listing cache is checked too: a damaged one is rebuilt by the
        // next listing, but verify names it (FORMAT.md §14).
        if let (Some(keys), Some(integrity)) = (&self.keys, report.integrity.as_mut())
            && self
                .load_index(&keys.index_key(self.config.vault_id()))
                .is_err()
        {
            self.audit.append(&[AuditEvent::VaultIntegrity {
                problem: super::ProblemKind::IndexTampered.as_str().into(),
                ids: Vec::new(),
            }])?;
            integrity.problems.push(super::Problem {
                kind: super::ProblemKind::IndexTampered,
                ids: Vec::new(),
                generations: None,
            });
        }
        Ok(report)
    }

    /// Checks one object as [`Vault::verify`] does. With `full` (needs
    /// unlock): its key unwraps, and its metadata and every chunk
    /// authenticate. Otherwise its structure, and that its key record is
    /// under a key version this vault holds.
    pub(crate) fn check_object(&self, id: &FileId, full: bool) -> Result<()> {
        if full {
            self.read_entry(id)?;
            self.decrypt_object(id, io::sink()).map(|_| ())
        } else {
            let i = self.inspect(id)?;
            self.check_key_version(i.key_version)
        }
    }

    /// Fails unless the config holds key version `v`: a key record under
    /// any other version can never be unwrapped.
    pub(crate) fn check_key_version(&self, v: u32) -> Result<()> {
        if self.config.key_versions.iter().any(|k| k.version == v) {
            Ok(())
        } else {
            Err(Error::corrupt(
                "key record",
                format!("it is under key version {v}, which this vault does not hold"),
            ))
        }
    }

    /// The layout of one object; no secret needed or shown.
    pub fn inspect(&self, id: &FileId) -> Result<Inspection> {
        let super::read::StoredObject {
            file: f,
            header,
            record,
            sidecar,
            stream_offset: offset,
        } = self.read_object(id)?;
        let len = f.metadata().ctx("reading an object")?.len();
        let stream = len
            .checked_sub(offset)
            .ok_or_else(|| Error::corrupt("object", "truncated"))?;
        let sealed = (CHUNK_SIZE + CHUNK_OVERHEAD) as u64;
        let full = stream / sealed;
        let rest = stream % sealed;
        let (chunks, plaintext) = match (full, rest) {
            (0, r) if r >= CHUNK_OVERHEAD as u64 => (1, r - CHUNK_OVERHEAD as u64),
            (n, 0) if n > 0 => (n, n * CHUNK_SIZE as u64),
            (n, r) if r > CHUNK_OVERHEAD as u64 => (n + 1, n * CHUNK_SIZE as u64 + r - 16),
            _ => {
                return Err(Error::corrupt(
                    "object",
                    "chunk stream has an impossible length",
                ));
            }
        };
        Ok(Inspection {
            id: id.to_hex(),
            format_version: format::FORMAT_VERSION,
            chunk_size: CHUNK_SIZE,
            salt: data_encoding::HEXLOWER.encode(&header.salt),
            commitment: data_encoding::HEXLOWER.encode(&header.commitment),
            key_version: record.key_version,
            sidecar,
            record_len: record.encoded_len(),
            metadata_len: record.meta_ct.len(),
            stream_offset: offset,
            object_len: len,
            chunks,
            plaintext_len: plaintext,
        })
    }
}
