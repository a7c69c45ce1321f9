//! The Audit (activity) screen: the timeline with its filters and chain
//! status, and the access and incident reports.

use std::path::{Path, PathBuf};

use coffer_report::{AccessQuery, ReportFormat};
use serde::{Deserialize, Serialize};

use crate::error::{CmdResult, UiError};
use crate::glue::{Core, blocking};

/// The timeline shows at most this many rows; reports have them all.
const MAX_ROWS: usize = 5_000;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditQueryIn {
    from: Option<String>,
    to: Option<String>,
    action: Option<String>,
    user: Option<String>,
    file: Option<String>,
}

fn parse_time(t: Option<String>, what: &str) -> CmdResult<Option<jiff::Timestamp>> {
    t.filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<jiff::Timestamp>()
                .map_err(|_| UiError::new("invalid", format!("The {what} date is not valid.")))
        })
        .transpose()
}

impl AuditQueryIn {
    fn into_query(self) -> CmdResult<AccessQuery> {
        let non_empty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        Ok(AccessQuery {
            from: parse_time(self.from, "start")?,
            to: parse_time(self.to, "end")?,
            action: non_empty(self.action),
            user: non_empty(self.user),
            // The screen filters by name (the vault is unlocked), not by id.
            file: None,
            file_name: non_empty(self.file),
        })
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRow {
    seq: u64,
    time: String,
    user: String,
    /// The computer's name as people know it; `device` is its stable id.
    host: String,
    device: String,
    action: String,
    label: String,
    file_id: Option<String>,
    file_name: Option<String>,
    detail: String,
    /// The record's own fields (method, reason, by, count, session, ...)
    /// without object ids, so the screen can word them; empty for status
    /// records, which the screen folds away.
    facts: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainView {
    ok: bool,
    verified_up_to: u64,
    broken_at: Option<u64>,
    statement: String,
}

#[derive(Serialize)]
pub struct DayCount {
    day: String,
    count: u64,
}

#[derive(Serialize)]
pub struct ActionChoice {
    action: String,
    label: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditView {
    rows: Vec<AuditRow>,
    truncated: bool,
    total: u64,
    chain: ChainView,
    per_day: Vec<DayCount>,
    actions: Vec<ActionChoice>,
    users: Vec<String>,
}

#[tauri::command]
pub async fn audit_events(core: Core<'_>, query: AuditQueryIn) -> CmdResult<AuditView> {
    let core = core.inner().clone();
    blocking(move || {
        let query = query.into_query()?;
        let g = core.unlocked()?;
        let v = g.as_ref().expect("unlocked");
        // The whole log gives the filter choices; the query gives the rows.
        let all = coffer_report::vault::access_report(v, &AccessQuery::default(), false)?;
        let rep = coffer_report::vault::access_report(v, &query, true)?;
        let facts = record_facts(v)?;
        let mut per_day = std::collections::BTreeMap::<String, u64>::new();
        let tz = jiff::tz::TimeZone::system();
        for r in &rep.rows {
            // Days as the person at this computer counts them.
            let day =
                r.ts.parse::<jiff::Timestamp>()
                    .map(|t| t.to_zoned(tz.clone()).date().to_string())
                    .unwrap_or_else(|_| r.ts.chars().take(10).collect());
            *per_day.entry(day).or_default() += 1;
        }
        let truncated = rep.rows.len() > MAX_ROWS;
        let skip = rep.rows.len().saturating_sub(MAX_ROWS);
        Ok(AuditView {
            rows: rep
                .rows
                .into_iter()
                .skip(skip)
                .map(|r| AuditRow {
                    label: coffer_report::event_label(&r.event).to_owned(),
                    facts: facts.get(&r.seq).cloned().unwrap_or_default(),
                    seq: r.seq,
                    time: r.ts,
                    user: r.user,
                    host: r.host,
                    device: r.device,
                    action: r.event,
                    file_id: r.file_id,
                    file_name: r.file_name,
                    detail: r.detail,
                })
                .collect(),
            truncated,
            total: all.summary.records,
            chain: ChainView {
                ok: rep.chain.ok,
                verified_up_to: rep.chain.trusted_through_seq,
                broken_at: rep.chain.broken_at_line,
                statement: rep.chain.statement,
            },
            per_day: per_day
                .into_iter()
                .map(|(day, count)| DayCount { day, count })
                .collect(),
            actions: all
                .summary
                .by_event
                .keys()
                .map(|a| ActionChoice {
                    label: coffer_report::event_label(a).to_owned(),
                    action: a.clone(),
                })
                .collect(),
            users: all.summary.by_user.keys().cloned().collect(),
        })
    })
    .await
}

/// Each record's detail fields by sequence number, minus object ids (the
/// rows already carry the one file each) and status records' snapshots.
fn record_facts(
    v: &coffer_core::vault::Vault,
) -> CmdResult<std::collections::HashMap<u64, serde_json::Map<String, serde_json::Value>>> {
    use coffer_core::audit::{EventKind, parse_records};
    let bytes = std::fs::read(v.audit().path()).map_err(|e| {
        UiError::with_details(
            "io",
            "Coffer couldn't read this vault's activity log. Try again; if it keeps happening, tell IT.",
            &e.to_string(),
        )
    })?;
    Ok(parse_records(&bytes)
        .into_iter()
        .filter(|r| !r.is(EventKind::Status))
        .map(|r| {
            let mut d = r.detail;
            d.remove("ids");
            d.remove("id");
            (r.seq, d)
        })
        .collect())
}

/// Reports this run of the app wrote: `open_report` opens only these, so
/// the UI cannot be made to launch any other file.
static WRITTEN: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn write_report(dest: &str, body: &[u8]) -> CmdResult<String> {
    let p = Path::new(dest);
    if !p.is_absolute() || p.file_name().is_none() {
        return Err(UiError::new("invalid", "Choose where to save the report."));
    }
    coffer_core::fsutil::atomic_write(p, body)?;
    let mut w = WRITTEN.lock().unwrap_or_else(|e| e.into_inner());
    w.retain(|x| x != p);
    w.push(p.to_path_buf());
    let excess = w.len().saturating_sub(32);
    w.drain(..excess);
    Ok(p.display().to_string())
}

fn written_here(p: &Path) -> bool {
    WRITTEN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .any(|x| x == p)
}

/// Opens a report this app just saved, with the computer's default app.
#[tauri::command]
pub async fn open_report(core: Core<'_>, path: String) -> CmdResult<()> {
    let core = core.inner().clone();
    blocking(move || {
        let p = PathBuf::from(&path);
        if !written_here(&p) {
            return Err(UiError::new(
                "invalid",
                "Coffer opens only reports it saved itself. Open this file from your file manager.",
            ));
        }
        super::files::open_with_default_app(&core, &p)
    })
    .await
}

#[tauri::command]
pub async fn export_access_report(
    core: Core<'_>,
    query: AuditQueryIn,
    format: String,
    dest: String,
) -> CmdResult<String> {
    let core = core.inner().clone();
    blocking(move || {
        let query = query.into_query()?;
        let fmt: ReportFormat = format.parse()?;
        let g = core.unlocked()?;
        let v = g.as_ref().expect("unlocked");
        let (_, body) = coffer_report::vault::export_access_report(v, &query, true, fmt)?;
        write_report(&dest, &body)
    })
    .await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentSummary {
    verdict: coffer_report::Verdict,
    verdict_text: String,
    path: String,
}

#[tauri::command]
pub async fn export_incident_report(
    core: Core<'_>,
    lost_at: String,
    format: String,
    dest: String,
) -> CmdResult<IncidentSummary> {
    let core = core.inner().clone();
    blocking(move || {
        let lost_at = parse_time(Some(lost_at), "loss")?
            .ok_or_else(|| UiError::new("invalid", "Enter when the computer was lost."))?;
        let fmt: ReportFormat = format.parse()?;
        let rep = coffer_report::vault::incident_report(&core.open_vault()?, lost_at)?;
        let path = write_report(&dest, &rep.render(fmt)?)?;
        Ok(IncidentSummary {
            verdict: rep.verdict,
            verdict_text: rep.verdict_text,
            path,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_query_rejects_bad_dates_and_ignores_blank_filters() {
        let q = AuditQueryIn {
            from: Some("2026-11-01T00:00:00Z".into()),
            user: Some("  ".into()),
            ..Default::default()
        }
        .into_query()
        .unwrap();
        assert!(q.from.is_some() && q.user.is_none());
        let bad = AuditQueryIn {
            to: Some("yesterday".into()),
            ..Default::default()
        }
        .into_query();
        assert_eq!(bad.err().map(|e| e.code), Some("invalid"));
    }

    /// Only reports this app wrote can be opened: not any path the UI names.
    #[test]
    fn only_written_reports_can_be_opened() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("incident.html");
        let other = dir.path().join("letter.txt");
        std::fs::write(&other, b"x").unwrap();
        assert!(!written_here(&report));
        write_report(report.to_str().unwrap(), b"<!doctype html>").unwrap();
        assert!(written_here(&report));
        assert!(!written_here(&other));
        assert!(write_report("relative.html", b"x").is_err());
    }
}
