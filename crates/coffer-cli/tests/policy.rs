//! Organisation policy, enforced on the real binary: what the user tries
//! against it is refused with a message naming the policy, a vault below
//! it is brought up to it at the next unlock, and a broken policy file is
//! reported as such (never as damaged vault data).
//!
//! The policy comes from `COFFER_POLICY_FILE`, which Coffer reads only when
//! no system policy (/etc/coffer/policy.toml) exists — as on CI machines.

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use common::*;
use serde_json::Value;

struct Managed {
    t: TestVault,
    policy: PathBuf,
}

impl Managed {
    fn new(policy: &str) -> Self {
        let t = TestVault::empty();
        let p = t.path("policy.toml");
        fs::write(&p, policy).unwrap();
        Managed { t, policy: p }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.t.cmd(["--json"]);
        c.args(args)
            .env("COFFER_POLICY_FILE", &self.policy)
            .env("HOME", self.t.root());
        c
    }

    fn ok(&self, args: &[&str]) -> Value {
        let r = run_cmd(&mut self.cmd(args));
        r.assert_ok();
        r.json()
    }

    fn err(&self, args: &[&str], code: i32) -> Value {
        let r = run_cmd(&mut self.cmd(args));
        r.assert_code(code);
        r.json_error()
    }
}

fn names_policy(e: &Value) {
    let m = e["message"].as_str().unwrap_or_default();
    assert!(m.contains("policy"), "the message names the policy: {e}");
}

const FLOOR_64: &str = "[kdf]\nmin_memory_mib = 64\nmin_time = 2\nmin_lanes = 1\n";

#[test]
fn a_vault_below_the_kdf_floor_is_refused() {
    let m = Managed::new(FLOOR_64);
    let mut args = vec!["init"];
    args.extend_from_slice(&FAST_KDF);
    names_policy(&m.err(&args, code::USAGE));
    assert!(!m.t.vault.join("vault.json").exists(), "no vault made");
    // Without --kdf-* the defaults are used, raised to the floor if need be.
    m.ok(&["init"]);
    let slots = m.ok(&["status"])["slots"].clone();
    let kdf = &slots.as_array().unwrap()[0]["kdf"];
    assert!(kdf["m_kib"].as_u64().unwrap() >= 64 * 1024, "{slots}");
}

#[test]
fn a_weak_vault_is_upgraded_and_gets_the_required_escrow_at_the_next_unlock() {
    let mut t = TestVault::empty();
    t.init(&[]);
    let key = t.path("org.key");
    let out = t.json_ok(&["escrow", "keygen", "--out", key.to_str().unwrap()]);
    let public = out["public_key"].as_str().unwrap().to_owned();
    let policy = format!(
        "{FLOOR_64}\n[unlock]\nallowed = [\"passphrase\", \"recovery\", \"escrow\"]\n\n\
         [escrow]\npublic_key = \"{public}\"\nrequired = true\n"
    );
    let m = Managed {
        policy: t.path("policy.toml"),
        t,
    };
    fs::write(&m.policy, policy).unwrap();
    m.ok(&["ls"]);
    let st = m.ok(&["status"]);
    let slots = st["slots"].as_array().unwrap();
    let pass = slots.iter().find(|s| s["kind"] == "passphrase").unwrap();
    assert!(pass["kdf"]["m_kib"].as_u64().unwrap() >= 64 * 1024, "{st}");
    let escrow = slots
        .iter()
        .find(|s| s["kind"] == "escrow")
        .expect("escrow slot added");
    let log = fs::read_to_string(m.t.vault.join("audit/log.jsonl")).unwrap();
    assert!(log.contains("\"event\":\"policy_applied\""), "recorded");

    // The required escrow slot cannot be removed, and IT can recover with it.
    let id = escrow["id"].as_str().unwrap();
    names_policy(&m.err(&["slots", "remove", id], code::USAGE));
    let mut c = m.cmd(&["recover", "--escrow-key", key.to_str().unwrap()]);
    c.env_remove("COFFER_PASSPHRASE")
        .env("COFFER_NEW_PASSPHRASE", "a new passphrase from IT");
    run_cmd(&mut c).assert_ok();
}

