//! Quarantine: damaged objects moved out of the vault, never deleted.
//!
//! An object that cannot be read or unwrapped (corrupt or truncated
//! header, another vault's object, a key record under a key version the
//! vault no longer holds, a chunk that fails to authenticate) stops a key
//! rotation before it destroys any key version: such a version may be the
//! only key to that object. Once it is restored from a backup, or set
//! aside here, the rotation can finish.
//!
//! ```text
//! quarantine/<id>.obj     the object, byte for byte as it was
//! quarantine/<id>.rec     its sidecar key record, if it had one
//! quarantine/<id>-2.obj   another object quarantined later under the same id
//! ```
//!
//! Only objects that fail the checks of `verify`, run again under the
//! writer lock, are moved, by rename within the vault folder (one file
//! system), the sidecar first so that a crash never leaves a record whose
//! object is gone (it would be removed as stale); both directories are
//! flushed, and the move is recorded in the audit trail. What is in `quarantine/` is no longer
//! listed, verified or rotated; to put an object back, move both files
//! back into `objects/<first two hex digits>/`.

use std::collections::BTreeSet;
use std::fs;
use std::io;

use serde::Serialize;

use super::{QUARANTINE_DIR, Vault, create_private_dir};
use crate::audit::AuditEvent;
use crate::config::VaultConfig;
use crate::error::{Error, IoContext, Result};
use crate::format::FileId;
use crate::format::manifest::Phase;
use crate::fsutil;

/// Most objects kept in quarantine under one id.
const MAX_COPIES: u32 = 1000;

/// An object in the vault's `quarantine/` folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuarantinedObject {
    /// Object id (32 hex digits).
    pub id: String,
    /// Its file name inside `quarantine/` (`<id>.obj`, or `<id>-N.obj`
    /// when the same id was quarantined before).
    pub file: String,
    /// Size of the object file.
    pub size: u64,
    /// Whether its sidecar key record was moved with it.
    pub record: bool,
}

