//! The incident report for a lost or stolen laptop, built from the copy of
//! its log shipped to a sink, so it never needs the laptop: was the vault
//! locked at the time of loss and since when, how the files were
//! protected, whether plaintext was waiting in a protected folder, disk
//! encryption, escrow, whether the shipped chain verifies, and a verdict
//! on the HIPAA breach safe harbor. Each statement names the record(s)
//! that prove it.
//!
//! [`incident_report`] only orchestrates. Each question is one function
//! over the records, in its own room, that adds its [`Finding`] and its
//! notes (caveats, and the reasons that decide the verdict) and fills its
//! part of the [`IncidentFacts`]:
//!
//! - `timeline`: records before and after the loss, and whose they are;
//! - `chain`: does the shipped log verify;
//! - `lock`: was the vault locked at the loss;
//! - `protection`: encryption, key rotation, disk encryption, escrow;
//! - `plaintext`: was plaintext waiting in a protected folder;
//! - `evidence`: how complete the evidence is, what happened after the
//!   loss, integrity failures.
//!
//! The steps run in that order; later ones read the facts earlier ones
//! filled (the status record's disk encryption, say).

use coffer_core::audit::{AuditKeys, Record, verify_chain};
use jiff::Timestamp;

use crate::receipts::Arrivals;
use crate::records::ChainStatus;
use crate::text::human_time;

mod authenticity;
mod chain;
mod evidence;
mod lock;
mod model;
mod plaintext;
mod protection;
mod timeline;

pub use model::{Assessment, Finding, IncidentFacts, IncidentReport, KdfParams, Verdict};

/// What the steps conclude besides the facts, in the order they ran.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    /// The questions and answers.
    pub findings: Vec<Finding>,
    /// Things the reader should check that do not decide the verdict.
    pub caveats: Vec<String>,
    /// Why the safe harbor does not hold.
    pub fails: Vec<String>,
    /// Why it cannot be established.
    pub unknowns: Vec<String>,
    /// Why it holds.
    pub goods: Vec<String>,
}

/// Builds the incident report for `device`, lost or stolen at `lost_at`,
/// from the records of its shipped copy (`records`) and the copy's raw
/// bytes (`raw`, for chain verification). Times are compared as the laptop
/// recorded them.
pub fn incident_report(
    records: &[Record],
    raw: &[u8],
    device: &str,
    lost_at: Timestamp,
) -> IncidentReport {
    incident_report_with(records, raw, device, lost_at, &IncidentOptions::default())
}

/// What an incident report is held to besides the records.
#[non_exhaustive]
pub struct IncidentOptions {
    /// The longest stretch (seconds) before the loss that may go without a
    /// record before the verdict cannot be established (default
    /// [`DEFAULT_MAX_GAP_SECS`]).
    pub max_gap_secs: i64,
    /// The keys that verify the devices' seals (opened with the
    /// organisation's escrow private key).
    pub keys: Option<AuditKeys>,
    /// The collector's receipts and the copy's change time.
    pub arrivals: Option<Arrivals>,
    /// Records not shown to be the device's own leave the verdict open
    /// (by default they are a caveat).
    pub require_authenticated: bool,
}

/// Three hours: a running Coffer writes a status record hourly, so two
/// missed heartbeats and some slack.
pub const DEFAULT_MAX_GAP_SECS: i64 = 3 * 3600;

impl Default for IncidentOptions {
    fn default() -> Self {
        IncidentOptions {
            max_gap_secs: DEFAULT_MAX_GAP_SECS,
            keys: None,
            arrivals: None,
            require_authenticated: false,
        }
    }
}

impl IncidentOptions {
    /// Holds the evidence to a gap of at most `secs` seconds.
    pub fn max_gap_secs(mut self, secs: i64) -> Self {
        self.max_gap_secs = secs;
        self
    }

    /// Verifies the devices' seals with `keys`.
    pub fn keys(mut self, keys: AuditKeys) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Orders evidence by the collector's arrival times.
    pub fn arrivals(mut self, arrivals: Arrivals) -> Self {
        self.arrivals = Some(arrivals);
        self
    }

    /// Makes records not shown to be the device's own an open question.
    pub fn require_authenticated(mut self, yes: bool) -> Self {
        self.require_authenticated = yes;
        self
    }
}

/// [`incident_report`] held to `opts`.
pub fn incident_report_with(
    records: &[Record],
    raw: &[u8],
    device: &str,
    lost_at: Timestamp,
    opts: &IncidentOptions,
) -> IncidentReport {
    let chain = ChainStatus::new(&verify_chain(raw, None));
    let mut facts = IncidentFacts {
        disk_encryption: "unknown".into(),
        ..Default::default()
    };
    let mut notes = Notes::default();
    let t = timeline::place(
        records,
        lost_at,
        opts.arrivals.as_ref(),
        &mut facts,
        &mut notes,
    );
    let who = timeline::provenance(records, device, &mut notes);
    chain::chain(&chain, records, &mut notes);
    authenticity::authenticity(
        records,
        raw,
        device,
        &authenticity::Given {
            keys: opts.keys.as_ref(),
            arrivals: opts.arrivals.as_ref(),
            require: opts.require_authenticated,
        },
        &mut facts,
        &mut notes,
    );
    lock::lock_state(
        &t.before,
        lost_at,
        opts.max_gap_secs,
        &mut facts,
        &mut notes,
    );
    protection::protection(&t.before, lost_at, &mut facts, &mut notes);
    protection::rotation(&t.before, &mut facts, &mut notes);
    plaintext::plaintext(&t.before, &mut facts, &mut notes);
    protection::disk_encryption(&facts, &mut notes);
    protection::escrow(&facts, &mut notes);
    evidence::evidence(
        records,
        &t.before,
        lost_at,
        opts.max_gap_secs,
        &mut facts,
        &mut notes,
    );
    evidence::after_loss(&t.after, &mut notes);
    evidence::integrity(&t.before, &mut notes);
    let Notes {
        findings,
        caveats,
        fails,
        unknowns,
        goods,
    } = notes;
    let (verdict, verdict_text, reasons) = verdict(fails, unknowns, goods, &facts);
    IncidentReport {
        generated_at: Timestamp::now().to_string(),
        device: device.to_owned(),
        hosts: who.hosts.into_iter().map(str::to_owned).collect(),
        vaults: who.vaults.into_iter().map(str::to_owned).collect(),
        lost_at: lost_at.to_string(),
        verdict,
        verdict_text,
        reasons,
        chain,
        findings,
        caveats,
        limits: incident_limits(),
        facts,
    }
}

