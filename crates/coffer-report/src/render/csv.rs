//! CSV: the access report's rows, one line each, for spreadsheets.

use crate::access::AccessReport;

/// A CSV field: quoted when needed, and defused when a spreadsheet would
/// take it for a formula (it starts with `=`, `+`, `-`, `@`, tab or CR).
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

impl AccessReport {
    /// One line per row, with a header line:
    /// `seq,time,user,host,device,event,file_id,file_name,detail,verified`.
    /// Times are RFC 3339; `verified` is `yes` or `no`.
    pub fn to_csv(&self) -> String {
        let mut out =
            String::from("seq,time,user,host,device,event,file_id,file_name,detail,verified\r\n");
        for r in &self.rows {
            let fields = [
                r.seq.to_string(),
                r.ts.clone(),
                r.user.clone(),
                r.host.clone(),
                r.device.clone(),
                r.event.clone(),
                r.file_id.clone().unwrap_or_default(),
                r.file_name.clone().unwrap_or_default(),
                r.detail.clone(),
                if r.verified { "yes" } else { "no" }.to_owned(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        out
    }
}
