//! The lost-laptop report after folders were protected while the watcher
//! ran, as a new user would: the real binary, a real watcher, a real
//! shipped copy. The watcher's `plaintext_found` must be matched against
//! the files encrypted by `protect` or by the watcher itself, by file
//! identity, and the report must say "holds".

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::wait_until;
use serde_json::Value;

const PASS: &str = "correct horse battery staple";

fn coffer(vault: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_coffer"));
    for v in [
        "COFFER_PASSPHRASE",
        "COFFER_NEW_PASSPHRASE",
        "COFFER_RECOVERY_KEY",
        "COFFER_POLICY_FILE",
    ] {
        c.env_remove(v);
    }
    // Records name the OS account from the user database, not $USER.
    c.env_remove("USER").env_remove("LOGNAME");
    c.arg("--vault").arg(vault).stdin(Stdio::null());
    c
}

fn ok(mut c: Command) -> Output {
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "{:?} failed: {}{}",
        c,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn run(vault: &Path, args: &[&str]) -> Output {
    let mut c = coffer(vault);
    c.args(args);
    ok(c)
}

/// The watcher, started on a locked vault, once it is ready.
fn watcher(vault: &Path) -> Child {
    let mut c = coffer(vault);
    c.args(["--json", "watch"]).stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines
        .any(|l| serde_json::from_str::<Value>(&l.unwrap()).is_ok_and(|v| v["event"] == "ready"));
    assert!(ready, "the watcher never became ready");
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    child
}

fn log(vault: &Path) -> String {
    fs::read_to_string(vault.join("audit/log.jsonl")).unwrap()
}

fn records(vault: &Path) -> Vec<Value> {
    log(vault)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Ids recorded as added.
fn added(vault: &Path) -> usize {
    records(vault)
        .iter()
        .filter(|r| r["event"] == "file_added")
        .map(|r| r["detail"]["ids"].as_array().map_or(0, Vec::len))
        .sum()
}

fn incident(vault: &Path, share: &Path, at: jiff::Timestamp, extra: &[&str]) -> Value {
    run(vault, &["audit", "ship"]);
    let device = fs::read_dir(share)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".jsonl"))
        .unwrap();
    let device = device.split('-').next().unwrap().to_owned();
    let at = at.to_string();
    let mut c = coffer(vault);
    c.args(["audit", "incident", "--device", &device, "--lost-at", &at])
        .args(extra)
        .args(["--format", "json", "--log"])
        .arg(share);
    serde_json::from_slice(&ok(c).stdout).unwrap()
}

fn write3(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    for (i, n) in ["a.txt", "b.txt", "c.txt"].iter().enumerate() {
        fs::write(dir.join(n), format!("patient record {i}")).unwrap();
    }
}

#[test]
fn folders_protected_while_the_watcher_runs_give_holds() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    let share = t.path().join("share");
    fs::create_dir(&share).unwrap();
    let mut c = coffer(&vault);
    c.env("COFFER_PASSPHRASE", PASS).args([
        "init",
        "--kdf-memory",
        "19",
        "--kdf-time",
        "2",
        "--kdf-lanes",
        "1",
    ]);
    ok(c);
    let mut c = coffer(&vault);
    c.args(["audit", "sink", "add-dir"]).arg(&share);
    ok(c);

    // 1. The watcher runs; `protect` a folder of three files: whichever
    // of the two gets to them first, the scan's finds are settled.
    let mut w = watcher(&vault);
    let first = t.path().join("Scans");
    write3(&first);
    run(&vault, &["protect", first.to_str().unwrap()]);
    assert!(
        wait_until(Duration::from_secs(30), || added(&vault) >= 3),
        "the three files were never encrypted:\n{}",
        log(&vault)
    );

    // 2. Three files left in a protected folder while no watcher ran:
    // the watcher's start-up scan finds them and encrypts them itself.
    w.kill().unwrap();
    w.wait().unwrap();
    let second = t.path().join("Letters");
    fs::create_dir_all(&second).unwrap();
    run(&vault, &["protect", second.to_str().unwrap()]);
    write3(&second);
    let mut w = watcher(&vault);
    assert!(
        wait_until(Duration::from_secs(30), || added(&vault) >= 6),
        "the watcher never encrypted what it found:\n{}",
        log(&vault)
    );
    // And `protect` run again over the same folder meanwhile finds nothing
    // left, or encrypts what the watcher had not yet taken.
    run(&vault, &["protect", second.to_str().unwrap()]);
    w.kill().unwrap();
    w.wait().unwrap();

    let recs = records(&vault);
    let found: Vec<&Value> = recs
        .iter()
        .filter(|r| r["event"] == "plaintext_found")
        .collect();
    assert!(!found.is_empty(), "the start-up scan recorded its finds");
    eprintln!("plaintext_found records: {}", found.len());
    for f in &found {
        let files = f["detail"]["files"].as_array().unwrap();
        assert_eq!(files.len() as u64, f["detail"]["count"].as_u64().unwrap());
        assert!(
            files
                .iter()
                .all(|x| x.as_str().is_some_and(|s| s.len() == 32))
        );
    }
    // Every record names the OS account and its process's session.
    assert!(
        recs.iter()
            .all(|r| r["session"].as_str().is_some_and(|s| s.len() == 24))
    );
    let user = recs[0]["user"].as_str().unwrap().to_owned();
    assert!(
        !user.is_empty() && user != "unknown" && !user.starts_with("uid0"),
        "{user}"
    );
    assert!(recs.iter().all(|r| r["user"] == user.as_str()));

    let now = jiff::Timestamp::now();
    let rep = incident(&vault, &share, now, &[]);
    assert_eq!(rep["verdict"], "holds", "{rep:#}");
    assert_eq!(rep["facts"]["plaintext_pending"], 0, "{rep:#}");
    let pt = rep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["topic"] == "plaintext")
        .unwrap();
    assert!(
        pt["answer"]
            .as_str()
            .unwrap()
            .contains("matched by its file identity"),
        "{pt:#}"
    );
}

