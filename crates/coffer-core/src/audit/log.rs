//! The vault's log file (`audit/log.jsonl`): appending records durably
//! under a lock on the file, the checkpoint beside it, and the repair of a
//! line torn by a crash. Appending never ships (see [`super::ship`]).
//!
//! Appends are serialised across processes by a lock on the log file,
//! flushed with fsync, and followed by a checkpoint (`audit/head.json`:
//! last sequence number and hash). A line torn by a crash is never
//! silently dropped: the next append terminates it and records a
//! `log_repaired` event naming its length.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Map;

use super::chain::{ChainReport, Checkpoint, GENESIS, line_hash, verify_chain};
use super::identity::{Identity, session_id};
use super::record::{AuditEvent, EventKind, Record};
use super::seal::{self, SealState};
use super::ship::Background;
use super::sinks::Sink;
use super::{AUDIT_DIR, LOG_FILE};
use crate::crypto::secret::Key32;
use crate::crypto::wrap::PublicKey;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;

const HEAD_FILE: &str = "head.json";
/// How far back from the end an append looks for the last record.
const TAIL_WINDOW: u64 = 2 << 20;

/// A vault's audit log.
#[derive(Clone, Debug)]
pub struct AuditLog {
    dir: PathBuf,
    id: Identity,
    /// Sinks that apply besides the vault's own list: the organisation's,
    /// which the caller read from its policy.
    extra_sinks: Vec<Sink>,
    /// Whether this handle (or a clone) appended records not yet offered
    /// to the sinks; shared so a lock guard holding a clone sees it.
    unshipped: Arc<AtomicBool>,
    /// Who a new audit key is sealed to (the organisation's escrow key).
    recipient: Option<PublicKey>,
    /// The shipment running in the background, shared by clones.
    background: Background,
}

struct Tail {
    seq: u64,
    hash: String,
    torn: u64,
}

impl AuditLog {
    /// The log of the vault in `vault_dir`.
    pub fn new(vault_dir: &Path, id: Identity) -> Self {
        AuditLog {
            dir: vault_dir.join(AUDIT_DIR),
            id,
            extra_sinks: Vec::new(),
            unshipped: Arc::new(AtomicBool::new(false)),
            recipient: None,
            background: Background::default(),
        }
    }

    /// The background shipment of this handle and its clones.
    pub(super) fn background(&self) -> &Background {
        &self.background
    }

    /// Seals this device's audit key, when it enrols, to `recipient` (the
    /// organisation's escrow public key), so an auditor can verify its
    /// records ([`super::seal`]).
    pub fn with_key_recipient(mut self, recipient: Option<PublicKey>) -> Self {
        self.recipient = recipient;
        self
    }

    /// Also ships to `sinks` (the organisation's, which apply whatever the
    /// vault's own list says).
    pub fn with_sinks(mut self, sinks: Vec<Sink>) -> Self {
        self.extra_sinks = sinks;
        self
    }

    /// The sinks given by [`AuditLog::with_sinks`].
    pub fn extra_sinks(&self) -> &[Sink] {
        &self.extra_sinks
    }

    /// The log file's path.
    pub fn path(&self) -> PathBuf {
        self.dir.join(LOG_FILE)
    }

    /// The vault folder the log belongs to.
    pub fn vault_dir(&self) -> &Path {
        self.dir.parent().expect("the log lives in vault/audit")
    }

    /// Who records are attributed to.
    pub fn identity(&self) -> &Identity {
        &self.id
    }

