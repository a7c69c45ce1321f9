//! HTML: self-contained pages (inline CSS, no scripts, no external
//! assets) in which every text is escaped.

use std::fmt::Write as _;

use crate::access::AccessReport;
use crate::fleet::DeviceSummary;
use crate::incident::{Assessment, IncidentReport, Verdict};
use crate::text::{event_label, human_time, records_ref, table_time};

impl AccessReport {
    /// A self-contained HTML page (inline CSS, no scripts, no external
    /// assets); every text is escaped.
    pub fn to_html(&self) -> String {
        let mut b = String::new();
        let _ = write!(b, "<h1>Coffer access report</h1>");
        b.push_str("<table class=\"meta\">");
        meta_row(&mut b, "Period", &self.period.describe());
        if let (Some(f), Some(l)) = (&self.period.first_record, &self.period.last_record) {
            meta_row(
                &mut b,
                "Records selected",
                &format!(
                    "{} ({} to {})",
                    self.summary.records,
                    human_time(f),
                    human_time(l)
                ),
            );
        } else {
            meta_row(&mut b, "Records selected", "none");
        }
        meta_row(&mut b, "Vault", &self.vaults.join(", "));
        meta_row(&mut b, "Device", &self.devices_text());
        if let Some(u) = &self.filter_user {
            meta_row(&mut b, "User", u);
        }
        if let Some(f) = &self.filter_file {
            meta_row(&mut b, "File id", f);
        }
        meta_row(&mut b, "Generated", &human_time(&self.generated_at));
        b.push_str("</table>");
        let cls = if self.chain.ok { "good" } else { "bad" };
        let _ = write!(
            b,
            "<div class=\"status {cls}\"><strong>Audit chain:</strong> {}</div>",
            esc(&self.chain.statement)
        );
        let _ = write!(b, "<p class=\"note\">{}</p>", esc(&self.names_note));
        b.push_str("<h2>Summary</h2><div class=\"cols\">");
        b.push_str("<table class=\"data\"><tr><th>Event</th><th>Records</th></tr>");
        let mut events: Vec<(&str, u64)> = self
            .summary
            .by_event
            .iter()
            .map(|(e, n)| (event_label(e), *n))
            .collect();
        events.sort();
        for (e, n) in events {
            let _ = write!(b, "<tr><td>{}</td><td class=\"num\">{n}</td></tr>", esc(e));
        }
        b.push_str("</table><table class=\"data\"><tr><th>User</th><th>Records</th></tr>");
        for (u, n) in &self.summary.by_user {
            let _ = write!(b, "<tr><td>{}</td><td class=\"num\">{n}</td></tr>", esc(u));
        }
        b.push_str("</table></div>");
        if self.summary.records_without_valid_time > 0 {
            let _ = write!(
                b,
                "<p class=\"note\">{} record(s) with an unreadable time were left out of the period.</p>",
                self.summary.records_without_valid_time
            );
        }
        let _ = write!(b, "<h2>Activity ({} rows)</h2>", self.rows.len());
        b.push_str("<table class=\"data rows\"><tr><th>#</th><th>Time (UTC)</th><th>User</th><th>Host</th><th>Event</th><th>File id</th>");
        if self.names_resolved {
            b.push_str("<th>File name</th>");
        }
        b.push_str("<th>Detail</th></tr>");
        for r in &self.rows {
            let cls = if r.verified {
                ""
            } else {
                " class=\"unverified\""
            };
            let _ = write!(
                b,
                "<tr{cls}><td class=\"num\">{}</td><td class=\"nowrap\">{}</td><td class=\"nowrap\">{}</td><td class=\"nowrap\">{}</td><td>{}</td><td class=\"mono\">{}</td>",
                r.seq,
                esc(&table_time(&r.ts)),
                esc(&r.user),
                esc(&r.host),
                esc(event_label(&r.event)),
                esc(r.file_id.as_deref().unwrap_or(""))
            );
            if self.names_resolved {
                let _ = write!(
                    b,
                    "<td>{}</td>",
                    esc(r.file_name.as_deref().unwrap_or(if r.file_id.is_some() {
                        "(not in the vault)"
                    } else {
                        ""
                    }))
                );
            }
            let mut d = esc(&r.detail);
            if !r.verified {
                d.push_str(" <em>(not covered by the verified chain)</em>");
            }
            let _ = write!(b, "<td>{d}</td></tr>");
        }
        b.push_str("</table>");
        html_page("Coffer access report", &b)
    }
}

