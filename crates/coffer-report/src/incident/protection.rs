//! Findings 3, 4, 6 and 7: how the files and keys were protected, from
//! the last status record before the loss — the encryption, the key
//! rotation, full-disk encryption and escrow.

use std::fmt::Write as _;

use coffer_core::audit::{EventKind, Record};
use jiff::Timestamp;

use super::{Assessment, Finding, IncidentFacts, KdfParams, Notes};
use crate::text::{
    detail_summary, human_bytes, human_duration, human_time, human_ts, kdf_text, record_ids,
    records_ref,
};

/// How the files were protected: the last status record before the loss,
/// and the files added or removed after it. Fills the status facts the
/// later findings read.
pub(crate) fn protection(
    before: &[&Record],
    lost_at: Timestamp,
    facts: &mut IncidentFacts,
    notes: &mut Notes,
) {
    let status = before
        .iter()
        .rev()
        .find_map(|r| r.status().map(|st| (*r, st)));
    if let Some((s, st)) = status {
        facts.status_seq = Some(s.seq);
        facts.objects = st.objects;
        facts.stored_bytes = st.stored_bytes;
        facts.cipher = st.cipher.clone();
        facts.key_wrap = st.key_wrap.clone();
        facts.key_version = st.key_version;
        facts.disk_encryption = st
            .disk_encryption
            .clone()
            .unwrap_or_else(|| "unknown".into());
        facts.escrow = st.escrow;
        facts.slots = st.slots.clone().unwrap_or_default();
        facts.kdf = st.kdf.as_ref().map(|k| KdfParams {
            alg: k.alg.clone(),
            m_kib: k.m_kib,
            t: k.t,
            p: k.p,
        });
        let kdf = st.kdf.as_ref().map(kdf_text);
        let created = st
            .key_version_created
            .and_then(|c| Timestamp::from_second(c).ok());
        facts.key_version_created = created.map(|t| t.to_string());
        facts.key_age_days = created.map(|t| (lost_at.as_second() - t.as_second()).max(0) / 86_400);
        for r in before.iter().filter(|r| r.seq > s.seq) {
            match r.kind() {
                Some(EventKind::FileAdded) => {
                    facts.files_added_after_status += record_ids(r).len() as u64
                }
                Some(EventKind::FileRemoved) => {
                    facts.files_removed_after_status += record_ids(r).len() as u64
                }
                _ => {}
            }
        }
        let objects = facts.objects.unwrap_or(0);
        let mut answer = format!(
            "At {} (record #{}, the last status record before the loss) the vault held {} encrypted file(s), counting kept versions ({} of ciphertext), in {} protected folder(s). Contents: {}. File keys wrapped with {}.",
            human_time(&s.ts),
            s.seq,
            objects,
            human_bytes(facts.stored_bytes.unwrap_or(0)),
            st.protected_folders.unwrap_or(0),
            facts.cipher.as_deref().unwrap_or("not stated"),
            facts.key_wrap.as_deref().unwrap_or("not stated"),
        );
        match &kdf {
            Some(k) => {
                let _ = write!(answer, " Passphrase key derived with {k}.");
            }
            None => answer.push_str(" No passphrase slot."),
        }
        if let Some(v) = facts.key_version {
            let _ = write!(answer, " Key version {v}");
            if let Some(c) = created {
                let _ = write!(
                    answer,
                    ", created {} ({} before the loss)",
                    human_ts(c),
                    human_duration(lost_at.as_second() - c.as_second())
                );
            }
            answer.push('.');
        }
        if !facts.slots.is_empty() {
            let _ = write!(answer, " Key slots: {}.", facts.slots.join(", "));
        }
        let mut proof = vec![s.seq];
        if facts.files_added_after_status + facts.files_removed_after_status > 0 {
            let later: Vec<u64> = before
                .iter()
                .filter(|r| {
                    r.seq > s.seq && (r.is(EventKind::FileAdded) || r.is(EventKind::FileRemoved))
                })
                .map(|r| r.seq)
                .collect();
            let _ = write!(
                answer,
                " After that record and before the loss, {} file(s) were added to the vault (encrypted as they entered) and {} removed ({}).",
                facts.files_added_after_status,
                facts.files_removed_after_status,
                records_ref(&later, 10)
            );
            proof.extend(later);
        }
        if st.rotation_in_progress == Some(true) {
            answer.push_str(
                " A key rotation was in progress: files were under the old or the new key version, encrypted either way.",
            );
        }
        let coffer_cipher = facts
            .cipher
            .as_deref()
            .is_some_and(|c| c.starts_with("AES-256-GCM"));
        notes.findings.push(Finding {
            topic: "protection".into(),
            question: "How were the files protected?".into(),
            answer,
            proof,
            assessment: if coffer_cipher {
                Assessment::Good
            } else {
                Assessment::Unknown
            },
        });
        if coffer_cipher {
            notes.goods.push(format!(
                "{} file(s) encrypted with AES-256-GCM{} (record #{})",
                objects + facts.files_added_after_status,
                kdf.as_ref()
                    .map(|k| format!(", passphrase key from {k}"))
                    .unwrap_or_default(),
                s.seq
            ));
        } else {
            notes.unknowns.push(format!(
                "the status record #{} does not state AES-256-GCM encryption",
                s.seq
            ));
        }
        if st.policy_compliant == Some(false) {
            let problems = st.policy_problems.clone().unwrap_or_default();
            notes.caveats.push(format!(
                "The device did not meet the organisation's policy (record #{}): {}.",
                s.seq,
                if problems.is_empty() {
                    "no detail recorded".to_owned()
                } else {
                    problems.join("; ")
                }
            ));
        }
        let same_device: Vec<&str> = facts
            .slots
            .iter()
            .map(String::as_str)
            .filter(|k| SAME_DEVICE_SLOTS.contains(k))
            .collect();
        if !same_device.is_empty() {
            notes.unknowns.push(format!(
                "the vault could be unlocked on the laptop itself, without any credential the thief lacks: a {} slot was enrolled (record #{}), and no record can show the laptop was powered off; while its OS session runs, even screen-locked, the keychain is open and the key is on the device",
                same_device.join(", "),
                s.seq
            ));
        }
    } else {
        notes.findings.push(Finding {
            topic: "protection".into(),
            question: "How were the files protected?".into(),
            answer: "No status record was shipped before the loss, so the number of files, the key version and the key-derivation parameters cannot be shown from this evidence (Coffer always encrypts file contents with AES-256-GCM, but the records must show it).".into(),
            proof: vec![],
            assessment: Assessment::Unknown,
        });
        notes
            .unknowns
            .push("no status record before the loss shows how the files were protected".into());
    }
}

