//! PDF: the access report (A4 landscape) and the incident report (A4
//! portrait), laid out with [`layout`], a small page engine over
//! `pdf-writer`.

use crate::access::AccessReport;
use crate::incident::{Assessment, IncidentReport, Verdict};
use crate::records::ChainStatus;
use crate::text::{event_label, human_time, records_ref, table_time};

mod layout;

use layout::{Doc, Font};

/// The chain's verification, in green or red, as both reports show it.
fn chain_box(d: &mut Doc, title: &str, chain: &ChainStatus) {
    let colour = if chain.ok { layout::GOOD } else { layout::BAD };
    d.status_box(title, &chain.statement, colour, 12.0);
}

impl AccessReport {
    /// A PDF (A4 landscape, Helvetica): header, chain status, summary and
    /// the rows as a table that continues over as many pages as needed.
    pub fn to_pdf(&self) -> Vec<u8> {
        let mut d = Doc::new(true, "Coffer access report");
        d.title("Coffer access report");
        let mut meta = vec![("Period".to_owned(), self.period.describe())];
        meta.push((
            "Records selected".into(),
            match (&self.period.first_record, &self.period.last_record) {
                (Some(f), Some(l)) => format!(
                    "{} ({} to {})",
                    self.summary.records,
                    human_time(f),
                    human_time(l)
                ),
                _ => "none".into(),
            },
        ));
        meta.push(("Vault".into(), self.vaults.join(", ")));
        meta.push(("Device".into(), self.devices_text()));
        if let Some(u) = &self.filter_user {
            meta.push(("User".into(), u.clone()));
        }
        if let Some(f) = &self.filter_file {
            meta.push(("File id".into(), f.clone()));
        }
        meta.push(("Generated".into(), human_time(&self.generated_at)));
        d.key_values(&meta, 110.0);
        d.space(6.0);
        chain_box(&mut d, "Audit chain", &self.chain);
        d.paragraph(&self.names_note, Font::Regular, 9.0, layout::GREY);
        d.space(4.0);
        d.heading("Summary");
        let mut ev: Vec<Vec<String>> = self
            .summary
            .by_event
            .iter()
            .map(|(e, n)| vec![event_label(e).to_owned(), n.to_string()])
            .collect();
        ev.sort();
        let us: Vec<Vec<String>> = self
            .summary
            .by_user
            .iter()
            .map(|(u, n)| vec![u.clone(), n.to_string()])
            .collect();
        d.tables_side_by_side(
            (&[("Event", 170.0), ("Records", 55.0)], &ev),
            (&[("User", 170.0), ("Records", 55.0)], &us),
            40.0,
            9.0,
        );
        if self.summary.records_without_valid_time > 0 {
            d.space(4.0);
            d.paragraph(
                &format!(
                    "{} record(s) with an unreadable time were left out of the period.",
                    self.summary.records_without_valid_time
                ),
                Font::Regular,
                9.0,
                layout::GREY,
            );
        }
        d.space(8.0);
        d.heading(&format!("Activity ({} rows)", self.rows.len()));
        let mut cols: Vec<(&str, f32)> = vec![
            ("#", 34.0),
            ("Time (UTC)", 90.0),
            ("User", 66.0),
            ("Host", 68.0),
            ("Event", 84.0),
            ("File id", 150.0),
        ];
        if self.names_resolved {
            cols.push(("File name", 120.0));
        }
        let used: f32 = cols.iter().map(|c| c.1).sum();
        cols.push(("Detail", d.usable_width() - used));
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                let mut v = vec![
                    r.seq.to_string(),
                    table_time(&r.ts),
                    r.user.clone(),
                    r.host.clone(),
                    event_label(&r.event).to_owned(),
                    r.file_id.clone().unwrap_or_default(),
                ];
                if self.names_resolved {
                    v.push(r.file_name.clone().unwrap_or_else(|| {
                        if r.file_id.is_some() {
                            "(not in the vault)".into()
                        } else {
                            String::new()
                        }
                    }));
                }
                let mut det = r.detail.clone();
                if !r.verified {
                    det.push_str(" [not covered by the verified chain]");
                }
                v.push(det);
                v
            })
            .collect();
        if rows.is_empty() {
            d.paragraph("No record matches.", Font::Regular, 10.0, layout::BLACK);
        } else {
            d.table(&cols, &rows, 8.0);
        }
        d.finish("Coffer access report")
    }
}

impl IncidentReport {
    /// A PDF (A4 portrait, Helvetica): verdict first, then each finding with
    /// the records that prove it, caveats and limits.
    pub fn to_pdf(&self) -> Vec<u8> {
        let mut d = Doc::new(false, "Coffer incident report");
        d.title("Coffer incident report: lost or stolen laptop");
        d.key_values(&self.meta(), 110.0);
        d.space(6.0);
        let colour = match self.verdict {
            Verdict::Holds => layout::GOOD,
            Verdict::DoesNotHold => layout::BAD,
            Verdict::CannotBeEstablished => layout::UNKNOWN,
        };
        let mut body = self.verdict_text.clone();
        for r in &self.reasons {
            body.push_str("\n• ");
            body.push_str(r);
        }
        d.status_box(
            &format!("Verdict: {}", self.verdict.as_str()).to_uppercase(),
            &body,
            colour,
            15.0,
        );
        chain_box(&mut d, "Audit chain of the shipped copy", &self.chain);
        d.heading("Findings");
        for f in &self.findings {
            let c = match f.assessment {
                Assessment::Good => layout::GOOD,
                Assessment::Bad => layout::BAD,
                Assessment::Unknown | Assessment::Warning => layout::UNKNOWN,
                Assessment::Info => layout::INFO,
            };
            let proof = if f.proof.is_empty() {
                "Proof: none in the records".to_owned()
            } else {
                format!("Proof: {}", records_ref(&f.proof, 12))
            };
            d.finding(&f.question, f.assessment.label(), c, &f.answer, &proof);
        }
        if !self.caveats.is_empty() {
            d.heading("Caveats");
            for c in &self.caveats {
                d.paragraph(&format!("• {c}"), Font::Regular, 9.5, layout::BLACK);
                d.space(2.0);
            }
        }
        d.heading("What this report cannot prove");
        for c in &self.limits {
            d.paragraph(&format!("• {c}"), Font::Regular, 9.5, layout::BLACK);
            d.space(2.0);
        }
        d.finish("Coffer incident report")
    }
}
