//! The audit trail end to end through the real binary: no names or
//! contents ever reach the log or its shipped copies; shipping to a folder
//! and to a real rsyslog survives the sink being down, and every record
//! arrives exactly once.

mod common;

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::wait_until;

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

fn init(vault: &Path) {
    let mut c = coffer(vault);
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
}

fn unlocked(vault: &Path, args: &[&str]) -> Output {
    let mut c = coffer(vault);
    c.env("COFFER_PASSPHRASE", PASS).args(args);
    ok(c)
}

fn seqs(lines: &str) -> Vec<u64> {
    lines
        .lines()
        .filter_map(|l| {
            let start = l.find("{\"seq\":")?;
            let v: serde_json::Value = serde_json::from_str(&l[start..]).ok()?;
            v["seq"].as_u64()
        })
        .collect()
}

fn all_bytes_under(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.extend(fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
}

/// A temp dir holding a new vault that ships its log to the folder `share`
/// (a mounted network share, as IT sets it up).
fn vault_shipping_to_a_folder() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    let share = t.path().join("share");
    fs::create_dir(&share).unwrap();
    init(&vault);
    ok({
        let mut c = coffer(&vault);
        c.args(["audit", "sink", "add-dir"]).arg(&share);
        c
    });
    (t, vault, share)
}

#[test]
fn no_name_path_or_content_reaches_the_log_or_its_copies() {
    let (t, vault, share) = vault_shipping_to_a_folder();
    let folder = t.path().join("CanaryFolderXq7");
    fs::create_dir_all(folder.join("CanarySubdirZz3")).unwrap();
    fs::write(
        folder.join("CanaryNamePw9.txt"),
        b"CanaryContentKk4 patient data",
    )
    .unwrap();
    fs::write(
        folder.join("CanarySubdirZz3").join("CanaryScanVv2.pdf"),
        b"CanaryContentJj8",
    )
    .unwrap();
    ok({
        let mut c = coffer(&vault);
        c.arg("protect").arg(&folder);
        c
    });
    unlocked(&vault, &["ls", "--long"]);
    unlocked(&vault, &["cat", "CanaryFolderXq7/CanaryNamePw9.txt"]);
    let out = t.path().join("out");
    unlocked(
        &vault,
        &["extract", "CanaryFolderXq7", "--to", out.to_str().unwrap()],
    );
    unlocked(
        &vault,
        &["rm", "CanaryFolderXq7/CanarySubdirZz3/CanaryScanVv2.pdf"],
    );
    let mut bad = coffer(&vault);
    bad.env("COFFER_PASSPHRASE", "wrong").arg("ls");
    assert_eq!(bad.output().unwrap().status.code(), Some(3));

    let log = fs::read_to_string(vault.join("audit/log.jsonl")).unwrap();
    for ev in [
        "file_added",
        "file_opened",
        "file_extracted",
        "file_removed",
        "unlock",
        "unlock_failed",
        "protect",
        "lock",
    ] {
        assert!(
            log.contains(&format!("\"event\":\"{ev}\"")),
            "no {ev} record:\n{log}"
        );
    }
    let shipped = all_bytes_under(&share);
    assert!(!shipped.is_empty());
    let everything = [all_bytes_under(&vault.join("audit")), shipped].concat();
    let text = String::from_utf8_lossy(&everything);
    for canary in [
        "Canary", "Xq7", "Pw9", "Zz3", "Vv2", "Kk4", "Jj8", "patient",
    ] {
        assert!(
            !text.contains(canary),
            "{canary} leaked into the audit trail"
        );
    }
    let v = ok({
        let mut c = coffer(&vault);
        c.args(["--json", "audit", "verify"]);
        c
    });
    let v: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v}");
}

