//! What each response revokes, against someone who kept an older copy of
//! `vault.json` (a backup, a synced folder's history) and a credential it
//! accepted (docs/THREAT_MODEL.md, "What each response revokes"). The
//! attacker works on a copy of the vault folder, on a machine of their own
//! (a HOME of their own: no anchor, no keychain of the victim's), with
//! this very binary, and two ways in:
//!
//! - the old `vault.json` put back into the copy of today's folder;
//! - today's `vault.json` with the old copy's slots put in and its MAC
//!   stripped (a version-1 config): today's key versions opened with the
//!   master key the old copy yields.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

const NEW_PASS: &str = "a brand new passphrase";

fn config(dir: &Path) -> Value {
    serde_json::from_slice(&fs::read(dir.join("vault.json")).unwrap()).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            fs::copy(e.path(), dst).unwrap();
        }
    }
}

/// A vault with `before.txt`, and the copy of `vault.json` taken then.
fn vault_and_old_copy() -> (TestVault, Vec<u8>) {
    let t = TestVault::new();
    write_tree(t.root(), &[("before.txt", b"in the vault before")]);
    t.json_ok(&["add", "before.txt"]);
    let old = fs::read(t.vault.join("vault.json")).unwrap();
    (t, old)
}

struct Attacker {
    _home: tempfile::TempDir,
    home: PathBuf,
}

impl Attacker {
    fn new() -> Self {
        let home = tempfile::tempdir().unwrap();
        let path = home.path().to_path_buf();
        Attacker {
            _home: home,
            home: path,
        }
    }

    /// `coffer cat FILE` on `vault_dir` with the old passphrase.
    fn cat(&self, vault_dir: &Path, file: &str) -> Run {
        let mut c = coffer();
        c.arg("--vault")
            .arg(vault_dir)
            .args(["cat", file])
            .env("COFFER_PASSPHRASE", PASS)
            .env("HOME", &self.home)
            .env("XDG_STATE_HOME", self.home.join("state"))
            .env("XDG_DATA_HOME", self.home.join("data"))
            // No Secret Service of the victim's.
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");
        run_cmd(&mut c)
    }

    /// Today's folder with the old `vault.json` put back.
    fn with_old_config(&self, t: &TestVault, old: &[u8], name: &str) -> PathBuf {
        let dir = self.home.join(name);
        copy_dir(&t.vault, &dir);
        fs::write(dir.join("vault.json"), old).unwrap();
        dir
    }

    /// Today's folder with today's config re-keyed to the old slots.
    fn with_old_slots(&self, t: &TestVault, old: &[u8], name: &str) -> PathBuf {
        let dir = self.home.join(name);
        copy_dir(&t.vault, &dir);
        let old: Value = serde_json::from_slice(old).unwrap();
        let mut cur = config(&t.vault);
        let obj = cur.as_object_mut().unwrap();
        obj.insert("slots".into(), old["slots"].clone());
        obj.insert("version".into(), Value::from(1));
        obj.remove("writer_key");
        obj.remove("mac");
        fs::write(
            dir.join("vault.json"),
            serde_json::to_vec_pretty(&cur).unwrap(),
        )
        .unwrap();
        dir
    }
}

fn add_after(t: &TestVault) {
    write_tree(t.root(), &[("after.txt", b"added after the response")]);
    t.json_ok(&["add", "after.txt"]);
}

#[test]
fn after_passwd_an_old_copy_and_the_old_passphrase_still_open_everything() {
    let (mut t, old) = vault_and_old_copy();
    let mut c = t.cmd(["--json", "passwd"]);
    c.args(FAST_KDF).env("COFFER_NEW_PASSPHRASE", NEW_PASS);
    run_cmd(&mut c).assert_ok();
    t.pass = NEW_PASS.into();
    add_after(&t);
    let a = Attacker::new();
    // What the documents say: a slot change does not revoke an old copy.
    let dir = a.with_old_slots(&t, &old, "slots");
    let r = a.cat(&dir, "after.txt");
    r.assert_ok();
    assert_eq!(r.stdout, b"added after the response");
    let dir = a.with_old_config(&t, &old, "config");
    assert_eq!(a.cat(&dir, "after.txt").stdout, b"added after the response");
}

#[test]
fn after_a_rewrap_an_old_copy_still_opens_everything() {
    let (t, old) = vault_and_old_copy();
    t.json_ok(&["rotate"]);
    add_after(&t);
    let a = Attacker::new();
    let dir = a.with_old_slots(&t, &old, "slots");
    a.cat(&dir, "after.txt").assert_ok();
    a.cat(&dir, "before.txt").assert_ok();
}

