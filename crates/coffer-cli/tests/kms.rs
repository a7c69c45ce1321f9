//! The organisation's recovery key in a KMS or an HSM, end to end on the
//! real `coffer` binary against real servers on loopback (issue #19):
//! an OpenBao dev server's transit engine and a SoftHSM2 token.
//!
//! Each flow: IT creates the key in the KMS/HSM, publishes its public key
//! in the policy, a vault is created (enrolled offline), its passphrase is
//! forgotten, IT recovers it through the KMS/HSM with `coffer escrow
//! recover`, sets a new passphrase, and every file is intact. Bad input
//! (wrong token or PIN, server down, TLS name mismatch, another
//! organisation's key, a policy whose key does not match its fingerprint)
//! gets its own exit code and changes nothing on the vault.

mod common;
mod kms_support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use kms_support::*;
use serde_json::Value;

/// Exit code for a KMS/HSM that cannot be used (exit.rs).
const KMS_UNAVAILABLE: i32 = 8;

const FILES: &[(&str, &[u8])] = &[
    ("scans/a.pdf", b"%PDF-1.7 patient scan"),
    ("notes/b.txt", b"follow-up in two weeks"),
    ("empty.bin", b""),
];

/// A vault under an organisation policy file.
struct Fleet {
    t: TestVault,
    policy: PathBuf,
}

impl Fleet {
    fn new(policy: &str) -> Self {
        let t = TestVault::empty();
        let policy_path = t.path("policy.toml");
        fs::write(&policy_path, policy).unwrap();
        Fleet {
            t,
            policy: policy_path,
        }
    }

    fn set_policy(&self, policy: &str) {
        fs::write(&self.policy, policy).unwrap();
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.t.cmd(["--json"]);
        c.args(args)
            .env("COFFER_POLICY_FILE", &self.policy)
            .env("HOME", self.t.root())
            .env_remove("BAO_TOKEN")
            .env_remove("VAULT_TOKEN")
            .env_remove("BAO_CACERT")
            .env_remove("VAULT_CACERT")
            .env_remove("COFFER_PKCS11_PIN");
        c
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut c = self.cmd(args);
        for (k, v) in env {
            c.env(k, v);
        }
        run_cmd(&mut c)
    }

    /// Creates the vault with the test files in it.
    fn create_with_files(&mut self) {
        let mut args = vec!["init"];
        args.extend_from_slice(&FAST_KDF);
        let r = self.run(&args, &[]);
        r.assert_ok();
        let src = self.t.path("src");
        write_tree(&src, FILES);
        self.run(&["add", src.to_str().unwrap(), "--to", ""], &[])
            .assert_ok();
    }

    fn config(&self) -> Value {
        serde_json::from_slice(&fs::read(self.t.vault.join("vault.json")).unwrap()).unwrap()
    }

