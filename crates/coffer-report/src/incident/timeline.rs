//! Placing the shipped records around the moment of loss, and saying
//! whose records the copy holds.

use std::collections::BTreeSet;

use coffer_core::audit::Record;
use jiff::Timestamp;

use super::{IncidentFacts, Notes};
use crate::receipts::Arrivals;
use crate::text::{human_ts, parse_ts, seq_list};

/// How far (seconds) a record may be dated before the one preceding it
/// before the clock counts as having gone backwards: time daemons step a
/// clock by fractions of a second, and appends by several processes take
/// their times before they take turns at the log.
pub(crate) const CLOCK_SLACK: i64 = 2;

/// The records dated at or before the loss, and those after it.
#[derive(Debug, Default)]
pub(crate) struct Timeline<'a> {
    /// At or before the loss, in log order.
    pub before: Vec<&'a Record>,
    /// After the loss, in log order.
    pub after: Vec<&'a Record>,
}

/// Places every record before or after the loss by its own time; an
/// unreadable time inherits the one before it. A clock that went
/// backwards leaves the verdict open; unreadable times are a caveat.
pub(crate) fn place<'a>(
    records: &'a [Record],
    lost_at: Timestamp,
    arrivals: Option<&Arrivals>,
    facts: &mut IncidentFacts,
    notes: &mut Notes,
) -> Timeline<'a> {
    let mut before: Vec<&Record> = Vec::new();
    let mut after: Vec<&Record> = Vec::new();
    let mut prev_t: Option<Timestamp> = None;
    let mut backwards = Vec::new();
    let mut undated = Vec::new();
    let mut late = Vec::new();
    for r in records {
        let t = match parse_ts(&r.ts) {
            Some(t) => {
                if prev_t.is_some_and(|p| t.as_second() + CLOCK_SLACK < p.as_second()) {
                    backwards.push(r.seq);
                }
                prev_t = Some(t);
                Some(t)
            }
            None => {
                undated.push(r.seq);
                prev_t
            }
        };
        if t.is_some_and(|t| t > lost_at) {
            after.push(r);
        } else if arrivals.is_some_and(|a| !a.arrived_before(r.seq, lost_at)) {
            // Dated before the loss, but the collector did not have it
            // before: whatever time it claims, it counts as after.
            late.push(r.seq);
            after.push(r);
        } else {
            before.push(r);
        }
    }
    if let (Some(a), false) = (arrivals, late.is_empty()) {
        let by = a
            .arrived_by(late[0])
            .map(|t| format!("first shown at the collector at {}", human_ts(t)))
            .unwrap_or_else(|| "no collector receipt or file time shows when".into());
        notes.unknowns.push(format!(
            "record(s) {} are dated before the loss but are not shown to have arrived before it ({by}): they are treated as after the loss",
            seq_list(&late, 8)
        ));
        facts.late_records = late;
    }
    facts.records_before_loss = before.len() as u64;
    facts.records_after_loss = after.len() as u64;
    facts.clock_backwards_seqs = backwards.clone();
    if !backwards.is_empty() {
        notes.unknowns.push(format!(
            "the laptop's clock went backwards at record(s) {} (each is dated more than {CLOCK_SLACK} s before the record preceding it): record times cannot place events before or after the loss",
            seq_list(&backwards, 8)
        ));
    }
    if !undated.is_empty() {
        notes.caveats.push(format!(
            "Record(s) {} carry an unreadable time and were placed by their order.",
            seq_list(&undated, 8)
        ));
    }
    Timeline { before, after }
}

/// Whose records the copy holds.
#[derive(Debug, Default)]
pub(crate) struct Provenance<'a> {
    /// Host names the lost device's records carry.
    pub hosts: BTreeSet<&'a str>,
    /// Vault ids in the copy.
    pub vaults: BTreeSet<&'a str>,
}

