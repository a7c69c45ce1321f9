//! What one line of the log says: the [`Record`], the typed [`EventKind`],
//! the events as written ([`AuditEvent`]), and the one record parser.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::status::StatusRecord;
use crate::error::Error;

/// Longest record line we accept when reading.
pub const MAX_LINE: usize = 1 << 20;

/// One line of the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// 1, 2, 3, ... without gaps.
    pub seq: u64,
    /// RFC 3339 UTC timestamp.
    pub ts: String,
    /// Vault id (hex).
    pub vault: String,
    /// Stable device id (hex, derived from the machine id).
    pub device: String,
    /// Host name.
    pub host: String,
    /// OS user, from the system's user database.
    pub user: String,
    /// The writing process's audit session ([`super::session_id`]):
    /// absent in records of older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// What happened: an [`EventKind`] name. Kept as written, so a record
    /// from a newer version with an event this one does not know still
    /// parses and verifies (see [`Record::kind`]).
    pub event: String,
    /// Event fields.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub detail: Map<String, Value>,
    /// SHA-256 (hex) of the previous line, or [`super::GENESIS`].
    pub prev: String,
    /// The record's seal ([`super::seal`]): HMAC-SHA256 (hex) under the
    /// writing device's ratcheted key, over the line without this member,
    /// which is always last. Absent in records of older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

impl Record {
    /// The event, typed; `None` for an event this version does not know.
    pub fn kind(&self) -> Option<EventKind> {
        EventKind::parse(&self.event)
    }

    /// Whether the record is of kind `kind`.
    pub fn is(&self, kind: EventKind) -> bool {
        self.event == kind.as_str()
    }

    /// The device's and vault's state, when this is a `status` record.
    pub fn status(&self) -> Option<StatusRecord> {
        self.is(EventKind::Status)
            .then(|| StatusRecord::from_detail(&self.detail))
    }
}

/// Parses one line of a log (without its newline): `None` when it is
/// empty, longer than [`MAX_LINE`] or not a record.
pub fn parse_record(line: &[u8]) -> Option<Record> {
    if line.is_empty() || line.len() > MAX_LINE {
        return None;
    }
    serde_json::from_slice(line).ok()
}

/// The newest manifest generation that `manifest_updated` records of the
/// vault `vault_id` claim in a log's bytes (the local log or a shipped
/// copy): what a restored, older vault folder is compared with.
///
/// Only records whose `mac` passes `genuine(generation, mac_hex)` count:
/// anyone who can write the log could otherwise claim any generation.
pub fn newest_manifest_generation(
    bytes: &[u8],
    vault_id: &[u8; 16],
    genuine: impl Fn(u64, &str) -> bool,
) -> Option<u64> {
    let vault = data_encoding::HEXLOWER.encode(vault_id);
    let needle = EventKind::ManifestUpdated.as_str().as_bytes();
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| l.windows(needle.len()).any(|w| w == needle))
        .filter_map(parse_record)
        .filter(|r| r.is(EventKind::ManifestUpdated) && r.vault == vault)
        .filter_map(|r| {
            let g = r.detail.get("generation").and_then(Value::as_u64)?;
            let mac = r.detail.get("mac").and_then(Value::as_str)?;
            genuine(g, mac).then_some(g)
        })
        .max()
}

/// The records of a log's bytes (a vault's log or a shipped copy), in
/// order. Lines that do not parse are skipped; [`super::verify_chain`]
/// reports them.
pub fn parse_records(bytes: &[u8]) -> Vec<Record> {
    bytes
        .split(|b| *b == b'\n')
        .filter_map(parse_record)
        .collect()
}

