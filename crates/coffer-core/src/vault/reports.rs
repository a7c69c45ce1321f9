//! Reports over this vault's own audit log, for the CLI and the app alike.

use jiff::Timestamp;

use super::Vault;
use crate::audit::{self, AuditEvent};
use crate::error::{IoContext, Result};
use crate::report::{self, AccessQuery, AccessReport, IncidentReport, ReportFormat};

impl Vault {
    /// Builds an access report over this vault's log, verified against the
    /// checkpoint in the vault. With `names`, file ids are resolved to file
    /// names — which needs the vault unlocked, and the report says so.
    pub fn access_report(&self, query: &AccessQuery, names: bool) -> Result<AccessReport> {
        let bytes = std::fs::read(self.audit.path()).ctx("reading the audit log")?;
        let chain = audit::verify_chain(&bytes, self.audit.checkpoint().as_ref());
        let records = report::parse_records(&bytes);
        let names_map: Option<std::collections::HashMap<String, String>> = if names {
            Some(
                self.entries()?
                    .entries
                    .into_iter()
                    .map(|e| (e.id.to_hex(), e.path))
                    .collect(),
            )
        } else {
            None
        };
        let resolve = |id: &str| names_map.as_ref().and_then(|m| m.get(id).cloned());
        Ok(report::access_report(
            &records,
            query,
            &chain,
            names_map
                .as_ref()
                .map(|_| &resolve as report::NameResolver<'_>),
        ))
    }

    /// [`Vault::access_report`] rendered in `format`, recorded in the audit
    /// trail as an export (who exported how many records, never where to).
    pub fn export_access_report(
        &self,
        query: &AccessQuery,
        names: bool,
        format: ReportFormat,
    ) -> Result<(AccessReport, Vec<u8>)> {
        let rep = self.access_report(query, names)?;
        let body = rep.render(format);
        self.audit.append(&[AuditEvent::AuditExported {
            format: format.as_str().into(),
            records: rep.rows.len() as u64,
        }])?;
        Ok((rep, body))
    }

    /// The lost-laptop incident report from this device's own log (the app
    /// offers it so IT can see what an auditor would conclude; the auditor
    /// makes it from the shipped copy with `coffer audit incident`).
    pub fn incident_report(&self, lost_at: Timestamp) -> Result<IncidentReport> {
        let raw = std::fs::read(self.audit.path()).ctx("reading the audit log")?;
        let records = report::parse_records(&raw);
        Ok(report::incident_report(
            &records,
            &raw,
            &self.audit.identity().device,
            lost_at,
        ))
    }
}