    /// The vault's KMS slots as (key, version).
    fn kms_slots(&self) -> Vec<(String, u64)> {
        self.config()["slots"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["kind"] == "kms_escrow")
            .map(|s| {
                (
                    s["key_name"].as_str().unwrap().to_owned(),
                    s["key_version"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    /// Every byte of the vault folder, to show a failure changed nothing.
    fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        read_tree(&self.t.vault)
    }

    /// `ls` with the current passphrase succeeds and every file is intact.
    fn assert_files_intact(&self) {
        for (path, bytes) in FILES {
            let name = Path::new(path).file_name().unwrap().to_str().unwrap();
            let found = self.t.ls().into_keys().find(|k| k.ends_with(name)).unwrap();
            assert_eq!(&self.t.cat(&found), bytes, "{path}");
        }
    }

    /// Audit records of recoveries through the KMS/HSM.
    fn recovery_records(&self) -> usize {
        fs::read_to_string(self.t.vault.join("audit/log.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("\"kms_escrow\""))
            .count()
    }

    /// Forgets the passphrase: the old one is no longer what the test knows.
    fn forget_passphrase(&mut self) {
        self.t.pass = "a passphrase nobody remembers".into();
        let r = self.run(&["ls"], &[]);
        r.assert_code(code::WRONG_CREDENTIAL);
    }
}

fn transit_args(url: &str, key: &str) -> Vec<String> {
    let mut v: Vec<String> = ["escrow", "recover", "--transit", url, "--key", key]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.extend(FAST_KDF.iter().map(|s| s.to_string()));
    v
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Publishes transit key `name` at `version` as the policy's KMS key,
/// checking that `coffer escrow kms-key` prints the same block fields as
/// computed here from what `bao` itself returns.
fn transit_policy(bao: &Bao, f: &Fleet, name: &str, version: u32) -> String {
    let pem = bao.public_pem(name, version);
    let fp = pem_fingerprint(&pem);
    let r = f.run(
        &["escrow", "kms-key", "--transit", &bao.addr, "--key", name],
        &[("BAO_TOKEN", &bao.root_token)],
    );
    r.assert_ok();
    let j = r.json();
    assert_eq!(j["fingerprint"], fp.as_str());
    assert_eq!(j["version"], version);
    assert_eq!(j["provider"], "openbao_transit");
    kms_policy("openbao_transit", name, version, &fp, &pem)
}

#[test]
fn transit_full_flow_and_key_rotation() {
    let Some(bao) = Bao::start() else { return };
    bao.create_key("coffer-escrow", "rsa-3072");
    let mut f = Fleet::new("");
    let sink = f.t.path("sink");
    fs::create_dir(&sink).unwrap();
    let sink_policy = format!(
        "\n[[audit.sinks]]\nkind = \"directory\"\npath = \"{}\"\n",
        sink.display()
    );
    let policy = transit_policy(&bao, &f, "coffer-escrow", 1) + &sink_policy;
    f.set_policy(&policy);
    f.create_with_files();
    assert_eq!(f.kms_slots(), vec![("coffer-escrow".to_owned(), 1)]);
    let listed = f.run(&["slots", "list"], &[]).json()["slots"].clone();
    let kms: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kms"].is_object())
        .collect();
    assert_eq!(kms.len(), 1, "{listed}");
    assert_eq!(kms[0]["kind"], "escrow");
    assert_eq!(kms[0]["kms"]["key"], "coffer-escrow");
    assert_eq!(kms[0]["kms"]["version"], 1);
    assert_eq!(kms[0]["kms"]["provider"], "openbao_transit");
    // Enrolment was offline: nothing reached the server's decrypt path.
    assert!(!bao.audit_text().contains("transit/decrypt"));

    f.forget_passphrase();
    let before = f.recovery_records();
    let old_oaep = f.run(&["escrow", "slot"], &[]).json()["slots"][0]["oaep"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = bao.recovery_token("coffer-escrow");
    let r = f.run(
        &strs(&transit_args(&bao.addr, "coffer-escrow")),
        &[
            ("BAO_TOKEN", &token),
            ("COFFER_NEW_PASSPHRASE", "new passphrase 1"),
        ],
    );
    r.assert_ok();
    assert_eq!(r.json()["method"], "kms_escrow");
    assert_eq!(r.json()["key_version"], 1);
    assert_eq!(r.json()["resealed"], true);
    f.t.pass = "new passphrase 1".into();
    f.assert_files_intact();
    // The slot was resealed: the slot key that passed through IT's
    // machine opens nothing any more.
    assert_eq!(f.kms_slots(), vec![("coffer-escrow".to_owned(), 1)]);
    let new_oaep = f.run(&["escrow", "slot"], &[]).json()["slots"][0]["oaep"].clone();
    assert_ne!(new_oaep, old_oaep.as_str());
    let ct = format!("ciphertext=vault:v1:{old_oaep}");
    let old_key = bao.cmd(&[
        "write",
        "-field=plaintext",
        "transit/decrypt/coffer-escrow",
        &ct,
    ]);
    let unchanged = f.snapshot();
    let mut args = vec!["escrow", "recover", "--slot-key-stdin"];
    args.extend_from_slice(&FAST_KDF);
    let mut c = f.cmd(&args);
    c.env("COFFER_NEW_PASSPHRASE", "never set");
    run_with_stdin(&mut c, old_key.as_bytes()).assert_code(code::WRONG_CREDENTIAL);
    assert!(
        f.snapshot() == unchanged,
        "an old slot key changed the vault"
    );
    assert_eq!(
        f.recovery_records(),
        before + 1,
        "the recovery is audited on the laptop"
    );
    assert!(
        bao.audit_text().contains("transit/decrypt/coffer-escrow"),
        "the recovery is in the KMS's own log"
    );

    // IT rotates the organisation key: the policy publishes version 2.
    bao.cmd(&["write", "-f", "transit/keys/coffer-escrow/rotate"]);
    let policy2 = transit_policy(&bao, &f, "coffer-escrow", 2) + &sink_policy;
    f.set_policy(&policy2);
    assert_eq!(f.kms_slots(), vec![("coffer-escrow".to_owned(), 1)]);
    // Until it unlocks, the device is listed in the fleet view as still on
    // version 1 (its status record, written locked, shipped to the sink).
    let fleet_problems = || {
        f.run(&["status", "--record"], &[]).assert_ok();
        let r = f.run(&["audit", "fleet", "--log", sink.to_str().unwrap()], &[]);
        r.assert_ok();
        r.json()["devices"][0]["problems"].to_string()
    };
    let p = fleet_problems();
    assert!(p.contains("still on KMS key coffer-escrow v1"), "{p}");
    // The next unlock re-enrols, offline, and drops the version 1 slot.
    f.run(&["ls"], &[]).assert_ok();
    assert_eq!(f.kms_slots(), vec![("coffer-escrow".to_owned(), 2)]);
    let p = fleet_problems();
    assert!(!p.contains("KMS key"), "{p}");
    // Version 1 is no longer needed: the KMS may refuse it and recovery works.
    bao.cmd(&[
        "write",
        "transit/keys/coffer-escrow/config",
        "min_decryption_version=2",
    ]);
    f.forget_passphrase();
    let r = f.run(
        &strs(&transit_args(&bao.addr, "coffer-escrow")),
        &[
            ("BAO_TOKEN", &bao.root_token),
            ("COFFER_NEW_PASSPHRASE", "new passphrase 2"),
        ],
    );
    r.assert_ok();
    assert_eq!(r.json()["key_version"], 2);
    f.t.pass = "new passphrase 2".into();
    f.assert_files_intact();

    // A compromise response (new master key, every slot re-made) keeps the
    // vault enrolled to the organisation key, and that slot opens it.
    let mut args = vec!["rotate", "--reencrypt", "--keep-passphrase"];
    args.extend_from_slice(&FAST_KDF);
    f.run(&args, &[]).assert_ok();
    assert_eq!(f.kms_slots(), vec![("coffer-escrow".to_owned(), 2)]);
    f.forget_passphrase();
    let r = f.run(
        &strs(&transit_args(&bao.addr, "coffer-escrow")),
        &[
            ("BAO_TOKEN", &bao.root_token),
            ("COFFER_NEW_PASSPHRASE", "new passphrase 3"),
        ],
    );
    r.assert_ok();
    f.t.pass = "new passphrase 3".into();
    f.assert_files_intact();
}

#[test]
fn transit_bad_input_changes_nothing() {
    let Some(bao) = Bao::start() else { return };
    bao.create_key("coffer-escrow", "rsa-3072");
    bao.create_key("other-org", "rsa-4096");
    let mut f = Fleet::new("");
    let policy = transit_policy(&bao, &f, "coffer-escrow", 1);
    f.set_policy(&policy);
    f.create_with_files();
    f.forget_passphrase();
    let before = f.snapshot();
    let recover = |url: &str, key: &str, env: &[(&str, &str)], extra: &[&str]| {
        let mut args = transit_args(url, key);
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut env = env.to_vec();
        env.push(("COFFER_NEW_PASSPHRASE", "never set"));
        f.run(&strs(&args), &env)
    };
    let root = bao.root_token.as_str();
    let cases: Vec<(&str, Run, i32, &str)> = vec![
        (
            "wrong token",
            recover(
                &bao.addr,
                "coffer-escrow",
                &[("BAO_TOKEN", "not-a-token")],
                &[],
            ),
            code::WRONG_CREDENTIAL,
            "kms_denied",
        ),
        (
            "server down",
            recover(
                &format!("http://127.0.0.1:{}", closed_port()),
                "coffer-escrow",
                &[("BAO_TOKEN", root)],
                &[],
            ),
            KMS_UNAVAILABLE,
            "kms_unreachable",
        ),
        (
            "TLS name mismatch (the CA is trusted, the name is not in the certificate)",
            recover(
                &bao.tls_addr,
                "coffer-escrow",
                &[("BAO_TOKEN", root)],
                &["--ca-cert", bao.tls_cert.to_str().unwrap()],
            ),
            KMS_UNAVAILABLE,
            "kms_tls",
        ),
        (
            "TLS with an untrusted CA",
            recover(&bao.tls_addr, "coffer-escrow", &[("BAO_TOKEN", root)], &[]),
            KMS_UNAVAILABLE,
            "kms_tls",
        ),
        (
            "a slot for another organisation's key",
            recover(&bao.addr, "other-org", &[("BAO_TOKEN", root)], &[]),
            code::WRONG_CREDENTIAL,
            "kms_other_key",
        ),
        (
            "no such key",
            recover(&bao.addr, "nobody", &[("BAO_TOKEN", root)], &[]),
            code::NOT_FOUND,
            "kms_key_not_found",
        ),
        (
            "no token at all",
            recover(&bao.addr, "coffer-escrow", &[], &[]),
            code::USAGE,
            "usage",
        ),
        (
            "plain http to another machine",
            recover(
                "http://192.0.2.1:8200",
                "coffer-escrow",
                &[("BAO_TOKEN", root)],
                &[],
            ),
            code::USAGE,
            "usage",
        ),
    ];
    for (what, r, want_code, want_kind) in cases {
        assert_eq!(r.code, want_code, "{what}: {}{}", r.stdout_str(), r.stderr);
        let e = r.json_error();
        assert_eq!(e["kind"], want_kind, "{what}: {e}");
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("nothing was changed"),
            "{what}: {e}"
        );
        assert!(
            !e["message"].as_str().unwrap().contains(root),
            "{what}: token leaked"
        );
        assert!(f.snapshot() == before, "{what}: the vault changed");
    }

    // The shape for KMSs Coffer does not call (AWS, Google, Azure): IT
    // decrypts `coffer escrow slot`'s ciphertext with the KMS's own tool
    // (here `bao write transit/decrypt`) and pipes the slot key in.
    let r = f.run(&["escrow", "slot"], &[]);
    r.assert_ok();
    let slot = r.json()["slots"][0].clone();
    assert_eq!(slot["key"], "coffer-escrow");
    let ct = format!("ciphertext=vault:v1:{}", slot["oaep"].as_str().unwrap());
    let slot_key = bao
        .cmd(&[
            "write",
            "-field=plaintext",
            "transit/decrypt/coffer-escrow",
            &ct,
        ])
        .trim()
        .to_owned();
    let stdin_recover = |key: &str| {
        let mut args = vec!["escrow", "recover", "--slot-key-stdin"];
        args.extend_from_slice(&FAST_KDF);
        let mut c = f.cmd(&args);
        c.env("COFFER_NEW_PASSPHRASE", "from the kms cli");
        run_with_stdin(&mut c, format!("{key}\n").as_bytes())
    };
    let wrong = stdin_recover("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    wrong.assert_code(code::WRONG_CREDENTIAL);
    assert!(f.snapshot() == before, "a wrong slot key changed the vault");
    let r = stdin_recover(&slot_key);
    r.assert_ok();
    assert_eq!(r.json()["resealed"], true, "the policy publishes the key");
    f.t.pass = "from the kms cli".into();
    f.assert_files_intact();
    let before = f.snapshot();

    // A policy whose public key does not match its fingerprint: refused
    // as a policy error before the vault is touched.
    let pem = bao.public_pem("coffer-escrow", 1);
    let other_fp = pem_fingerprint(&bao.public_pem("other-org", 1));
    f.set_policy(&kms_policy(
        "openbao_transit",
        "coffer-escrow",
        1,
        &other_fp,
        &pem,
    ));
    let r = f.run(&["ls"], &[]);
    r.assert_code(code::USAGE);
    let e = r.json_error();
    assert_eq!(e["kind"], "policy");
    assert!(
        e["message"].as_str().unwrap().contains("fingerprint"),
        "{e}"
    );
    assert!(f.snapshot() == before, "bad policy: the vault changed");
    let r = f.run(&["policy", "validate", f.policy.to_str().unwrap()], &[]);
    assert_ne!(r.code, 0);
    // And no vault is created under it.
    let g = Fleet::new(&fs::read_to_string(&f.policy).unwrap());
    let mut args = vec!["init"];
    args.extend_from_slice(&FAST_KDF);
    g.run(&args, &[]).assert_code(code::USAGE);
    assert!(!g.t.vault.join("vault.json").exists());
}

#[test]
fn pkcs11_softhsm_full_flow_and_bad_pin() {
    let Some(hsm) = SoftHsm::init("coffer-it") else {
        return;
    };
    let spki = hsm.keypair("org-escrow", "01", 3072);
    let other = hsm.keypair("other-org", "02", 3072);
    let module = hsm.module.to_str().unwrap().to_owned();
    let conf = hsm.conf.to_str().unwrap().to_owned();
    let pkcs11 = |label: &str| -> Vec<String> {
        [
            "--pkcs11-module",
            &module,
            "--token-label",
            "coffer-it",
            "--key-label",
            label,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let mut f = Fleet::new("");
    let mut args = vec!["escrow".to_owned(), "kms-key".to_owned()];
    args.extend(pkcs11("org-escrow"));
    let r = f.run(
        &strs(&args),
        &[("SOFTHSM2_CONF", &conf), ("COFFER_PKCS11_PIN", &hsm.pin)],
    );
    r.assert_ok();
    let j = r.json();
    assert_eq!(j["fingerprint"], der_fingerprint(&spki).as_str());
    assert_eq!(j["bits"], 3072);
    f.set_policy(&kms_policy(
        "pkcs11",
        "org-escrow",
        1,
        j["fingerprint"].as_str().unwrap(),
        j["public_key"].as_str().unwrap(),
    ));
    f.create_with_files();
    assert_eq!(f.kms_slots(), vec![("org-escrow".to_owned(), 1)]);
    f.forget_passphrase();
    let before = f.snapshot();

    let recover = |label: &str, pin: &str, token: &str| {
        let mut args = vec!["escrow".to_owned(), "recover".to_owned()];
        let mut p = pkcs11(label);
        p[3] = token.to_owned();
        args.extend(p);
        args.extend(FAST_KDF.iter().map(|s| s.to_string()));
        f.run(
            &strs(&args),
            &[
                ("SOFTHSM2_CONF", &conf),
                ("COFFER_PKCS11_PIN", pin),
                ("COFFER_NEW_PASSPHRASE", "hsm passphrase"),
            ],
        )
    };
    for (what, r, want_code, want_kind) in [
        (
            "wrong PIN",
            recover("org-escrow", "0000-wrong", "coffer-it"),
            code::WRONG_CREDENTIAL,
            "kms_denied",
        ),
        (
            "no such token",
            recover("org-escrow", &hsm.pin, "no-such-token"),
            KMS_UNAVAILABLE,
            "kms_token",
        ),
        (
            "another organisation's key",
            recover("other-org", &hsm.pin, "coffer-it"),
            code::WRONG_CREDENTIAL,
            "kms_other_key",
        ),
    ] {
        assert_eq!(r.code, want_code, "{what}: {}{}", r.stdout_str(), r.stderr);
        assert_eq!(r.json_error()["kind"], want_kind, "{what}");
        assert!(f.snapshot() == before, "{what}: the vault changed");
    }
    assert_ne!(der_fingerprint(&other), der_fingerprint(&spki));

    let r = recover("org-escrow", &hsm.pin, "coffer-it");
    r.assert_ok();
    assert_eq!(r.json()["provider"], "pkcs11");
    f.t.pass = "hsm passphrase".into();
    f.assert_files_intact();
}