/// The kinds of event a record can carry: its `event` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// The vault was created.
    VaultCreated,
    /// Unlocked.
    Unlock,
    /// An unlock attempt failed.
    UnlockFailed,
    /// The keys were forgotten.
    Lock,
    /// Recovered with the recovery key or the escrow key.
    Recovery,
    /// Files entered the vault.
    FileAdded,
    /// A file was decrypted for viewing.
    FileOpened,
    /// A file was decrypted to a folder outside the vault.
    FileExtracted,
    /// Files were removed from the vault.
    FileRemoved,
    /// A folder was protected.
    Protect,
    /// A folder stopped being protected.
    Unprotect,
    /// Plaintext was found in a protected folder.
    PlaintextFound,
    /// A key rotation started.
    RotationStarted,
    /// A key rotation finished.
    RotationFinished,
    /// A slot was added.
    SlotAdded,
    /// A slot was removed.
    SlotRemoved,
    /// Objects failed authentication.
    IntegrityFailure,
    /// Objects were moved into quarantine.
    ObjectsQuarantined,
    /// The audit trail was exported.
    AuditExport,
    /// A policy was applied.
    PolicyApplied,
    /// The device's and vault's state ([`StatusRecord`]).
    Status,
    /// A line torn by a crash was terminated (written by the log itself).
    LogRepaired,
    /// The vault's manifest reached a new generation (docs/FORMAT.md §17).
    ManifestUpdated,
    /// Someone who unlocked accepted the vault as it is (`coffer repair
    /// --accept-as-is`), with the problems it had.
    IntegrityAccepted,
    /// A device enrolled its audit key (written by the log itself).
    AuditKey,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 25] = [
        EventKind::VaultCreated,
        EventKind::Unlock,
        EventKind::UnlockFailed,
        EventKind::Lock,
        EventKind::Recovery,
        EventKind::FileAdded,
        EventKind::FileOpened,
        EventKind::FileExtracted,
        EventKind::FileRemoved,
        EventKind::Protect,
        EventKind::Unprotect,
        EventKind::PlaintextFound,
        EventKind::RotationStarted,
        EventKind::RotationFinished,
        EventKind::SlotAdded,
        EventKind::SlotRemoved,
        EventKind::IntegrityFailure,
        EventKind::ObjectsQuarantined,
        EventKind::AuditExport,
        EventKind::PolicyApplied,
        EventKind::Status,
        EventKind::LogRepaired,
        EventKind::ManifestUpdated,
        EventKind::IntegrityAccepted,
        EventKind::AuditKey,
    ];

    /// The name written in the `event` field.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::VaultCreated => "vault_created",
            EventKind::Unlock => "unlock",
            EventKind::UnlockFailed => "unlock_failed",
            EventKind::Lock => "lock",
            EventKind::Recovery => "recovery",
            EventKind::FileAdded => "file_added",
            EventKind::FileOpened => "file_opened",
            EventKind::FileExtracted => "file_extracted",
            EventKind::FileRemoved => "file_removed",
            EventKind::Protect => "protect",
            EventKind::Unprotect => "unprotect",
            EventKind::PlaintextFound => "plaintext_found",
            EventKind::RotationStarted => "rotation_started",
            EventKind::RotationFinished => "rotation_finished",
            EventKind::SlotAdded => "slot_added",
            EventKind::SlotRemoved => "slot_removed",
            EventKind::IntegrityFailure => "integrity_failure",
            EventKind::ObjectsQuarantined => "objects_quarantined",
            EventKind::AuditExport => "audit_export",
            EventKind::PolicyApplied => "policy_applied",
            EventKind::Status => "status",
            EventKind::LogRepaired => "log_repaired",
            EventKind::ManifestUpdated => "manifest_updated",
            EventKind::IntegrityAccepted => "integrity_accepted",
            EventKind::AuditKey => "audit_key",
        }
    }

    /// The kind named `name`, if this version knows it.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s).ok_or_else(|| Error::Invalid(format!("not an audit event: {s}")))
    }
}