#[test]
fn a_folder_sink_that_was_down_receives_every_record_once() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    let share = t.path().join("share");
    init(&vault);
    fs::create_dir(&share).unwrap();
    ok({
        let mut c = coffer(&vault);
        c.args(["audit", "sink", "add-dir"]).arg(&share);
        c
    });
    // The share goes away (unmounted); work goes on and records queue.
    fs::rename(&share, t.path().join("share-offline")).unwrap();
    for _ in 0..3 {
        unlocked(&vault, &["ls"]);
    }
    let mut ship = coffer(&vault);
    ship.args(["audit", "ship"]);
    assert_eq!(
        ship.output().unwrap().status.code(),
        Some(6),
        "unreachable sink is an I/O failure"
    );
    fs::rename(t.path().join("share-offline"), &share).unwrap();
    ok({
        let mut c = coffer(&vault);
        c.args(["audit", "ship"]);
        c
    });
    ok({
        let mut c = coffer(&vault);
        c.args(["audit", "ship"]);
        c
    });
    let copy = fs::read_dir(&share)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let got = seqs(&fs::read_to_string(&copy).unwrap());
    let local = seqs(&fs::read_to_string(vault.join("audit/log.jsonl")).unwrap());
    assert_eq!(
        got, local,
        "the copy holds every record exactly once, in order"
    );
    let mut verify = coffer(&vault);
    verify.args(["audit", "verify", "--log"]).arg(&copy);
    ok(verify);

    // IT's fleet view of the share: this device, once it has sent a status
    // record, as JSON and as an HTML page.
    unlocked(&vault, &["status", "--record"]);
    ok({
        let mut c = coffer(&vault);
        c.args(["audit", "ship"]);
        c
    });
    let out = ok({
        let mut c = coffer(&vault);
        c.args(["--json", "audit", "fleet", "--log"]).arg(&share);
        c
    });
    let fleet: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let devices = fleet["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1, "{fleet}");
    assert!(devices[0]["compliant"].is_boolean(), "{fleet}");
    assert_eq!(devices[0]["chain_ok"], true, "{fleet}");
    let html = t.path().join("fleet.html");
    ok({
        let mut c = coffer(&vault);
        c.args(["audit", "fleet", "--format", "html", "--log"])
            .arg(&share)
            .arg("--out")
            .arg(&html);
        c
    });
    let page = fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "an HTML page");
    assert!(
        page.contains(devices[0]["device"].as_str().unwrap()),
        "names the device"
    );
}

struct Rsyslog {
    child: Child,
    out: PathBuf,
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_rsyslog(dir: &Path, port: u16) -> Option<Rsyslog> {
    let bin = ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"]
        .into_iter()
        .find(|p| Path::new(p).exists())?;
    let work = dir.join("rsyslog-work");
    fs::create_dir_all(&work).unwrap();
    let out = dir.join("received.log");
    let conf = dir.join("rsyslog.conf");
    fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{work}")
module(load="imtcp")
template(name="msgonly" type="string" string="%msg%\n")
ruleset(name="coffer") {{ action(type="omfile" file="{out}" template="msgonly") }}
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="coffer")
"#,
            work = work.display(),
            out = out.display()
        ),
    )
    .unwrap();
    let child = Command::new(bin)
        .arg("-n")
        .arg("-f")
        .arg(&conf)
        .arg("-i")
        .arg(dir.join("rsyslog.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    // Ready when the port accepts connections.
    assert!(
        wait_until(Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        }),
        "rsyslogd did not start listening"
    );
    Some(Rsyslog { child, out })
}

fn wait_for_seqs(path: &Path, want: &[u64]) -> Vec<u64> {
    let got = || seqs(&fs::read_to_string(path).unwrap_or_default());
    wait_until(Duration::from_secs(20), || got().len() >= want.len());
    got()
}

#[test]
fn a_real_rsyslog_that_was_down_receives_every_record_once() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    init(&vault);
    let port = free_port();
    ok({
        let mut c = coffer(&vault);
        c.args([
            "audit",
            "sink",
            "add-syslog",
            &format!("tcp://127.0.0.1:{port}"),
        ]);
        c
    });
    // rsyslog is not running yet: these records queue.
    for _ in 0..3 {
        unlocked(&vault, &["ls"]);
    }
    let Some(rs) = start_rsyslog(t.path(), port) else {
        eprintln!("skipped: rsyslogd is not installed (apt-get install rsyslog)");
        return;
    };
    ok({
        let mut c = coffer(&vault);
        c.args(["audit", "ship"]);
        c
    });
    unlocked(&vault, &["ls"]);
    let local = seqs(&fs::read_to_string(vault.join("audit/log.jsonl")).unwrap());
    let got = wait_for_seqs(&rs.out, &local);
    assert_eq!(
        got, local,
        "rsyslog received every record exactly once, in order"
    );
    // Down again, more work, back up: the gap is filled, nothing doubled.
    drop(rs);
    unlocked(&vault, &["ls"]);
    let rs = start_rsyslog(t.path(), port).unwrap();
    ok({
        let mut c = coffer(&vault);
        c.args(["audit", "ship"]);
        c
    });
    let local = seqs(&fs::read_to_string(vault.join("audit/log.jsonl")).unwrap());
    let got = wait_for_seqs(&rs.out, &local);
    assert_eq!(got, local);
}

