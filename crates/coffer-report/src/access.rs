//! The access report: who unlocked the vault and added, opened, extracted
//! or removed which file, when — filtered by period, user or file, with
//! counts by event and by user and the result of chain verification.
//! Rendered by [`crate::render`].

use std::collections::{BTreeMap, BTreeSet};

use coffer_core::audit::{ChainReport, EventKind, Record};
use jiff::Timestamp;
use serde::Serialize;

use crate::records::ChainStatus;
use crate::text::{detail_summary, human_time, parse_ts, record_ids};

/// Which records an access report covers. Every field narrows; the default
/// is the whole log.
#[derive(Clone, Debug, Default)]
pub struct AccessQuery {
    /// Records at or after this instant.
    pub from: Option<Timestamp>,
    /// Records strictly before this instant.
    pub to: Option<Timestamp>,
    /// Records by this OS user (exact match).
    pub user: Option<String>,
    /// Records of this event (exact name, e.g. `file_opened`). A name this
    /// version does not know still selects records written under it (a
    /// newer version's event in a shipped copy).
    pub action: Option<String>,
    /// Records naming this object id (or an id starting with it); only the
    /// matching ids become rows.
    pub file: Option<String>,
    /// Records naming a file whose name contains this (case-insensitive);
    /// needs the name resolver, so only someone who unlocked the vault can
    /// filter by name. Only the matching ids become rows.
    pub file_name: Option<String>,
}

/// The period an access report covers.
#[derive(Clone, Debug, Serialize)]
pub struct Period {
    /// Lower bound asked for (RFC 3339), if any.
    pub from: Option<String>,
    /// Upper bound asked for (RFC 3339, exclusive), if any.
    pub to: Option<String>,
    /// Time of the first record selected.
    pub first_record: Option<String>,
    /// Time of the last record selected.
    pub last_record: Option<String>,
}

impl Period {
    /// "2026-03-01 00:00:00 UTC to 2026-04-01 00:00:00 UTC", "the whole log", ...
    pub fn describe(&self) -> String {
        match (&self.from, &self.to) {
            (Some(f), Some(t)) => format!("{} to {}", human_time(f), human_time(t)),
            (Some(f), None) => format!("{} to the end of the log", human_time(f)),
            (None, Some(t)) => format!("the start of the log to {}", human_time(t)),
            (None, None) => "the whole log".into(),
        }
    }
}

/// A device seen in the log.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceSeen {
    /// Device id.
    pub device: String,
    /// Host names it recorded.
    pub hosts: Vec<String>,
}

/// Counts over the selected records.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AccessSummary {
    /// Records selected.
    pub records: u64,
    /// Rows (one per record and file id).
    pub rows: u64,
    /// Selected records per event name.
    pub by_event: BTreeMap<String, u64>,
    /// Selected records per OS user.
    pub by_user: BTreeMap<String, u64>,
    /// Records left out of a period filter because their time does not parse.
    pub records_without_valid_time: u64,
}

/// One row: a record, or one file id of a record that names several.
#[derive(Clone, Debug, Serialize)]
pub struct AccessRow {
    /// The record's sequence number.
    pub seq: u64,
    /// When (RFC 3339, the laptop's clock).
    pub ts: String,
    /// OS user.
    pub user: String,
    /// Host name.
    pub host: String,
    /// Device id.
    pub device: String,
    /// Event name (see [`event_label`]).
    pub event: String,
    /// Object id, for file events.
    pub file_id: Option<String>,
    /// The file's name, when a resolver was given and knows the id.
    pub file_name: Option<String>,
    /// Method, reason, counts, ... in a few words.
    pub detail: String,
    /// The record lies in the part of the chain that verified.
    pub verified: bool,
}

/// Who did what, when, to which file.
#[derive(Clone, Debug, Serialize)]
pub struct AccessReport {
    /// When the report was made (RFC 3339).
    pub generated_at: String,
    /// The period covered.
    pub period: Period,
    /// User filter, if any.
    pub filter_user: Option<String>,
    /// File id filter, if any.
    pub filter_file: Option<String>,
    /// Vault ids in the log.
    pub vaults: Vec<String>,
    /// Devices in the log.
    pub devices: Vec<DeviceSeen>,
    /// Chain verification of the whole log.
    pub chain: ChainStatus,
    /// File names were resolved (the vault was unlocked for the report).
    pub names_resolved: bool,
    /// What that means for the reader.
    pub names_note: String,
    /// Counts.
    pub summary: AccessSummary,
    /// The rows, in log order.
    pub rows: Vec<AccessRow>,
}

