//! The vectors of docs/FORMAT.md §4.5 and §17 in
//! `tests/vectors/integrity/`: the test vault's config upgraded to version
//! 2, its manifest and an endorsement journal, with every derived key and
//! damaged variants. Generated once (random writer key and nonces) by
//!
//! ```text
//! cargo test -p coffer-core --test integrity_vectors -- --ignored regenerate
//! ```
//!
//! and checked on every run, through coffer-core's API and through an
//! independent re-computation from the document (HMAC-SHA256 and HKDF from
//! the `hmac`/`hkdf` crates, the compact JSON re-serialised with
//! `serde_json::Value`, which keeps member order).

use std::collections::BTreeMap;
use std::path::PathBuf;

use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use coffer_core::Error;
use coffer_core::config::{Credential, VaultConfig, WriterKey};
use coffer_core::format::manifest::{
    self, ENDORSEMENT_LEN, Endorsement, Manifest, Phase, object_digest, parse_endorsements,
};
use coffer_core::format::{self, FileId};
use coffer_core::object;
use coffer_core::recovery;

const OBJECTS: [&str; 8] = [
    "o-0.obj",
    "o-1.obj",
    "o-65535.obj",
    "o-65536.obj",
    "o-65537.obj",
    "o-200000.obj",
    "o-v2-4000.obj",
    "o-noncanonical.obj",
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    hkdf::Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, &mut out)
        .unwrap();
    out
}

fn hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut m = hmac::Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(msg);
    m.finalize().into_bytes().into()
}

/// `C` of §4.5 from the document, from the file's text: no string in a
/// config holds white space (they are fixed words and base64), so the
/// compact form is the text without white space, and `mac` is its last
/// member.
fn compact_without_mac(config: &[u8]) -> Vec<u8> {
    let compact: Vec<u8> = config
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let text = String::from_utf8(compact).unwrap();
    let at = text.find(",\"mac\":\"").expect("mac is the last member");
    let end = text[at + 8..].find('"').unwrap() + at + 9;
    format!("{}{}", &text[..at], &text[end..]).into_bytes()
}

/// The digest of one stored object as §17.1 defines it, with its id and
/// whether a sidecar is in force.
fn digest_of(file: &str) -> (FileId, [u8; 32]) {
    let bytes = std::fs::read(dir().join(file)).unwrap();
    let prefix = object::read_prefix(&bytes[..]).unwrap();
    let mut record = prefix.record.to_bytes();
    let rec = dir().join(file.replace(".obj", ".rec"));
    if let Ok(side) = std::fs::read(&rec) {
        let (h, r) = format::parse_sidecar(&side).unwrap();
        if h == prefix.header {
            record = r.to_bytes();
        }
    }
    let header = prefix.header.to_bytes();
    (prefix.header.file_id, object_digest(&header, &record))
}