    /// Appends `events` as consecutive records, durably. Nothing is
    /// shipped here: that is [`AuditLog::ship_pending`]'s job, once the
    /// caller holds no lock.
    pub fn append(&self, events: &[AuditEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        fs::create_dir_all(&self.dir).ctx("creating the audit folder")?;
        let mut f = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(self.path())
            .ctx("opening the audit log")?;
        f.lock().ctx("locking the audit log")?;
        self.remove_torn_replacements();
        let tail = read_tail(&mut f)?;
        let state_path = self.dir.join(seal::state_file_name(&self.id.device));
        // The key of the next record; none (or one ahead of the log, which
        // was cut back) means this device enrols a new one first.
        let mut state = SealState::load(&state_path, &self.id.device)
            .and_then(|mut s| s.advance_to(tail.seq + 1).ok().map(|()| s));
        let mut out = Vec::new();
        let mut seq = tail.seq;
        let mut prev = tail.hash.clone();
        let mut last_key = None;
        let mut push = |event: EventKind,
                        detail: Map<String, serde_json::Value>,
                        state: &mut Option<SealState>,
                        out: &mut Vec<u8>| {
            seq += 1;
            let mut r = Record {
                seq,
                ts: jiff::Timestamp::now().to_string(),
                vault: self.id.vault.clone(),
                device: self.id.device.clone(),
                host: self.id.host.clone(),
                user: self.id.user.clone(),
                session: Some(session_id().to_owned()),
                event: event.as_str().into(),
                detail,
                prev: prev.clone(),
                mac: None,
            };
            if let Some(st) = state.as_mut() {
                st.advance_to(seq).expect("the state only moves forward");
                let unsealed = serde_json::to_vec(&r).expect("records serialize");
                r.mac = Some(seal::record_mac(&st.key, &unsealed));
                last_key = Some(st.key.clone());
            }
            let line = serde_json::to_vec(&r).expect("records serialize");
            prev = line_hash(&line);
            out.extend_from_slice(&line);
            out.push(b'\n');
        };
        if tail.torn > 0 {
            // Right after the torn line, as the chain's rule wants; unsealed
            // when this device has yet to enrol.
            out.push(b'\n');
            let mut d = Map::new();
            d.insert("torn_bytes".into(), tail.torn.into());
            push(EventKind::LogRepaired, d, &mut state, &mut out);
        }
        if state.is_none() {
            let at = tail.seq + 1 + u64::from(tail.torn > 0);
            let key = Key32::random();
            let detail = seal::enrolment_detail(
                &key,
                self.recipient.as_ref(),
                &self.id.vault,
                &self.id.device,
                at,
            );
            state = Some(SealState { seq: at, key });
            push(EventKind::AuditKey, detail, &mut state, &mut out);
        }
        for e in events {
            push(e.kind(), e.detail(), &mut state, &mut out);
        }
        f.write_all(&out).ctx("writing the audit log")?;
        f.sync_data().ctx("syncing the audit log")?;
        let mac = last_key.map(|k| seal::checkpoint_mac(&k, seq, &prev));
        if let Some(st) = state.as_mut() {
            // Only the next record's key stays on the device.
            st.advance_to(seq + 1)?;
            st.save(&state_path, &self.id.device)?;
        }
        let head = Checkpoint {
            seq,
            hash: prev,
            mac,
        };
        fsutil::atomic_write(
            &self.dir.join(HEAD_FILE),
            &serde_json::to_vec(&head).expect("serializes"),
        )?;
        let _ = f.unlock();
        self.unshipped.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Removes what a process killed while replacing the checkpoint or the
    /// sealing state left behind (their temp files). Both are replaced
    /// only under the log's lock, which the caller holds, so none of them
    /// is being written now. Best effort: they are never read.
    fn remove_torn_replacements(&self) {
        let Ok(rd) = fs::read_dir(&self.dir) else {
            return;
        };
        for e in rd.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            let ours = name.starts_with(&format!("{HEAD_FILE}.")) || name.starts_with("seal-");
            if ours && name.ends_with(crate::fsutil::TMP_SUFFIX) {
                let _ = fs::remove_file(e.path());
            }
        }
    }

    /// Whether this handle appended records it has not offered to the
    /// sinks yet, clearing the mark.
    pub(super) fn take_unshipped(&self) -> bool {
        self.unshipped.swap(false, Ordering::SeqCst)
    }

    /// Clears the mark: everything is being offered to the sinks now.
    pub(super) fn mark_offered(&self) {
        self.unshipped.store(false, Ordering::SeqCst);
    }

    /// The checkpoint written after the last append, if any.
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        fsutil::read_bounded(&self.dir.join(HEAD_FILE), 64 << 10, "audit checkpoint")
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    }
}

/// Reads the last complete record's sequence number and hash, and how many
/// bytes of a torn final line follow it.
fn read_tail(f: &mut File) -> Result<Tail> {
    let len = f.metadata().ctx("reading the audit log")?.len();
    if len == 0 {
        return Ok(Tail {
            seq: 0,
            hash: GENESIS.into(),
            torn: 0,
        });
    }
    let start = len.saturating_sub(TAIL_WINDOW);
    f.seek(SeekFrom::Start(start))
        .ctx("reading the audit log")?;
    let mut buf = Vec::new();
    f.take(TAIL_WINDOW)
        .read_to_end(&mut buf)
        .ctx("reading the audit log")?;
    let torn = buf.iter().rev().take_while(|b| **b != b'\n').count() as u64;
    let complete = &buf[..buf.len() - torn as usize];
    let last = complete
        .strip_suffix(b"\n")
        .and_then(|c| c.rsplit(|b| *b == b'\n').next())
        .filter(|l| !l.is_empty());
    match last {
        Some(line) => {
            let r: Record = serde_json::from_slice(line)
                .map_err(|_| Error::corrupt("audit log", "the last record does not parse"))?;
            Ok(Tail {
                seq: r.seq,
                hash: line_hash(line),
                torn,
            })
        }
        None if start == 0 => Ok(Tail {
            seq: 0,
            hash: GENESIS.into(),
            torn,
        }),
        None => Err(Error::corrupt("audit log", "last record too long")),
    }
}