/// Slot kinds that open the vault from what the device itself holds
/// (an OS credential store unlocked with the user's session).
const SAME_DEVICE_SLOTS: [&str; 1] = ["keychain"];

/// When the keys were last rotated (for information).
pub(crate) fn rotation(before: &[&Record], facts: &mut IncidentFacts, notes: &mut Notes) {
    let rotation = before
        .iter()
        .rev()
        .find(|r| r.is(EventKind::RotationFinished))
        .copied();
    facts.last_rotation_seq = rotation.map(|r| r.seq);
    notes.findings.push(match rotation {
        Some(r) => Finding {
            topic: "rotation".into(),
            question: "When were the keys last rotated?".into(),
            answer: format!(
                "{} (record #{}): {}.",
                human_time(&r.ts),
                r.seq,
                detail_summary(r)
            ),
            proof: vec![r.seq],
            assessment: Assessment::Info,
        },
        None => Finding {
            topic: "rotation".into(),
            question: "When were the keys last rotated?".into(),
            answer: match &facts.key_version_created {
                Some(c) => format!(
                    "No rotation is recorded before the loss; the key version in force dates from {}.",
                    human_time(c)
                ),
                None => "No rotation is recorded before the loss.".into(),
            },
            proof: facts.status_seq.into_iter().collect(),
            assessment: Assessment::Info,
        },
    });
}

/// Whether full-disk encryption was on, per the status record.
pub(crate) fn disk_encryption(facts: &IncidentFacts, notes: &mut Notes) {
    notes.findings.push(Finding {
        topic: "disk_encryption".into(),
        question: "Was full-disk encryption on?".into(),
        answer: match (facts.disk_encryption.as_str(), facts.status_seq) {
            ("on", Some(q)) => format!("Yes (record #{q})."),
            ("off", Some(q)) => format!(
                "No (record #{q}). The files in the vault are encrypted by Coffer, but copies outside protected folders, application caches, swap and the disk blocks of deleted plaintext were not encrypted."
            ),
            (_, Some(q)) => format!("Could not be determined on the laptop (record #{q})."),
            (_, None) => "No status record before the loss states it.".into(),
        },
        proof: facts.status_seq.into_iter().collect(),
        assessment: match facts.disk_encryption.as_str() {
            "on" => Assessment::Good,
            "off" => Assessment::Warning,
            _ => Assessment::Unknown,
        },
    });
}