/// Maps an object id to its file name (`None` when the vault does not know
/// it, e.g. a removed file). Only someone who unlocked the vault has one.
pub type NameResolver<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Builds an access report over `records` (a vault's log or a shipped
/// copy). `chain` is what [`verify_chain`] found for the same log; rows
/// beyond its trusted part are marked unverified. `names` maps an object id
/// to its file name — pass it only when the vault was unlocked for the
/// report; without it the report holds file ids only.
pub fn access_report(
    records: &[Record],
    query: &AccessQuery,
    chain: &ChainReport,
    names: Option<NameResolver<'_>>,
) -> AccessReport {
    let chain = ChainStatus::new(chain);
    let file_q = query
        .file
        .as_deref()
        .map(|f| f.trim().to_ascii_lowercase())
        .filter(|f| !f.is_empty());
    let name_q = query
        .file_name
        .as_deref()
        .map(|f| f.trim().to_lowercase())
        .filter(|f| !f.is_empty());
    // Ok: a kind this version knows; Err: any other name, matched as written.
    let action = query
        .action
        .as_deref()
        .map(|a| EventKind::parse(a).ok_or(a));
    let mut vaults = BTreeSet::new();
    let mut devices: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut summary = AccessSummary::default();
    let mut rows = Vec::new();
    let mut first: Option<&str> = None;
    let mut last: Option<&str> = None;
    for r in records {
        vaults.insert(r.vault.as_str());
        devices
            .entry(r.device.as_str())
            .or_default()
            .insert(r.host.as_str());
        if query.from.is_some() || query.to.is_some() {
            let Some(t) = parse_ts(&r.ts) else {
                summary.records_without_valid_time += 1;
                continue;
            };
            if query.from.is_some_and(|f| t < f) || query.to.is_some_and(|e| t >= e) {
                continue;
            }
        }
        if query.user.as_ref().is_some_and(|u| *u != r.user) {
            continue;
        }
        if action.is_some_and(|a| match a {
            Ok(kind) => !r.is(kind),
            Err(name) => r.event != name,
        }) {
            continue;
        }
        let mut ids = record_ids(r);
        if let Some(f) = &file_q {
            ids.retain(|id| id.to_ascii_lowercase().starts_with(f.as_str()));
            if ids.is_empty() {
                continue;
            }
        }
        if let Some(n) = &name_q {
            ids.retain(|id| {
                names
                    .and_then(|f| f(id))
                    .is_some_and(|name| name.to_lowercase().contains(n.as_str()))
            });
            if ids.is_empty() {
                continue;
            }
        }
        summary.records += 1;
        *summary.by_event.entry(r.event.clone()).or_default() += 1;
        *summary.by_user.entry(r.user.clone()).or_default() += 1;
        first.get_or_insert(&r.ts);
        last = Some(&r.ts);
        let detail = detail_summary(r);
        let verified = r.seq <= chain.trusted_through_seq;
        let row = |id: Option<&str>| AccessRow {
            seq: r.seq,
            ts: r.ts.clone(),
            user: r.user.clone(),
            host: r.host.clone(),
            device: r.device.clone(),
            event: r.event.clone(),
            file_id: id.map(str::to_owned),
            file_name: id.and_then(|id| names.and_then(|f| f(id))),
            detail: detail.clone(),
            verified,
        };
        if ids.is_empty() {
            rows.push(row(None));
        } else {
            rows.extend(ids.into_iter().map(|id| row(Some(id))));
        }
    }
    summary.rows = rows.len() as u64;
    let names_note = if names.is_some() {
        "File names are shown because the vault was unlocked to make this report. \
         File names can identify patients: handle this report as protected health information."
    } else {
        "File ids only: the vault was not unlocked for this report, so file names stay \
         encrypted. Someone who can unlock the vault can map the ids to names."
    };
    AccessReport {
        generated_at: Timestamp::now().to_string(),
        period: Period {
            from: query.from.map(|t| t.to_string()),
            to: query.to.map(|t| t.to_string()),
            first_record: first.map(str::to_owned),
            last_record: last.map(str::to_owned),
        },
        filter_user: query.user.clone(),
        filter_file: file_q,
        vaults: vaults.into_iter().map(str::to_owned).collect(),
        devices: devices
            .into_iter()
            .map(|(d, h)| DeviceSeen {
                device: d.to_owned(),
                hosts: h.into_iter().map(str::to_owned).collect(),
            })
            .collect(),
        chain,
        names_resolved: names.is_some(),
        names_note: names_note.into(),
        summary,
        rows,
    }
}

impl AccessReport {
    /// The devices and their hosts, as the report's header shows them.
    pub(crate) fn devices_text(&self) -> String {
        self.devices
            .iter()
            .map(|d| {
                if d.hosts.is_empty() {
                    d.device.clone()
                } else {
                    format!("{} ({})", d.device, d.hosts.join(", "))
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}