/// Verifies a vault's own log against its checkpoint.
pub fn verify_vault_log(log: &AuditLog) -> Result<ChainReport> {
    let bytes = match fs::read(log.path()) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Err(Error::Io {
                context: "reading the audit log",
                source: e,
            });
        }
    };
    Ok(verify_chain(&bytes, log.checkpoint().as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::parse_records;

    fn log(dir: &Path) -> AuditLog {
        AuditLog::new(dir, Identity::current(&[1; 16]))
    }

    fn write_some(l: &AuditLog, n: usize) {
        for i in 0..n {
            l.append(&[AuditEvent::FileOpened {
                id: format!("{i:032x}"),
            }])
            .unwrap();
        }
    }

    fn lines(l: &AuditLog) -> Vec<Vec<u8>> {
        fs::read(l.path())
            .unwrap()
            .split(|b| *b == b'\n')
            .filter(|x| !x.is_empty())
            .map(|x| x.to_vec())
            .collect()
    }

    fn join(lines: &[Vec<u8>]) -> Vec<u8> {
        let mut v = Vec::new();
        for l in lines {
            v.extend_from_slice(l);
            v.push(b'\n');
        }
        v
    }

    #[test]
    fn chain_verifies_and_detects_every_kind_of_tampering() {
        let d = tempfile::tempdir().unwrap();
        let l = log(d.path());
        write_some(&l, 6);
        let cp = l.checkpoint().unwrap();
        let good = lines(&l);
        assert!(verify_chain(&join(&good), Some(&cp)).ok());
        // The six records and the device's enrolment before them.
        assert_eq!(verify_chain(&join(&good), Some(&cp)).verified, 7);

        let mut deleted = good.clone();
        deleted.remove(2);
        assert_eq!(verify_chain(&join(&deleted), None).broken.unwrap().0, 3);

        let mut edited = good.clone();
        edited[1] = String::from_utf8(edited[1].clone())
            .unwrap()
            .replace("file_opened", "file_opened ")
            .into_bytes();
        // Edited record 2 still parses; record 3's prev no longer matches.
        assert_eq!(verify_chain(&join(&edited), None).broken.unwrap().0, 3);

        let mut reordered = good.clone();
        reordered.swap(3, 4);
        assert_eq!(verify_chain(&join(&reordered), None).broken.unwrap().0, 4);

        let mut inserted = good.clone();
        inserted.insert(2, good[1].clone());
        assert_eq!(verify_chain(&join(&inserted), None).broken.unwrap().0, 3);

        let truncated = good[..4].to_vec();
        let rep = verify_chain(&join(&truncated), Some(&cp));
        assert!(rep.broken.is_none());
        assert!(
            rep.truncated.is_some(),
            "tail truncation caught by the checkpoint"
        );
    }

    #[test]
    fn torn_line_is_reported_then_acknowledged() {
        let d = tempfile::tempdir().unwrap();
        let l = log(d.path());
        write_some(&l, 2);
        let mut f = OpenOptions::new().append(true).open(l.path()).unwrap();
        f.write_all(br#"{"seq":3,"ts":"2026-"#).unwrap();
        drop(f);
        let rep = verify_chain(&fs::read(l.path()).unwrap(), None);
        assert!(rep.torn_tail && rep.broken.is_none());
        write_some(&l, 1);
        let rep = verify_chain(&fs::read(l.path()).unwrap(), l.checkpoint().as_ref());
        assert!(rep.ok(), "{rep:?}");
        assert_eq!(rep.repaired_tears, 1);
        let recs = parse_records(&fs::read(l.path()).unwrap());
        // The device's enrolment, two records, the repair, the record.
        assert_eq!(recs[3].event, "log_repaired");
        assert_eq!(recs.last().unwrap().seq, 5);
    }

    #[test]
    fn temp_files_of_a_killed_replacement_go_with_the_next_append() {
        let d = tempfile::tempdir().unwrap();
        let l = log(d.path());
        write_some(&l, 1);
        let dir = l.path().parent().unwrap().to_path_buf();
        for name in [
            "head.json.0123456789ab.tmp",
            "seal-00.json.0123456789ab.tmp",
        ] {
            fs::write(dir.join(name), b"torn").unwrap();
        }
        fs::write(dir.join("sinks.json.0123456789ab.tmp"), b"not ours").unwrap();
        write_some(&l, 1);
        let left: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert_eq!(left, vec!["sinks.json.0123456789ab.tmp".to_owned()]);
    }
}
