//! The hash chain: each line carries the SHA-256 of the line before it, so
//! deleting, editing, inserting, reordering or truncating records is
//! detectable. Verification of a log's bytes against an expected tail.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::record::{EventKind, parse_record};

/// `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 of a record line (without its newline), hex.
pub fn line_hash(line: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(line))
}

/// The last-known head of the chain, kept beside the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Sequence number of the last record.
    pub seq: u64,
    /// Its line hash.
    pub hash: String,
    /// Its seal ([`super::seal::checkpoint_mac`]), under the key of record
    /// `seq`; absent for an unsealed log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

/// What chain verification found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ChainReport {
    /// Records that verified, in order.
    pub verified: u64,
    /// Sequence number of the last verified record.
    pub last_seq: u64,
    /// Hash of the last verified record.
    pub last_hash: String,
    /// The first break: line number (1-based) and what is wrong.
    pub broken: Option<(u64, String)>,
    /// Lines torn by a crash and acknowledged by a `log_repaired` record.
    pub repaired_tears: u64,
    /// A torn final line not yet acknowledged (a crash during the last append).
    pub torn_tail: bool,
    /// The log ends before the checkpoint / shipped copy says it should.
    pub truncated: Option<String>,
}

impl ChainReport {
    /// Whether the whole chain verified and nothing is missing.
    pub fn ok(&self) -> bool {
        self.broken.is_none() && self.truncated.is_none()
    }
}

/// Verifies a log's bytes: every line parses, sequence numbers run 1, 2,
/// 3, ... and each `prev` is the hash of the line before. A torn line is
/// accepted only when the next record is a `log_repaired` naming it.
/// `expected_tail` (a checkpoint, or the head of a shipped copy) catches a
/// truncated tail.
pub fn verify_chain(bytes: &[u8], expected_tail: Option<&Checkpoint>) -> ChainReport {
    let mut r = ChainReport {
        last_hash: GENESIS.into(),
        ..Default::default()
    };
    let ends_clean = bytes.is_empty() || bytes.ends_with(b"\n");
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    let n = lines.len() - usize::from(ends_clean || bytes.is_empty());
    let mut pending_tear: Option<usize> = None;
    for (i, line) in lines.iter().take(n).enumerate() {
        let lineno = i as u64 + 1;
        if line.is_empty() {
            if ends_clean && i + 1 == lines.len() - 1 {
                break;
            }
            r.broken = Some((lineno, "empty line".into()));
            return r;
        }
        let last_line = i + 1 == n;
        let rec = match parse_record(line) {
            Some(rec) => rec,
            None if last_line && !ends_clean => {
                r.torn_tail = true;
                break;
            }
            None => {
                if pending_tear.is_some() {
                    r.broken = Some((lineno, "two unreadable lines in a row".into()));
                    return r;
                }
                pending_tear = Some(line.len());
                continue;
            }
        };
        if let Some(torn) = pending_tear.take() {
            let named = rec.detail.get("torn_bytes").and_then(Value::as_u64);
            if !rec.is(EventKind::LogRepaired) || named != Some(torn as u64) {
                r.broken = Some((lineno - 1, "a record was damaged or edited".into()));
                return r;
            }
            r.repaired_tears += 1;
        }
        if rec.seq != r.last_seq + 1 {
            r.broken = Some((
                lineno,
                format!(
                    "sequence number {} follows {}: records were deleted, inserted or reordered",
                    rec.seq, r.last_seq
                ),
            ));
            return r;
        }
        if rec.prev != r.last_hash {
            r.broken = Some((
                lineno,
                "hash chain broken: the record before it was edited, deleted or replaced".into(),
            ));
            return r;
        }
        r.verified += 1;
        r.last_seq = rec.seq;
        r.last_hash = line_hash(line);
    }
    if let Some(exp) = expected_tail {
        if exp.seq > r.last_seq {
            r.truncated = Some(format!(
                "the log ends at record {} but record {} was written: the tail was removed",
                r.last_seq, exp.seq
            ));
        } else if exp.seq == r.last_seq && exp.hash != r.last_hash {
            r.truncated = Some(format!("record {} differs from the checkpoint", exp.seq));
        }
    }
    r
}
