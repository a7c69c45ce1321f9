//! docs/policy.schema.json and `coffer_core::policy` agree.
//!
//! - The schema is a valid JSON Schema (draft 2020-12).
//! - Every example policy — each ```toml block in docs/POLICY.md and each
//!   `*.toml` under installers/policy/ — is accepted by `Policy::parse` and
//!   by the schema.
//! - A table of edge cases (limits, unknown keys, wrong types, bad keys,
//!   paths, sinks) gets the same verdict from both.
//! - The schema names exactly the keys the policy structs have, and
//!   docs/POLICY.md documents each of them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use coffer_core::policy::Policy;
use serde_json::Value;

/// A valid escrow public key (random; nobody holds its private key).
const KEY: &str = "coffer-escrow-public:MoVbMU08A7PE3xUloUc4IZP1r8CGnbXFHxNjD+kr/s0=";

/// An RSA 3072 key for `[escrow.kms]` (nobody holds its private key) and
/// the SHA-256 of its SubjectPublicKeyInfo DER.
const KMS_FP: &str = "sha256:6e1231dde9c89ac318f37895c645e8817877f733888e36f13a12042a35fbc178";
const KMS_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMIIBojANBgkqhkiG9w0BAQEFAAOCAY8AMIIBigKCAYEAuEj2K/Y1E71N3ei/Mv13\nynKj8K1hmfZdULMv0I5tvRHmiNWTcRLuXOqCVOXlt9DexObmGzCed5ZwWNHLJx5T\nWnOkFN/ChRZph0PYFSGMm0dNUK5l5N98zxfrc72i/oW4Z1wNhgl3g4e3ZbexhAty\ngeCimcuyezf+VmUShRbg9MOznnHkmd6P1pEQ8USiTnb7IMW6ivQGqBOh/B2mRt69\nfW+5xZR/84ED61uQGWmayXk/ctCx6nljG0KP+nZ53XKM7bxdP57buxOWhr4ck73k\nU9ULs8/VVx9IoFBRt6qxouKemukDNChnWGKJLjDD+/s/n4rrql+AObN0QYQVZpil\nNpHHcvWhLNgH4r6iD2ykqVZHivfGuTXM6zYvP02+PdFsbV2T3pJNbFuRktQlOJcy\nJwhQYkLzmdc+R27Ne8iK1vVJP7rrWvyy2ixwSF1enS7KYbv8UjA3mOHQBnTnPGsT\nhPLJCmLHWdConE6gbHGDNKs2ExoeDk+73zgBqo+zOb1fAgMBAAE=\n-----END PUBLIC KEY-----";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn schema_value() -> Value {
    let text = std::fs::read_to_string(repo().join("docs/policy.schema.json")).unwrap();
    serde_json::from_str(&text).expect("docs/policy.schema.json is JSON")
}

fn validator() -> jsonschema::Validator {
    let s = schema_value();
    jsonschema::draft202012::meta::validate(&s).expect("a valid draft 2020-12 schema");
    jsonschema::draft202012::new(&s).expect("the schema compiles")
}

/// The TOML document as the JSON the schema describes.
fn as_json(text: &str) -> Value {
    let v: toml::Table = toml::from_str(text).unwrap_or_else(|e| panic!("{text}\n{e}"));
    serde_json::to_value(v).unwrap()
}

fn schema_errors(v: &jsonschema::Validator, text: &str) -> Vec<String> {
    v.iter_errors(&as_json(text))
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// The ```toml blocks of a Markdown file.
fn toml_blocks(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in md.lines() {
        match &mut cur {
            None if line.trim_start().starts_with("```toml") => cur = Some(String::new()),
            Some(_) if line.trim_start().starts_with("```") => out.push(cur.take().unwrap()),
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
            None => {}
        }
    }
    out
}

#[test]
fn examples_parse_and_match_the_schema() {
    let v = validator();
    let mut examples: Vec<(String, String)> = Vec::new();
    let md = std::fs::read_to_string(repo().join("docs/POLICY.md")).unwrap();
    for (i, b) in toml_blocks(&md).into_iter().enumerate() {
        examples.push((format!("docs/POLICY.md block {}", i + 1), b));
    }
    let dir = repo().join("installers/policy");
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            examples.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            ));
        }
    }
    assert!(examples.len() >= 4, "examples found: {}", examples.len());
    for (name, text) in &examples {
        if let Err(e) = Policy::parse(text) {
            panic!("{name}: policy.rs refuses it: {e}");
        }
        let errs = schema_errors(&v, text);
        assert!(errs.is_empty(), "{name}: the schema refuses it: {errs:?}");
    }
}