#[test]
fn after_passwd_exposed_an_old_copy_opens_nothing_added_afterwards() {
    let (mut t, old) = vault_and_old_copy();
    let mut c = t.cmd(["--json", "passwd", "--exposed"]);
    c.args(FAST_KDF).env("COFFER_NEW_PASSPHRASE", NEW_PASS);
    let r = run_cmd(&mut c);
    r.assert_ok();
    let doc = r.json();
    assert_eq!(doc["rotation"]["kind"], "rekey", "{doc}");
    assert_eq!(
        doc["rotation"]["destroyed_versions"],
        serde_json::json!([1])
    );
    let rk = doc["recovery_key"].as_str().unwrap().to_owned();
    assert!(looks_like_recovery_key(&rk));
    t.pass = NEW_PASS.into();
    add_after(&t);
    let a = Attacker::new();
    // Today's key versions do not open with the old master key.
    let dir = a.with_old_slots(&t, &old, "slots");
    let r = a.cat(&dir, "after.txt");
    r.assert_code(code::INTEGRITY);
    a.cat(&dir, "before.txt").assert_code(code::INTEGRITY);
    // The old config itself holds no key version today's files use.
    let dir = a.with_old_config(&t, &old, "config");
    let r = a.cat(&dir, "after.txt");
    assert_ne!(r.code, code::OK, "{}", r.stderr);
    assert!(r.stdout.is_empty());

    // The old passphrase and recovery key no longer open the vault; the
    // new ones do, and everything reads.
    let mut c = t.cmd_nopass(["--json", "ls"]);
    c.env("COFFER_PASSPHRASE", PASS);
    run_cmd(&mut c).assert_code(code::WRONG_CREDENTIAL);
    t.ls_with_recovery(&t.recovery_key)
        .assert_code(code::WRONG_CREDENTIAL);
    t.ls_with_recovery(&rk).assert_ok();
    assert_eq!(t.cat("before.txt"), b"in the vault before");
    assert_eq!(t.cat("after.txt"), b"added after the response");
    assert_eq!(t.json_ok(&["verify"])["ok"], true);
    let log = fs::read_to_string(t.vault.join("audit/log.jsonl")).unwrap();
    assert!(log.contains("\"kind\":\"rekey\""), "audited");
}

#[test]
fn after_rotate_reencrypt_an_old_copy_opens_nothing_at_all() {
    let (mut t, old) = vault_and_old_copy();
    let mut c = t.cmd(["--json", "rotate", "--reencrypt"]);
    c.args(FAST_KDF).env("COFFER_NEW_PASSPHRASE", NEW_PASS);
    run_cmd(&mut c).assert_ok();
    t.pass = NEW_PASS.into();
    let a = Attacker::new();
    for dir in [
        a.with_old_slots(&t, &old, "slots"),
        a.with_old_config(&t, &old, "config"),
    ] {
        let r = a.cat(&dir, "before.txt");
        assert_ne!(r.code, code::OK);
        assert!(r.stdout.is_empty());
    }
    assert_eq!(t.cat("before.txt"), b"in the vault before");
}

#[test]
fn the_compromise_response_needs_a_new_passphrase_in_a_script() {
    let (t, _) = vault_and_old_copy();
    let before = fs::read(t.vault.join("vault.json")).unwrap();
    // No new passphrase, no terminal: refused, nothing changed.
    let mut c = t.cmd(["--json", "rotate", "--reencrypt"]);
    c.args(FAST_KDF);
    let r = run_cmd(&mut c);
    r.assert_code(code::USAGE);
    assert!(
        r.json_error()["hint"]
            .as_str()
            .unwrap()
            .contains("COFFER_NEW_PASSPHRASE"),
        "{}",
        r.json_error()
    );
    assert_eq!(fs::read(t.vault.join("vault.json")).unwrap(), before);
    // The passphrase in use given as the new one: refused too.
    for args in [
        &["--json", "rotate", "--reencrypt"][..],
        &["--json", "passwd", "--exposed"][..],
    ] {
        let mut c = t.cmd(args);
        c.args(FAST_KDF).env("COFFER_NEW_PASSPHRASE", PASS);
        run_cmd(&mut c).assert_code(code::USAGE);
        assert_eq!(fs::read(t.vault.join("vault.json")).unwrap(), before);
    }
    // With a new one: the old passphrase fails, the new one works.
    let mut c = t.cmd(["--json", "rotate", "--reencrypt"]);
    c.args(FAST_KDF).env("COFFER_NEW_PASSPHRASE", NEW_PASS);
    run_cmd(&mut c).assert_ok();
    t.run_json(&["ls"]).assert_code(code::WRONG_CREDENTIAL);
    let mut c = t.cmd_nopass(["--json", "ls"]);
    c.env("COFFER_PASSPHRASE", NEW_PASS);
    run_cmd(&mut c).assert_ok();
}

#[test]
fn only_the_recovery_key_exposed_keeps_the_passphrase() {
    let (t, _) = vault_and_old_copy();
    let mut c = t.cmd(["--json", "passwd", "--exposed", "--keep-passphrase"]);
    c.args(FAST_KDF);
    let r = run_cmd(&mut c);
    r.assert_ok();
    let rk = r.json()["recovery_key"].as_str().unwrap().to_owned();
    t.json_ok(&["ls"]);
    t.ls_with_recovery(&t.recovery_key)
        .assert_code(code::WRONG_CREDENTIAL);
    t.ls_with_recovery(&rk).assert_ok();
}