impl PartialEq<EventKind> for str {
    fn eq(&self, other: &EventKind) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<EventKind> for String {
    fn eq(&self, other: &EventKind) -> bool {
        self == other.as_str()
    }
}

/// Security-relevant events. Ids are object ids (hex); nothing names a file.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum AuditEvent {
    /// The vault was created.
    VaultCreated,
    /// Unlocked with a slot of this kind.
    Unlocked {
        /// Slot kind.
        method: String,
    },
    /// An unlock attempt failed.
    UnlockFailed {
        /// Slot kind tried.
        method: String,
    },
    /// The keys were forgotten.
    Locked {
        /// "manual", "auto", "suspend", "process_end", ...
        reason: String,
    },
    /// Recovered with the recovery key or the organisation escrow key.
    Recovered {
        /// "recovery" or "escrow".
        method: String,
    },
    /// Files entered the vault.
    FilesAdded {
        /// Object ids.
        ids: Vec<String>,
        /// Who added them: "cli", "watcher", "app".
        by: String,
        /// The file identity ([`super::file_identity`]) of each file
        /// encrypted, as it was when read, aligned with `ids`.
        files: Vec<String>,
    },
    /// A file was decrypted for viewing.
    FileOpened {
        /// Object id.
        id: String,
    },
    /// A file was decrypted to a folder outside the vault.
    FileExtracted {
        /// Object id.
        id: String,
    },
    /// Files were removed from the vault.
    FilesRemoved {
        /// Object ids.
        ids: Vec<String>,
    },
    /// A folder was protected.
    FolderProtected,
    /// A folder stopped being protected.
    FolderUnprotected,
    /// Plaintext was found in a protected folder (and queued for encryption).
    PlaintextFound {
        /// How many files.
        count: u64,
        /// The file identity ([`super::file_identity`]) of each file found.
        files: Vec<String>,
    },
    /// A key rotation started.
    RotationStarted {
        /// "rewrap" or "reencrypt".
        kind: String,
        /// Target key version.
        key_version: u32,
    },
    /// A key rotation finished.
    RotationFinished {
        /// "rewrap" or "reencrypt".
        kind: String,
        /// Key version everything is now under.
        key_version: u32,
        /// Files moved by the finishing run.
        files: u64,
        /// Key versions destroyed.
        destroyed: Vec<u32>,
    },
    /// A slot was added.
    SlotAdded {
        /// Slot kind.
        kind: String,
    },
    /// A slot was removed.
    SlotRemoved {
        /// Slot kind.
        kind: String,
    },
    /// Objects failed authentication.
    IntegrityFailure {
        /// Object ids.
        ids: Vec<String>,
    },
    /// The vault as a whole differs from its manifest (written as an
    /// `integrity_failure` with the problem's kind).
    VaultIntegrity {
        /// `unknown_object`, `missing_object`, `changed_object`,
        /// `rolled_back`, `manifest_tampered`, `forged_endorsement`,
        /// `index_tampered`.
        problem: String,
        /// Object ids, where it concerns objects.
        ids: Vec<String>,
    },
    /// The manifest reached a new generation.
    ManifestUpdated {
        /// Its generation.
        generation: u64,
        /// HMAC of the generation under the vault's endorsement key (hex):
        /// what makes the record count when a rollback is judged.
        mac: String,
    },
    /// The vault was accepted as it is, with these problems.
    IntegrityAccepted {
        /// The kinds of problem accepted.
        problems: Vec<String>,
    },
    /// Objects that failed verification were moved aside into the vault's
    /// `quarantine/` folder (they no longer block key rotation).
    ObjectsQuarantined {
        /// Object ids.
        ids: Vec<String>,
    },
    /// The audit trail was exported.
    AuditExported {
        /// Format.
        format: String,
        /// Records in the export.
        records: u64,
    },
    /// A policy was applied.
    PolicyApplied {
        /// Where the policy came from.
        source: String,
    },
    /// The device's and vault's state, for incident reports and fleet
    /// views: a [`StatusRecord`] as a JSON object (`StatusRecord` converts
    /// into this event).
    Status(Map<String, Value>),
}

impl From<StatusRecord> for AuditEvent {
    fn from(s: StatusRecord) -> Self {
        AuditEvent::Status(s.to_detail())
    }
}

