//! The access report: rows, counts, filters and each format.

use coffer_core::audit::verify_chain;
use coffer_report::{AccessQuery, access_report, parse_records};
use serde_json::{Value, json};

use crate::fixtures::{Chain, DEV, ID_A, ID_B, ID_C, VAULT, clinic_day, ok_chain, page_count, ts};

#[test]
fn access_report_rows_and_counts_over_the_whole_log() {
    let c = clinic_day();
    let rep = access_report(&c.records, &AccessQuery::default(), &ok_chain(&c), None);
    assert_eq!(rep.summary.records, 19);
    // One row per record, except the watcher's batch of three.
    assert_eq!(rep.rows.len(), 21);
    assert_eq!(rep.summary.rows, 21);
    assert_eq!(rep.summary.by_event["file_opened"], 2);
    assert_eq!(rep.summary.by_event["unlock"], 3);
    assert_eq!(rep.summary.by_event["lock"], 4);
    assert_eq!(rep.summary.by_user["bob"], 4);
    assert_eq!(rep.summary.by_user["alice"], 15);
    assert!(rep.rows.iter().all(|r| r.verified && r.file_name.is_none()));
    assert!(rep.chain.ok);
    assert!(
        rep.chain
            .statement
            .starts_with("Chain verified: all 19 records")
    );
    assert!(!rep.names_resolved);
    assert!(rep.names_note.starts_with("File ids only"));
    assert_eq!(rep.vaults, vec![VAULT.to_owned()]);
    assert_eq!(rep.devices[0].device, DEV);
    assert_eq!(rep.devices[0].hosts, vec!["frontdesk-3".to_owned()]);
    let unlock = rep.rows.iter().find(|r| r.event == "unlock").unwrap();
    assert_eq!(unlock.detail, "method: passphrase");
    let added: Vec<_> = rep
        .rows
        .iter()
        .filter(|r| r.event == "file_added")
        .collect();
    assert_eq!(added.len(), 3);
    assert_eq!(added[0].detail, "by watcher, batch of 3 files");
}

#[test]
fn access_report_filters_by_period_user_and_file() {
    let c = clinic_day();
    let chain = ok_chain(&c);
    let q = AccessQuery {
        from: Some(ts("2026-03-02T09:00:00Z")),
        to: Some(ts("2026-03-02T09:31:00Z")),
        ..Default::default()
    };
    let rep = access_report(&c.records, &q, &chain, None);
    let events: Vec<&str> = rep.rows.iter().map(|r| r.event.as_str()).collect();
    // `to` is exclusive: the 09:31 lock is out.
    assert_eq!(events, ["unlock", "file_opened", "file_extracted"]);
    assert_eq!(rep.period.from.as_deref(), Some("2026-03-02T09:00:00Z"));
    assert_eq!(
        rep.period.first_record.as_deref(),
        Some("2026-03-02T09:10:00Z")
    );
    assert_eq!(
        rep.period.describe(),
        "2026-03-02 09:00:00 UTC to 2026-03-02 09:31:00 UTC"
    );

    let q = AccessQuery {
        user: Some("bob".into()),
        ..Default::default()
    };
    let rep = access_report(&c.records, &q, &chain, None);
    assert_eq!(rep.summary.records, 4);
    assert_eq!(rep.summary.by_user.len(), 1);
    assert_eq!(rep.summary.by_event["unlock_failed"], 1);

    // A file filter by id prefix keeps only that id's rows, even out of
    // a batch.
    let q = AccessQuery {
        file: Some("CCCC".into()),
        ..Default::default()
    };
    let rep = access_report(&c.records, &q, &chain, None);
    assert_eq!(rep.rows.len(), 2);
    assert!(rep.rows.iter().all(|r| r.file_id.as_deref() == Some(ID_C)));
    assert_eq!(rep.summary.by_event["file_added"], 1);
    assert_eq!(rep.summary.by_event["file_opened"], 1);
    assert_eq!(rep.filter_file.as_deref(), Some("cccc"));

    // A name filter needs the resolver (an unlocked vault) and matches
    // part of the name, whatever the case; without names nothing matches.
    let names = |id: &str| (id == ID_C).then(|| "Scans/Letter-Smith.pdf".to_owned());
    let q = AccessQuery {
        file_name: Some("letter-SMITH".into()),
        ..Default::default()
    };
    let rep = access_report(&c.records, &q, &chain, Some(&names));
    assert_eq!(rep.rows.len(), 2);
    assert!(rep.rows.iter().all(|r| r.file_id.as_deref() == Some(ID_C)));
    assert!(access_report(&c.records, &q, &chain, None).rows.is_empty());

    let q = AccessQuery {
        from: Some(ts("2027-01-01T00:00:00Z")),
        ..Default::default()
    };
    let rep = access_report(&c.records, &q, &chain, None);
    assert!(rep.rows.is_empty());
    assert!(rep.to_csv().lines().count() == 1);
    assert!(rep.to_pdf().starts_with(b"%PDF"));
}