impl IncidentReport {
    fn verdict_class(&self) -> &'static str {
        match self.verdict {
            Verdict::Holds => "good",
            Verdict::DoesNotHold => "bad",
            Verdict::CannotBeEstablished => "unknown",
        }
    }

    /// A self-contained HTML page (inline CSS, no scripts, no external
    /// assets); every text is escaped.
    pub fn to_html(&self) -> String {
        let mut b = String::new();
        b.push_str("<h1>Coffer incident report: lost or stolen laptop</h1><table class=\"meta\">");
        for (k, v) in self.meta() {
            meta_row(&mut b, &k, &v);
        }
        b.push_str("</table>");
        let _ = write!(
            b,
            "<div class=\"status {} verdict\"><div class=\"label\">Verdict: {}</div><div class=\"headline\">{}</div><ul>",
            self.verdict_class(),
            self.verdict.as_str(),
            esc(&self.verdict_text)
        );
        for r in &self.reasons {
            let _ = write!(b, "<li>{}</li>", esc(r));
        }
        b.push_str("</ul></div>");
        let cls = if self.chain.ok { "good" } else { "bad" };
        let _ = write!(
            b,
            "<div class=\"status {cls}\"><strong>Audit chain of the shipped copy:</strong> {}</div>",
            esc(&self.chain.statement)
        );
        b.push_str("<h2>Findings</h2><table class=\"data findings\"><tr><th>Question</th><th></th><th>Finding</th><th>Proof</th></tr>");
        for f in &self.findings {
            let cls = match f.assessment {
                Assessment::Good => "good",
                Assessment::Bad => "bad",
                Assessment::Unknown | Assessment::Warning => "unknown",
                Assessment::Info => "info",
            };
            let proof = if f.proof.is_empty() {
                "—".to_owned()
            } else {
                records_ref(&f.proof, 12)
            };
            let _ = write!(
                b,
                "<tr><td><strong>{}</strong></td><td><span class=\"tag {cls}\">{}</span></td><td>{}</td><td class=\"nowrap\">{}</td></tr>",
                esc(&f.question),
                f.assessment.label(),
                esc(&f.answer),
                esc(&proof)
            );
        }
        b.push_str("</table>");
        if !self.caveats.is_empty() {
            b.push_str("<h2>Caveats</h2><ul>");
            for c in &self.caveats {
                let _ = write!(b, "<li>{}</li>", esc(c));
            }
            b.push_str("</ul>");
        }
        b.push_str("<h2>What this report cannot prove</h2><ul>");
        for c in &self.limits {
            let _ = write!(b, "<li>{}</li>", esc(c));
        }
        b.push_str("</ul>");
        html_page("Coffer incident report", &b)
    }
}

/// Escapes text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