#[test]
fn a_floor_over_one_unlocks_work_budget_is_refused_by_the_parser() {
    let p = "[kdf]\nmin_memory_mib = 2048\nmin_time = 16\nmin_lanes = 4\n";
    let e = Policy::parse(p).unwrap_err();
    assert!(e.to_string().contains("memory × time"), "{e}");
}

#[test]
fn schema_and_parser_agree_on_edge_cases() {
    let v = validator();
    let kdf = |m: u32, t: u32, p: u32| {
        format!("[kdf]\nmin_memory_mib = {m}\nmin_time = {t}\nmin_lanes = {p}\n")
    };
    let esc = |key: &str| format!("[escrow]\npublic_key = \"{key}\"\n");
    let bare = KEY.trim_start_matches("coffer-escrow-public:");
    let cases: Vec<(String, bool)> = vec![
        (String::new(), true),
        ("[folders]\n[audit]\n[device]\n[extract]\n".into(), true),
        (kdf(19, 2, 1), true),
        // The product memory × time (at most 8 GiB·passes, one unlock's
        // budget) is the parser's alone: JSON Schema cannot say it.
        (kdf(2048, 4, 16), true),
        (kdf(512, 16, 16), true),
        (kdf(18, 2, 1), false),
        (kdf(19, 1, 1), false),
        (kdf(19, 2, 0), false),
        (kdf(2049, 3, 4), false),
        (kdf(256, 17, 4), false),
        (kdf(256, 3, 17), false),
        ("[kdf]\nmin_memory_mib = 256\nmin_time = 3\n".into(), false),
        ("[kdf]\nmin_memory_mib = -1\nmin_time = 3\nmin_lanes = 4\n".into(), false),
        (format!("{}extra = 1\n", kdf(256, 3, 4)), false),
        ("[unlock]\nallowed = [\"passphrase\"]\n".into(), true),
        ("[unlock]\nallowed = [\"keychain\", \"recovery\"]\n".into(), true),
        ("[unlock]\nallowed = [\"recovery\", \"escrow\"]\n".into(), false),
        ("[unlock]\nallowed = []\n".into(), false),
        ("[unlock]\nallowed = [\"passphrase\", \"fingerprint\"]\n".into(), false),
        ("[unlock]\n".into(), false),
        (esc(KEY), true),
        (esc(bare), true),
        (esc(&format!("  {KEY}\\n")), true),
        (esc(&format!("coffer-escrow-public:{KEY}")), true),
        (esc(&KEY.replace("s0=", "s1=")), false),
        (esc(&KEY.replace("s0=", "s0")), false),
        (esc(&KEY[..KEY.len() - 4]), false),
        (esc("coffer-escrow-private:AAAA"), false),
        (format!("{}required = true\n", esc(KEY)), true),
        (format!("{}required = \"yes\"\n", esc(KEY)), false),
        ("[escrow]\nrequired = true\n".into(), false),
        (
            format!(
                "{}required = true\n[unlock]\nallowed = [\"passphrase\", \"escrow\"]\n",
                esc(KEY)
            ),
            true,
        ),
        (
            format!("{}required = true\n[unlock]\nallowed = [\"passphrase\"]\n", esc(KEY)),
            false,
        ),
        (
            format!("{}required = false\n[unlock]\nallowed = [\"passphrase\"]\n", esc(KEY)),
            true,
        ),
        ("[folders]\nmandatory = [\"~/Scans\", \"/srv/scans\"]\n".into(), true),
        ("[folders]\nmandatory = [\"Scans\"]\n".into(), false),
        ("[folders]\nmandatory = [\"~Scans\"]\n".into(), false),
        ("[folders]\nmandatory = [\"\"]\n".into(), false),
        ("[folders]\nmandatory = \"~/Scans\"\n".into(), false),
        ("[folders]\noptional = []\n".into(), false),
        ("[lock]\nmax_auto_lock_minutes = 1\n".into(), true),
        ("[lock]\nmax_auto_lock_minutes = 4294967295\n".into(), true),
        ("[lock]\nmax_auto_lock_minutes = 4294967296\n".into(), false),
        ("[lock]\nmax_auto_lock_minutes = 0\n".into(), false),
        ("[lock]\nmax_auto_lock_minutes = \"ten\"\n".into(), false),
        ("[rotation]\nperiod_days = 90\n".into(), true),
        ("[rotation]\nperiod_days = 0\n".into(), false),
        ("[rotation]\nperiod = 90\n".into(), false),
        (
            "[[audit.sinks]]\nkind = \"directory\"\npath = \"/mnt/audit\"\n".into(),
            true,
        ),
        (
            "[[audit.sinks]]\nkind = \"directory\"\npath = \"audit\"\n".into(),
            false,
        ),
        (
            "[[audit.sinks]]\nkind = \"directory\"\npath = \"~/audit\"\n".into(),
            false,
        ),
        (
            "[[audit.sinks]]\nkind = \"directory\"\npath = \"/a\"\nurl = \"udp://h:1\"\n".into(),
            false,
        ),
        (
            "[[audit.sinks]]\nkind = \"syslog\"\nurl = \"tcp://logs.example.org:6514\"\n".into(),
            true,
        ),
        (
            "[[audit.sinks]]\nkind = \"syslog\"\nurl = \"udp://10.0.0.5:514\"\n".into(),
            true,
        ),
        (
            "[[audit.sinks]]\nkind = \"syslog\"\nurl = \"unix:///dev/log\"\n".into(),
            true,
        ),
        (
            "[[audit.sinks]]\nkind = \"syslog\"\nurl = \"tcp://logs.example.org\"\n".into(),
            false,
        ),
        (
            "[[audit.sinks]]\nkind = \"syslog\"\nurl = \"https://logs.example.org:443\"\n".into(),
            false,
        ),
        ("[[audit.sinks]]\nkind = \"syslog\"\n".into(), false),
        ("[[audit.sinks]]\npath = \"/mnt/audit\"\n".into(), false),
        (
            "[[audit.sinks]]\nkind = \"email\"\nto = \"it@example.org\"\n".into(),
            false,
        ),
        ("[audit]\nsinks = []\n".into(), true),
        ("[device]\nrequire_disk_encryption = true\n".into(), true),
        ("[device]\nrequire_disk_encryption = 1\n".into(), false),
        ("[device]\nrequire_tpm = true\n".into(), false),
        (
            "[extract]\nallowed_destinations = [\"~/Desktop\", \"/srv/out\"]\nforbidden_destinations = [\"/media\"]\n"
                .into(),
            true,
        ),
        ("[extract]\nallowed_destinations = [\"Desktop\"]\n".into(), false),
        ("[extract]\nforbidden_destinations = [\"media\"]\n".into(), false),
        ("[extract]\nforbidden = [\"/media\"]\n".into(), false),
        ("version = 1\n".into(), false),
        ("kdf = 1\n".into(), false),
        ("[surprise]\nx = 1\n".into(), false),
    ];
    // The two differences the schema documents: a TOML float where an
    // integer belongs (JSON Schema counts 256.0 as an integer), and Windows
    // paths, absolute only on Windows (the schema serves every platform).
    // The schema accepts both; policy.rs refuses them (the path off Windows).
    let known = [
        (
            "[kdf]\nmin_memory_mib = 256.0\nmin_time = 3\nmin_lanes = 4\n".to_string(),
            false,
        ),
        (
            "[folders]\nmandatory = [\"C:\\\\Clinic\\\\Scans\"]\n".to_string(),
            cfg!(windows),
        ),
    ];
    let mut disagree = Vec::new();
    for (text, want) in cases.iter().chain(&known) {
        let parsed = Policy::parse(text);
        if parsed.is_ok() != *want {
            disagree.push(format!("policy.rs says {:?} for\n{text}", parsed.err()));
        }
        let errs = schema_errors(&v, text);
        let schema_want = *want || known.iter().any(|(k, _)| k == text);
        if errs.is_empty() != schema_want {
            disagree.push(format!("schema says {errs:?} for\n{text}"));
        }
    }
    assert!(disagree.is_empty(), "{}", disagree.join("\n---\n"));
}