#[test]
fn csv_and_json_carry_the_rows_and_names_only_with_a_resolver() {
    let mut c = clinic_day();
    c.push(
        "2026-03-02T17:30:00Z",
        "=cmd|' /C calc'!A0",
        "file_opened",
        json!({"ids": [ID_A]}),
    );
    let chain = ok_chain(&c);
    let names = |id: &str| (id == ID_A).then(|| "Smith, John \"JS\" referral.pdf".to_owned());
    let rep = access_report(&c.records, &AccessQuery::default(), &chain, Some(&names));
    let csv = rep.to_csv();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "seq,time,user,host,device,event,file_id,file_name,detail,verified"
    );
    assert_eq!(csv.lines().count(), 1 + rep.rows.len());
    let opened = csv
        .lines()
        .find(|l| l.starts_with("8,"))
        .expect("record 8 is a row");
    assert_eq!(
        opened,
        format!(
            "8,2026-03-02T09:11:00Z,alice,frontdesk-3,{DEV},file_opened,{ID_A},\"Smith, John \"\"JS\"\" referral.pdf\",,yes"
        )
    );
    // A user name a spreadsheet would run as a formula is defused.
    assert!(csv.contains(",'=cmd|' /C calc'!A0,"), "{csv}");
    // Removed or unknown ids resolve to nothing.
    assert!(
        rep.rows
            .iter()
            .any(|r| r.file_id.as_deref() == Some(ID_B) && r.file_name.is_none())
    );
    assert!(rep.names_resolved);
    assert!(rep.names_note.contains("protected health information"));

    let v: Value = serde_json::from_str(&rep.to_json()).unwrap();
    assert_eq!(v["summary"]["by_event"]["file_opened"], 3);
    assert_eq!(v["summary"]["records"], 20);
    assert_eq!(v["chain"]["ok"], true);
    assert_eq!(v["names_resolved"], true);
    assert_eq!(v["rows"][0]["event"], "vault_created");
    assert_eq!(v["rows"].as_array().unwrap().len(), rep.rows.len());

    // Without the resolver, no name reaches any format.
    let rep = access_report(&c.records, &AccessQuery::default(), &chain, None);
    for out in [rep.to_csv(), rep.to_json(), rep.to_html()] {
        assert!(!out.contains("Smith"));
    }
    assert!(!String::from_utf8_lossy(&rep.to_pdf()).contains("Smith"));
}