fn meta_row(b: &mut String, k: &str, v: &str) {
    let _ = write!(b, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
}

const CSS: &str = "\
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#1a1a1a;max-width:1180px;margin:2em auto;padding:0 1em;line-height:1.45}\
h1{font-size:1.6em;margin:0 0 .4em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc;padding-bottom:.2em}\
table.meta th{text-align:left;font-weight:600;padding:.1em 1.2em .1em 0;color:#444;vertical-align:top}table.meta td{padding:.1em 0}\
.status{border:2px solid;border-radius:6px;padding:.8em 1em;margin:1em 0}\
.good{border-color:#2e7d32;background:#e8f5e9}.bad{border-color:#c62828;background:#ffebee}\
.unknown{border-color:#ef6c00;background:#fff3e0}.info{border-color:#546e7a;background:#eceff1}\
.verdict .label{font-size:1.4em;font-weight:800;text-transform:uppercase;letter-spacing:.02em}.verdict .headline{font-size:1.1em;font-weight:600;margin-top:.2em}.verdict ul{margin:.4em 0 0}\
.note{color:#555;font-size:.92em}\
.cols{display:flex;gap:2em;flex-wrap:wrap;align-items:flex-start}.cols table.data{width:auto;min-width:18em}\
table.data{border-collapse:collapse;width:100%;font-size:.9em}\
table.data th{background:#eceff1;text-align:left}table.data th,table.data td{border:1px solid #cfd8dc;padding:.3em .5em;vertical-align:top}\
table.data tr:nth-child(even) td{background:#fafafa}tr.unverified td{background:#fff3e0!important}\
.num{text-align:right}.nowrap{white-space:nowrap}\
.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em;word-break:break-all}\
.tag{display:inline-block;border:1px solid;border-radius:4px;padding:0 .4em;font-size:.85em;font-weight:600}\
@media print{body{margin:0;max-width:none}.status{break-inside:avoid}tr{break-inside:avoid}}";

fn html_page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{CSS}</style></head><body>{body}</body></html>\n",
        esc(title)
    )
}

/// The fleet view (`coffer audit fleet --format html`): one row per device,
/// non-compliant and never-reporting devices first, for IT to act on.
pub fn fleet_html(devices: &[DeviceSummary], generated_at: &str) -> String {
    let mut rows: Vec<&DeviceSummary> = devices.iter().collect();
    rows.sort_by_key(|d| (d.compliant == Some(true) && d.chain_ok, d.device.clone()));
    let ok = devices
        .iter()
        .filter(|d| d.compliant == Some(true) && d.chain_ok)
        .count();
    let mut b = String::from("<h1>Coffer fleet compliance</h1><table class=\"meta\">");
    meta_row(&mut b, "Generated", generated_at);
    meta_row(&mut b, "Devices", &devices.len().to_string());
    meta_row(&mut b, "Compliant", &format!("{ok} of {}", devices.len()));
    b.push_str("</table>");
    let (class, text) = if ok == devices.len() && !devices.is_empty() {
        ("good", "Every device complied at its last status record.")
    } else if devices.is_empty() {
        (
            "unknown",
            "No device has shipped records to this folder yet.",
        )
    } else {
        (
            "bad",
            "Some devices do not comply, never reported a status, or their log does not verify: see below.",
        )
    };
    let _ = write!(b, "<div class=\"status {class}\">{}</div>", esc(text));
    b.push_str(
        "<table class=\"data\"><tr><th>Device</th><th>Host</th><th>Last seen</th>\
         <th>Compliant</th><th>Log chain</th><th>Disk encryption</th><th>Key version</th>\
         <th class=\"num\">Files</th><th>Problems</th></tr>",
    );
    for d in rows {
        let compliant = match d.compliant {
            Some(true) => "<span class=\"tag\" style=\"color:#2e7d32\">yes</span>",
            Some(false) => "<span class=\"tag\" style=\"color:#c62828\">NO</span>",
            None => "<span class=\"tag\" style=\"color:#ef6c00\">never reported</span>",
        };
        let chain = if d.chain_ok {
            "verifies"
        } else {
            "<b style=\"color:#c62828\">BROKEN</b>"
        };
        let _ = write!(
            b,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"nowrap\">{}</td><td>{compliant}</td>\
             <td>{chain}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&d.device),
            esc(&d.host),
            esc(&human_time(&d.last_seen)),
            esc(d.disk_encryption.as_deref().unwrap_or("unknown")),
            d.key_version.map_or("–".into(), |v| v.to_string()),
            d.objects.map_or("–".into(), |v| v.to_string()),
            esc(&d.problems.join("; ")),
        );
    }
    b.push_str("</table>");
    html_page("Coffer fleet compliance", &b)
}