/// Whether an organisation escrow slot existed, per the status record.
pub(crate) fn escrow(facts: &IncidentFacts, notes: &mut Notes) {
    notes.findings.push(Finding {
        topic: "escrow".into(),
        question: "Were the keys escrowed with the organisation?".into(),
        answer: match (facts.escrow, facts.status_seq) {
            (Some(true), Some(q)) => format!(
                "Yes (record #{q}): an organisation escrow slot existed, so the organisation can recover the vault with its escrow private key, which is not on the laptop. That key must stay in the organisation's custody for the files to stay unreadable."
            ),
            (Some(false), Some(q)) => format!(
                "No (record #{q}): no organisation escrow slot; only the user's own credentials open the vault."
            ),
            _ => "No status record before the loss states it.".into(),
        },
        proof: facts.status_seq.into_iter().collect(),
        assessment: Assessment::Info,
    });
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::incident::testing::{facts, rec, ts};

    const LOST: &str = "2026-03-02T18:30:00Z";

    fn status(fde: &str, escrow: bool) -> Value {
        json!({
            "objects": 40,
            "stored_bytes": 7_200_000,
            "cipher": "AES-256-GCM (64 KiB chunks, random key per file)",
            "key_wrap": "HPKE X25519/HKDF-SHA256/AES-256-GCM",
            "key_version": 2,
            "key_version_created": ts("2026-02-20T18:30:00Z").as_second(),
            "kdf": {"alg": "argon2id", "m_kib": 262144, "t": 3, "p": 4},
            "slots": ["passphrase", "keychain"],
            "escrow": escrow,
            "protected_folders": 2,
            "disk_encryption": fde,
            "policy_compliant": false,
            "policy_problems": ["full-disk encryption: Off"],
        })
    }

    #[test]
    fn the_last_status_before_the_loss_shows_the_protection() {
        let r = [
            rec(1, "2026-03-02T08:00:00Z", "status", status("off", false)),
            rec(
                2,
                "2026-03-02T09:00:00Z",
                "file_added",
                json!({"ids": ["a", "b"]}),
            ),
            rec(
                3,
                "2026-03-02T09:05:00Z",
                "file_removed",
                json!({"ids": ["c"]}),
            ),
        ];
        let before: Vec<&Record> = r.iter().collect();
        let (mut f, mut n) = (facts(), Notes::default());
        protection(&before, ts(LOST), &mut f, &mut n);
        assert_eq!(f.status_seq, Some(1));
        assert_eq!(
            (f.objects, f.key_version, f.key_age_days),
            (Some(40), Some(2), Some(10))
        );
        assert_eq!(
            (f.files_added_after_status, f.files_removed_after_status),
            (2, 1)
        );
        assert_eq!(f.disk_encryption, "off");
        assert_eq!(f.escrow, Some(false));
        assert_eq!(f.slots, ["passphrase", "keychain"]);
        assert_eq!(f.kdf.as_ref().map(|k| k.m_kib), Some(262144));
        let p = &n.findings[0];
        assert_eq!(
            (p.topic.as_str(), p.assessment),
            ("protection", Assessment::Good)
        );
        assert_eq!(p.proof, [1, 2, 3]);
        assert!(p.answer.contains("40 encrypted file(s)"));
        assert!(p.answer.contains("(6.9 MiB of ciphertext)"));
        assert!(
            p.answer
                .contains("Argon2id (memory 256 MiB, 3 passes, 4 lanes)")
        );
        assert!(p.answer.contains("2 file(s) were added"));
        assert!(n.goods[0].starts_with("42 file(s) encrypted with AES-256-GCM"));
        // The policy problems are a caveat; a keychain slot on a laptop
        // that may have been running leaves the verdict open.
        assert_eq!(n.caveats.len(), 1);
        assert!(n.caveats[0].ends_with("(record #1): full-disk encryption: Off."));
        assert_eq!(n.unknowns.len(), 1);
        assert!(
            n.unknowns[0].starts_with(
                "the vault could be unlocked on the laptop itself, without any credential the thief lacks: a keychain slot was enrolled (record #1)"
            ),
            "{:?}",
            n.unknowns
        );
    }

    #[test]
    fn odd_status_fields_read_as_they_always_did() {
        let mut st = status("on", true);
        st["objects"] = json!("forty");
        st["key_version"] = json!(-2);
        st["disk_encryption"] = json!(true);
        st["slots"] = json!(["passphrase", 3, "keychain"]);
        st["kdf"] = json!({"alg": null, "m_kib": 65536, "t": 2, "p": 1});
        st["policy_problems"] = json!(["full-disk encryption: Off", {"x": 1}]);
        let r = [
            rec(1, "2026-03-02T07:00:00Z", "status", status("on", true)),
            rec(2, "2026-03-02T08:00:00Z", "status", st),
            // A record of another kind with status-like fields is not read.
            rec(3, "2026-03-02T08:30:00Z", "lock", json!({"objects": 1})),
        ];
        let before: Vec<&Record> = r.iter().collect();
        let (mut f, mut n) = (facts(), Notes::default());
        protection(&before, ts(LOST), &mut f, &mut n);
        assert_eq!(f.status_seq, Some(2));
        assert_eq!((f.objects, f.key_version), (None, None));
        assert_eq!(f.disk_encryption, "unknown");
        assert_eq!(f.slots, ["passphrase", "keychain"]);
        assert_eq!(f.kdf.as_ref().map(|k| k.alg.as_str()), Some("argon2id"));
        let p = &n.findings[0];
        assert!(p.answer.contains("held 0 encrypted file(s)"));
        assert!(
            p.answer
                .contains("Argon2id (memory 64 MiB, 2 passes, 1 lanes)")
        );
        assert!(!p.answer.contains(" Key version"));
        assert!(n.caveats[0].ends_with("(record #2): full-disk encryption: Off."));
    }

    #[test]
    fn without_a_status_record_the_protection_is_unknown() {
        let (mut f, mut n) = (facts(), Notes::default());
        protection(&[], ts(LOST), &mut f, &mut n);
        assert_eq!(n.findings[0].assessment, Assessment::Unknown);
        assert_eq!(
            n.unknowns,
            ["no status record before the loss shows how the files were protected"]
        );
        disk_encryption(&f, &mut n);
        escrow(&f, &mut n);
        rotation(&[], &mut f, &mut n);
        assert_eq!(
            n.findings[1].answer,
            "No status record before the loss states it."
        );
        assert_eq!(n.findings[1].assessment, Assessment::Unknown);
        assert_eq!(
            n.findings[2].answer,
            "No status record before the loss states it."
        );
        assert_eq!(
            n.findings[3].answer,
            "No rotation is recorded before the loss."
        );
        assert!(n.findings[3].proof.is_empty());
    }

    #[test]
    fn rotation_disk_encryption_and_escrow_read_the_status_facts() {
        let r = [rec(
            4,
            "2026-03-02T13:01:00Z",
            "rotation_finished",
            json!({"kind": "rewrap", "key_version": 2, "files": 43}),
        )];
        let before: Vec<&Record> = r.iter().collect();
        let mut f = IncidentFacts {
            status_seq: Some(9),
            disk_encryption: "on".into(),
            escrow: Some(true),
            ..facts()
        };
        let mut n = Notes::default();
        rotation(&before, &mut f, &mut n);
        disk_encryption(&f, &mut n);
        escrow(&f, &mut n);
        assert_eq!(f.last_rotation_seq, Some(4));
        assert_eq!(
            n.findings[0].answer,
            "2026-03-02 13:01:00 UTC (record #4): rewrap, key version 2, 43 files."
        );
        assert_eq!(n.findings[0].assessment, Assessment::Info);
        assert_eq!(n.findings[1].answer, "Yes (record #9).");
        assert_eq!(n.findings[1].assessment, Assessment::Good);
        assert!(
            n.findings[2]
                .answer
                .starts_with("Yes (record #9): an organisation escrow slot existed")
        );
        assert_eq!(n.findings[2].proof, [9]);
    }
}