#[test]
fn html_shows_the_chain_status_and_escapes_everything() {
    let mut c = clinic_day();
    c.push(
        "2026-03-02T17:30:00Z",
        "<script>alert(1)</script>",
        "unlock_failed",
        json!({"method": "pass\"phrase<b>"}),
    );
    let chain = ok_chain(&c);
    let names = |_: &str| Some("<img src=x onerror=alert(2)>.pdf".to_owned());
    let html = access_report(&c.records, &AccessQuery::default(), &chain, Some(&names)).to_html();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("Chain verified: all 20 records"));
    assert!(html.contains("class=\"status good\""));
    assert!(!html.contains("<script"), "user name not escaped");
    assert!(!html.contains("<img"), "file name not escaped");
    assert!(!html.contains("<b>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;.pdf"));
    assert!(!html.contains("http"), "no external assets");

    // A broken chain is shown as broken, and rows past it as unverified.
    let mut lines = c.lines();
    lines.remove(5);
    let mut bytes = lines.join(&b'\n');
    bytes.push(b'\n');
    let broken = verify_chain(&bytes, None);
    assert!(!broken.ok());
    let rep = access_report(
        &parse_records(&bytes),
        &AccessQuery::default(),
        &broken,
        None,
    );
    assert_eq!(rep.chain.broken_at_line, Some(6));
    assert_eq!(rep.chain.trusted_through_seq, 4);
    assert!(rep.rows.iter().any(|r| !r.verified));
    assert!(rep.rows.iter().filter(|r| r.seq <= 4).all(|r| r.verified));
    let html = rep.to_html();
    assert!(html.contains("class=\"status bad\""));
    assert!(html.contains("Chain BROKEN at line 6"));
    assert!(html.contains("not covered by the verified chain"));
    assert!(rep.to_csv().lines().any(|l| l.ends_with(",no")));
}

#[test]
fn pdf_is_a_pdf_and_long_tables_continue_on_new_pages() {
    let c = clinic_day();
    let rep = access_report(&c.records, &AccessQuery::default(), &ok_chain(&c), None);
    let pdf = rep.to_pdf();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdf.ends_with(b"%%EOF\n") || pdf.ends_with(b"%%EOF"));
    let short = page_count(&pdf);
    assert!((1..=2).contains(&short), "{short} pages for 21 rows");

    let mut many = Chain::new();
    many.push("2026-03-01T08:00:00Z", "alice", "vault_created", json!({}));
    for i in 0..400u32 {
        many.push(
            &format!("2026-03-01T09:{:02}:{:02}Z", i / 60, i % 60),
            "alice",
            "file_opened",
            json!({"ids": [format!("{i:032x}")]}),
        );
    }
    let rep = access_report(
        &many.records,
        &AccessQuery::default(),
        &ok_chain(&many),
        None,
    );
    let pdf = rep.to_pdf();
    let pages = page_count(&pdf);
    assert!(pages >= short + 5, "{pages} pages for 401 rows");
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains(&format!("page {pages} of {pages}")));
    // The last row made it onto the last page.
    assert!(text.contains(&format!("{:032x}", 399)));
}

#[test]
fn the_action_filter_matches_known_and_unknown_event_names_as_written() {
    let mut c = Chain::new();
    c.push(
        "2026-03-02T09:00:00Z",
        "alice",
        "unlock",
        json!({"method": "passphrase"}),
    )
    .push(
        "2026-03-02T09:01:00Z",
        "alice",
        "badge_tap",
        json!({"reader": "door-2"}),
    )
    .push(
        "2026-03-02T09:02:00Z",
        "alice",
        "lock",
        json!({"reason": "manual"}),
    );
    let chain = ok_chain(&c);
    let events = |action: &str| {
        let q = AccessQuery {
            action: Some(action.into()),
            ..Default::default()
        };
        access_report(&c.records, &q, &chain, None)
            .rows
            .into_iter()
            .map(|r| (r.event, r.detail))
            .collect::<Vec<_>>()
    };
    assert_eq!(events("lock"), [("lock".into(), "by the user".into())]);
    // A newer version's event is selected by its name and summarised from
    // its fields.
    assert_eq!(
        events("badge_tap"),
        [("badge_tap".into(), "reader: door-2".into())]
    );
    // Exact names only, as before: no case folding, no trimming.
    assert!(events("Lock").is_empty());
    assert!(events(" lock").is_empty());
    assert!(events("").is_empty());
    assert_eq!(coffer_report::event_label("badge_tap"), "badge_tap");
    assert_eq!(coffer_report::event_label("unlock_failed"), "Unlock failed");
}