/// The verdict, its sentence and its reasons: any reason it does not hold
/// decides (the open questions follow); else any open question; else it
/// holds, for the reasons found.
fn verdict(
    fails: Vec<String>,
    unknowns: Vec<String>,
    goods: Vec<String>,
    facts: &IncidentFacts,
) -> (Verdict, String, Vec<String>) {
    let last_at = facts
        .last_record_at
        .as_deref()
        .map(human_time)
        .unwrap_or_else(|| "nothing".into());
    if !fails.is_empty() {
        let mut r = fails;
        r.extend(unknowns);
        (
            Verdict::DoesNotHold,
            "Safe harbor does NOT hold: the records show the data was readable when the laptop was lost.".to_owned(),
            r,
        )
    } else if !unknowns.is_empty() {
        (
            Verdict::CannotBeEstablished,
            "Safe harbor cannot be established from this evidence.".to_owned(),
            unknowns,
        )
    } else {
        (
            Verdict::Holds,
            format!(
                "Safe harbor holds, on the records up to {last_at}: the vault was locked and its files encrypted when the laptop was lost."
            ),
            goods,
        )
    }
}

fn incident_limits() -> Vec<String> {
    [
        "This report rests on the records the laptop shipped. It cannot show what happened after the last shipped record: records ship on every write while the log store is reachable, and queue on the laptop while it is not.",
        "Times are the laptop's own clock, except where the collector's receipts or the copy's file time show when records arrived: a record that arrived after the loss counts as after it.",
        "Safe harbor also requires that the keys were not compromised. A passphrase written down, shared or phished, or a recovery key kept with the laptop, defeats it; no record can show that.",
        "While the vault is unlocked, files are readable to the user and to any malware in the session. An unlocked session before the loss could have copied files; this report cannot show that.",
        "A locked vault protects the files inside it. Copies outside protected folders, email attachments, application caches and swap are covered only by full-disk encryption.",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

/// Records and facts for the steps' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use coffer_core::audit::Record;
    use jiff::Timestamp;
    use serde_json::Value;

    use super::IncidentFacts;

    /// A record of device `d`, host `h`, vault `v`, by alice; the steps
    /// read no hash, so `prev` is empty.
    pub fn rec(seq: u64, ts: &str, event: &str, detail: Value) -> Record {
        Record {
            seq,
            ts: ts.into(),
            vault: "v".into(),
            device: "d".into(),
            host: "h".into(),
            user: "alice".into(),
            session: None,
            event: event.into(),
            detail: match detail {
                Value::Object(m) => m,
                _ => Default::default(),
            },
            prev: String::new(),
            mac: None,
        }
    }

    /// Parses an RFC 3339 time.
    pub fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// The facts as the report starts them.
    pub fn facts() -> IncidentFacts {
        IncidentFacts {
            disk_encryption: "unknown".into(),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn a_reason_it_does_not_hold_decides_the_verdict() {
        let f = testing::facts();
        let (v, text, reasons) = verdict(s(&["unlocked"]), s(&["no status"]), s(&["ok"]), &f);
        assert_eq!(v, Verdict::DoesNotHold);
        assert!(text.starts_with("Safe harbor does NOT hold"));
        assert_eq!(reasons, s(&["unlocked", "no status"]));

        let (v, text, reasons) = verdict(vec![], s(&["no status"]), s(&["ok"]), &f);
        assert_eq!(v, Verdict::CannotBeEstablished);
        assert_eq!(
            text,
            "Safe harbor cannot be established from this evidence."
        );
        assert_eq!(reasons, s(&["no status"]));

        let f = IncidentFacts {
            last_record_at: Some("2026-03-02T17:00:00Z".into()),
            ..testing::facts()
        };
        let (v, text, reasons) = verdict(vec![], vec![], s(&["ok"]), &f);
        assert_eq!(v, Verdict::Holds);
        assert!(
            text.starts_with("Safe harbor holds, on the records up to 2026-03-02 17:00:00 UTC:")
        );
        assert_eq!(reasons, s(&["ok"]));
    }

    #[test]
    fn the_report_asks_every_question_in_order() {
        let rep = incident_report(&[], b"", "d", testing::ts("2026-03-02T18:30:00Z"));
        let topics: Vec<&str> = rep.findings.iter().map(|f| f.topic.as_str()).collect();
        // No record: no evidence or after-loss finding.
        assert_eq!(
            topics,
            [
                "chain",
                "authenticity",
                "lock_state",
                "protection",
                "rotation",
                "plaintext",
                "disk_encryption",
                "escrow"
            ]
        );
        assert_eq!(rep.limits.len(), 5);
        assert_eq!(rep.verdict, Verdict::CannotBeEstablished);
    }
}