#[test]
#[ignore = "rewrites tests/vectors/integrity; only with a format version bump"]
fn regenerate() {
    let m: Value =
        serde_json::from_slice(&std::fs::read(dir().join("manifest.json")).unwrap()).unwrap();
    let rk = recovery::decode(m["recovery_key"].as_str().unwrap()).unwrap();
    let v1 = VaultConfig::parse(&std::fs::read(dir().join("vault.json")).unwrap()).unwrap();
    let (mut keys, _) = v1.unlock(&Credential::Recovery(&rk)).unwrap();
    let mut v2 = v1.clone();
    assert!(v2.upgrade(&mut keys));
    let w = keys.writer_key().unwrap().clone();
    let vid = *v2.vault_id();
    let out = dir().join("integrity");
    std::fs::create_dir_all(&out).unwrap();
    let config = v2.to_bytes();
    std::fs::write(out.join("vault-v2.json"), &config).unwrap();

    let mut man = Manifest {
        generation: 5,
        ..Default::default()
    };
    let mut objects = Vec::new();
    for f in OBJECTS {
        let (id, d) = digest_of(f);
        // o-v2-4000 stands for an object added while locked: endorsed, not
        // yet in the manifest.
        if f != "o-v2-4000.obj" {
            man.entries.insert(id, d);
        }
        objects.push(json!({"file": f, "id": hex(&id.0), "digest": hex(&d)}));
    }
    std::fs::write(
        out.join("manifest.bin"),
        man.to_bytes(&w.manifest_key(&vid), &vid),
    )
    .unwrap();

    let (added, added_digest) = digest_of("o-v2-4000.obj");
    let gone = FileId([0x5a; 16]);
    let ek = w.endorsement_key(&vid);
    let entry = |phase, generation, id, digest| Endorsement {
        phase,
        generation,
        id,
        digest,
    };
    let mut journal = Vec::new();
    journal.extend(entry(Phase::Intent, 5, added, added_digest).to_bytes(&ek, &vid));
    journal.extend(entry(Phase::Done, 5, added, added_digest).to_bytes(&ek, &vid));
    journal.extend(entry(Phase::Remove, 5, gone, [0; 32]).to_bytes(&ek, &vid));
    // Replayed: a valid entry of an earlier generation.
    journal.extend(entry(Phase::Intent, 4, gone, [7; 32]).to_bytes(&ek, &vid));
    // Forged: made with another key.
    let forged = coffer_core::secret::Key32::from_bytes([0x42; 32]);
    journal.extend(entry(Phase::Intent, 5, gone, [8; 32]).to_bytes(&forged, &vid));
    // Torn tail: a crash mid-append.
    journal.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 5, 0xaa]);
    std::fs::write(out.join("endorsements.bin"), &journal).unwrap();

    let c = compact_without_mac(&config);
    let files: Vec<Value> = ["vault-v2.json", "manifest.bin", "endorsements.bin"]
        .iter()
        .map(|f| {
            let b = std::fs::read(out.join(f)).unwrap();
            json!({"file": f, "len": b.len(), "sha256": hex(&Sha256::digest(&b))})
        })
        .collect();
    let doc = json!({
        "about": [
            "Vectors of docs/FORMAT.md §4.5 (the authenticated config) and §17 (manifest, endorsements).",
            "vault-v2.json is ../vault.json upgraded: same master key, slots and key versions; unlock it with ../manifest.json's recovery_key.",
            "Test data, published on purpose: never use these keys for anything else."
        ],
        "writer_key": hex(w.expose()),
        "writer_seal_key": hex(&hkdf(&vid, &unhex(m["vault"]["master_key"].as_str().unwrap()), b"coffer/v2/writer-key-seal")),
        "config_mac_key": hex(&hkdf(&vid, w.expose(), b"coffer/v2/config-mac-key")),
        "manifest_key": hex(&hkdf(&vid, w.expose(), b"coffer/v2/manifest-key")),
        "endorsement_key": hex(&hkdf(&vid, w.expose(), b"coffer/v2/endorsement-key")),
        "config_mac_input_sha256": hex(&Sha256::digest([&b"coffer/v2/config"[..], &c].concat())),
        "config_mac": v2.mac.as_ref().map(|m| hex(&m.0)),
        "objects": objects,
        "manifest": {
            "generation": 5,
            "entries": man.entries.iter().map(|(id, d)| json!({"id": hex(&id.0), "digest": hex(d)})).collect::<Vec<_>>(),
        },
        "endorsements": {
            "valid": [
                {"phase": "intent", "generation": 5, "id": hex(&added.0), "digest": hex(&added_digest)},
                {"phase": "done", "generation": 5, "id": hex(&added.0), "digest": hex(&added_digest)},
                {"phase": "remove", "generation": 5, "id": hex(&gone.0), "digest": hex(&[0; 32])},
                {"phase": "intent", "generation": 4, "id": hex(&gone.0), "digest": hex(&[7; 32])}
            ],
            "replayed_at_generation_5": 1,
            "forged": 1,
            "torn_tail": true
        },
        "damaged": damaged_cases(),
        "files": files,
    });
    std::fs::write(
        out.join("integrity.json"),
        serde_json::to_string_pretty(&doc).unwrap() + "\n",
    )
    .unwrap();
}

/// Damaged variants: `file`, a JSON member to replace (configs) or a byte
/// to flip (binaries), and the error class a reader must give.
fn damaged_cases() -> Value {
    json!([
        {"file": "vault-v2.json", "set": ["key_versions", 0, "public_key"], "value": "ulfXIMjnBu9O42DY9aaZ/UhJd5OPd+3Wilpopn87BAg=", "expect": "Tampered", "what": "a public key swapped (last base64 digit changed)"},
        {"file": "vault-v2.json", "set": ["created"], "value": 1795544805, "expect": "Tampered", "what": "the creation time changed"},
        {"file": "vault-v2.json", "set": ["mac"], "value": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "expect": "Tampered", "what": "the MAC replaced"},
        {"file": "vault-v2.json", "remove": "writer_key", "expect": "Corrupt", "what": "a version-2 config without its writer key"},
        {"file": "manifest.bin", "flip": {"at": 30, "mask": 1}, "expect": "Tampered", "what": "the generation changed"},
        {"file": "manifest.bin", "flip": {"at": 40, "mask": 128}, "expect": "Tampered", "what": "an entry's id changed"},
        {"file": "manifest.bin", "flip": {"at": -1, "mask": 1}, "expect": "Tampered", "what": "the tag changed"},
        {"file": "manifest.bin", "flip": {"at": 12, "mask": 1}, "expect": "Tampered", "what": "the vault id changed"},
        {"file": "manifest.bin", "flip": {"at": 9, "mask": 2}, "expect": "UnsupportedVersion", "what": "version 3"},
        {"file": "manifest.bin", "flip": {"at": 37, "mask": 1}, "expect": "Corrupt", "what": "the count no longer matches the length"},
        {"file": "manifest.bin", "flip": {"at": 0, "mask": 1}, "expect": "Corrupt", "what": "the magic changed"}
    ])
}