/// Every key path in a JSON value (objects only; arrays of objects merged).
fn keys(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let p = format!("{prefix}{k}");
                out.insert(p.clone());
                keys(v, &format!("{p}."), out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| keys(v, prefix, out)),
        _ => {}
    }
}

/// Every property path the schema names (sinks' variants merged).
fn schema_keys(s: &Value, node: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    let node = match node.get("$ref").and_then(Value::as_str) {
        Some(r) => s.pointer(r.trim_start_matches('#')).unwrap(),
        None => node,
    };
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            let p = format!("{prefix}{k}");
            out.insert(p.clone());
            schema_keys(s, v, &format!("{p}."), out);
        }
    }
    if let Some(items) = node.get("items") {
        schema_keys(s, items, prefix, out);
    }
    if let Some(alts) = node.get("oneOf").and_then(Value::as_array) {
        alts.iter().for_each(|a| schema_keys(s, a, prefix, out));
    }
}

#[test]
fn schema_and_docs_cover_every_key() {
    // A policy with every section and both kinds of sink, serialized back
    // through the policy structs, names every key they have.
    let full = format!(
        "[kdf]\nmin_memory_mib = 256\nmin_time = 3\nmin_lanes = 4\n\
         [unlock]\nallowed = [\"passphrase\", \"escrow\"]\n\
         [escrow]\npublic_key = \"{KEY}\"\nrequired = true\n\
         [escrow.kms]\nprovider = \"pkcs11\"\nkey = \"k\"\nversion = 1\nfingerprint = \"{KMS_FP}\"\npublic_key = \"\"\"\n{KMS_PEM}\n\"\"\"\n\
         [folders]\nmandatory = [\"~/Scans\"]\ntemporary_quiet_seconds = 60\n\
         [lock]\nmax_auto_lock_minutes = 15\n\
         [rotation]\nperiod_days = 90\n\
         [[audit.sinks]]\nkind = \"directory\"\npath = \"/mnt/audit\"\n\
         [[audit.sinks]]\nkind = \"syslog\"\nurl = \"udp://h:514\"\n\
         [device]\nrequire_disk_encryption = true\n\
         [extract]\nallowed_destinations = [\"~/Desktop\"]\nforbidden_destinations = [\"/media\"]\n"
    );
    let p = Policy::parse(&full).unwrap();
    let mut from_structs = BTreeSet::new();
    keys(&serde_json::to_value(&p).unwrap(), "", &mut from_structs);
    let s = schema_value();
    let mut from_schema = BTreeSet::new();
    schema_keys(&s, &s, "", &mut from_schema);
    assert_eq!(
        from_structs, from_schema,
        "policy.rs vs docs/policy.schema.json"
    );

    let md = std::fs::read_to_string(repo().join("docs/POLICY.md")).unwrap();
    for k in &from_schema {
        // Sections as `[kdf]`, keys as `min_memory_mib`.
        let doc = match k.rsplit_once('.') {
            None => format!("`[{k}]`"),
            Some((_, leaf)) => format!("`{leaf}`"),
        };
        assert!(md.contains(&doc), "docs/POLICY.md does not document {doc}");
    }
}