impl AuditEvent {
    /// Its kind.
    pub fn kind(&self) -> EventKind {
        match self {
            AuditEvent::VaultCreated => EventKind::VaultCreated,
            AuditEvent::Unlocked { .. } => EventKind::Unlock,
            AuditEvent::UnlockFailed { .. } => EventKind::UnlockFailed,
            AuditEvent::Locked { .. } => EventKind::Lock,
            AuditEvent::Recovered { .. } => EventKind::Recovery,
            AuditEvent::FilesAdded { .. } => EventKind::FileAdded,
            AuditEvent::FileOpened { .. } => EventKind::FileOpened,
            AuditEvent::FileExtracted { .. } => EventKind::FileExtracted,
            AuditEvent::FilesRemoved { .. } => EventKind::FileRemoved,
            AuditEvent::FolderProtected => EventKind::Protect,
            AuditEvent::FolderUnprotected => EventKind::Unprotect,
            AuditEvent::PlaintextFound { .. } => EventKind::PlaintextFound,
            AuditEvent::RotationStarted { .. } => EventKind::RotationStarted,
            AuditEvent::RotationFinished { .. } => EventKind::RotationFinished,
            AuditEvent::SlotAdded { .. } => EventKind::SlotAdded,
            AuditEvent::SlotRemoved { .. } => EventKind::SlotRemoved,
            AuditEvent::IntegrityFailure { .. } | AuditEvent::VaultIntegrity { .. } => {
                EventKind::IntegrityFailure
            }
            AuditEvent::ManifestUpdated { .. } => EventKind::ManifestUpdated,
            AuditEvent::IntegrityAccepted { .. } => EventKind::IntegrityAccepted,
            AuditEvent::ObjectsQuarantined { .. } => EventKind::ObjectsQuarantined,
            AuditEvent::AuditExported { .. } => EventKind::AuditExport,
            AuditEvent::PolicyApplied { .. } => EventKind::PolicyApplied,
            AuditEvent::Status(_) => EventKind::Status,
        }
    }