fn err_class(e: &Error) -> &'static str {
    match e {
        Error::Tampered { .. } => "Tampered",
        Error::Corrupt { .. } => "Corrupt",
        Error::UnsupportedVersion { .. } => "UnsupportedVersion",
        _ => "other",
    }
}

#[test]
fn integrity_vectors_match_the_document() {
    let doc: Value =
        serde_json::from_slice(&std::fs::read(dir().join("integrity/integrity.json")).unwrap())
            .unwrap();
    let m: Value =
        serde_json::from_slice(&std::fs::read(dir().join("manifest.json")).unwrap()).unwrap();
    // The stored files are exactly the ones the expectations were made for.
    for f in doc["files"].as_array().unwrap() {
        let bytes =
            std::fs::read(dir().join("integrity").join(f["file"].as_str().unwrap())).unwrap();
        assert_eq!(bytes.len() as u64, f["len"].as_u64().unwrap(), "{f}");
        assert_eq!(hex(&Sha256::digest(&bytes)), f["sha256"], "{f}");
    }
    let rk = recovery::decode(m["recovery_key"].as_str().unwrap()).unwrap();
    let config = std::fs::read(dir().join("integrity/vault-v2.json")).unwrap();
    let cfg = VaultConfig::parse(&config).unwrap();
    let vid = *cfg.vault_id();
    // The unlock opens the writer key and checks the MAC (§4.4).
    let (keys, _) = cfg.unlock(&Credential::Recovery(&rk)).unwrap();
    let w = keys.writer_key().unwrap();
    assert_eq!(hex(w.expose()), doc["writer_key"]);
    let w = WriterKey::from_bytes(
        unhex(doc["writer_key"].as_str().unwrap())
            .try_into()
            .unwrap(),
    );
    cfg.verify(&w).unwrap();

    // The document's derivations, recomputed from primitives.
    let master = unhex(m["vault"]["master_key"].as_str().unwrap());
    assert_eq!(
        hex(&hkdf(&vid, &master, b"coffer/v2/writer-key-seal")),
        doc["writer_seal_key"]
    );
    let mac_key = hkdf(&vid, w.expose(), b"coffer/v2/config-mac-key");
    assert_eq!(hex(&mac_key), doc["config_mac_key"]);
    let c = [&b"coffer/v2/config"[..], &compact_without_mac(&config)].concat();
    assert_eq!(c, cfg.mac_input(), "C as the document defines it");
    assert_eq!(hex(&Sha256::digest(&c)), doc["config_mac_input_sha256"]);
    assert_eq!(hex(&hmac(&mac_key, &c)), doc["config_mac"]);
    assert_eq!(hex(&w.manifest_key(&vid).expose()[..]), doc["manifest_key"]);
    assert_eq!(
        hex(&hkdf(&vid, w.expose(), b"coffer/v2/manifest-key")),
        doc["manifest_key"]
    );
    assert_eq!(
        hex(&hkdf(&vid, w.expose(), b"coffer/v2/endorsement-key")),
        doc["endorsement_key"]
    );

    // Digests (§17.1) of the stored objects.
    for o in doc["objects"].as_array().unwrap() {
        let (id, d) = digest_of(o["file"].as_str().unwrap());
        assert_eq!(hex(&id.0), o["id"], "{o}");
        assert_eq!(hex(&d), o["digest"], "{o}");
    }

    // The manifest (§17.2), through the API and by hand.
    let mbytes = std::fs::read(dir().join("integrity/manifest.bin")).unwrap();
    let man = Manifest::parse(&mbytes, &w.manifest_key(&vid), &vid).unwrap();
    assert_eq!(
        man.generation,
        doc["manifest"]["generation"].as_u64().unwrap()
    );
    let want: BTreeMap<String, String> = doc["manifest"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().into(),
                e["digest"].as_str().unwrap().into(),
            )
        })
        .collect();
    let got: BTreeMap<String, String> = man
        .entries
        .iter()
        .map(|(i, d)| (hex(&i.0), hex(d)))
        .collect();
    assert_eq!(got, want);
    let body = mbytes.len() - 32;
    assert_eq!(
        hmac(
            &hkdf(&vid, w.expose(), b"coffer/v2/manifest-key"),
            &[&b"coffer/v2/manifest"[..], &mbytes[..body]].concat()
        ),
        mbytes[body..]
    );
    assert_eq!(mbytes.len(), 38 + 48 * want.len() + 32);

    // The journal (§17.3).
    let jbytes = std::fs::read(dir().join("integrity/endorsements.bin")).unwrap();
    let parsed = parse_endorsements(&jbytes, &w.endorsement_key(&vid), &vid);
    assert_eq!(parsed.forged, 1);
    assert!(parsed.torn_tail);
    let phase = |p: Phase| match p {
        Phase::Intent => "intent",
        Phase::Done => "done",
        Phase::Remove => "remove",
    };
    let valid: Vec<Value> = parsed
        .valid
        .iter()
        .map(|e| json!({"phase": phase(e.phase), "generation": e.generation, "id": hex(&e.id.0), "digest": hex(&e.digest)}))
        .collect();
    assert_eq!(Value::Array(valid), doc["endorsements"]["valid"]);
    for (i, e) in jbytes.chunks_exact(ENDORSEMENT_LEN).take(4).enumerate() {
        let mac = hmac(
            &hkdf(&vid, w.expose(), b"coffer/v2/endorsement-key"),
            &[&b"coffer/v2/endorsement"[..], &vid, &e[..57]].concat(),
        );
        assert_eq!(mac, e[57..], "entry {i}");
    }

    // Damaged variants.
    for case in doc["damaged"].as_array().unwrap() {
        let file = case["file"].as_str().unwrap();
        let expect = case["expect"].as_str().unwrap();
        let got = if file == "vault-v2.json" {
            let mut v: Value = serde_json::from_slice(&config).unwrap();
            if let Some(path) = case["set"].as_array() {
                let mut at = &mut v;
                for p in path {
                    at = match p {
                        Value::String(k) => &mut at[k.as_str()],
                        n => &mut at[n.as_u64().unwrap() as usize],
                    };
                }
                *at = case["value"].clone();
            }
            if let Some(k) = case["remove"].as_str() {
                v.as_object_mut().unwrap().remove(k);
            }
            let bytes = serde_json::to_vec_pretty(&v).unwrap();
            VaultConfig::parse(&bytes).and_then(|c| {
                c.verify(&w)?;
                c.unlock(&Credential::Recovery(&rk)).map(|_| ())
            })
        } else {
            let mut b = mbytes.clone();
            let at = case["flip"]["at"].as_i64().unwrap();
            let at = if at < 0 { b.len() as i64 + at } else { at } as usize;
            b[at] ^= case["flip"]["mask"].as_u64().unwrap() as u8;
            Manifest::parse(&b, &w.manifest_key(&vid), &vid).map(|_| ())
        };
        let class = got.as_ref().err().map(err_class).unwrap_or("ok");
        assert_eq!(class, expect, "{}: {got:?}", case["what"]);
    }
}