/// The lost device's host names and the copy's vaults; a copy without the
/// device's records, with another device's, or of several vaults is a
/// caveat.
pub(crate) fn provenance<'a>(
    records: &'a [Record],
    device: &str,
    notes: &mut Notes,
) -> Provenance<'a> {
    let hosts: BTreeSet<&str> = records
        .iter()
        .filter(|r| r.device == device)
        .map(|r| r.host.as_str())
        .collect();
    let vaults: BTreeSet<&str> = records.iter().map(|r| r.vault.as_str()).collect();
    let other_devices: BTreeSet<&str> = records
        .iter()
        .filter(|r| r.device != device)
        .map(|r| r.device.as_str())
        .collect();
    if !records.is_empty() && hosts.is_empty() {
        notes.caveats.push(format!(
            "No record in this copy carries device id {device}: check that this is the lost laptop's copy."
        ));
    } else if !other_devices.is_empty() {
        notes.caveats.push(format!(
            "The copy also holds records from device(s) {}: the vault was used on, or moved from, another machine.",
            other_devices.iter().copied().collect::<Vec<_>>().join(", ")
        ));
    }
    if vaults.len() > 1 {
        notes.caveats.push(format!(
            "The copy holds records of {} vaults; a copy should hold one.",
            vaults.len()
        ));
    }
    Provenance { hosts, vaults }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::incident::testing::{facts, rec, ts};

    #[test]
    fn records_fall_before_or_after_the_loss_by_their_own_time() {
        let records = [
            rec(1, "2026-03-02T10:00:00Z", "unlock", json!({})),
            rec(2, "2026-03-02T09:00:00Z", "lock", json!({})),
            rec(3, "not a time", "status", json!({})),
            rec(4, "2026-03-02T19:00:00Z", "unlock", json!({})),
            rec(5, "garbled", "lock", json!({})),
        ];
        let (mut f, mut n) = (facts(), Notes::default());
        let t = place(&records, ts("2026-03-02T18:30:00Z"), None, &mut f, &mut n);
        let seqs = |v: &[&Record]| v.iter().map(|r| r.seq).collect::<Vec<_>>();
        // An unreadable time inherits the one before it.
        assert_eq!(seqs(&t.before), [1, 2, 3]);
        assert_eq!(seqs(&t.after), [4, 5]);
        assert_eq!((f.records_before_loss, f.records_after_loss), (3, 2));
        assert_eq!(n.caveats.len(), 1);
        assert_eq!(f.clock_backwards_seqs, [2]);
        assert!(n.unknowns[0].starts_with("the laptop's clock went backwards at record(s) #2"));
        assert!(n.caveats[0].starts_with("Record(s) #3, #5 carry an unreadable time"));
        assert!(n.findings.is_empty());
    }

    #[test]
    fn a_clock_step_within_the_slack_is_not_backwards() {
        let records = [
            rec(1, "2026-03-02T10:00:02Z", "unlock", json!({})),
            rec(2, "2026-03-02T10:00:00Z", "lock", json!({})),
            rec(3, "2026-03-02T09:59:57Z", "status", json!({})),
        ];
        let (mut f, mut n) = (facts(), Notes::default());
        place(&records, ts("2026-03-02T18:30:00Z"), None, &mut f, &mut n);
        assert_eq!(f.clock_backwards_seqs, [3]);
        assert_eq!(n.unknowns.len(), 1);
    }

    #[test]
    fn a_copy_with_another_device_or_several_vaults_is_a_caveat() {
        let mut other = rec(2, "2026-03-02T10:00:00Z", "unlock", json!({}));
        other.device = "other".into();
        other.vault = "w".into();
        let records = [rec(1, "2026-03-02T09:00:00Z", "unlock", json!({})), other];
        let mut n = Notes::default();
        let p = provenance(&records, "d", &mut n);
        assert_eq!(p.hosts.into_iter().collect::<Vec<_>>(), ["h"]);
        assert_eq!(p.vaults.len(), 2);
        assert!(n.caveats[0].contains("records from device(s) other"));
        assert!(n.caveats[1].contains("records of 2 vaults"));

        let mut n = Notes::default();
        let p = provenance(&records[1..], "d", &mut n);
        assert!(p.hosts.is_empty());
        assert!(n.caveats[0].starts_with("No record in this copy carries device id d"));
    }
}
