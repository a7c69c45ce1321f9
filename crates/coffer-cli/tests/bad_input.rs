//! Black-box tests of `coffer` against bad input and a hostile
//! environment: wrong credentials, missing or damaged vaults, tampered
//! objects, a full disk, permission problems, odd file names, symlinks and
//! a vault held by another process. In every case: the right exit code, a
//! useful message, and nothing lost.

mod common;

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

#[test]
fn wrong_passphrase_exit_3_with_a_recover_hint() {
    let mut t = TestVault::new();
    write_tree(t.root(), &[("a", b"a")]);
    t.json_ok(&["add", "a"]);
    t.pass = "not the passphrase".into();
    for args in [&["ls"][..], &["cat", "a"], &["verify"], &["rm", "a"]] {
        let r = t.run(args);
        r.assert_code(code::WRONG_CREDENTIAL);
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout_str());
        assert!(
            r.stderr.contains("wrong passphrase"),
            "{args:?}: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains("coffer recover"),
            "{args:?}: {}",
            r.stderr
        );
        let e = t.json_err(args, code::WRONG_CREDENTIAL);
        assert_eq!(e["kind"], "wrong_credential");
        assert!(
            e["hint"].as_str().unwrap().contains("coffer recover"),
            "{e}"
        );
    }
    // Nothing was removed by the failed `rm`.
    t.pass = PASS.into();
    assert_eq!(t.cat("a"), b"a");
    // The empty passphrase is just another wrong one.
    t.pass = String::new();
    t.run(&["ls"]).assert_code(code::WRONG_CREDENTIAL);
}

#[test]
fn no_vault_exit_5() {
    let t = TestVault::empty();
    write_tree(t.root(), &[("a", b"a")]);
    for args in [
        &["ls"][..],
        &["status"],
        &["add", "a"],
        &["protect", "."],
        &["verify", "--structure-only"],
        &["cat", "a"],
        &["slots", "list"],
        &["inspect", "00000000000000000000000000000000"],
    ] {
        let e = t.json_err(args, code::NOT_FOUND);
        assert_eq!(e["kind"], "not_found", "{args:?}");
        assert!(
            e["message"].as_str().unwrap().contains("no vault at"),
            "{args:?}: {e}"
        );
        assert!(e["hint"].as_str().unwrap().contains("coffer init"), "{e}");
    }
    let r = t.run(&["status"]);
    r.assert_code(code::NOT_FOUND);
    assert!(r.stderr.contains("no vault at"), "{}", r.stderr);
    assert!(!t.vault.exists(), "nothing was created");
    assert_eq!(fs::read(t.path("a")).unwrap(), b"a");
}

#[test]
fn corrupt_vault_json_exit_4() {
    let t = TestVault::new();
    write_tree(t.root(), &[("a", b"a")]);
    t.json_ok(&["add", "a"]);
    let cfg = t.vault.join("vault.json");
    let good = fs::read_to_string(&cfg).unwrap();
    let v: Value = serde_json::from_str(&good).unwrap();

    let mut future = v.clone();
    future["version"] = 99.into();
    let mut no_slots_field = v.clone();
    no_slots_field.as_object_mut().unwrap().remove("slots");
    let mut alien = v.clone();
    alien["format"] = "something-else".into();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated",
            good.as_bytes()[..good.len() / 2].to_vec(),
            "integrity",
        ),
        ("empty", Vec::new(), "integrity"),
        ("binary", pseudo_random(300, 9), "integrity"),
        (
            "missing field",
            no_slots_field.to_string().into_bytes(),
            "integrity",
        ),
        ("not coffer", alien.to_string().into_bytes(), "integrity"),
        (
            "newer",
            future.to_string().into_bytes(),
            "unsupported_version",
        ),
    ];
    for (what, bytes, kind) in cases {
        fs::write(&cfg, &bytes).unwrap();
        for args in [&["status"][..], &["ls"], &["add", "a"], &["verify"]] {
            let e = t.json_err(args, code::INTEGRITY);
            assert_eq!(e["kind"], kind, "{what} {args:?}: {e}");
        }
        let r = t.run(&["status"]);
        r.assert_code(code::INTEGRITY);
        assert!(r.stderr.contains("hint:"), "{what}: {}", r.stderr);
        // Nothing touched the config.
        assert_eq!(fs::read(&cfg).unwrap(), bytes, "{what}");
    }
    fs::write(&cfg, &good).unwrap();
    assert_eq!(t.cat("a"), b"a");
}

