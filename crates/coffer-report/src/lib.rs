//! Reports built from Coffer's audit trail, for auditors, compliance
//! officers and IT. The engine (`coffer-core`) writes and verifies the
//! trail; this crate only reads it, so the engine links no report writer.
//!
//! Two reports, each a plain data structure made by a pure function over
//! [`Record`](coffer_core::audit::Record)s and rendered to what a
//! compliance officer reads:
//!
//! - the **access report** ([`access_report`]): who unlocked the vault and
//!   added, opened, extracted or removed which file, when — filtered by
//!   period, user or file, with counts by event and by user and the result
//!   of chain verification. CSV, JSON, HTML and PDF.
//! - the **incident report** ([`incident_report`]) for a lost or stolen
//!   laptop, built from the copy of its log shipped to a sink, so it never
//!   needs the laptop: was the vault locked at the time of loss and since
//!   when, how the files were protected, whether plaintext was waiting in a
//!   protected folder, disk encryption, escrow, whether the shipped chain
//!   verifies, and a verdict on the HIPAA breach safe harbor. Each statement
//!   names the record(s) that prove it. JSON, HTML and PDF.
//!
//! And the **fleet** view ([`fleet::summarize`], [`fleet_html`]): per
//! device, from every copy shipped to a share, whether it complied at its
//! last status.
//!
//! Records carry file ids, never names. A report shows names only when the
//! caller passes a resolver, which only someone who unlocked the vault has
//! ([`vault::access_report`] does that for an open [`Vault`](coffer_core::vault::Vault)).
//!
//! Rooms: [`records`] reads logs and shipped copies and states the chain;
//! [`access`] and [`incident`] build the reports; [`fleet`] summarises a
//! share; [`render`] writes them, one format per file; [`vault`] runs them
//! over a vault's own log.
//!
//! ```no_run
//! use coffer_core::audit::verify_chain;
//! use coffer_report::{AccessQuery, access_report, incident_report, load_shipped};
//! # fn main() -> coffer_core::Result<()> {
//! // Access report over a vault's own log, file ids only.
//! let bytes = std::fs::read("vault/audit/log.jsonl").unwrap();
//! let records = coffer_report::parse_records(&bytes);
//! let chain = verify_chain(&bytes, None);
//! let report = access_report(&records, &AccessQuery::default(), &chain, None);
//! std::fs::write("access.pdf", report.to_pdf()).unwrap();
//!
//! // Incident report from the copies shipped to a share.
//! let (records, raw) = load_shipped("/mnt/audit".as_ref(), "3f2a9c0d11e4b7aa")?;
//! let lost_at = "2026-03-02T18:30:00Z".parse().unwrap();
//! let incident = incident_report(&records, &raw, "3f2a9c0d11e4b7aa", lost_at);
//! println!("{}", incident.verdict_text);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod access;
pub mod fleet;
pub mod incident;
pub mod receipts;
pub mod records;
pub mod render;
mod text;
pub mod vault;

pub use access::{
    AccessQuery, AccessReport, AccessRow, AccessSummary, DeviceSeen, NameResolver, Period,
    access_report,
};
pub use incident::{
    Assessment, DEFAULT_MAX_GAP_SECS, Finding, IncidentFacts, IncidentOptions, IncidentReport,
    KdfParams, Verdict, incident_report, incident_report_with,
};
pub use records::{ChainStatus, ShippedCopy, load_shipped, load_shipped_copies, parse_records};
pub use render::{ReportFormat, fleet_html};
pub use text::event_label;