#[test]
fn a_loss_two_days_after_the_last_record_cannot_be_established_unless_the_bound_allows() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    let share = t.path().join("share");
    fs::create_dir(&share).unwrap();
    let mut c = coffer(&vault);
    c.env("COFFER_PASSPHRASE", PASS).args([
        "init",
        "--kdf-memory",
        "19",
        "--kdf-time",
        "2",
        "--kdf-lanes",
        "1",
    ]);
    ok(c);
    let mut c = coffer(&vault);
    c.args(["audit", "sink", "add-dir"]).arg(&share);
    ok(c);
    run(&vault, &["status", "--record"]);
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(48);
    let rep = incident(&vault, &share, later, &[]);
    assert_eq!(rep["verdict"], "cannot_be_established", "{rep:#}");
    assert!(
        rep["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("no record covers the 2 days"),
        "{rep:#}"
    );
    assert_eq!(rep["facts"]["max_gap_secs"], 3 * 3600);
    let rep = incident(&vault, &share, later, &["--max-gap-hours", "49"]);
    assert_eq!(rep["verdict"], "holds", "{rep:#}");
}

#[test]
fn the_auditor_verifies_seals_with_the_escrow_key_and_the_collectors_receipts() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    let share = t.path().join("share");
    let org = t.path().join("org.key");
    fs::create_dir(&share).unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_coffer"));
    c.args(["--json", "escrow", "keygen", "--out"]).arg(&org);
    let v: Value = serde_json::from_slice(&ok(c).stdout).unwrap();
    let public = v["public_key"].as_str().unwrap().to_owned();
    let mut c = coffer(&vault);
    c.env("COFFER_PASSPHRASE", PASS).args([
        "init",
        "--kdf-memory",
        "19",
        "--kdf-time",
        "2",
        "--kdf-lanes",
        "1",
        "--escrow",
        &public,
    ]);
    ok(c);
    let mut c = coffer(&vault);
    c.args(["audit", "sink", "add-dir"]).arg(&share);
    ok(c);
    run(&vault, &["status", "--record"]);
    run(&vault, &["audit", "ship"]);
    let mut c = coffer(&vault);
    c.args(["--json", "audit", "receive", "--log"]).arg(&share);
    let v: Value = serde_json::from_slice(&ok(c).stdout).unwrap();
    assert_eq!(v["noted"].as_array().unwrap().len(), 1, "{v}");

    let key = [
        "--escrow-key",
        org.to_str().unwrap(),
        "--require-authenticated",
    ];
    let now = jiff::Timestamp::now() + jiff::SignedDuration::from_mins(1);
    let rep = incident(&vault, &share, now, &key);
    assert_eq!(rep["verdict"], "holds", "{rep:#}");
    assert_eq!(rep["facts"]["authenticated"], true);
    // Without the key, the seals cannot be checked: not shown.
    let rep = incident(&vault, &share, now, &key[2..]);
    assert_eq!(rep["verdict"], "cannot_be_established", "{rep:#}");

    // A record of the copy edited: the chain breaks and the seal names it.
    let copy = fs::read_dir(&share)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .unwrap();
    let text = fs::read_to_string(&copy).unwrap();
    let edited = text.replacen("\"reason\":\"process_end\"", "\"reason\":\"manual\"", 1);
    assert_ne!(text, edited);
    fs::write(&copy, edited).unwrap();
    let rep = incident(&vault, &share, now, &key);
    assert_eq!(rep["verdict"], "cannot_be_established", "{rep:#}");
    assert_eq!(rep["facts"]["seal_break"], "forged_record", "{rep:#}");
    let reasons = rep["reasons"].to_string();
    assert!(reasons.contains("fails its device seals"), "{reasons}");
    assert!(reasons.contains("fails verification"), "{reasons}");
}