impl Vault {
    /// Moves the objects `ids`, each with its sidecar key record, out of
    /// `objects/` into `quarantine/`, and records it in the audit trail.
    /// Every one is checked again under the writer lock first, fully when
    /// the vault is unlocked and structurally otherwise; if any of them
    /// verifies fine, or does not exist, nothing is moved.
    pub fn quarantine(&self, ids: &[FileId]) -> Result<Vec<QuarantinedObject>> {
        let ids: Vec<FileId> = ids
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let _w = self.writer()?;
        // A handle opened before a rotation elsewhere would take every
        // object under the new key version for a damaged one.
        let bytes = super::read_config(&self.dir)?;
        let on_disk = VaultConfig::parse(&bytes)?;
        if !on_disk.key_versions.iter().map(|v| v.version).eq(self
            .config
            .key_versions
            .iter()
            .map(|v| v.version))
        {
            return Err(Error::Invalid(
                "the vault's keys changed since it was opened (a key rotation ran): \
                 open it again and retry"
                    .into(),
            ));
        }
        let full = self.is_unlocked();
        // Objects the comparison with the manifest names as not genuine
        // (unknown, or changed behind the vault's back) may be set aside
        // too, whether or not they decrypt.
        let suspect: BTreeSet<String> = match self.check_integrity() {
            Ok(r) => r
                .problems
                .into_iter()
                .filter(|p| {
                    matches!(
                        p.kind,
                        super::ProblemKind::UnknownObject | super::ProblemKind::ChangedObject
                    )
                })
                .flat_map(|p| p.ids)
                .collect(),
            Err(_) => BTreeSet::new(),
        };
        for id in &ids {
            if !self.object_path(id).exists() {
                return Err(Error::NotFound(format!("object {}", id.to_hex())));
            }
            // Only damage counts: an object that cannot be read for an
            // ordinary reason (permissions, too many open files, a read
            // error) is healthy, and its key must not be destroyed.
            let damaged = suspect.contains(&id.to_hex())
                || matches!(
                    self.check_object(id, full),
                    Err(Error::DecryptionFailed
                        | Error::Corrupt { .. }
                        | Error::UnsupportedVersion { .. })
                );
            if !damaged {
                return Err(Error::Invalid(format!(
                    "object {} is not damaged{}: only objects that fail verification can be quarantined (a permission or read problem is fixed where it is)",
                    id.to_hex(),
                    if full {
                        ""
                    } else {
                        " (structure only; unlock for a full check)"
                    }
                )));
            }
        }
        let qdir = self.dir.join(QUARANTINE_DIR);
        if !qdir.is_dir() {
            create_private_dir(&qdir)?;
            fsutil::sync_dir(&self.dir)?;
        }
        let mut moved = Vec::new();
        let mut shards = BTreeSet::new();
        let aside: Vec<(FileId, [u8; 32])> = ids.iter().map(|id| (*id, [0; 32])).collect();
        self.endorse(Phase::Remove, &aside)?;
        let mut failed = None;
        for id in &ids {
            match self.move_aside(id, &qdir) {
                Ok(q) => {
                    shards.insert(self.shard_dir(id));
                    moved.push(q);
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        // What was moved is made durable and recorded even if a later move failed.
        if !moved.is_empty() {
            fsutil::sync_dir(&qdir)?;
            for s in &shards {
                fsutil::sync_dir(s)?;
            }
            self.fold_endorsements()?;
            self.audit.append(&[AuditEvent::ObjectsQuarantined {
                ids: moved.iter().map(|q| q.id.clone()).collect(),
            }])?;
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(moved),
        }
    }

    /// Renames one object (sidecar first) into `qdir`.
    fn move_aside(&self, id: &FileId, qdir: &std::path::Path) -> Result<QuarantinedObject> {
        let hex = id.to_hex();
        // The first name whose object is free: a sidecar left there by a
        // move a crash interrupted is then joined by its object.
        let base = (1..=MAX_COPIES)
            .map(|n| {
                if n == 1 {
                    hex.clone()
                } else {
                    format!("{hex}-{n}")
                }
            })
            .find(|b| !qdir.join(format!("{b}.obj")).exists())
            .ok_or_else(|| Error::Invalid(format!("object {hex} was quarantined too often")))?;
        let record = match fs::rename(self.record_path(id), qdir.join(format!("{base}.rec"))) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(source) => {
                return Err(Error::Io {
                    context: "moving a key record into quarantine",
                    source,
                });
            }
        };
        let file = format!("{base}.obj");
        let dest = qdir.join(&file);
        fs::rename(self.object_path(id), &dest).ctx("moving an object into quarantine")?;
        let size = fs::metadata(&dest).map(|m| m.len()).unwrap_or(0);
        Ok(QuarantinedObject {
            id: hex,
            file,
            size,
            record,
        })
    }

    /// The objects in `quarantine/`, by file name.
    pub fn quarantined(&self) -> Result<Vec<QuarantinedObject>> {
        let qdir = self.dir.join(QUARANTINE_DIR);
        let rd = match fs::read_dir(&qdir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(Error::Io {
                    context: "listing the quarantine folder",
                    source,
                });
            }
        };
        let mut out = Vec::new();
        for e in rd {
            let e = e.ctx("listing the quarantine folder")?;
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(base) = name.strip_suffix(".obj") else {
                continue;
            };
            let Some(id) = FileId::from_hex(base.split('-').next().unwrap_or(base)) else {
                continue;
            };
            out.push(QuarantinedObject {
                id: id.to_hex(),
                file: name.to_owned(),
                size: e.metadata().map(|m| m.len()).unwrap_or(0),
                record: qdir.join(format!("{base}.rec")).exists(),
            });
        }
        out.sort_by(|a, b| a.file.cmp(&b.file));
        Ok(out)
    }
}