    /// The record's `detail` for this event.
    pub fn detail(&self) -> Map<String, Value> {
        let v = match self {
            AuditEvent::VaultCreated
            | AuditEvent::FolderProtected
            | AuditEvent::FolderUnprotected => return Map::new(),
            AuditEvent::Status(m) => return m.clone(),
            AuditEvent::Unlocked { method }
            | AuditEvent::UnlockFailed { method }
            | AuditEvent::Recovered { method } => json!({ "method": method }),
            AuditEvent::Locked { reason } => json!({ "reason": reason }),
            AuditEvent::FilesAdded { ids, by, files } if files.is_empty() => {
                json!({ "ids": ids, "by": by })
            }
            AuditEvent::FilesAdded { ids, by, files } => {
                json!({ "ids": ids, "by": by, "files": files })
            }
            AuditEvent::FileOpened { id } | AuditEvent::FileExtracted { id } => {
                json!({ "ids": [id] })
            }
            AuditEvent::FilesRemoved { ids }
            | AuditEvent::IntegrityFailure { ids }
            | AuditEvent::ObjectsQuarantined { ids } => json!({ "ids": ids }),
            AuditEvent::PlaintextFound { count, files } if files.is_empty() => {
                json!({ "count": count })
            }
            AuditEvent::PlaintextFound { count, files } => {
                json!({ "count": count, "files": files })
            }
            AuditEvent::VaultIntegrity { problem, ids } => {
                json!({ "problem": problem, "ids": ids })
            }
            AuditEvent::ManifestUpdated { generation, mac } => {
                json!({ "generation": generation, "mac": mac })
            }
            AuditEvent::IntegrityAccepted { problems } => json!({ "problems": problems }),
            AuditEvent::RotationStarted { kind, key_version } => {
                json!({ "kind": kind, "key_version": key_version })
            }
            AuditEvent::RotationFinished {
                kind,
                key_version,
                files,
                destroyed,
            } => json!({
                "kind": kind,
                "key_version": key_version,
                "files": files,
                "destroyed_versions": destroyed
            }),
            AuditEvent::SlotAdded { kind } | AuditEvent::SlotRemoved { kind } => {
                json!({ "kind": kind })
            }
            AuditEvent::AuditExported { format, records } => {
                json!({ "format": format, "records": records })
            }
            AuditEvent::PolicyApplied { source } => json!({ "source": source }),
        };
        match v {
            Value::Object(m) => m,
            _ => unreachable!("a JSON object literal"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_kinds_round_trip_by_name_and_by_serde() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
            assert_eq!(k.as_str().parse::<EventKind>().unwrap(), k);
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
            let back: EventKind = serde_json::from_str(&format!("\"{k}\"")).unwrap();
            assert_eq!(back, k);
        }
        assert_eq!(EventKind::parse("no_such_event"), None);
        assert!("no_such_event".parse::<EventKind>().is_err());
    }

    #[test]
    fn events_are_written_under_their_kind() {
        let cases = [
            (AuditEvent::VaultCreated, "vault_created"),
            (AuditEvent::Unlocked { method: "x".into() }, "unlock"),
            (
                AuditEvent::UnlockFailed { method: "x".into() },
                "unlock_failed",
            ),
            (AuditEvent::Locked { reason: "x".into() }, "lock"),
            (AuditEvent::Recovered { method: "x".into() }, "recovery"),
            (
                AuditEvent::FilesAdded {
                    ids: vec![],
                    by: "cli".into(),
                    files: vec![],
                },
                "file_added",
            ),
            (AuditEvent::FileOpened { id: "a".into() }, "file_opened"),
            (
                AuditEvent::FileExtracted { id: "a".into() },
                "file_extracted",
            ),
            (AuditEvent::FilesRemoved { ids: vec![] }, "file_removed"),
            (AuditEvent::FolderProtected, "protect"),
            (AuditEvent::FolderUnprotected, "unprotect"),
            (
                AuditEvent::PlaintextFound {
                    count: 1,
                    files: vec![],
                },
                "plaintext_found",
            ),
            (
                AuditEvent::RotationStarted {
                    kind: "rewrap".into(),
                    key_version: 2,
                },
                "rotation_started",
            ),
            (
                AuditEvent::RotationFinished {
                    kind: "rewrap".into(),
                    key_version: 2,
                    files: 3,
                    destroyed: vec![1],
                },
                "rotation_finished",
            ),
            (AuditEvent::SlotAdded { kind: "x".into() }, "slot_added"),
            (AuditEvent::SlotRemoved { kind: "x".into() }, "slot_removed"),
            (
                AuditEvent::IntegrityFailure { ids: vec![] },
                "integrity_failure",
            ),
            (
                AuditEvent::ObjectsQuarantined { ids: vec![] },
                "objects_quarantined",
            ),
            (
                AuditEvent::AuditExported {
                    format: "csv".into(),
                    records: 1,
                },
                "audit_export",
            ),
            (
                AuditEvent::PolicyApplied { source: "x".into() },
                "policy_applied",
            ),
            (AuditEvent::Status(Map::new()), "status"),
        ];
        for (e, name) in cases {
            assert_eq!(e.kind().as_str(), name);
        }
        let d = AuditEvent::RotationFinished {
            kind: "rewrap".into(),
            key_version: 2,
            files: 3,
            destroyed: vec![1],
        }
        .detail();
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"destroyed_versions":[1],"files":3,"key_version":2,"kind":"rewrap"}"#
        );
        assert_eq!(
            serde_json::to_string(&AuditEvent::FileOpened { id: "ab".into() }.detail()).unwrap(),
            r#"{"ids":["ab"]}"#
        );
        let d = AuditEvent::FilesAdded {
            ids: vec!["a".into()],
            by: "watcher".into(),
            files: vec!["f".into()],
        }
        .detail();
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"by":"watcher","files":["f"],"ids":["a"]}"#
        );
        let d = AuditEvent::PlaintextFound {
            count: 1,
            files: vec!["f".into()],
        }
        .detail();
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"count":1,"files":["f"]}"#
        );
    }

    #[test]
    fn the_parser_skips_what_is_not_a_record() {
        let r = Record {
            seq: 1,
            ts: "2026-01-01T00:00:00Z".into(),
            vault: "v".into(),
            device: "d".into(),
            host: "h".into(),
            user: "u".into(),
            session: None,
            event: "lock".into(),
            detail: Map::new(),
            prev: super::super::GENESIS.into(),
            mac: None,
        };
        let line = serde_json::to_vec(&r).unwrap();
        let mut bytes = line.clone();
        bytes.extend_from_slice(b"\n\n{\"seq\":2,\"ts\n");
        bytes.extend_from_slice(&line);
        assert_eq!(parse_records(&bytes), vec![r.clone(), r.clone()]);
        assert_eq!(parse_record(&line), Some(r.clone()));
        assert_eq!(parse_record(&vec![b' '; MAX_LINE + 1]), None);
        assert!(r.is(EventKind::Lock) && r.kind() == Some(EventKind::Lock));
        assert!(r.event == EventKind::Lock);
        assert!(r.status().is_none());
    }
}