/// A vault with a few files; returns it and the id of `big`.
fn vault_with_big_file() -> (TestVault, Vec<u8>, String) {
    let t = TestVault::new();
    let big = pseudo_random(200_000, 10);
    write_tree(
        t.root(),
        &[("D/big", &big), ("D/small", b"small"), ("D/z", b"zz")],
    );
    t.json_ok(&["add", "D"]);
    let id = t.ls()["D/big"]["id"].as_str().unwrap().to_owned();
    (t, big, id)
}

/// Extracting `what` fails with exit 4 and leaves `dest` without any file.
fn extract_fails_cleanly(t: &TestVault, what: &str, dest: &str) {
    let e = t.json_err(&["extract", what, "--to", dest], code::INTEGRITY);
    assert_eq!(e["kind"], "integrity", "{e}");
    let left = walk(&t.path(dest));
    assert!(left.is_empty(), "left in the destination: {left:?}");
}

fn verify_failures(t: &TestVault, args: &[&str]) -> (Value, Vec<String>) {
    let r = t.run_json(args);
    r.assert_code(code::INTEGRITY);
    let docs = r.json_values();
    let report = docs
        .iter()
        .find(|d| d.get("report").is_some())
        .unwrap_or_else(|| panic!("no report in {docs:?}"))
        .clone();
    assert_eq!(report["ok"], false);
    r.json_error();
    let ids = report["report"]["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[0].as_str().unwrap().to_owned())
        .collect();
    (report, ids)
}

#[test]
fn corrupted_object_byte_is_detected() {
    let (t, big, id) = vault_with_big_file();
    let obj = t.object_files()[&id].clone();
    let len = fs::metadata(&obj).unwrap().len() as usize;
    flip_byte(&obj, len / 2);

    // Unlocked verify names the object; the others are fine.
    let (report, ids) = verify_failures(&t, &["verify"]);
    assert_eq!(ids, std::slice::from_ref(&id), "{report}");
    assert_eq!(report["report"]["decrypted"], 2);
    let r = t.run(&["verify"]);
    r.assert_code(code::INTEGRITY);
    assert!(r.stdout_str().contains(&id), "{}", r.stdout_str());
    assert!(r.stdout_str().contains("1 problems"), "{}", r.stdout_str());

    // No plaintext released: not by extract, not as a temp file.
    extract_fails_cleanly(&t, "D/big", "out1");
    let r = t.run_json(&["cat", "D/big"]);
    r.assert_code(code::INTEGRITY);
    assert!(
        !r.stdout
            .windows(64)
            .any(|w| big.windows(64).next() == Some(w)),
        "cat released plaintext of a tampered object"
    );
    // Listing still shows the file (its metadata is intact); the rest is readable.
    assert!(t.ls().contains_key("D/big"));
    assert_eq!(t.cat("D/small"), b"small");

    // Undo: everything is well again.
    flip_byte(&obj, len / 2);
    assert_eq!(t.json_ok(&["verify"])["ok"], true);
    assert_eq!(t.cat("D/big"), big);
}

#[test]
fn corrupted_header_is_detected_even_locked() {
    let (t, _big, id) = vault_with_big_file();
    let obj = t.object_files()[&id].clone();
    flip_byte(&obj, 20);

    let (_, ids) = verify_failures(&t, &["verify", "--structure-only"]);
    assert_eq!(ids, std::slice::from_ref(&id));
    let (_, ids) = verify_failures(&t, &["verify"]);
    assert_eq!(ids, std::slice::from_ref(&id));
    // Still in the listing cache: extraction tries it and refuses.
    extract_fails_cleanly(&t, "D/big", "out");
    extract_fails_cleanly(&t, "D", "out2");
    // Once the listing cache is rebuilt from the objects, listing reports
    // the unreadable object rather than hiding it.
    t.json_ok(&["repair", "--rebuild-index"]);
    let v = t.json_ok(&["ls"]);
    assert_eq!(v["unreadable"], 1, "{v}");
    assert_eq!(v["files"].as_array().unwrap().len(), 2, "{v}");
    let r = t.run(&["ls"]);
    r.assert_ok();
    assert!(r.stderr.contains("could not be read"), "{}", r.stderr);
    let r = t.run(&["extract", "D", "--to", "out3"]);
    assert!(r.stderr.contains("could not be read"), "{}", r.stderr);
}

#[test]
fn json_failure_prints_one_document() {
    let (t, _big, id) = vault_with_big_file();
    let obj = t.object_files()[&id].clone();
    flip_byte(&obj, 1000);
    let r = t.run_json(&["verify"]);
    r.assert_code(code::INTEGRITY);
    assert_eq!(r.json_values().len(), 1, "{}", r.stdout_str());
}

#[test]
fn extract_json_reports_unreadable_objects() {
    let (t, _big, id) = vault_with_big_file();
    let obj = t.object_files()[&id].clone();
    flip_byte(&obj, 20);
    t.json_ok(&["repair", "--rebuild-index"]);
    let r = t.run_json(&["extract", "D", "--to", "out"]);
    let v = r.json_values().remove(0);
    assert_eq!(v["unreadable"], 1, "{v}");
}

#[test]
fn truncated_object_is_detected() {
    let (t, big, id) = vault_with_big_file();
    let obj = t.object_files()[&id].clone();
    let original = fs::read(&obj).unwrap();
    let offset = {
        let r = run_cmd(&mut t.cmd_nopass(["--json", "inspect", &id]));
        r.assert_ok();
        r.json()["stream_offset"].as_u64().unwrap() as usize
    };
    let sealed_chunk = 65_536 + 16;
    for (what, len) in [
        ("mid-chunk", original.len() - 100),
        ("last chunk dropped", offset + 3 * sealed_chunk),
        ("one chunk left", offset + sealed_chunk),
        ("header only", 40),
        ("empty", 0),
    ] {
        fs::write(&obj, &original[..len]).unwrap();
        let (_, ids) = verify_failures(&t, &["verify"]);
        assert_eq!(ids, std::slice::from_ref(&id), "{what}");
        let dest = format!("out-{}", what.replace(' ', "-"));
        let e = t.run_json(&["extract", "D/big", "--to", &dest]);
        assert_ne!(e.code, code::OK, "{what}");
        assert!(
            [code::INTEGRITY, code::NOT_FOUND].contains(&e.code),
            "{what}: {e:?}"
        );
        assert!(walk(&t.path(&dest)).is_empty(), "{what}: left files");
    }
    // Structure-only verify catches what it can without keys.
    fs::write(&obj, &original[..40]).unwrap();
    let (_, ids) = verify_failures(&t, &["verify", "--structure-only"]);
    assert_eq!(ids, std::slice::from_ref(&id));

    fs::write(&obj, &original).unwrap();
    assert_eq!(t.cat("D/big"), big);
}

/// A tmpfs mounted for the duration of a test.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs(dir.to_path_buf())),
            Ok(o) => {
                eprintln!(
                    "note: skipped, cannot mount a tmpfs: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("note: skipped, cannot run mount: {e}");
                None
            }
        }
    }
}

