//! Renderers: each report to CSV, JSON, HTML and PDF, one format per file.
//! A renderer only lays out what the report already says; it decides
//! nothing.

use coffer_core::{Error, Result};

use crate::access::AccessReport;
use crate::incident::IncidentReport;

mod csv;
mod html;
mod json;
mod pdf;

pub use html::fleet_html;

/// The formats a report is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// Comma-separated rows (access report only).
    Csv,
    /// One JSON document.
    Json,
    /// A self-contained HTML page.
    Html,
    /// A PDF document.
    Pdf,
}

impl ReportFormat {
    /// Its name as users type it.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Csv => "csv",
            ReportFormat::Json => "json",
            ReportFormat::Html => "html",
            ReportFormat::Pdf => "pdf",
        }
    }
}

impl std::str::FromStr for ReportFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(ReportFormat::Csv),
            "json" => Ok(ReportFormat::Json),
            "html" => Ok(ReportFormat::Html),
            "pdf" => Ok(ReportFormat::Pdf),
            _ => Err(Error::Invalid(format!(
                "unknown report format {s}: use csv, json, html or pdf"
            ))),
        }
    }
}

impl AccessReport {
    /// The report in `format`.
    pub fn render(&self, format: ReportFormat) -> Vec<u8> {
        match format {
            ReportFormat::Csv => self.to_csv().into_bytes(),
            ReportFormat::Json => self.to_json().into_bytes(),
            ReportFormat::Html => self.to_html().into_bytes(),
            ReportFormat::Pdf => self.to_pdf(),
        }
    }
}

impl IncidentReport {
    /// The report in `format` (JSON, HTML or PDF; a CSV has no place for
    /// findings and their evidence).
    pub fn render(&self, format: ReportFormat) -> Result<Vec<u8>> {
        match format {
            ReportFormat::Json => Ok(self.to_json().into_bytes()),
            ReportFormat::Html => Ok(self.to_html().into_bytes()),
            ReportFormat::Pdf => Ok(self.to_pdf()),
            ReportFormat::Csv => Err(Error::Invalid(
                "an incident report is written as json, html or pdf".into(),
            )),
        }
    }
}