#[test]
fn access_report_exports_in_every_format_and_the_pdf_renders() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("vault");
    init(&vault);
    let f = t.path().join("report-me.txt");
    fs::write(&f, b"x").unwrap();
    ok({
        let mut c = coffer(&vault);
        c.arg("add").arg(&f);
        c
    });
    unlocked(&vault, &["cat", "report-me.txt"]);
    let mut bad = coffer(&vault);
    bad.env("COFFER_PASSPHRASE", "nope").arg("ls");
    bad.output().unwrap();

    let mut c = coffer(&vault);
    c.args(["audit", "export", "--format", "json"]);
    let rep: serde_json::Value = serde_json::from_slice(&ok(c).stdout).unwrap();
    let events: Vec<&str> = rep["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    for e in [
        "vault_created",
        "file_added",
        "file_opened",
        "unlock_failed",
    ] {
        assert!(events.contains(&e), "{e} missing from {events:?}");
    }
    assert_eq!(rep["chain"]["ok"], true);
    assert_eq!(rep["names_resolved"], false);

    // Names only when unlocked, and the report says so.
    let mut c = coffer(&vault);
    c.env("COFFER_PASSPHRASE", PASS)
        .args(["audit", "export", "--names", "--format", "csv"]);
    let csv = String::from_utf8(ok(c).stdout).unwrap();
    assert!(csv.starts_with("seq,time,user"), "{csv}");
    assert!(csv.contains("report-me.txt"));

    let pdf = t.path().join("access.pdf");
    let mut c = coffer(&vault);
    c.args(["audit", "export", "--format", "pdf", "--out"])
        .arg(&pdf);
    ok(c);
    let bytes = fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF"));
    if Path::new("/usr/bin/pdftoppm").exists() {
        let png = t.path().join("page");
        let st = Command::new("pdftoppm")
            .args(["-png", "-r", "50", "-f", "1", "-l", "1"])
            .arg(&pdf)
            .arg(&png)
            .status()
            .unwrap();
        assert!(st.success());
        let page = fs::read_dir(t.path())
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with("page"))
            .expect("a rendered page");
        assert!(
            page.metadata().unwrap().len() > 2000,
            "the page has content"
        );
    } else {
        eprintln!("pdftoppm not installed: PDF rendering not checked");
    }
    // The export itself is audited.
    let log = fs::read_to_string(vault.join("audit/log.jsonl")).unwrap();
    for format in ["json", "csv", "pdf"] {
        assert!(
            log.contains(&format!(
                "\"event\":\"audit_export\",\"detail\":{{\"format\":\"{format}\""
            )),
            "export as {format} not audited"
        );
    }
}

#[test]
fn incident_report_from_the_shipped_copy_alone() {
    let (t, vault, share) = vault_shipping_to_a_folder();
    let f = t.path().join("big.bin");
    fs::write(&f, vec![7u8; 8 << 20]).unwrap();
    ok({
        let mut c = coffer(&vault);
        c.arg("add").arg(&f);
        c
    });
    ok({
        let mut c = coffer(&vault);
        c.args(["status", "--record"]);
        c
    });
    let device = fs::read_dir(&share)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    let device = device
        .to_string_lossy()
        .split('-')
        .next()
        .unwrap()
        .to_owned();
    let incident = |at: &str| -> serde_json::Value {
        let mut c = coffer(&vault);
        c.args([
            "audit",
            "incident",
            "--device",
            &device,
            "--lost-at",
            at,
            "--format",
            "json",
            "--log",
        ])
        .arg(&share);
        serde_json::from_slice(&ok(c).stdout).unwrap()
    };
    // Every process locked when it ended: the data was safe.
    let locked = incident(&jiff::Timestamp::now().to_string());
    assert_eq!(locked["verdict"], "holds", "{locked}");

    // A process dies while unlocked (killed mid-read): unlock with no lock.
    let mut reader = coffer(&vault);
    reader
        .env("COFFER_PASSPHRASE", PASS)
        .args(["cat", "big.bin"])
        .stdout(Stdio::piped());
    let mut child = reader.spawn().unwrap();
    assert!(
        wait_until(Duration::from_secs(20), || {
            fs::read_to_string(vault.join("audit/log.jsonl"))
                .unwrap()
                .contains("file_opened")
        }),
        "cat never opened the file"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    ok({
        let mut c = coffer(&vault);
        c.args(["audit", "ship"]);
        c
    });
    let unlocked_at_loss = incident(&jiff::Timestamp::now().to_string());
    assert_eq!(
        unlocked_at_loss["verdict"], "does_not_hold",
        "{unlocked_at_loss}"
    );
}