impl Tmpfs {
    fn resize(&self, size: &str) {
        let st = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(st.success(), "remount");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn disk_full_loses_nothing_and_leaves_no_temp_files() {
    let mut t = TestVault::empty();
    let mnt = t.path("small");
    let Some(_tmpfs) = Tmpfs::mount(&mnt, "2m") else {
        return;
    };
    t.vault = mnt.join("vault");
    t.init(&[]);

    let big = pseudo_random(5 << 20, 11);
    let hash = sha256(&big);
    fs::write(t.path("scan.dcm"), &big).unwrap();
    let r = t.run_json(&["add", "--remove-plaintext", "./scan.dcm"]);
    r.assert_code(code::IO);
    let docs = r.json_values();
    let report = docs
        .iter()
        .find(|d| d.get("problems").is_some())
        .unwrap_or_else(|| panic!("the failed file is listed: {docs:?}"));
    assert_eq!(report["added"], 0);
    let p = &report["problems"][0];
    assert_eq!(p["error"], "io", "{p}");
    assert!(p["hint"].as_str().unwrap().contains("disk is full"), "{p}");
    assert_eq!(r.json_error()["exit_code"], code::IO);
    // The plaintext is there and intact.
    assert_eq!(sha256(&fs::read(t.path("scan.dcm")).unwrap()), hash);

    // Human output says so too.
    let r = t.run(&["add", "--remove-plaintext", "./scan.dcm"]);
    r.assert_code(code::IO);
    assert!(r.stderr.contains("disk is full"), "{}", r.stderr);
    assert_eq!(sha256(&fs::read(t.path("scan.dcm")).unwrap()), hash);

    // The next command finds no temp file, and the space is back.
    let s = t.json_ok(&["status"]);
    assert_eq!(s["objects"], 0);
    let left = tmp_files(&t.vault);
    assert!(left.is_empty(), "temp files left: {left:?}");
    let v = t.json_ok(&["verify", "--structure-only"]);
    assert_eq!(v["report"]["temp_files"], 0);
    fs::write(t.path("note.txt"), pseudo_random(300_000, 12)).unwrap();
    t.json_ok(&["add", "--remove-plaintext", "./note.txt"]);
    assert!(!t.path("note.txt").exists());
    assert_eq!(t.cat("note.txt"), pseudo_random(300_000, 12));
}

#[test]
fn disk_full_mid_folder_loses_nothing() {
    let mut t = TestVault::empty();
    let mnt = t.path("small");
    let Some(tmpfs) = Tmpfs::mount(&mnt, "2m") else {
        return;
    };
    t.vault = mnt.join("vault");
    t.init(&[]);
    // About 3.5 MiB into a 2 MiB disk: some files fit, some do not.
    let mut originals = Vec::new();
    for i in 0..40u64 {
        let len = if i % 10 == 0 {
            600_000
        } else {
            30_000 + 500 * i as usize
        };
        originals.push((format!("f{i:02}"), pseudo_random(len, 100 + i)));
    }
    let files: Vec<(String, Vec<u8>)> = originals
        .iter()
        .map(|(n, b)| (format!("Inbox/{n}"), b.clone()))
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    write_tree(t.root(), &refs);
    let r = t.run_json(&["protect", "Inbox"]);
    assert_eq!(r.code, code::IO, "{r:?}");
    let left = tmp_files(&t.vault);
    // Still full. Reading is audited, so a listing may be refused for want
    // of space, but only with the disk-full advice; the index cache it
    // cannot save is not a reason to refuse.
    let full = t.run_json(&["ls"]);
    if full.code != 0 {
        assert_eq!(full.code, code::IO, "{full:?}");
        let out = String::from_utf8_lossy(&full.stdout);
        assert!(out.contains("the disk is full"), "{out}");
    }
    assert!(tmp_files(&t.vault).is_empty(), "{left:?} not cleaned");
    tmpfs.resize("16m");
    let in_vault = t.ls();
    let mut vaulted = 0;
    for (name, bytes) in &originals {
        let plain = t.path(&format!("Inbox/{name}"));
        if let Ok(p) = fs::read(&plain) {
            assert_eq!(&p, bytes, "{name} changed on disk");
        } else {
            assert!(
                in_vault.contains_key(&format!("Inbox/{name}")),
                "{name} lost"
            );
        }
        if let Some(f) = in_vault.get(&format!("Inbox/{name}")) {
            assert_eq!(f["size"], bytes.len() as u64);
            assert_eq!(&t.cat(&format!("Inbox/{name}")), bytes, "{name}");
            vaulted += 1;
        }
    }
    assert!(vaulted > 0, "some files fit");

    // With room, protecting again finishes the job.
    let v = t.json_ok(&["protect", "Inbox"]);
    assert_eq!(v["problems"], serde_json::json!([]), "{v}");
    assert!(read_tree(&t.path("Inbox")).is_empty());
    let files = t.ls();
    assert_eq!(files.len(), originals.len());
    let mut duplicates = 0;
    for (name, bytes) in &originals {
        let f = &files[&format!("Inbox/{name}")];
        duplicates += f["versions"].as_u64().unwrap() - 1;
        assert_eq!(&t.cat(&format!("Inbox/{name}")), bytes, "{name}");
    }
    println!(
        "disk full mid-folder: {vaulted} of {} files fit; {duplicates} stored twice",
        originals.len()
    );
    assert_eq!(t.json_ok(&["verify"])["ok"], true);
    assert!(tmp_files(&t.vault).is_empty(), "{:?}", tmp_files(&t.vault));
}

/// Whether `chattr +i` works on `file`.
fn make_immutable(file: &Path) -> bool {
    Command::new("chattr")
        .arg("+i")
        .arg(file)
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

struct Immutable(PathBuf);
impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

#[test]
fn undeletable_plaintext_is_reported_and_kept() {
    let t = TestVault::new();
    write_tree(
        t.root(),
        &[("P/locked.txt", b"cannot go"), ("P/free.txt", b"free")],
    );
    let locked = t.path("P/locked.txt");
    if !make_immutable(&locked) {
        eprintln!("note: skipped, chattr +i is not available here");
        return;
    }
    let _guard = Immutable(locked.clone());
    let r = t.run_json(&["protect", "P"]);
    r.assert_code(code::IO);
    let docs = r.json_values();
    let problems = docs[0]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{docs:?}");
    assert!(
        problems[0]["source"]
            .as_str()
            .unwrap()
            .ends_with("locked.txt"),
        "{docs:?}"
    );
    assert!(problems[0]["hint"].as_str().unwrap().contains("permission"));
    // Nothing lost: the file is still there, the other one is protected.
    assert_eq!(fs::read(&locked).unwrap(), b"cannot go");
    assert!(!t.path("P/free.txt").exists());
    assert_eq!(t.cat("P/free.txt"), b"free");
    let r = t.run(&["protect", "P"]);
    r.assert_code(code::IO);
    assert!(r.stderr.contains("locked.txt"), "{}", r.stderr);
    assert_eq!(fs::read(&locked).unwrap(), b"cannot go");
    assert!(tmp_files(&t.vault).is_empty());
}

#[test]
fn undeletable_plaintext_is_not_stored_again_on_retry() {
    let t = TestVault::new();
    write_tree(t.root(), &[("P/locked.txt", b"cannot go")]);
    let locked = t.path("P/locked.txt");
    if !make_immutable(&locked) {
        eprintln!("note: skipped, chattr +i is not available here");
        return;
    }
    let _guard = Immutable(locked.clone());
    for _ in 0..3 {
        let _ = t.run_json(&["protect", "P"]);
    }
    let v = t.json_ok(&["versions", "P/locked.txt"]);
    assert_eq!(v["versions"].as_array().unwrap().len(), 1, "{v}");
}

/// Runs `coffer` as nobody (uid/gid 65534), if setpriv works here.
fn as_nobody(t: &TestVault, args: &[&str]) -> Option<Run> {
    let probe = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"])
        .status();
    if !matches!(probe, Ok(s) if s.success()) {
        return None;
    }
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bin())
        .arg("--vault")
        .arg(&t.vault)
        .args(args)
        .env("COFFER_PASSPHRASE", &t.pass)
        .env("RUST_BACKTRACE", "0")
        .current_dir(t.root())
        .stdin(Stdio::null());
    Some(run_cmd(&mut c))
}

fn chown_nobody(p: &Path) {
    use std::os::unix::fs::chown;
    chown(p, Some(65534), Some(65534)).unwrap();
}

#[test]
fn unreadable_file_is_reported_and_kept() {
    let mut t = TestVault::empty();
    chown_nobody(t.root());
    // The vault belongs to nobody, so nobody can use it.
    let Some(r) = as_nobody(
        &t,
        &[
            "--json",
            "init",
            "--kdf-memory",
            "19",
            "--kdf-time",
            "2",
            "--kdf-lanes",
            "1",
        ],
    ) else {
        eprintln!("note: skipped, setpriv cannot switch to uid 65534 here");
        return;
    };
    r.assert_ok();
    t.recovery_key = r.json()["recovery_key"].as_str().unwrap().to_owned();

    use std::os::unix::fs::PermissionsExt;
    write_tree(
        t.root(),
        &[("D/secret.txt", b"root only"), ("D/open.txt", b"anyone")],
    );
    fs::set_permissions(t.path("D"), fs::Permissions::from_mode(0o777)).unwrap();
    fs::set_permissions(t.path("D/secret.txt"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::set_permissions(t.path("D/open.txt"), fs::Permissions::from_mode(0o644)).unwrap();

    let r = as_nobody(&t, &["--json", "add", "--remove-plaintext", "D"]).unwrap();
    r.assert_code(code::IO);
    let docs = r.json_values();
    assert_eq!(docs[0]["added"], 1, "{docs:?}");
    let p = &docs[0]["problems"][0];
    assert!(p["source"].as_str().unwrap().ends_with("secret.txt"), "{p}");
    assert_eq!(p["error"], "io");
    assert!(
        p["hint"].as_str().unwrap().contains("permission denied"),
        "{p}"
    );
    assert_eq!(fs::read(t.path("D/secret.txt")).unwrap(), b"root only");
    // Removing open.txt needs write access to D (0777), so it went.
    assert!(!t.path("D/open.txt").exists());

    let r = as_nobody(&t, &["add", "D/secret.txt"]).unwrap();
    r.assert_code(code::IO);
    assert!(r.stderr.contains("ermission denied"), "{}", r.stderr);
    assert_eq!(fs::read(t.path("D/secret.txt")).unwrap(), b"root only");
    assert!(tmp_files(&t.vault).is_empty());
    let r = as_nobody(&t, &["cat", "D/open.txt"]).unwrap();
    r.assert_ok();
    assert_eq!(r.stdout, b"anyone");

    // A vault nobody may not write to: refused, and the file stays.
    let root_vault = TestVault::new();
    let mut other = TestVault::empty();
    other.vault = root_vault.vault.clone();
    chown_nobody(other.root());
    write_tree(other.root(), &[("mine.txt", b"mine")]);
    chown_nobody(&other.path("mine.txt"));
    let r = as_nobody(
        &other,
        &["--json", "add", "--remove-plaintext", "./mine.txt"],
    )
    .unwrap();
    assert_ne!(r.code, code::OK);
    assert_eq!(fs::read(other.path("mine.txt")).unwrap(), b"mine");
}

#[test]
fn non_utf8_name_is_left_alone() {
    let t = TestVault::new();
    write_tree(t.root(), &[("P/good.txt", b"good")]);
    let bad = t.path("P").join(OsStr::from_bytes(b"bad-\xff\xfe.txt"));
    fs::write(&bad, b"odd name").unwrap();
    let _ = t.run_json(&["protect", "P"]);
    // Whatever the report, the file is untouched and nothing else is lost.
    assert_eq!(fs::read(&bad).unwrap(), b"odd name");
    assert!(!t.path("P/good.txt").exists());
    assert_eq!(t.cat("P/good.txt"), b"good");
    assert_eq!(t.ls().len(), 1);
    assert!(tmp_files(&t.vault).is_empty());
}

#[test]
fn non_utf8_name_is_reported() {
    let t = TestVault::new();
    write_tree(t.root(), &[("P/good.txt", b"good")]);
    let bad = t.path("P").join(OsStr::from_bytes(b"bad-\xff\xfe.txt"));
    fs::write(&bad, b"odd name").unwrap();
    let r = t.run_json(&["protect", "P"]);
    r.assert_ok();
    let v = r.json();
    assert_eq!(v["added"], 1);
    let skipped = v["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{v}");
    assert_eq!(skipped[0]["skipped"], "name_not_utf8");
    let r = t.run(&["protect", "P"]);
    r.assert_ok();
    assert!(r.stderr.contains("not valid UTF-8"), "{}", r.stderr);
}

#[test]
fn symlink_pointing_outside_is_not_followed() {
    let t = TestVault::new();
    write_tree(
        t.root(),
        &[
            ("outside/secret.txt", b"outside the folder"),
            ("outside/dir/inner.txt", b"inner"),
            ("P/real.txt", b"real"),
        ],
    );
    std::os::unix::fs::symlink(t.path("outside/secret.txt"), t.path("P/link.txt")).unwrap();
    std::os::unix::fs::symlink(t.path("outside/dir"), t.path("P/linkdir")).unwrap();
    std::os::unix::fs::symlink(t.path("nowhere"), t.path("P/dangling")).unwrap();

    let r = t.run_json(&["protect", "P"]);
    r.assert_ok();
    let v = r.json();
    assert_eq!(v["added"], 1, "{v}");
    let mut reasons: Vec<(String, String)> = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["source"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned(),
                s["skipped"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            ("dangling".to_owned(), "symlink".to_owned()),
            ("link.txt".to_owned(), "symlink".to_owned()),
            ("linkdir".to_owned(), "symlink".to_owned()),
        ]
    );
    // Targets untouched, links left, nothing of them in the vault.
    assert_eq!(
        fs::read(t.path("outside/secret.txt")).unwrap(),
        b"outside the folder"
    );
    assert_eq!(fs::read(t.path("outside/dir/inner.txt")).unwrap(), b"inner");
    assert!(
        fs::symlink_metadata(t.path("P/link.txt"))
            .unwrap()
            .is_symlink()
    );
    assert!(
        fs::symlink_metadata(t.path("P/linkdir"))
            .unwrap()
            .is_symlink()
    );
    let listed: Vec<String> = t.ls().into_keys().collect();
    assert_eq!(listed, ["P/real.txt"]);

    let r = t.run(&["protect", "P"]);
    r.assert_ok();
    assert!(
        r.stderr.contains("symbolic link, not followed"),
        "{}",
        r.stderr
    );

    // Adding a symlink directly does not follow it either.
    let r = t.run_json(&["add", "--remove-plaintext", "P/link.txt"]);
    assert!(!t.ls().keys().any(|k| k.contains("link")), "{r:?}");
    assert_eq!(
        fs::read(t.path("outside/secret.txt")).unwrap(),
        b"outside the folder"
    );
}

/// Holds the vault's writer lock like another Coffer process would.
fn hold_lock(vault: &Path) -> File {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(vault.join("lock"))
        .unwrap();
    f.lock().unwrap();
    f.set_len(0).unwrap();
    (&f).write_all(std::process::id().to_string().as_bytes())
        .unwrap();
    f
}

#[test]
fn vault_in_use_waits_for_the_writer_then_succeeds() {
    let t = TestVault::new();
    write_tree(t.root(), &[("a.txt", b"waited")]);
    let lock = hold_lock(&t.vault);

    let started = Instant::now();
    let mut child = t
        .cmd(["--json", "add", "--remove-plaintext", "./a.txt"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The lock-release test: a fixed pause is the point.
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        child.try_wait().unwrap().is_none(),
        "add did not wait for the writer lock"
    );
    assert!(
        t.object_files().is_empty(),
        "wrote while another held the lock"
    );
    assert_eq!(fs::read(t.path("a.txt")).unwrap(), b"waited");

    lock.unlock().unwrap();
    drop(lock);
    let status = wait_child(&mut child, Duration::from_secs(30)).expect("add finished");
    let out = child.wait_with_output().unwrap();
    assert_eq!(exit_code(status), code::OK, "{out:?}");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(!t.path("a.txt").exists());
    assert_eq!(t.cat("a.txt"), b"waited");
    // Readers never wait.
    let lock = hold_lock(&t.vault);
    let t0 = Instant::now();
    t.json_ok(&["ls"]);
    t.json_ok(&["status"]);
    assert!(t0.elapsed() < Duration::from_secs(10));
    drop(lock);
}

#[test]
#[ignore = "slow: waits out the CLI's 30 s lock timeout; run with --ignored"]
fn vault_in_use_gives_up_after_30_s_naming_the_holder() {
    let t = TestVault::new();
    write_tree(t.root(), &[("a.txt", b"a")]);
    let _lock = hold_lock(&t.vault);
    let t0 = Instant::now();
    let e = t.json_err(&["add", "a.txt"], code::IN_USE);
    assert!(t0.elapsed() >= Duration::from_secs(25));
    assert_eq!(e["kind"], "in_use");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains(&format!("PID {}", std::process::id())),
        "{e}"
    );
    assert!(
        e["hint"]
            .as_str()
            .unwrap()
            .contains("another Coffer process")
    );
    assert_eq!(fs::read(t.path("a.txt")).unwrap(), b"a");
}

#[test]
fn adding_a_missing_path_fails_without_side_effects() {
    let t = TestVault::new();
    let r = t.run_json(&["add", "no-such-file.pdf"]);
    // docs/CLI.md: I/O covers "a file vanished".
    assert!([code::IO, code::NOT_FOUND].contains(&r.code), "{r:?}");
    r.json_error();
    assert!(t.object_files().is_empty());
}

#[test]
fn unusable_vault_name_is_reported_and_kept() {
    // A backslash is legal in a Linux file name but not in a vault path.
    let t = TestVault::new();
    write_tree(
        t.root(),
        &[("P/ok.txt", b"ok"), ("P/back\\slash.txt", b"odd")],
    );
    let r = t.run_json(&["protect", "P"]);
    r.assert_code(code::USAGE);
    let docs = r.json_values();
    assert_eq!(docs[0]["added"], 1, "{docs:?}");
    let p = &docs[0]["problems"][0];
    assert_eq!(p["error"], "invalid", "{p}");
    assert!(p["source"].as_str().unwrap().ends_with("back\\slash.txt"));
    assert_eq!(r.json_error()["kind"], "partial");
    assert_eq!(fs::read(t.path("P/back\\slash.txt")).unwrap(), b"odd");
    assert!(!t.path("P/ok.txt").exists());
    assert_eq!(t.cat("P/ok.txt"), b"ok");
}

#[test]
fn missing_or_clashing_paths_get_the_right_code_and_hint() {
    let t = TestVault::new();
    // A typo in `add`: not found, not an I/O failure, and nothing added.
    write_tree(t.root(), &[("real.txt", b"r")]);
    let e = t.json_err(&["add", "real.txt", "no-such-file.txt"], code::NOT_FOUND);
    assert!(
        e["hint"].as_str().unwrap().contains("check the path"),
        "{e}"
    );
    assert_eq!(t.json_ok(&["ls"])["files"].as_array().unwrap().len(), 0);

    // Unprotecting a folder that is not protected points at `status`.
    fs::create_dir(t.path("Inbox")).unwrap();
    let e = t.json_err(&["unprotect", "Inbox"], code::NOT_FOUND);
    assert!(e["hint"].as_str().unwrap().contains("coffer status"), "{e}");

    // An escrow key is never written over an existing file.
    fs::write(t.path("org.key"), b"an older key").unwrap();
    let e = t.json_err(&["escrow", "keygen", "--out", "org.key"], code::USAGE);
    assert!(
        e["message"].as_str().unwrap().contains("already exists"),
        "{e}"
    );
    assert_eq!(fs::read(t.path("org.key")).unwrap(), b"an older key");
}

#[test]
fn an_unreachable_keychain_at_init_still_shows_the_recovery_key() {
    // The recovery key exists only in the process that made it: a keychain
    // failure must be reported next to it, never instead of it.
    for json in [true, false] {
        let t = TestVault::empty();
        let mut c = t.cmd(["init", "--with-keychain"]);
        c.args(FAST_KDF)
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");
        if json {
            c.arg("--json");
        }
        let r = run_cmd(&mut c);
        r.assert_code(code::FAILURE);
        let key = if json {
            let doc = r.json();
            assert_eq!(doc["error"]["kind"], "keychain_unavailable", "{doc}");
            assert_eq!(doc["keychain"], false, "{doc}");
            doc["recovery_key"].as_str().unwrap().to_owned()
        } else {
            assert!(r.stderr.contains("keychain"), "{}", r.stderr);
            r.stdout_str()
                .split_whitespace()
                .find(|w| looks_like_recovery_key(w))
                .unwrap_or_else(|| panic!("no recovery key in: {}", r.stdout_str()))
                .to_owned()
        };
        // The key shown opens the vault, and no keychain slot was left behind.
        let mut c = t.cmd_nopass(["--json", "--recovery-key", "slots", "list"]);
        c.env("COFFER_RECOVERY_KEY", &key);
        let r = run_cmd(&mut c);
        r.assert_ok();
        let kinds: Vec<String> = r.json()["slots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["kind"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert!(!kinds.iter().any(|k| k == "keychain"), "{kinds:?}");
        assert!(kinds.iter().any(|k| k == "passphrase"), "{kinds:?}");
    }
}
