//! The vault as a whole against someone who can write the vault folder
//! without a credential (docs/THREAT_MODEL.md, docs/FORMAT.md §4.5 and
//! §17): each attack is tried as a new user would meet it, through the
//! real binary, and must be refused or named — by `ls`, by `verify`
//! (exit 4) and by the unlock — and recorded in the audit trail.
//!
//! The forgeries are made the way the attacker would: with the public
//! key from `vault.json` and coffer-core's object writer, nothing else.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use coffer_core::format::{FileId, Metadata};
use coffer_core::object::{Sealed, WrapTarget};
use coffer_core::wrap::PublicKey;
use common::{TestVault, code, write_tree};
use serde_json::Value;

fn config(t: &TestVault) -> Value {
    serde_json::from_slice(&fs::read(t.vault.join("vault.json")).unwrap()).unwrap()
}

fn write_config(t: &TestVault, v: &Value) {
    fs::write(
        t.vault.join("vault.json"),
        serde_json::to_vec_pretty(v).unwrap(),
    )
    .unwrap();
}

/// The audit records whose event is `integrity_failure`, by problem.
fn integrity_problems(t: &TestVault) -> Vec<String> {
    fs::read_to_string(t.vault.join("audit/log.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["event"] == "integrity_failure")
        .filter_map(|r| r["detail"]["problem"].as_str().map(str::to_owned))
        .collect()
}

/// Asserts that `ls` warns about `kind`, `verify` exits 4 naming it, and a
/// fresh unlock reports it; and that the audit trail recorded it.
fn assert_detected(t: &TestVault, kind: &str) {
    let ls = t.run(&["ls"]);
    ls.assert_ok();
    let err = ls.stderr.clone();
    assert!(err.contains(kind), "ls does not name {kind}: {err}");
    let ls = t.json_ok(&["ls"]);
    let kinds: Vec<&str> = ls["integrity"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["kind"].as_str())
        .collect();
    assert!(kinds.contains(&kind), "ls --json: {ls}");
    let v = t.run_json(&["verify"]);
    v.assert_code(code::INTEGRITY);
    let doc = v.json();
    let vk: Vec<&str> = doc["report"]["integrity"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["kind"].as_str())
        .collect();
    assert!(vk.contains(&kind), "verify: {doc}");
    let human = t.run(&["verify"]);
    human.assert_code(code::INTEGRITY);
    assert!(human.stdout_str().contains(kind), "{}", human.stdout_str());
    assert!(
        integrity_problems(t).iter().any(|p| p == kind),
        "no integrity_failure record for {kind}: {:?}",
        integrity_problems(t)
    );
}

/// A vault holding `files`, added while locked (the writer key comes from
/// the session's keychain, as for the watcher), then listed once so the
/// manifest holds them.
fn vault_with(files: &[(&str, &[u8])]) -> TestVault {
    let t = TestVault::new();
    write_tree(&t.path("in"), files);
    let r = common::run_cmd(&mut t.cmd_nopass(["--json", "add", "in/."]));
    r.assert_ok();
    assert!(
        t.json_ok(&["ls"])["integrity"]["problems"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    t
}

/// An object for vault `t` made with nothing but its public key.
fn forge(t: &TestVault, id: Option<FileId>, path: &str, content: &[u8], added_ns: i64) -> PathBuf {
    let cfg = config(t);
    let current = cfg["current_key_version"].as_u64().unwrap() as u32;
    let kv = cfg["key_versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["version"] == current)
        .unwrap();
    use base64::Engine;
    let b64 = |s: &Value| {
        base64::engine::general_purpose::STANDARD
            .decode(s.as_str().unwrap())
            .unwrap()
    };
    let target = WrapTarget {
        vault_id: b64(&cfg["vault_id"]).try_into().unwrap(),
        key_version: current,
        public_key: PublicKey(b64(&kv["public_key"]).try_into().unwrap()),
    };
    let md = Metadata {
        path: path.into(),
        size: content.len() as u64,
        mtime_ns: added_ns,
        mode: 0o600,
        added_ns,
    };
    let sealed = Sealed::new(&target, id, &md).unwrap();
    let id = sealed.header.file_id.to_hex();
    let dir = t.vault.join("objects").join(&id[..2]);
    fs::create_dir_all(&dir).unwrap();
    let out = dir.join(format!("{id}.obj"));
    let mut f = fs::File::create(&out).unwrap();
    sealed.write(content, &mut f).unwrap();
    out
}

fn id_of(t: &TestVault, path: &str) -> String {
    t.ls()[path]["id"].as_str().unwrap().to_owned()
}

#[test]
fn a_swapped_public_key_is_refused_before_anything_is_encrypted() {
    let t = vault_with(&[("a.txt", b"first")]);
    let other = TestVault::new();
    let mut cfg = config(&t);
    let theirs = config(&other)["key_versions"][0]["public_key"].clone();
    cfg["key_versions"][0]["public_key"] = theirs;
    write_config(&t, &cfg);

    write_tree(&t.path("new"), &[("letter.txt", b"patient letter")]);
    // add and protect, locked: refused, and the plaintext stays.
    for args in [
        vec!["--json", "add", "--remove-plaintext", "new/letter.txt"],
        vec!["--json", "protect", "new"],
    ] {
        let r = common::run_cmd(&mut t.cmd_nopass(&args));
        r.assert_code(code::INTEGRITY);
        assert_eq!(r.json_error()["kind"], "tampered", "{args:?}");
        assert_eq!(
            fs::read(t.path("new/letter.txt")).unwrap(),
            b"patient letter",
            "{args:?} touched the plaintext"
        );
    }
    assert!(
        integrity_problems(&t)
            .iter()
            .any(|p| p == "config_tampered"),
        "{:?}",
        integrity_problems(&t)
    );
    // Nothing was written for the attacker's key.
    assert_eq!(t.object_files().len(), 1);
    // The unlock refuses the config too.
    let e = t.json_err(&["ls"], code::INTEGRITY);
    assert_eq!(e["kind"], "tampered");
}

#[test]
fn a_swapped_escrow_key_stops_the_compromise_response() {
    let mut t = TestVault::empty();
    fs::create_dir_all(t.root()).unwrap();
    let org = t.json_ok(&["escrow", "keygen", "--out", "org.key"])["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    t.init(&["--escrow", &org]);
    let evil = t.json_ok(&["escrow", "keygen", "--out", "evil.key"])["public_key"]
        .as_str()
        .unwrap()
        .trim_start_matches("coffer-escrow-public:")
        .to_owned();
    let mut cfg = config(&t);
    for s in cfg["slots"].as_array_mut().unwrap() {
        if s["kind"] == "escrow" {
            s["org_public_key"] = Value::String(evil.clone());
        }
    }
    write_config(&t, &cfg);
    let mut c = t.cmd(["--json", "rotate", "--reencrypt"]);
    c.args(common::FAST_KDF)
        .env("COFFER_NEW_PASSPHRASE", "a new passphrase");
    let r = common::run_cmd(&mut c);
    r.assert_code(code::INTEGRITY);
    assert_eq!(r.json_error()["kind"], "tampered");
    // The config on disk still names the swapped key: nothing re-enrolled.
    assert_eq!(config(&t), cfg);
}

#[test]
fn a_deleted_object_is_named_missing() {
    let t = vault_with(&[("a.txt", b"one"), ("b.txt", b"two")]);
    let id = id_of(&t, "in/a.txt");
    fs::remove_file(&t.object_files()[&id]).unwrap();
    assert_detected(&t, "missing_object");
    assert!(!t.ls().contains_key("in/a.txt"));
    // Once someone who can unlock has looked, they may accept the vault as
    // it is: recorded, and the warnings stop.
    let r = t.json_ok(&["repair", "--accept-as-is"]);
    assert_eq!(
        r["accepted"]["problems"][0]["kind"], "missing_object",
        "{r}"
    );
    assert_eq!(t.json_ok(&["verify"])["ok"], true);
    let log = fs::read_to_string(t.vault.join("audit/log.jsonl")).unwrap();
    assert!(log.contains("\"event\":\"integrity_accepted\""));
}

#[test]
fn deleting_the_newest_version_is_named_not_silently_rolled_back() {
    let t = vault_with(&[("a.txt", b"version one")]);
    fs::write(t.path("in/a.txt"), b"version two").unwrap();
    common::run_cmd(&mut t.cmd_nopass(["--json", "add", "in/."])).assert_ok();
    assert_eq!(t.cat("in/a.txt"), b"version two");
    let newest = id_of(&t, "in/a.txt");
    fs::remove_file(&t.object_files()[&newest]).unwrap();
    assert_detected(&t, "missing_object");
    // What is shown is the old version, and the warning says why.
    assert_eq!(t.cat("in/a.txt"), b"version one");
}

#[test]
fn a_valid_object_under_an_existing_id_is_named_changed() {
    let t = vault_with(&[("a.txt", b"the real letter")]);
    let id = id_of(&t, "in/a.txt");
    let path = t.object_files()[&id].clone();
    fs::remove_file(&path).unwrap();
    let forged = forge(&t, FileId::from_hex(&id), "in/a.txt", b"forged letter", 1);
    assert_eq!(forged, path);
    assert_detected(&t, "changed_object");
}

#[test]
fn a_forged_newer_version_is_named_unknown_never_served_and_can_be_set_aside() {
    let t = vault_with(&[("a.txt", b"the real letter")]);
    forge(&t, None, "in/a.txt", b"forged newer version", i64::MAX / 2);
    assert_detected(&t, "unknown_object");
    // What no writer vouched for is not served as the file.
    assert_eq!(t.cat("in/a.txt"), b"the real letter");
    let r = t.run_json(&["verify", "--quarantine"]);
    r.assert_ok();
    assert_eq!(r.json()["quarantined_now"].as_array().unwrap().len(), 1);
    assert_eq!(t.json_ok(&["verify"])["ok"], true);
}

#[test]
fn links_and_fifos_planted_as_the_journal_or_the_lock_touch_nothing() {
    let t = vault_with(&[("a.txt", b"one")]);
    let victim = t.path("thesis.txt");
    fs::write(&victim, b"the user's own document").unwrap();
    std::os::unix::fs::symlink(&victim, t.vault.join("endorsements.bin")).unwrap();
    write_tree(&t.path("new"), &[("b.txt", b"two")]);
    let r =
        common::run_cmd(&mut t.cmd_nopass(["--json", "add", "--remove-plaintext", "new/b.txt"]));
    r.assert_code(code::INTEGRITY);
    assert!(t.path("new/b.txt").exists(), "nothing removed");
    assert_eq!(fs::read(&victim).unwrap(), b"the user's own document");
    fs::remove_file(t.vault.join("endorsements.bin")).unwrap();
    // The lock, truncated by every writer, planted as a link.
    fs::remove_file(t.vault.join("lock")).unwrap();
    std::os::unix::fs::symlink(&victim, t.vault.join("lock")).unwrap();
    let r = common::run_cmd(&mut t.cmd_nopass(["--json", "add", "new/b.txt"]));
    assert_ne!(r.code, 0);
    assert_eq!(fs::read(&victim).unwrap(), b"the user's own document");
}

#[test]
fn a_forged_generation_in_the_audit_log_is_not_believed() {
    let t = vault_with(&[("a.txt", b"one")]);
    let log = t.vault.join("audit/log.jsonl");
    let mut text = fs::read_to_string(&log).unwrap();
    let last = text.lines().last().unwrap().to_owned();
    let mut rec: Value = serde_json::from_str(&last).unwrap();
    rec["seq"] = (rec["seq"].as_u64().unwrap() + 1).into();
    rec["event"] = "manifest_updated".into();
    rec["detail"] = serde_json::json!({"generation": u64::MAX, "mac": "00"});
    text.push_str(&serde_json::to_string(&rec).unwrap());
    text.push('\n');
    fs::write(&log, text).unwrap();
    let ls = t.json_ok(&["ls"]);
    let kinds: Vec<&str> = ls["integrity"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["kind"].as_str())
        .collect();
    assert!(!kinds.contains(&"rolled_back"), "{}", ls["integrity"]);
    t.json_ok(&["repair", "--accept-as-is"]);
}

#[test]
fn a_crash_between_a_fold_and_clearing_the_journal_is_no_alarm() {
    let t = vault_with(&[("a.txt", b"one")]);
    write_tree(&t.path("more"), &[("b.txt", b"two")]);
    common::run_cmd(&mut t.cmd_nopass(["--json", "add", "more/."])).assert_ok();
    let journal = fs::read(t.vault.join("endorsements.bin")).unwrap();
    t.json_ok(&["ls"]);
    assert!(!t.vault.join("endorsements.bin").exists(), "folded");
    // As left by a kill after the manifest was written, before the
    // journal was cleared.
    fs::write(t.vault.join("endorsements.bin"), journal).unwrap();
    let ls = t.json_ok(&["ls"]);
    assert_eq!(
        ls["integrity"]["problems"],
        serde_json::json!([]),
        "{}",
        ls["integrity"]
    );
}

#[test]
fn an_older_copy_of_the_vault_folder_is_named_rolled_back() {
    let t = vault_with(&[("a.txt", b"one")]);
    let backup = t.path("backup");
    copy_dir(&t.vault, &backup);
    write_tree(&t.path("more"), &[("b.txt", b"two")]);
    common::run_cmd(&mut t.cmd_nopass(["--json", "add", "more/."])).assert_ok();
    assert_eq!(t.ls().len(), 2);
    fs::remove_dir_all(&t.vault).unwrap();
    copy_dir(&backup, &t.vault);
    assert_detected(&t, "rolled_back");
}

#[test]
fn flipped_bytes_in_the_index_are_reported_not_silently_repaired() {
    let t = vault_with(&[("a.txt", b"one"), ("b.txt", b"two")]);
    let index = t.vault.join("index.bin");
    assert!(index.exists());
    common::flip_byte(&index, 40);
    let ls = t.run(&["ls"]);
    ls.assert_ok();
    assert!(ls.stderr.contains("index_tampered"), "{}", ls.stderr);
    assert_eq!(t.ls().len(), 2, "the listing is rebuilt from the objects");
    common::flip_byte(&index, 41);
    let v = t.run_json(&["verify"]);
    v.assert_code(code::INTEGRITY);
    assert!(integrity_problems(&t).iter().any(|p| p == "index_tampered"));
}

#[test]
fn a_vault_of_the_previous_format_is_upgraded_at_unlock() {
    let t = TestVault::empty();
    let vectors = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../coffer-core/tests/vectors");
    let m: Value =
        serde_json::from_slice(&fs::read(vectors.join("manifest.json")).unwrap()).unwrap();
    fs::create_dir_all(t.vault.join("objects")).unwrap();
    fs::copy(vectors.join("vault.json"), t.vault.join("vault.json")).unwrap();
    let mut ids = Vec::new();
    for f in ["o-0.obj", "o-1.obj", "o-200000.obj", "o-65537.obj"] {
        let bytes = fs::read(vectors.join(f)).unwrap();
        let id = FileId(bytes[12..28].try_into().unwrap()).to_hex();
        let dir = t.vault.join("objects").join(&id[..2]);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("{id}.obj")), &bytes).unwrap();
        if f == "o-65537.obj" {
            fs::copy(vectors.join("o-65537.rec"), dir.join(format!("{id}.rec"))).unwrap();
        }
        ids.push(id);
    }
    assert_eq!(config(&t)["version"], 1);
    // A device that never saw this vault authenticated (the vectors' vault
    // id is the same in every run).
    let _ = fs::remove_file(anchor(&t));
    // Locked, nothing can be added to it: no key authenticates its config.
    write_tree(&t.path("in"), &[("x", b"x")]);
    let r = common::run_cmd(&mut t.cmd_nopass(["--json", "add", "in/x"]));
    r.assert_code(code::FAILURE);
    assert_eq!(r.json_error()["kind"], "writer_key_unavailable");
    // The unlock (with the vectors' recovery key) upgrades it.
    let mut c = t.cmd(["--json", "--recovery-key", "ls"]);
    c.env("COFFER_RECOVERY_KEY", m["recovery_key"].as_str().unwrap());
    let r = common::run_cmd(&mut c);
    r.assert_ok();
    let ls = r.json();
    assert_eq!(ls["files"].as_array().unwrap().len(), 4);
    assert!(
        ls["integrity"]["problems"].as_array().unwrap().is_empty(),
        "{}",
        ls["integrity"]
    );
    assert_eq!(config(&t)["version"], 2);
    assert!(t.vault.join("manifest.bin").exists());
    // And now it takes files while locked, and verifies clean.
    common::run_cmd(&mut t.cmd_nopass(["--json", "add", "in/x"])).assert_ok();
    let mut c = t.cmd(["--json", "--recovery-key", "verify"]);
    c.env("COFFER_RECOVERY_KEY", m["recovery_key"].as_str().unwrap());
    let r = common::run_cmd(&mut c);
    r.assert_ok();
    assert_eq!(r.json()["report"]["objects"], 5);
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else if e.file_type().unwrap().is_file() {
            fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Where this device keeps the vault's generation anchor (FORMAT.md §17.5).
fn anchor(t: &TestVault) -> PathBuf {
    use base64::Engine;
    let id = base64::engine::general_purpose::STANDARD
        .decode(config(t)["vault_id"].as_str().unwrap())
        .unwrap();
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .unwrap()
        .join("coffer/generations")
        .join(common::hex(&id))
}

/// Turns a vault back into the previous format: version-1 config, no
/// manifest, no endorsements.
fn downgrade(t: &TestVault) {
    let mut cfg = config(t);
    let o = cfg.as_object_mut().unwrap();
    o.remove("writer_key");
    o.remove("mac");
    o.insert("version".into(), 1.into());
    write_config(t, &cfg);
    let _ = fs::remove_file(t.vault.join("manifest.bin"));
    let _ = fs::remove_file(t.vault.join("endorsements.bin"));
}

#[test]
fn a_kill_during_the_upgrade_loses_nothing_and_raises_no_false_alarm() {
    let files: Vec<(String, Vec<u8>)> = (0..200)
        .map(|i| (format!("f{i:03}.txt"), format!("file {i}").into_bytes()))
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let t = vault_with(&refs);
    let mut upgraded_by_a_killed_run = 0;
    for round in 0..16u64 {
        // A vault of the previous format, on a device that never saw it
        // authenticated (otherwise it is a downgrade: see below).
        let _ = fs::remove_file(anchor(&t));
        downgrade(&t);
        let mut child = t
            .cmd(["--json", "ls"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Spread the kills over the unlock (Argon2id at the floor), the
        // first manifest and the config's replacement.
        std::thread::sleep(std::time::Duration::from_millis(20 + round * 25));
        let _ = child.kill();
        let _ = child.wait();
        let cfg = config(&t);
        match cfg["version"].as_u64() {
            Some(1) => {}
            Some(2) => upgraded_by_a_killed_run += 1,
            v => panic!("round {round}: config version {v:?}"),
        }
        // Whatever the kill left, the next unlock finds the vault whole.
        let ls = t.json_ok(&["ls"]);
        assert_eq!(ls["files"].as_array().unwrap().len(), 200, "round {round}");
        assert_eq!(
            ls["integrity"]["problems"],
            serde_json::json!([]),
            "round {round}: {}",
            ls["integrity"]
        );
        assert_eq!(config(&t)["version"], 2);
    }
    eprintln!("{upgraded_by_a_killed_run} of 16 killed runs had finished the upgrade");
    let v = t.json_ok(&["verify"]);
    assert_eq!(v["ok"], true, "{v}");
}

#[test]
fn a_forged_protected_folder_list_is_refused() {
    let t = vault_with(&[("a.txt", b"one")]);
    write_tree(&t.path("Patients"), &[("scan.pdf", b"scan")]);
    write_tree(&t.path("Documents"), &[("own.txt", b"the user's own file")]);
    common::run_cmd(&mut t.cmd_nopass(["--json", "protect", "Patients"])).assert_ok();
    // Someone who can write the vault folder adds the user's documents.
    let list_path = t.vault.join("protected.json");
    let mut list: Value = serde_json::from_slice(&fs::read(&list_path).unwrap()).unwrap();
    let mut entry = list["folders"][0].clone();
    entry["path"] = Value::String(
        fs::canonicalize(t.path("Documents"))
            .unwrap()
            .to_string_lossy()
            .into_owned(),
    );
    entry["name"] = "Documents".into();
    list["folders"].as_array_mut().unwrap().push(entry);
    fs::write(&list_path, serde_json::to_vec_pretty(&list).unwrap()).unwrap();
    // Every writer that reads the list refuses it.
    write_tree(&t.path("More"), &[("x.txt", b"x")]);
    let r = common::run_cmd(&mut t.cmd_nopass(["--json", "protect", "More"]));
    r.assert_code(code::INTEGRITY);
    assert_eq!(r.json_error()["kind"], "tampered");
    assert_eq!(
        fs::read(t.path("Documents/own.txt")).unwrap(),
        b"the user's own file"
    );
    assert!(
        integrity_problems(&t)
            .iter()
            .any(|p| p == "protected_list_tampered")
    );
}

#[test]
fn a_config_downgraded_to_the_previous_format_is_not_taken_on_trust() {
    let t = vault_with(&[("a.txt", b"one")]);
    assert!(anchor(&t).exists(), "this device has seen the vault");
    // The attacker strips the MAC (version 1) and plants an object: an
    // upgrade on trust would endorse it.
    downgrade(&t);
    forge(&t, None, "in/a.txt", b"planted", i64::MAX / 2);
    let ls = t.run(&["ls"]);
    ls.assert_ok();
    assert!(ls.stderr.contains("config_downgraded"), "{}", ls.stderr);
    assert_eq!(config(&t)["version"], 1, "not upgraded on trust");
    t.run_json(&["verify"]).assert_code(code::INTEGRITY);
    // Nothing is added to it while locked.
    write_tree(&t.path("new"), &[("b.txt", b"two")]);
    let r = common::run_cmd(&mut t.cmd_nopass(["--json", "add", "new/b.txt"]));
    r.assert_code(code::FAILURE);
    assert_eq!(r.json_error()["kind"], "writer_key_unavailable");
    assert!(
        integrity_problems(&t)
            .iter()
            .any(|p| p == "config_downgraded")
    );
    // Someone who unlocked and looked may accept it.
    let r = t.json_ok(&["repair", "--accept-as-is"]);
    assert_eq!(
        r["accepted"]["problems"][0]["kind"], "config_downgraded",
        "{r}"
    );
    assert_eq!(config(&t)["version"], 2);
    assert_eq!(t.json_ok(&["verify"])["ok"], true);
}

#[test]
fn a_restored_vault_folder_is_caught_by_the_shipped_audit_copy_alone() {
    let t = vault_with(&[("a.txt", b"one")]);
    let share = t.path("share");
    fs::create_dir_all(&share).unwrap();
    t.json_ok(&["audit", "sink", "add-dir", share.to_str().unwrap()]);
    let backup = t.path("backup");
    copy_dir(&t.vault, &backup);
    write_tree(&t.path("more"), &[("b.txt", b"two")]);
    common::run_cmd(&mut t.cmd_nopass(["--json", "add", "more/."])).assert_ok();
    t.json_ok(&["ls"]);
    t.json_ok(&["audit", "ship"]);
    // The old folder comes back (its own log is old too), on a device
    // with no anchor for it: only the copy on the share knows better.
    fs::remove_dir_all(&t.vault).unwrap();
    copy_dir(&backup, &t.vault);
    let _ = fs::remove_file(anchor(&t));
    assert_detected(&t, "rolled_back");
}

/// `coffer --json ls` with the passphrase, this device's state folder at
/// `state` (where the note that every slot commits is kept).
fn ls_with_state(t: &TestVault, state: &Path) -> common::Run {
    let mut c = t.cmd(["--json", "ls"]);
    c.env("XDG_STATE_HOME", state);
    common::run_cmd(&mut c)
}

#[test]
fn a_planted_uncommitted_slot_gives_no_answer_about_the_passphrase_on_a_device_that_saw_it_committed()
 {
    let t = TestVault::new();
    let state = t.path("state");
    // An unlock here: every slot commits, and this device notes it.
    ls_with_state(&t, &state).assert_ok();
    // Someone who can write the vault folder replaces the passphrase slot
    // by an uncommitted one of their making, as a partitioning oracle
    // would (a ciphertext meant to open under their guesses; here under
    // none, so the user's passphrase is not among them).
    let mut cfg = config(&t);
    for s in cfg["slots"].as_array_mut().unwrap() {
        if s["kind"] == "passphrase" {
            s.as_object_mut().unwrap().remove("commit");
            // 48 bytes of 0x07, in base64.
            s["wrapped"] = Value::String("BwcH".repeat(16));
        }
    }
    write_config(&t, &cfg);
    // This device refuses the slot before trying the passphrase: the
    // answer is "tampered" whatever the passphrase, so it tells nothing.
    let r = ls_with_state(&t, &state);
    r.assert_code(code::INTEGRITY);
    assert_eq!(r.json_error()["kind"], "tampered");
    // A device that never saw the vault committed tries the slot, and its
    // answer depends on the guess: the oracle the note closes.
    let r = ls_with_state(&t, &t.path("other-device"));
    r.assert_code(code::WRONG_CREDENTIAL);
}

#[test]
fn passphrase_slots_piled_up_in_the_config_are_refused_before_any_kdf_runs() {
    let t = TestVault::new();
    let mut cfg = config(&t);
    let slots = cfg["slots"].as_array_mut().unwrap();
    let mut heavy = slots
        .iter()
        .find(|s| s["kind"] == "passphrase")
        .unwrap()
        .clone();
    heavy["kdf"] = serde_json::json!({"m_kib": 2 * 1024 * 1024, "t": 4, "p": 1});
    for _ in 0..2 {
        slots.push(heavy.clone());
    }
    write_config(&t, &cfg);
    let started = std::time::Instant::now();
    let r = t.run_json(&["ls"]);
    r.assert_code(code::USAGE);
    assert_eq!(r.json_error()["kind"], "kdf_params");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