#[test]
fn forbidden_unlock_methods_and_mandatory_folders_are_refused() {
    let m = Managed::new(
        "[unlock]\nallowed = [\"passphrase\", \"recovery\"]\n\n[folders]\nmandatory = [\"~/Scans\"]\n",
    );
    let mut args = vec!["init", "--with-keychain"];
    args.extend_from_slice(&FAST_KDF);
    names_policy(&m.err(&args, code::USAGE));
    let mut args = vec!["init"];
    args.extend_from_slice(&FAST_KDF);
    m.ok(&args);
    names_policy(&m.err(&["slots", "add", "keychain"], code::USAGE));

    // The mandatory folder is protected by the watcher's start (here: the
    // command that protects it by hand) and cannot be unprotected.
    fs::create_dir(m.t.path("Scans")).unwrap();
    let scans = m.t.path("Scans");
    m.ok(&["protect", scans.to_str().unwrap()]);
    names_policy(&m.err(&["unprotect", scans.to_str().unwrap()], code::USAGE));
}

#[test]
fn a_broken_policy_file_says_so_and_not_that_the_vault_is_damaged() {
    let m = Managed::new("");
    let mut args = vec!["init"];
    args.extend_from_slice(&FAST_KDF);
    m.ok(&args);
    fs::write(&m.policy, "[kdf]\nmin_memory_mib = \"lots\"\n").unwrap();
    let e = m.err(&["status"], code::USAGE);
    assert_eq!(e["kind"], "policy", "{e}");
    let hint = e["hint"].as_str().unwrap();
    assert!(hint.contains("policy validate"), "{e}");
    assert!(!hint.contains("backup"), "not a damaged-vault hint: {e}");
}

#[test]
fn a_new_organisation_escrow_key_is_enrolled_at_the_next_unlock_and_the_old_one_stops_working() {
    let mut t = TestVault::empty();
    t.init(&[]);
    let old_key = t.path("old.key");
    let new_key = t.path("new.key");
    let old_pub =
        t.json_ok(&["escrow", "keygen", "--out", old_key.to_str().unwrap()])["public_key"]
            .as_str()
            .unwrap()
            .to_owned();
    let new_pub =
        t.json_ok(&["escrow", "keygen", "--out", new_key.to_str().unwrap()])["public_key"]
            .as_str()
            .unwrap()
            .to_owned();
    let policy = |public: &str| {
        format!(
            "[unlock]\nallowed = [\"passphrase\", \"recovery\", \"escrow\"]\n\n\
             [escrow]\npublic_key = \"{public}\"\nrequired = true\n"
        )
    };
    let m = Managed {
        policy: t.path("policy.toml"),
        t,
    };
    fs::write(&m.policy, policy(&old_pub)).unwrap();
    m.ok(&["ls"]);
    let escrow_slots = |m: &Managed| -> Vec<String> {
        m.ok(&["status"])["slots"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["kind"] == "escrow")
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let before = escrow_slots(&m);
    assert_eq!(before.len(), 1);
    // IT publishes a new key. Until the device unlocks, its compliance
    // check (which its status records carry to the fleet view) names it
    // as still on the old key.
    fs::write(&m.policy, policy(&new_pub)).unwrap();
    let mut c = m.cmd(&["policy", "check"]);
    c.env_remove("COFFER_PASSPHRASE");
    let r = run_cmd(&mut c);
    r.assert_code(code::FAILURE);
    let checks = r.json_values()[0]["checks"].clone();
    let escrow = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rule"] == "organisation escrow")
        .unwrap()
        .clone();
    assert_eq!(escrow["ok"], false, "{checks}");
    assert!(
        escrow["detail"]
            .as_str()
            .unwrap()
            .contains("older organisation escrow key"),
        "{escrow}"
    );
    // The next unlock re-enrols.
    m.ok(&["ls"]);
    let mut c = m.cmd(&["policy", "check"]);
    c.env_remove("COFFER_PASSPHRASE");
    let r = run_cmd(&mut c);
    let escrow_ok = r.json()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["rule"] == "organisation escrow" && c["ok"] == true);
    assert!(escrow_ok, "{}", r.json());
    let after = escrow_slots(&m);
    assert_eq!(after.len(), 1);
    assert_ne!(after, before, "a new slot for the new key");
    let log = fs::read_to_string(m.t.vault.join("audit/log.jsonl")).unwrap();
    assert!(log.contains("escrow key changed"), "recorded");
    // The old key recovers nothing; the new one does.
    let recover = |key: &PathBuf| {
        let mut c = m.cmd(&["recover", "--escrow-key", key.to_str().unwrap()]);
        c.env_remove("COFFER_PASSPHRASE")
            .env("COFFER_NEW_PASSPHRASE", "a new passphrase from IT");
        run_cmd(&mut c)
    };
    recover(&old_key).assert_code(code::WRONG_CREDENTIAL);
    recover(&new_key).assert_ok();
}