#[test]
fn the_version_1_vector_vault_upgrades_and_keeps_opening() {
    let m: Value =
        serde_json::from_slice(&std::fs::read(dir().join("manifest.json")).unwrap()).unwrap();
    let rk = recovery::decode(m["recovery_key"].as_str().unwrap()).unwrap();
    let v1 = VaultConfig::parse(&std::fs::read(dir().join("vault.json")).unwrap()).unwrap();
    assert!(!v1.is_authenticated());
    let (mut keys, _) = v1.unlock(&Credential::Recovery(&rk)).unwrap();
    let mut v2 = v1.clone();
    v2.upgrade(&mut keys);
    let v2 = VaultConfig::parse(&v2.to_bytes()).unwrap();
    let (k2, _) = v2.unlock(&Credential::Recovery(&rk)).unwrap();
    // Same key versions: every object written before opens as before.
    for f in OBJECTS {
        let bytes = std::fs::read(dir().join(f)).unwrap();
        let p = object::read_prefix(&bytes[..]).unwrap();
        let (_, dek1) = object::unwrap(&keys, v1.vault_id(), &p.header, &p.record).unwrap();
        let (_, dek2) = object::unwrap(&k2, v2.vault_id(), &p.header, &p.record).unwrap();
        assert_eq!(dek1.expose(), dek2.expose(), "{f}");
    }
    let _ = manifest::MANIFEST_VERSION;
}
