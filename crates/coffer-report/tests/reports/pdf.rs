//! The PDFs, rasterised where poppler is installed.

use std::fs;
use std::path::PathBuf;

use coffer_report::{AccessQuery, access_report, incident_report};
use serde_json::json;

use crate::fixtures::{DEV, ID_A, ID_B, clinic_day, ok_chain, ts};

/// Renders both PDFs and, where poppler's `pdftoppm` is installed,
/// rasterises page 1 of each. Set COFFER_REPORT_ARTIFACTS to a folder
/// to keep the PDFs and PNGs for a look.
#[test]
fn pdf_pages_rasterise() {
    let d = tempfile::tempdir().unwrap();
    let out = std::env::var_os("COFFER_REPORT_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| d.path().to_path_buf());
    fs::create_dir_all(&out).unwrap();
    let c = clinic_day();
    let names = |id: &str| match id {
        ID_A => Some("Referral – Smith, J. (cardiology).pdf".to_owned()),
        ID_B => Some("Lab results 2026-02-27.pdf".to_owned()),
        _ => None,
    };
    let access = access_report(
        &c.records,
        &AccessQuery::default(),
        &ok_chain(&c),
        Some(&names),
    );
    let mut u = clinic_day();
    u.push(
        "2026-03-02T18:00:00Z",
        "alice",
        "unlock",
        json!({"method": "passphrase"}),
    );
    let docs = [
        ("access", access.to_pdf()),
        (
            "incident-holds",
            incident_report(&c.records, &c.bytes, DEV, ts("2026-03-02T18:30:00Z")).to_pdf(),
        ),
        (
            "incident-unlocked",
            incident_report(&u.records, &u.bytes, DEV, ts("2026-03-02T18:30:00Z")).to_pdf(),
        ),
    ];
    for (name, pdf) in &docs {
        fs::write(out.join(format!("{name}.pdf")), pdf).unwrap();
    }
    fs::write(out.join("access.html"), access.to_html()).unwrap();
    fs::write(
        out.join("incident-unlocked.html"),
        incident_report(&u.records, &u.bytes, DEV, ts("2026-03-02T18:30:00Z")).to_html(),
    )
    .unwrap();
    let have = std::process::Command::new("pdftoppm")
        .arg("-v")
        .output()
        .is_ok();
    if !have {
        eprintln!("skipped: pdftoppm not installed (apt-get install poppler-utils)");
        return;
    }
    for (name, _) in &docs {
        let st = std::process::Command::new("pdftoppm")
            .args(["-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile"])
            .arg(out.join(format!("{name}.pdf")))
            .arg(out.join(name))
            .status()
            .unwrap();
        assert!(st.success(), "pdftoppm failed on {name}");
        let png = fs::read(out.join(format!("{name}.png"))).unwrap();
        assert!(png.len() > 1000, "{name}.png is {} bytes", png.len());
        assert!(png.starts_with(b"\x89PNG"));
    }
}
