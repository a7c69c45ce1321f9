//! Coffer's own format vectors: files in `tests/vectors/` that every future
//! build must keep opening (or keep refusing) exactly as the manifest says.
//!
//! The format is randomised (DEKs, salts, HPKE ephemeral keys, nonces), so
//! the vectors were generated once and committed. Regenerating them changes
//! every byte and must only ever happen together with a format version bump:
//!
//! ```text
//! cargo test -p coffer-core --test format_vectors -- --ignored regenerate
//! ```
//!
//! `tests/vectors/manifest.json` lists the stored files (with their SHA-256),
//! the vault's credentials and derived secrets, and the vectors. A vector is
//! an object file (and optionally a sidecar key-record file) described as a
//! list of byte ranges of stored files, concatenated, then some bits
//! flipped; that is how the broken variants stay small. See
//! `tests/vectors/README.md`.
//!
//! Every vector is checked twice: through coffer-core's own object API, and
//! through `spec`, an independent decryptor written from docs/FORMAT.md that
//! uses only the primitives (AES-256-GCM, HKDF-SHA256, HPKE, Argon2id). The
//! object sizes are checked against the formula and the worked sizes and
//! limits tables in docs/FORMAT.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use coffer_core::Error;
use coffer_core::config::{Credential, NewSlot, UnlockedKeys, VaultConfig};
use coffer_core::format::{
    self, CHUNK_OVERHEAD, CHUNK_SIZE, HEADER_LEN, KeyRecord, MAX_META_CT_LEN, MAX_RECORD_LEN,
    Metadata,
};
use coffer_core::kdf::Argon2Params;
use coffer_core::object::{self, Sealed, WrapTarget};
use coffer_core::primitives::{self, NONCE_LEN};
use coffer_core::recovery;
use coffer_core::secret::{Key32, Passphrase};

const MANIFEST: &str = "manifest.json";
const CONFIG: &str = "vault.json";
const PASSPHRASE: &str = "correct horse battery staple";
/// Fixed metadata times of every vector (2026-01-01T00:00:00Z and a bit).
const MTIME_NS: i64 = 1_767_225_600_000_000_000;
const ADDED_NS: i64 = 1_767_225_600_123_456_789;
const MODE: u32 = 0o640;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn format_md_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/FORMAT.md")
}

/// The deterministic plaintext of every vector: byte i is i·31 mod 251.
fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

// ---------------------------------------------------------------------------
// Manifest

#[derive(Serialize, Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Manifest {
    format: String,
    version: u32,
    about: Vec<String>,
    config: String,
    recovery_key: String,
    passphrase: String,
    /// Secrets of the vault, for implementers debugging a decryptor.
    vault: VaultSecrets,
    /// Every stored file, so an accidental edit is caught before anything else.
    files: Vec<StoredFile>,
    vectors: Vec<Vector>,
}

#[derive(Serialize, Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct VaultSecrets {
    vault_id: String,
    master_key: String,
    version_seal_key: String,
    index_key: String,
    /// Key version number → clamped X25519 private key.
    version_private_keys: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct StoredFile {
    file: String,
    len: u64,
    sha256: String,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
struct Vector {
    name: String,
    description: String,
    object: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sidecar: Option<Source>,
    expect: Expect,
}

/// Bytes = concatenation of `parts`, then each `xor` applied.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
struct Source {
    parts: Vec<Part>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    xor: Vec<Xor>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
struct Part {
    file: String,
    start: u64,
    end: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
struct Xor {
    at: u64,
    mask: u8,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// "ok", or the error: "DecryptionFailed", "Corrupt", "UnsupportedVersion".
    result: String,
    /// For errors: where it is detected — "prefix" (object header and
    /// embedded record), "sidecar", "unwrap" (key version, HPKE, key
    /// commitment), "metadata" or "stream".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    opened: Option<Opened>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
struct Opened {
    /// "embedded" or "sidecar": which key record was in force.
    record: String,
    key_version: u32,
    path: String,
    size: u64,
    mtime_ns: i64,
    mode: u32,
    added_ns: i64,
    plaintext_len: u64,
    plaintext_sha256: String,
    object_len: u64,
    /// Length of the embedded key record (the BE32 at offset 92).
    embedded_record_len: u64,
    stream_offset: u64,
    chunks: u64,
    dek: String,
    payload_key: String,
    metadata_key: String,
    commitment: String,
}

impl Source {
    fn materialise(&self, files: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
        let mut out = Vec::new();
        for p in &self.parts {
            let f = files
                .get(&p.file)
                .unwrap_or_else(|| panic!("unknown file {}", p.file));
            out.extend_from_slice(&f[p.start as usize..p.end as usize]);
        }
        for x in &self.xor {
            out[x.at as usize] ^= x.mask;
        }
        out
    }
}

fn err_name(e: &Error) -> &'static str {
    match e {
        Error::DecryptionFailed => "DecryptionFailed",
        Error::Corrupt { .. } => "Corrupt",
        Error::UnsupportedVersion { .. } => "UnsupportedVersion",
        other => panic!("unexpected error class: {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Opening through coffer-core's object API

struct RefOpened {
    sidecar: bool,
    key_version: u32,
    meta: Metadata,
    plaintext: Vec<u8>,
    embedded_record_len: u64,
    stream_offset: u64,
    dek: [u8; 32],
    payload_key: [u8; 32],
    metadata_key: [u8; 32],
    commitment: [u8; 32],
}

/// Opens an object as the vault store does: the sidecar's record is in
/// force when its header copy equals the object's header. On failure
/// returns the stage, the error and the plaintext bytes released before it.
fn open_ref(
    cfg: &VaultConfig,
    keys: &UnlockedKeys,
    obj: &[u8],
    sidecar: Option<&[u8]>,
) -> Result<RefOpened, (&'static str, Error, usize)> {
    let prefix = object::read_prefix(obj).map_err(|e| ("prefix", e, 0))?;
    let (record, from_sidecar) = match sidecar {
        Some(bytes) => {
            let (h, r) = format::parse_sidecar(bytes).map_err(|e| ("sidecar", e, 0))?;
            if h == prefix.header {
                (r, true)
            } else {
                (prefix.record.clone(), false)
            }
        }
        None => (prefix.record.clone(), false),
    };
    let (fk, dek) = object::unwrap(keys, cfg.vault_id(), &prefix.header, &record)
        .map_err(|e| ("unwrap", e, 0))?;
    let meta =
        object::open_metadata(&fk, &prefix.header, &record).map_err(|e| ("metadata", e, 0))?;
    let mut out = Vec::new();
    let off = prefix.stream_offset as usize;
    match object::decrypt_stream(&fk, &prefix.header, &obj[off..], &mut out) {
        Ok(n) => assert_eq!(n, out.len() as u64),
        Err(e) => return Err(("stream", e, out.len())),
    }
    Ok(RefOpened {
        sidecar: from_sidecar,
        key_version: record.key_version,
        meta,
        plaintext: out,
        embedded_record_len: prefix.record.encoded_len() as u64,
        stream_offset: prefix.stream_offset,
        dek: *dek.expose(),
        payload_key: *fk.payload.expose(),
        metadata_key: *fk.metadata.expose(),
        commitment: fk.commitment,
    })
}

// ---------------------------------------------------------------------------
// An independent decryptor, written from docs/FORMAT.md alone.

mod spec {
    use std::collections::BTreeMap;

    use base64::Engine;
    use sha2::{Digest, Sha256};

    use coffer_core::kdf::{Argon2Params, argon2id};
    use coffer_core::primitives::{ct_eq, hkdf32, open as aes_open};
    use coffer_core::secret::{Key32, Passphrase};
    use coffer_core::wrap::{self, PrivateKey};

    pub const MAX_RECORD_LEN: usize = 8293;
    pub const MAX_META_CT_LEN: usize = 8192;

    pub struct Vault {
        pub vault_id: [u8; 16],
        pub master: [u8; 32],
        pub seal_key: [u8; 32],
        pub index_key: [u8; 32],
        pub versions: BTreeMap<u32, PrivateKey>,
    }

    pub struct Opened {
        pub sidecar: bool,
        pub key_version: u32,
        pub path: String,
        pub size: u64,
        pub mtime_ns: i64,
        pub mode: u32,
        pub added_ns: i64,
        pub plaintext: Vec<u8>,
    }

    /// (error class, stage)
    pub type Fail = (&'static str, &'static str);

    fn b64<const N: usize>(v: &serde_json::Value) -> [u8; N] {
        let s = v.as_str().expect("base64 string");
        assert_eq!(s.len(), 4 * N.div_ceil(3), "padded base64 of {N} bytes");
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .expect("standard base64")
            .try_into()
            .expect("length")
    }

    fn be32(b: &[u8]) -> u32 {
        u32::from_be_bytes(b.try_into().unwrap())
    }

    /// FORMAT.md §Recovery key: base32 (RFC 4648, no padding) of
    /// key ‖ SHA-256(key)[0..3], dashes and spaces ignored, case-insensitive,
    /// 0/1/8 read as O/I/B.
    pub fn decode_recovery(typed: &str) -> [u8; 32] {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut bits: u64 = 0;
        let mut nbits = 0;
        let mut raw = Vec::new();
        for c in typed.chars().filter(|c| !c.is_whitespace() && *c != '-') {
            let c = match c.to_ascii_uppercase() {
                '0' => 'O',
                '1' => 'I',
                '8' => 'B',
                u => u,
            };
            let v = ALPHABET
                .iter()
                .position(|&a| a as char == c)
                .expect("base32") as u64;
            bits = (bits << 5) | v;
            nbits += 5;
            if nbits >= 8 {
                nbits -= 8;
                raw.push((bits >> nbits) as u8);
                bits &= (1 << nbits) - 1;
            }
        }
        assert_eq!(raw.len(), 35);
        assert_eq!(bits, 0, "non-canonical trailing bits");
        assert_eq!(&Sha256::digest(&raw[..32])[..3], &raw[32..]);
        raw[..32].try_into().unwrap()
    }

    /// FORMAT.md §7, path rules.
    pub fn path_ok(path: &str) -> bool {
        let b = path.as_bytes();
        let drive = b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':';
        (1..=4096).contains(&b.len())
            && !drive
            && !b.iter().any(|&c| c == b'\\' || c < 0x20 || c == 0x7f)
            && path
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != "..")
    }

    /// FORMAT.md §vault.json and §Key hierarchy: opens the first slot of
    /// `kind` with `ikm` (the recovery key, or the passphrase), then every
    /// key version.
    pub fn unlock(config: &[u8], kind: &str, secret: &[u8]) -> Vault {
        let cfg: serde_json::Value = serde_json::from_slice(config).unwrap();
        assert_eq!(cfg["format"], "coffer-vault");
        assert_eq!(cfg["version"], 1);
        let vault_id: [u8; 16] = b64(&cfg["vault_id"]);
        let slot = cfg["slots"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["kind"] == kind)
            .expect("slot of that kind");
        let slot_id: [u8; 16] = b64(&slot["id"]);
        let kek = match kind {
            "recovery" => {
                let salt: [u8; 16] = b64(&slot["salt"]);
                hkdf32(&salt, secret, &[b"coffer/v1/recovery-slot"])
            }
            "passphrase" => {
                let salt: [u8; 16] = b64(&slot["salt"]);
                let k = &slot["kdf"];
                let params = Argon2Params {
                    m_kib: k["m_kib"].as_u64().unwrap() as u32,
                    t: k["t"].as_u64().unwrap() as u32,
                    p: k["p"].as_u64().unwrap() as u32,
                };
                let pass = Passphrase::new(String::from_utf8(secret.to_vec()).unwrap());
                argon2id(&pass, &salt, &params).unwrap()
            }
            other => panic!("the vectors hold no {other} slot"),
        };
        let aad = [b"coffer/v1/slot", &vault_id[..], &slot_id, kind.as_bytes()].concat();
        let nonce: [u8; 12] = b64(&slot["nonce"]);
        let wrapped: [u8; 48] = b64(&slot["wrapped"]);
        let master: [u8; 32] = aes_open(&kek, &nonce, &aad, &wrapped)
            .expect("slot opens")
            .as_slice()
            .try_into()
            .unwrap();
        let ikm = Key32::from_bytes(master);
        let seal_key = hkdf32(&vault_id, ikm.expose(), &[b"coffer/v1/version-seal-key"]);
        let index_key = hkdf32(&vault_id, ikm.expose(), &[b"coffer/v1/index-key"]);
        let mut versions = BTreeMap::new();
        for v in cfg["key_versions"].as_array().unwrap() {
            let version = v["version"].as_u64().unwrap() as u32;
            let pk: [u8; 32] = b64(&v["public_key"]);
            let nonce: [u8; 12] = b64(&v["nonce"]);
            let sealed: [u8; 48] = b64(&v["sealed_secret"]);
            let aad = [
                b"coffer/v1/key-version",
                &vault_id[..],
                &version.to_be_bytes(),
                &pk,
            ]
            .concat();
            let sk = aes_open(&seal_key, &nonce, &aad, &sealed).expect("version seal opens");
            let sk = PrivateKey::from_secret_bytes(&Key32::from_slice(&sk).unwrap()).unwrap();
            assert_eq!(sk.public_key().0, pk);
            versions.insert(version, sk);
        }
        Vault {
            vault_id,
            master,
            seal_key: *seal_key.expose(),
            index_key: *index_key.expose(),
            versions,
        }
    }

    /// FORMAT.md §Object header: the checks in their order.
    fn check_header(h: &[u8]) -> Result<(), &'static str> {
        if &h[0..8] != b"COFFEROB" {
            return Err("Corrupt");
        }
        if u16::from_be_bytes([h[8], h[9]]) != 1 {
            return Err("UnsupportedVersion");
        }
        if h[10] != 16 || h[11] != 0 {
            return Err("Corrupt");
        }
        Ok(())
    }

    struct Record<'a> {
        version: u8,
        key_version: u32,
        enc: &'a [u8],
        wrapped_dek: &'a [u8],
        meta_nonce: &'a [u8],
        meta_ct: &'a [u8],
    }

    /// FORMAT.md §Key record.
    fn parse_record(r: &[u8]) -> Result<Record<'_>, &'static str> {
        if r.is_empty() {
            return Err("Corrupt");
        }
        if r[0] != 1 && r[0] != 2 {
            return Err("UnsupportedVersion");
        }
        if r.len() < 101 {
            return Err("Corrupt");
        }
        let meta_len = be32(&r[97..101]) as usize;
        if !(16..=MAX_META_CT_LEN).contains(&meta_len) || r.len() != 101 + meta_len {
            return Err("Corrupt");
        }
        Ok(Record {
            version: r[0],
            key_version: be32(&r[1..5]),
            enc: &r[5..37],
            wrapped_dek: &r[37..85],
            meta_nonce: &r[85..97],
            meta_ct: &r[101..],
        })
    }

    /// FORMAT.md §Decrypting an object, steps 1–8. Releases nothing unless
    /// everything authenticated.
    pub fn open(v: &Vault, obj: &[u8], sidecar: Option<&[u8]>) -> Result<Opened, Fail> {
        // 1. Header and embedded record.
        let prefix = |e| (e, "prefix");
        if obj.len() < 96 {
            return Err(prefix("Corrupt"));
        }
        let header = &obj[..92];
        check_header(header).map_err(prefix)?;
        let rec_len = be32(&obj[92..96]) as usize;
        if rec_len > MAX_RECORD_LEN || obj.len() < 96 + rec_len {
            return Err(prefix("Corrupt"));
        }
        let embedded = parse_record(&obj[96..96 + rec_len]).map_err(prefix)?;
        let stream = &obj[96 + rec_len..];

        // 2. The record in force.
        let side = |e| (e, "sidecar");
        let (rec, from_sidecar) = match sidecar {
            None => (embedded, false),
            Some(s) => {
                if s.len() < 8 || &s[..8] != b"COFFERKR" {
                    return Err(side("Corrupt"));
                }
                if s.len() < 100 {
                    return Err(side("Corrupt"));
                }
                check_header(&s[8..100]).map_err(side)?;
                if s.len() < 104 {
                    return Err(side("Corrupt"));
                }
                let len = be32(&s[100..104]) as usize;
                if len > MAX_RECORD_LEN || s.len() < 104 + len {
                    return Err(side("Corrupt"));
                }
                let r = parse_record(&s[104..104 + len]).map_err(side)?;
                if s.len() != 104 + len {
                    return Err(side("Corrupt"));
                }
                if s[8..100] == *header {
                    (r, true)
                } else {
                    (embedded, false)
                }
            }
        };

        // 3–5. Unwrap the DEK, derive, check the commitment.
        let unwrap_fail = ("DecryptionFailed", "unwrap");
        let sk = v.versions.get(&rec.key_version).ok_or(unwrap_fail)?;
        let aad = [header, &rec.key_version.to_be_bytes()].concat();
        let dek = if rec.version == 1 {
            let info = [b"coffer/v1/dek-wrap", &v.vault_id[..]].concat();
            wrap::open(
                sk,
                rec.enc.try_into().unwrap(),
                &info,
                &aad,
                rec.wrapped_dek,
            )
        } else {
            // §3.1: the version's wrap secret, HKDF(vault_id, sk,
            // "coffer/v2/dek-wrap-secret"); the record's wrap key,
            // HKDF(enc, secret, "coffer/v2/dek-wrap-key"); AES-256-GCM
            // with a zero nonce.
            let secret = hkdf32(
                &v.vault_id,
                sk.to_secret_bytes().expose(),
                &[b"coffer/v2/dek-wrap-secret"],
            );
            let wrap_key = hkdf32(rec.enc, secret.expose(), &[b"coffer/v2/dek-wrap-key"]);
            aes_open(&wrap_key, &[0; 12], &aad, rec.wrapped_dek)
        }
        .map_err(|_| unwrap_fail)?;
        let file_id = &header[12..28];
        let salt = &header[28..60];
        let derive = |label: &[u8]| hkdf32(salt, &dek, &[label, file_id]);
        let payload = derive(b"coffer/v1/payload-key");
        let metadata = derive(b"coffer/v1/metadata-key");
        let commitment = derive(b"coffer/v1/key-commitment");
        if !ct_eq(commitment.expose(), &header[60..92]) {
            return Err(unwrap_fail);
        }

        // 6. Metadata.
        let meta = aes_open(
            &metadata,
            rec.meta_nonce.try_into().unwrap(),
            header,
            rec.meta_ct,
        )
        .map_err(|_| ("DecryptionFailed", "metadata"))?;
        assert_eq!(meta[0], 1, "metadata version");
        let path_len = u16::from_be_bytes([meta[1], meta[2]]) as usize;
        assert_eq!(meta.len(), 3 + path_len + 28);
        let path = String::from_utf8(meta[3..3 + path_len].to_vec()).unwrap();
        if !path_ok(&path) {
            return Err(("Corrupt", "metadata"));
        }
        let tail = &meta[3 + path_len..];
        let u64_at = |i: usize| u64::from_be_bytes(tail[i..i + 8].try_into().unwrap());

        // 7. The chunk stream: positional 65,552-byte chunks, the last one
        // shorter or equal; nonce = 0^7 ‖ BE32(i) ‖ last.
        let stream_fail = ("DecryptionFailed", "stream");
        if stream.is_empty() {
            return Err(stream_fail);
        }
        let mut plaintext = Vec::with_capacity(stream.len());
        for (i, chunk) in stream.chunks(65536 + 16).enumerate() {
            let last = (i + 1) * (65536 + 16) >= stream.len();
            if chunk.len() < 16 || (chunk.len() == 16 && i != 0) {
                return Err(stream_fail);
            }
            let i = u32::try_from(i).map_err(|_| stream_fail)?;
            let mut nonce = [0u8; 12];
            nonce[7..11].copy_from_slice(&i.to_be_bytes());
            nonce[11] = last as u8;
            let pt = aes_open(&payload, &nonce, header, chunk).map_err(|_| stream_fail)?;
            plaintext.extend_from_slice(&pt);
        }
        Ok(Opened {
            sidecar: from_sidecar,
            key_version: rec.key_version,
            path,
            size: u64_at(0),
            mtime_ns: u64_at(8) as i64,
            mode: u32::from_be_bytes(tail[16..20].try_into().unwrap()),
            added_ns: u64_at(20) as i64,
            plaintext,
        })
    }
}

// ---------------------------------------------------------------------------
// Checking

fn check_all() {
    let dir = vectors_dir();
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(dir.join(MANIFEST)).expect("manifest.json"))
            .expect("manifest parses");
    assert_eq!(manifest.format, "coffer-format-vectors");
    assert_eq!(manifest.version, 1);
    let mut files = BTreeMap::new();
    let mut total = 0u64;
    for f in &manifest.files {
        let bytes = std::fs::read(dir.join(&f.file)).unwrap_or_else(|e| panic!("{}: {e}", f.file));
        assert_eq!(bytes.len() as u64, f.len, "{}: length", f.file);
        assert_eq!(sha256_hex(&bytes), f.sha256, "{}: SHA-256", f.file);
        total += f.len;
        files.insert(f.file.clone(), bytes);
    }
    assert!(
        total < 1 << 20,
        "vectors must stay under 1 MiB, are {total}"
    );
    let config_bytes = files.get(&manifest.config).expect("config listed").clone();
    let cfg = VaultConfig::parse(&config_bytes).expect("vault.json parses");

    // Both slots open, to the same keys, and the independent derivation of
    // every vault secret matches the manifest.
    let rk = recovery::decode(&manifest.recovery_key).expect("recovery key decodes");
    assert_eq!(&spec::decode_recovery(&manifest.recovery_key), rk.expose());
    let (keys, _) = cfg
        .unlock(&Credential::Recovery(&rk))
        .expect("recovery slot");
    let pass = Passphrase::from(manifest.passphrase.as_str());
    let (keys_pw, _) = cfg
        .unlock(&Credential::Passphrase(&pass))
        .expect("passphrase slot");
    let sv = spec::unlock(&config_bytes, "recovery", rk.expose());
    let sv_pw = spec::unlock(&config_bytes, "passphrase", manifest.passphrase.as_bytes());
    let secrets = &manifest.vault;
    assert_eq!(hex::encode(cfg.vault_id()), secrets.vault_id);
    assert_eq!(hex::encode(sv.vault_id), secrets.vault_id);
    assert_eq!(hex::encode(sv.master), secrets.master_key);
    assert_eq!(hex::encode(sv_pw.master), secrets.master_key);
    assert_eq!(hex::encode(sv.seal_key), secrets.version_seal_key);
    assert_eq!(hex::encode(sv.index_key), secrets.index_key);
    assert_eq!(
        hex::encode(keys.index_key(cfg.vault_id()).expose()),
        secrets.index_key
    );
    assert_eq!(secrets.version_private_keys.len(), cfg.key_versions.len());
    for (v, sk_hex) in &secrets.version_private_keys {
        let v: u32 = v.parse().unwrap();
        for k in [
            keys.version_key(v).unwrap().to_secret_bytes(),
            keys_pw.version_key(v).unwrap().to_secret_bytes(),
            sv.versions[&v].to_secret_bytes(),
        ] {
            assert_eq!(&hex::encode(k.expose()), sk_hex, "key version {v}");
        }
    }

    let mut names = std::collections::BTreeSet::new();
    for v in &manifest.vectors {
        assert!(names.insert(v.name.clone()), "duplicate vector {}", v.name);
        let obj = v.object.materialise(&files);
        let side = v.sidecar.as_ref().map(|s| s.materialise(&files));
        check_vector(v, &cfg, &keys, &sv, &obj, side.as_deref());
    }
}

fn check_vector(
    v: &Vector,
    cfg: &VaultConfig,
    keys: &UnlockedKeys,
    sv: &spec::Vault,
    obj: &[u8],
    side: Option<&[u8]>,
) {
    let name = &v.name;
    let got = open_ref(cfg, keys, obj, side);
    let spec_got = spec::open(sv, obj, side);
    match (&v.expect.result[..], got, spec_got) {
        ("ok", Ok(r), Ok(s)) => {
            let want = v.expect.opened.as_ref().expect("ok vectors say what opens");
            let have = Opened {
                record: if r.sidecar { "sidecar" } else { "embedded" }.into(),
                key_version: r.key_version,
                path: r.meta.path.clone(),
                size: r.meta.size,
                mtime_ns: r.meta.mtime_ns,
                mode: r.meta.mode,
                added_ns: r.meta.added_ns,
                plaintext_len: r.plaintext.len() as u64,
                plaintext_sha256: sha256_hex(&r.plaintext),
                object_len: obj.len() as u64,
                embedded_record_len: r.embedded_record_len,
                stream_offset: r.stream_offset,
                chunks: format::chunk_count(r.plaintext.len() as u64),
                dek: hex::encode(r.dek),
                payload_key: hex::encode(r.payload_key),
                metadata_key: hex::encode(r.metadata_key),
                commitment: hex::encode(r.commitment),
            };
            assert_eq!(&have, want, "{name}: reference decryptor");
            // The metadata's size is the plaintext length, and the plaintext
            // is the deterministic content.
            assert_eq!(r.meta.size, r.plaintext.len() as u64, "{name}");
            assert_eq!(r.plaintext, content(r.plaintext.len()), "{name}");
            // The independent decryptor agrees on everything.
            assert_eq!(s.sidecar, r.sidecar, "{name}: spec record choice");
            assert_eq!(s.key_version, r.key_version, "{name}: spec");
            assert_eq!(
                (&s.path, s.size, s.mtime_ns, s.mode, s.added_ns),
                (
                    &r.meta.path,
                    r.meta.size,
                    r.meta.mtime_ns,
                    r.meta.mode,
                    r.meta.added_ns
                ),
                "{name}: spec metadata"
            );
            assert!(s.plaintext == r.plaintext, "{name}: spec plaintext");
            // Sizes: the formula of FORMAT.md §Sizes.
            let size = r.plaintext.len() as u64;
            assert_eq!(
                r.stream_offset,
                HEADER_LEN as u64 + 4 + r.embedded_record_len,
                "{name}"
            );
            assert_eq!(
                obj.len() as u64,
                r.stream_offset + format::stream_len(size),
                "{name}: object size"
            );
            let embedded_path_len = r.embedded_record_len - 148;
            assert_eq!(
                obj.len() as u64,
                244 + embedded_path_len + size + 16 * format::chunk_count(size),
                "{name}: object size formula"
            );
            if let Some(side) = side
                && r.sidecar
            {
                assert_eq!(
                    side.len() as u64,
                    252 + r.meta.path.len() as u64,
                    "{name}: sidecar size formula"
                );
            }
        }
        ("ok", r, s) => panic!(
            "{name}: expected ok, reference gave {:?}, spec gave {:?}",
            r.err().map(|(st, e, _)| (st, e)),
            s.err()
        ),
        (want, r, s) => {
            let want_stage = v.expect.stage.as_deref().expect("errors name a stage");
            match r {
                Ok(_) => panic!("{name}: reference opened a vector that must fail ({want})"),
                Err((stage, e, released)) => {
                    assert_eq!(
                        (err_name(&e), stage),
                        (want, want_stage),
                        "{name}: reference decryptor ({e})"
                    );
                    assert_eq!(released, 0, "{name}: plaintext released before the failure");
                }
            }
            match s {
                Ok(_) => panic!("{name}: spec decryptor opened a vector that must fail"),
                Err(f) => assert_eq!(f, (want, want_stage), "{name}: spec decryptor"),
            }
        }
    }
}

#[test]
fn vectors_match_manifest() {
    check_all();
}

#[test]
fn bad_metadata_paths_are_corrupt_for_both_readers() {
    let dir = vectors_dir();
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(dir.join(MANIFEST)).unwrap()).unwrap();
    let config_bytes = std::fs::read(dir.join(CONFIG)).unwrap();
    let cfg = VaultConfig::parse(&config_bytes).unwrap();
    let rk = recovery::decode(&manifest.recovery_key).unwrap();
    let (keys, _) = cfg.unlock(&Credential::Recovery(&rk)).unwrap();
    let sv = spec::unlock(&config_bytes, "recovery", rk.expose());
    let (key_version, public_key) = cfg.current_public_key();
    let target = WrapTarget {
        vault_id: *cfg.vault_id(),
        key_version,
        public_key,
    };
    let bad = [
        "../x",
        "/abs",
        "C:/x",
        "c:x",
        "\\\\server\\share",
        "a\0b",
        "a/../b",
        "a\u{1}b",
    ];
    for path in bad {
        assert!(format::validate_rel_path(path).is_err(), "{path:?}");
        assert!(!spec::path_ok(path), "{path:?}");
        let made = seal_object(&target, "bad.obj", path, 10);
        match open_ref(&cfg, &keys, &made.bytes, None) {
            Err(("metadata", Error::Corrupt { .. }, 0)) => {}
            Err((stage, e, n)) => panic!("{path:?}: {stage} {e:?} after {n} bytes"),
            Ok(_) => panic!("{path:?} opened"),
        }
        assert!(
            matches!(
                spec::open(&sv, &made.bytes, None),
                Err(("Corrupt", "metadata"))
            ),
            "{path:?}"
        );
    }
    // Both readers agree on the boundary cases too.
    for path in [
        "10:30 scan.pdf",
        "Scans/C:x",
        "ab:c",
        "1:x",
        "C:",
        "a/b/",
        "a\u{7f}",
        "tab\t",
        "ü/é.pdf",
    ] {
        assert_eq!(
            format::validate_rel_path(path).is_ok(),
            spec::path_ok(path),
            "{path:?}"
        );
    }
}

#[test]
fn config_version_is_checked_before_the_schema() {
    // A newer config, with fields this version does not know, is an
    // unsupported version (FORMAT.md §4.2), not a corrupt file.
    let cfg = std::fs::read(vectors_dir().join(CONFIG)).unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&cfg).unwrap();
    v["version"] = 3.into();
    v["new_field"] = true.into();
    assert!(matches!(
        VaultConfig::parse(v.to_string().as_bytes()),
        Err(Error::UnsupportedVersion { version: 3, .. })
    ));
    // The same unknown field at version 1 is corruption.
    v["version"] = 1.into();
    assert!(matches!(
        VaultConfig::parse(v.to_string().as_bytes()),
        Err(Error::Corrupt { .. })
    ));
    // Not a Coffer config at all.
    v["format"] = "something-else".into();
    v["version"] = 2.into();
    assert!(matches!(
        VaultConfig::parse(v.to_string().as_bytes()),
        Err(Error::Corrupt { .. })
    ));
    // An unknown field inside a slot is refused too.
    let mut v: serde_json::Value = serde_json::from_slice(&cfg).unwrap();
    v["slots"][0]["extra"] = 1.into();
    assert!(matches!(
        VaultConfig::parse(v.to_string().as_bytes()),
        Err(Error::Corrupt { .. })
    ));
    // Non-canonical base64 is refused: 16 bytes are 22 characters whose
    // last one carries 4 unused bits, which must be zero.
    let mut v: serde_json::Value = serde_json::from_slice(&cfg).unwrap();
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut id = v["vault_id"].as_str().unwrap().as_bytes().to_vec();
    let i = ALPHABET.iter().position(|&c| c == id[21]).unwrap();
    id[21] = ALPHABET[i ^ 1];
    v["vault_id"] = String::from_utf8(id).unwrap().into();
    let res = VaultConfig::parse(v.to_string().as_bytes());
    assert!(matches!(res, Err(Error::Corrupt { .. })), "{res:?}");
    // A member named twice (FORMAT.md §4.1) is corrupt, whichever value
    // comes first.
    let text = String::from_utf8(cfg.clone()).unwrap();
    let twice = text.replacen("\"created\":", "\"created\": 1, \"created\":", 1);
    assert_ne!(twice, text);
    let res = VaultConfig::parse(twice.as_bytes());
    assert!(matches!(res, Err(Error::Corrupt { .. })), "{res:?}");
    // So is a fractional or out-of-range integer.
    for bad in ["1.0", "1e0", "4294967296", "-1"] {
        let text = text.replacen(
            "\"current_key_version\": 2",
            &format!("\"current_key_version\": {bad}"),
            1,
        );
        let res = VaultConfig::parse(text.as_bytes());
        assert!(matches!(res, Err(Error::Corrupt { .. })), "{bad}: {res:?}");
    }
}

// ---------------------------------------------------------------------------
// FORMAT.md's tables

fn doc_section<'a>(doc: &'a str, marker: &str) -> &'a str {
    let begin = format!("<!-- {marker}:begin -->");
    let end = format!("<!-- {marker}:end -->");
    let a = doc
        .find(&begin)
        .unwrap_or_else(|| panic!("FORMAT.md lacks {begin}"))
        + begin.len();
    let b = doc[a..]
        .find(&end)
        .unwrap_or_else(|| panic!("FORMAT.md lacks {end}"))
        + a;
    &doc[a..b]
}

/// Rows of a Markdown table, cells trimmed, header and rule lines skipped.
fn table_rows(section: &str) -> Vec<Vec<String>> {
    section
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|cells| {
            cells[0]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit() || c == '`')
        })
        .collect()
}

fn num(cell: &str) -> u64 {
    cell.replace([',', '`'], "")
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {cell}"))
}

fn with_commas(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Key record length for a path of `path_len` bytes, from the layout.
fn record_len(path_len: u64) -> u64 {
    let meta_pt = 1 + 2 + path_len + 8 + 8 + 4 + 8;
    let meta_ct = meta_pt + 16;
    1 + 4 + 32 + 48 + 12 + 4 + meta_ct
}

#[test]
fn format_md_worked_sizes() {
    let doc = std::fs::read_to_string(format_md_path()).expect("docs/FORMAT.md");
    let rows = table_rows(doc_section(&doc, "worked-sizes"));
    assert!(
        rows.len() >= 5,
        "worked sizes table has {} rows",
        rows.len()
    );
    let (cfg, keys) = VaultConfig::create();
    let (kv, public_key) = cfg.current_public_key();
    let target = WrapTarget {
        vault_id: *cfg.vault_id(),
        key_version: kv,
        public_key,
    };
    for row in &rows {
        let [size, path, chunks, record, stream, object, sidecar] =
            <[&String; 7]>::try_from(row.iter().collect::<Vec<_>>()).expect("7 columns");
        let (size, path_len) = (num(size), num(path));
        let rec = record_len(path_len);
        assert_eq!(num(chunks), format::chunk_count(size), "{row:?}: chunks");
        assert_eq!(num(record), rec, "{row:?}: key record");
        assert_eq!(num(stream), format::stream_len(size), "{row:?}: stream");
        assert_eq!(
            num(object),
            96 + rec + format::stream_len(size),
            "{row:?}: object"
        );
        assert_eq!(
            num(object),
            244 + path_len + size + 16 * format::chunk_count(size),
            "{row:?}: closed form"
        );
        assert_eq!(num(sidecar), 104 + rec, "{row:?}: sidecar");
        // Small enough to build for real: seal one and measure it.
        if size <= 1 << 20 {
            let meta = Metadata {
                path: "p".repeat(path_len as usize),
                size,
                mtime_ns: 0,
                mode: 0,
                added_ns: 0,
            };
            let s = Sealed::new(&target, None, &meta).unwrap();
            let mut out = Vec::new();
            s.write(&content(size as usize)[..], &mut out).unwrap();
            assert_eq!(out.len() as u64, num(object), "{row:?}: real object");
            assert_eq!(
                format::sidecar_to_bytes(&s.header, &s.record).len() as u64,
                num(sidecar),
                "{row:?}: real sidecar"
            );
            let p = object::read_prefix(&out[..]).unwrap();
            let (fk, _) = object::unwrap(&keys, cfg.vault_id(), &p.header, &p.record).unwrap();
            let mut pt = Vec::new();
            object::decrypt_stream(&fk, &p.header, &out[p.stream_offset as usize..], &mut pt)
                .unwrap();
            assert_eq!(pt.len() as u64, size);
        }
    }
    // The sentence in the prose agrees with the table's formula.
    let sentence = format!(
        "a {}-byte file with a 20-byte path becomes {} bytes",
        with_commas(100_000),
        with_commas(244 + 20 + 100_000 + 16 * format::chunk_count(100_000))
    );
    assert!(
        doc.replace('\n', " ").contains(&sentence),
        "FORMAT.md should say: {sentence}"
    );
}

#[test]
fn format_md_limits_and_labels() {
    let doc = std::fs::read_to_string(format_md_path()).expect("docs/FORMAT.md");
    let rows = table_rows(doc_section(&doc, "limits"));
    let actual: BTreeMap<&str, u64> = [
        ("HEADER_LEN", HEADER_LEN as u64),
        ("CHUNK_SHIFT", format::CHUNK_SHIFT as u64),
        ("CHUNK_SIZE", CHUNK_SIZE as u64),
        ("CHUNK_OVERHEAD", CHUNK_OVERHEAD as u64),
        ("FILE_ID_LEN", format::FILE_ID_LEN as u64),
        ("ENC_LEN", format::ENC_LEN as u64),
        ("WRAPPED_DEK_LEN", format::WRAPPED_DEK_LEN as u64),
        ("NONCE_LEN", NONCE_LEN as u64),
        ("TAG_LEN", primitives::TAG_LEN as u64),
        ("MAX_META_CT_LEN", MAX_META_CT_LEN as u64),
        ("MAX_RECORD_LEN", MAX_RECORD_LEN as u64),
        ("MAX_SIDECAR_LEN", format::MAX_SIDECAR_LEN),
        ("MAX_PATH_LEN", format::MAX_PATH_LEN as u64),
        ("MAX_CONFIG_LEN", coffer_core::config::MAX_CONFIG_LEN as u64),
        ("MAX_SLOTS", coffer_core::config::MAX_SLOTS as u64),
        (
            "MAX_KEY_VERSIONS",
            coffer_core::config::MAX_KEY_VERSIONS as u64,
        ),
        ("FORMAT_VERSION", format::FORMAT_VERSION as u64),
        ("RECORD_VERSION", format::RECORD_VERSION as u64),
        (
            "RECORD_VERSION_VERSION_KEY",
            format::RECORD_VERSION_VERSION_KEY as u64,
        ),
        ("META_VERSION", format::META_VERSION as u64),
        ("CONFIG_VERSION", coffer_core::config::CONFIG_VERSION as u64),
        (
            "MANIFEST_VERSION",
            coffer_core::format::manifest::MANIFEST_VERSION as u64,
        ),
        (
            "ENDORSEMENT_LEN",
            coffer_core::format::manifest::ENDORSEMENT_LEN as u64,
        ),
        (
            "MAX_MANIFEST_ENTRIES",
            coffer_core::format::manifest::MAX_MANIFEST_ENTRIES as u64,
        ),
        (
            "MAX_MANIFEST_LEN",
            coffer_core::format::manifest::MAX_MANIFEST_LEN,
        ),
        (
            "MAX_ENDORSEMENTS_LEN",
            coffer_core::format::manifest::MAX_ENDORSEMENTS_LEN,
        ),
    ]
    .into_iter()
    .collect();
    let mut seen = std::collections::BTreeSet::new();
    for row in &rows {
        let name = row[0].trim_matches('`');
        let want = actual
            .get(name)
            .unwrap_or_else(|| panic!("FORMAT.md limits table names unknown {name}"));
        assert_eq!(num(&row[1]), *want, "FORMAT.md limit {name}");
        seen.insert(name.to_owned());
    }
    assert_eq!(
        seen.len(),
        actual.len(),
        "FORMAT.md limits table is missing some of {actual:?}"
    );
    assert_eq!(spec::MAX_RECORD_LEN, MAX_RECORD_LEN);
    assert_eq!(spec::MAX_META_CT_LEN, MAX_META_CT_LEN);
    assert_eq!(Argon2Params::FLOOR.m_kib, 19 * 1024);

    // The example config in the document is the vectors' vault.
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(vectors_dir().join(MANIFEST)).unwrap()).unwrap();
    let cfg = VaultConfig::parse(&std::fs::read(vectors_dir().join(CONFIG)).unwrap()).unwrap();
    let vault_id = serde_json::to_value(cfg.vault_id).unwrap();
    assert!(
        doc.contains(vault_id.as_str().unwrap()),
        "FORMAT.md's example vault_id"
    );
    assert!(
        doc.contains(&manifest.recovery_key),
        "FORMAT.md's example recovery key"
    );

    // Every public label and magic appears in the document verbatim.
    for s in [
        "COFFEROB",
        "COFFERKR",
        std::str::from_utf8(coffer_core::keys::LABEL_PAYLOAD).unwrap(),
        std::str::from_utf8(coffer_core::keys::LABEL_METADATA).unwrap(),
        std::str::from_utf8(coffer_core::keys::LABEL_COMMITMENT).unwrap(),
        std::str::from_utf8(object::INFO_DEK_WRAP).unwrap(),
        std::str::from_utf8(object::INFO_DEK_WRAP_VERSION_KEY).unwrap(),
        std::str::from_utf8(coffer_core::config::LABEL_DEK_WRAP_SECRET).unwrap(),
        "coffer/v1/version-seal-key",
        "coffer/v1/key-version",
        "coffer/v1/slot",
        "coffer/v1/keychain-slot",
        "coffer/v1/recovery-slot",
        "coffer/v1/escrow-slot",
        "coffer/v1/index-key",
    ] {
        assert!(doc.contains(&format!("\"{s}\"")), "FORMAT.md lacks \"{s}\"");
    }
}

// ---------------------------------------------------------------------------
// Generation (run once; see the module comment)

struct Made {
    file: String,
    sealed: Sealed,
    meta: Metadata,
    bytes: Vec<u8>,
}

impl Made {
    fn record_len(&self) -> u64 {
        self.sealed.record.encoded_len() as u64
    }
    fn stream_offset(&self) -> u64 {
        96 + self.record_len()
    }
    /// Offset of chunk `i` in the object file.
    fn chunk(&self, i: u64) -> u64 {
        self.stream_offset() + i * (CHUNK_SIZE + CHUNK_OVERHEAD) as u64
    }
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn opened(&self, sidecar: Option<(&KeyRecord, &Metadata)>) -> Opened {
        let (record, meta) = match sidecar {
            Some((r, m)) => (r, m),
            None => (&self.sealed.record, &self.meta),
        };
        let size = self.meta.size;
        Opened {
            record: if sidecar.is_some() {
                "sidecar"
            } else {
                "embedded"
            }
            .into(),
            key_version: record.key_version,
            path: meta.path.clone(),
            size: meta.size,
            mtime_ns: meta.mtime_ns,
            mode: meta.mode,
            added_ns: meta.added_ns,
            plaintext_len: size,
            plaintext_sha256: sha256_hex(&content(size as usize)),
            object_len: self.len(),
            embedded_record_len: self.record_len(),
            stream_offset: self.stream_offset(),
            chunks: format::chunk_count(size),
            dek: hex::encode(self.sealed.dek.expose()),
            payload_key: hex::encode(self.sealed.keys.payload.expose()),
            metadata_key: hex::encode(self.sealed.keys.metadata.expose()),
            commitment: hex::encode(self.sealed.keys.commitment),
        }
    }
}

fn meta_for(path: &str, size: usize) -> Metadata {
    Metadata {
        path: path.into(),
        size: size as u64,
        mtime_ns: MTIME_NS,
        mode: MODE,
        added_ns: ADDED_NS,
    }
}

fn part(file: &str, start: u64, end: u64) -> Part {
    Part {
        file: file.into(),
        start,
        end,
    }
}

fn src(parts: Vec<Part>) -> Source {
    Source { parts, xor: vec![] }
}

fn whole(m: &Made) -> Source {
    src(vec![part(&m.file, 0, m.len())])
}

fn flipped(m: &Made, at: u64, mask: u8) -> Source {
    Source {
        parts: vec![part(&m.file, 0, m.len())],
        xor: vec![Xor { at, mask }],
    }
}

fn cut(m: &Made, end: u64) -> Source {
    src(vec![part(&m.file, 0, end)])
}

fn fail(result: &str, stage: &str) -> Expect {
    Expect {
        result: result.into(),
        stage: Some(stage.into()),
        opened: None,
    }
}

fn ok(opened: Opened) -> Expect {
    Expect {
        result: "ok".into(),
        stage: None,
        opened: Some(opened),
    }
}

fn vector(name: &str, description: &str, object: Source, expect: Expect) -> Vector {
    Vector {
        name: name.into(),
        description: description.into(),
        object,
        sidecar: None,
        expect,
    }
}

fn seal_object(target: &WrapTarget, file: &str, path: &str, size: usize) -> Made {
    let meta = meta_for(path, size);
    let sealed = Sealed::new(target, None, &meta).unwrap();
    let mut bytes = Vec::new();
    sealed.write(&content(size)[..], &mut bytes).unwrap();
    Made {
        file: file.into(),
        sealed,
        meta,
        bytes,
    }
}

/// An object whose chunk stream is built by hand: `chunks` lists each
/// chunk's plaintext range and last flag.
fn seal_by_hand(
    target: &WrapTarget,
    file: &str,
    path: &str,
    size: usize,
    chunks: &[(std::ops::Range<usize>, bool)],
) -> Made {
    let meta = meta_for(path, size);
    let sealed = Sealed::new(target, None, &meta).unwrap();
    let hb = sealed.header.to_bytes();
    let rec = sealed.record.to_bytes();
    let mut bytes = [&hb[..], &(rec.len() as u32).to_be_bytes(), &rec].concat();
    let data = content(size);
    for (i, (range, last)) in chunks.iter().enumerate() {
        let mut nonce = [0u8; NONCE_LEN];
        nonce[7..11].copy_from_slice(&(i as u32).to_be_bytes());
        nonce[11] = *last as u8;
        bytes.extend(primitives::seal(
            &sealed.keys.payload,
            &nonce,
            &hb,
            &data[range.clone()],
        ));
    }
    Made {
        file: file.into(),
        sealed,
        meta,
        bytes,
    }
}

#[test]
#[ignore = "rewrites tests/vectors; only with a format version bump"]
fn regenerate() {
    let dir = vectors_dir();
    std::fs::create_dir_all(&dir).unwrap();

    let rk = Key32::random();
    let (mut cfg, mut keys) = VaultConfig::create();
    cfg.add_slot(&keys, NewSlot::Recovery(&rk)).unwrap();
    cfg.add_slot(
        &keys,
        NewSlot::Passphrase(&Passphrase::from(PASSPHRASE), Argon2Params::FLOOR),
    )
    .unwrap();
    let target = |cfg: &VaultConfig| {
        let (key_version, public_key) = cfg.current_public_key();
        WrapTarget {
            vault_id: *cfg.vault_id(),
            key_version,
            public_key,
        }
    };
    let t1 = target(&cfg);

    // Intact objects under key version 1.
    let o0 = seal_object(&t1, "o-0.obj", "empty.txt", 0);
    let o1 = seal_object(&t1, "o-1.obj", "Patienten/Müller/Überweisung.pdf", 1);
    let o65535 = seal_object(&t1, "o-65535.obj", "scans/2026/chunk-minus-one.tif", 65535);
    let o65536 = seal_object(&t1, "o-65536.obj", "scans/2026/one-full-chunk.tif", 65536);
    let o65537 = seal_object(&t1, "o-65537.obj", "scans/2026/ct-01.pdf", 65537);
    let o200k = seal_object(
        &t1,
        "o-200000.obj",
        "exports/lab-results-2026-01.csv",
        200_000,
    );
    // Authentic but not canonical: an empty chunk after a full one; a lone
    // final chunk without the last flag.
    let noncanon = seal_by_hand(
        &t1,
        "o-noncanonical.obj",
        "noncanonical/empty-final-chunk.bin",
        65536,
        &[(0..65536, false), (65536..65536, true)],
    );
    let unflagged = seal_by_hand(
        &t1,
        "o-unflagged.obj",
        "noncanonical/unflagged-final-chunk.bin",
        1,
        &[(0..1, false)],
    );
    // An object of another vault.
    let (other, _) = VaultConfig::create();
    let foreign = seal_object(&target(&other), "o-foreign.obj", "other-vault.txt", 1);

    // Rotation: key version 2 becomes current; one object is rewrapped to it
    // (and renamed) through a sidecar, one new object is created under it.
    cfg.add_key_version(&mut keys);
    let t2 = target(&cfg);
    assert_eq!(t2.key_version, 2);
    let o_v2 = seal_object(&t2, "o-v2-4000.obj", "notes/after-rotation.txt", 4000);
    let renamed = meta_for("archive/2025/ct-01-final.pdf", 65537);
    let rec2 = object::make_record(
        &t2,
        &o65537.sealed.header,
        &o65537.sealed.dek,
        &o65537.sealed.keys,
        &renamed,
    )
    .unwrap();
    let sidecar_file = "o-65537.rec";
    let sidecar_bytes = format::sidecar_to_bytes(&o65537.sealed.header, &rec2);
    let side_len = sidecar_bytes.len() as u64;

    // Vectors.
    let mut vs = Vec::new();
    for m in [&o0, &o1, &o65535, &o65536, &o65537, &o200k, &o_v2] {
        vs.push(vector(
            &format!("ok-{}", m.file.trim_end_matches(".obj")),
            &format!(
                "intact object: {} plaintext bytes, embedded key record (key version {})",
                m.meta.size, m.sealed.record.key_version
            ),
            whole(m),
            ok(m.opened(None)),
        ));
    }
    let side_src = || src(vec![part(sidecar_file, 0, side_len)]);
    let with_sidecar = |mut v: Vector, s: Source| {
        v.sidecar = Some(s);
        v
    };
    vs.push(with_sidecar(
        vector(
            "ok-o-65537-sidecar",
            "the sidecar's header copy equals the object's header: its record (rewrapped to key version 2, renamed) is in force",
            whole(&o65537),
            ok(o65537.opened(Some((&rec2, &renamed)))),
        ),
        side_src(),
    ));
    vs.push(with_sidecar(
        vector(
            "ok-stale-sidecar",
            "a sidecar whose header copy belongs to another object is stale: the embedded record is in force",
            whole(&o1),
            ok(o1.opened(None)),
        ),
        side_src(),
    ));
    let mut s = side_src();
    s.xor.push(Xor {
        at: 8 + 12,
        mask: 0x01,
    });
    vs.push(with_sidecar(
        vector(
            "ok-sidecar-header-copy-differs",
            "a bit of the sidecar's header copy (file id) is flipped, so it no longer equals the object's header: stale, the embedded record is in force",
            whole(&o65537),
            ok(o65537.opened(None)),
        ),
        s,
    ));
    for (name, at, mask, result, what) in [
        (
            "sidecar-bad-magic",
            0u64,
            0x01u8,
            "Corrupt",
            "flipped bit in the sidecar magic",
        ),
        (
            "sidecar-header-copy-version",
            8 + 9,
            0x02,
            "UnsupportedVersion",
            "sidecar header copy claims format version 3",
        ),
        (
            "sidecar-record-length",
            8 + 92 + 3,
            0x01,
            "Corrupt",
            "sidecar record length off by one",
        ),
        (
            "sidecar-record-version",
            104,
            0x02,
            "UnsupportedVersion",
            "sidecar key record version 3",
        ),
    ] {
        let mut s = side_src();
        s.xor.push(Xor { at, mask });
        vs.push(with_sidecar(
            vector(name, what, whole(&o65537), fail(result, "sidecar")),
            s,
        ));
    }
    for (name, at, mask, stage, what) in [
        (
            "sidecar-key-version-relabelled",
            104 + 4,
            0x03u8,
            "unwrap",
            "sidecar record's key version changed from 2 to 1 (the DEK is wrapped to 2)",
        ),
        (
            "sidecar-wrapped-dek",
            104 + 37 + 5,
            0x10,
            "unwrap",
            "flipped bit in the sidecar's wrapped DEK",
        ),
        (
            "sidecar-meta-ct",
            side_len - 1,
            0x80,
            "metadata",
            "flipped bit in the sidecar's metadata tag",
        ),
    ] {
        let mut s = side_src();
        s.xor.push(Xor { at, mask });
        vs.push(with_sidecar(
            vector(name, what, whole(&o65537), fail("DecryptionFailed", stage)),
            s,
        ));
    }
    vs.push(with_sidecar(
        vector(
            "sidecar-truncated",
            "sidecar cut one byte short",
            whole(&o65537),
            fail("Corrupt", "sidecar"),
        ),
        src(vec![part(sidecar_file, 0, side_len - 1)]),
    ));

    // One bit flipped in each region of the 200,000-byte object.
    let b = &o200k;
    let s0 = b.stream_offset();
    let rec_at = 96u64; // key record
    let flips: Vec<(&str, u64, u8, &str, &str, &str)> = vec![
        ("flip-magic", 0, 0x01, "Corrupt", "prefix", "object magic"),
        (
            "flip-version",
            9,
            0x02,
            "UnsupportedVersion",
            "prefix",
            "format version 1 -> 3",
        ),
        (
            "flip-chunk-shift",
            10,
            0x01,
            "Corrupt",
            "prefix",
            "chunk shift 16 -> 17",
        ),
        (
            "flip-reserved",
            11,
            0x80,
            "Corrupt",
            "prefix",
            "reserved byte not zero",
        ),
        (
            "flip-file-id",
            12 + 5,
            0x04,
            "DecryptionFailed",
            "unwrap",
            "file id (bound into the DEK wrap's AAD)",
        ),
        (
            "flip-salt",
            28 + 7,
            0x01,
            "DecryptionFailed",
            "unwrap",
            "header salt",
        ),
        (
            "flip-commitment",
            60 + 31,
            0x80,
            "DecryptionFailed",
            "unwrap",
            "key commitment",
        ),
        (
            "flip-record-length",
            95,
            0x01,
            "Corrupt",
            "prefix",
            "embedded record length off by one",
        ),
        (
            "flip-record-length-huge",
            92,
            0x80,
            "Corrupt",
            "prefix",
            "embedded record length above MAX_RECORD_LEN",
        ),
        (
            "flip-record-version",
            rec_at,
            0x02,
            "UnsupportedVersion",
            "prefix",
            "key record version 1 -> 3",
        ),
        (
            "flip-key-version-unknown",
            rec_at + 4,
            0x02,
            "DecryptionFailed",
            "unwrap",
            "key version 1 -> 3, which the vault does not have",
        ),
        (
            "flip-key-version-relabelled",
            rec_at + 4,
            0x03,
            "DecryptionFailed",
            "unwrap",
            "key version 1 -> 2, which exists but did not wrap this DEK",
        ),
        (
            "flip-enc",
            rec_at + 5 + 3,
            0x01,
            "DecryptionFailed",
            "unwrap",
            "HPKE encapsulated key",
        ),
        (
            "flip-enc-top-bit",
            rec_at + 5 + 31,
            0x80,
            "DecryptionFailed",
            "unwrap",
            "top bit of the encapsulated X25519 key (ignored by X25519 itself, but enc is in the HPKE key schedule)",
        ),
        (
            "flip-wrapped-dek",
            rec_at + 37 + 10,
            0x01,
            "DecryptionFailed",
            "unwrap",
            "wrapped DEK ciphertext",
        ),
        (
            "flip-wrapped-dek-tag",
            rec_at + 37 + 47,
            0x01,
            "DecryptionFailed",
            "unwrap",
            "wrapped DEK tag",
        ),
        (
            "flip-meta-nonce",
            rec_at + 85,
            0x01,
            "DecryptionFailed",
            "metadata",
            "metadata nonce",
        ),
        (
            "flip-meta-length",
            rec_at + 100,
            0x01,
            "Corrupt",
            "prefix",
            "metadata ciphertext length off by one",
        ),
        (
            "flip-meta-ct",
            rec_at + 101 + 2,
            0x01,
            "DecryptionFailed",
            "metadata",
            "metadata ciphertext",
        ),
        (
            "flip-meta-tag",
            s0 - 1,
            0x01,
            "DecryptionFailed",
            "metadata",
            "metadata tag",
        ),
        (
            "flip-chunk0-body",
            s0 + 100,
            0x01,
            "DecryptionFailed",
            "stream",
            "chunk 0 ciphertext",
        ),
        (
            "flip-chunk1-tag",
            b.chunk(2) - 1,
            0x01,
            "DecryptionFailed",
            "stream",
            "chunk 1 tag",
        ),
        (
            "flip-last-chunk-body",
            b.chunk(3) + 5,
            0x20,
            "DecryptionFailed",
            "stream",
            "last chunk ciphertext",
        ),
        (
            "flip-last-chunk-tag",
            b.len() - 1,
            0x01,
            "DecryptionFailed",
            "stream",
            "last byte of the file (last chunk's tag)",
        ),
    ];
    for (name, at, mask, result, stage, what) in flips {
        vs.push(vector(
            name,
            &format!("o-200000.obj with one bit flipped: {what}"),
            flipped(b, at, mask),
            fail(result, stage),
        ));
    }

    // Truncations at and between boundaries.
    let truncs: Vec<(&str, u64, &str, &str, &str)> = vec![
        ("truncate-0", 0, "Corrupt", "prefix", "an empty file"),
        (
            "truncate-in-header",
            50,
            "Corrupt",
            "prefix",
            "inside the header",
        ),
        (
            "truncate-after-header",
            92,
            "Corrupt",
            "prefix",
            "right after the header",
        ),
        (
            "truncate-after-record-length",
            96,
            "Corrupt",
            "prefix",
            "right after the record length",
        ),
        (
            "truncate-in-record",
            s0 - 1,
            "Corrupt",
            "prefix",
            "one byte short of the key record",
        ),
        (
            "truncate-at-stream",
            s0,
            "DecryptionFailed",
            "stream",
            "no chunk at all",
        ),
        (
            "truncate-stream-15",
            s0 + 15,
            "DecryptionFailed",
            "stream",
            "15 bytes of chunk 0, shorter than a tag",
        ),
        (
            "truncate-in-chunk0",
            s0 + 1000,
            "DecryptionFailed",
            "stream",
            "inside chunk 0",
        ),
        (
            "truncate-at-chunk1",
            b.chunk(1),
            "DecryptionFailed",
            "stream",
            "after chunk 0, which is not flagged last",
        ),
        (
            "truncate-chunk1-16",
            b.chunk(1) + 16,
            "DecryptionFailed",
            "stream",
            "16 bytes of chunk 1 (would be an empty chunk)",
        ),
        (
            "truncate-at-chunk2",
            b.chunk(2),
            "DecryptionFailed",
            "stream",
            "after chunk 1",
        ),
        (
            "drop-last-chunk",
            b.chunk(3),
            "DecryptionFailed",
            "stream",
            "the last chunk dropped (cut at the chunk 3 boundary)",
        ),
        (
            "truncate-last-byte",
            b.len() - 1,
            "DecryptionFailed",
            "stream",
            "the last byte dropped",
        ),
    ];
    for (name, end, result, stage, what) in truncs {
        vs.push(vector(
            name,
            &format!("o-200000.obj truncated to {end} bytes: {what}"),
            cut(b, end),
            fail(result, stage),
        ));
    }
    let f = &b.file;
    let c = |i: u64| (b.chunk(i), b.chunk(i + 1).min(b.len()));
    let chunk = |i: u64| part(f, c(i).0, c(i).1);
    let prefix = || part(f, 0, s0);
    let structural: Vec<(&str, &str, Vec<Part>, &str)> = vec![
        (
            "append-chunk",
            "chunk 1 appended after the last chunk",
            vec![part(f, 0, b.len()), chunk(1)],
            "stream",
        ),
        (
            "duplicate-last-chunk",
            "the last chunk appended again",
            vec![part(f, 0, b.len()), chunk(3)],
            "stream",
        ),
        (
            "swap-chunks-0-1",
            "chunks 0 and 1 swapped",
            vec![prefix(), chunk(1), chunk(0), chunk(2), chunk(3)],
            "stream",
        ),
        (
            "swap-chunks-1-2",
            "chunks 1 and 2 swapped",
            vec![prefix(), chunk(0), chunk(2), chunk(1), chunk(3)],
            "stream",
        ),
        (
            "duplicate-chunk-1",
            "chunk 1 twice",
            vec![prefix(), chunk(0), chunk(1), chunk(1), chunk(2), chunk(3)],
            "stream",
        ),
        (
            "drop-middle-chunk",
            "chunk 1 left out",
            vec![prefix(), chunk(0), chunk(2), chunk(3)],
            "stream",
        ),
        (
            "splice-chunk-from-other-file",
            "chunk 0 replaced by chunk 0 of o-65537.obj (a full, non-final chunk at the same position)",
            vec![
                prefix(),
                part(&o65537.file, o65537.chunk(0), o65537.chunk(1)),
                chunk(1),
                chunk(2),
                chunk(3),
            ],
            "stream",
        ),
        (
            "swap-header",
            "the 92-byte header of o-65537.obj in front of o-200000.obj's record and stream",
            vec![part(&o65537.file, 0, 92), part(f, 92, b.len())],
            "unwrap",
        ),
        (
            "swap-header-and-record",
            "header and key record of o-65537.obj (valid together) in front of o-200000.obj's chunk stream",
            vec![
                part(&o65537.file, 0, o65537.stream_offset()),
                part(f, s0, b.len()),
            ],
            "stream",
        ),
        (
            "swap-record",
            "o-200000.obj's header with o-65537.obj's key record and o-200000.obj's stream",
            vec![
                part(f, 0, 92),
                part(&o65537.file, 92, o65537.stream_offset()),
                part(f, s0, b.len()),
            ],
            "unwrap",
        ),
    ];
    for (name, what, parts, stage) in structural {
        vs.push(vector(
            name,
            &format!("o-200000.obj: {what}"),
            src(parts),
            fail("DecryptionFailed", stage),
        ));
    }
    vs.push(vector(
        "full-chunk-then-appended",
        "o-65536.obj (one full chunk, flagged last) followed by chunk 0 of o-65537.obj",
        src(vec![
            part(&o65536.file, 0, o65536.len()),
            part(&o65537.file, o65537.chunk(0), o65537.chunk(1)),
        ]),
        fail("DecryptionFailed", "stream"),
    ));
    vs.push(vector(
        "empty-without-chunk",
        "o-0.obj without its one empty chunk",
        cut(&o0, o0.stream_offset()),
        fail("DecryptionFailed", "stream"),
    ));
    vs.push(vector(
        "empty-chunk-twice",
        "o-0.obj with its empty chunk appended again",
        src(vec![
            part(&o0.file, 0, o0.len()),
            part(&o0.file, o0.stream_offset(), o0.len()),
        ]),
        fail("DecryptionFailed", "stream"),
    ));
    vs.push(vector(
        "one-byte-with-empty-chunk",
        "o-1.obj's chunk replaced by o-0.obj's empty chunk",
        src(vec![
            part(&o1.file, 0, o1.stream_offset()),
            part(&o0.file, o0.stream_offset(), o0.len()),
        ]),
        fail("DecryptionFailed", "stream"),
    ));
    vs.push(vector(
        "noncanonical-empty-final-chunk",
        "65,536 bytes sealed as a full chunk (not last) plus an empty last chunk: authentic, but only an empty file may have an empty chunk",
        whole(&noncanon),
        fail("DecryptionFailed", "stream"),
    ));
    vs.push(vector(
        "noncanonical-unflagged-final-chunk",
        "a 1-byte file whose only chunk is sealed without the last flag",
        whole(&unflagged),
        fail("DecryptionFailed", "stream"),
    ));
    vs.push(vector(
        "foreign-vault",
        "an intact object of another vault (its DEK is wrapped to another vault's key version 1 with another vault id)",
        whole(&foreign),
        fail("DecryptionFailed", "unwrap"),
    ));

    // Write everything.
    let mut files = Vec::new();
    let mut write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes).unwrap();
        files.push(StoredFile {
            file: name.into(),
            len: bytes.len() as u64,
            sha256: sha256_hex(bytes),
        });
    };
    write(CONFIG, &cfg.to_bytes());
    for m in [
        &o0, &o1, &o65535, &o65536, &o65537, &o200k, &o_v2, &noncanon, &unflagged, &foreign,
    ] {
        write(&m.file, &m.bytes);
    }
    write(sidecar_file, &sidecar_bytes);

    let cfg_bytes = cfg.to_bytes();
    let sv = spec::unlock(&cfg_bytes, "recovery", rk.expose());
    let manifest = Manifest {
        format: "coffer-format-vectors".into(),
        version: 1,
        about: vec![
            "Coffer object format v1 test vectors; see docs/FORMAT.md and tests/vectors/README.md."
                .into(),
            "Plaintext byte i is (i * 31) mod 251. Metadata times and mode are fixed.".into(),
            "A vector's bytes are its parts concatenated, then each xor applied at its offset."
                .into(),
            "These secrets are test data: never use this vault for anything else.".into(),
        ],
        config: CONFIG.into(),
        recovery_key: recovery::encode(&rk).to_string(),
        passphrase: PASSPHRASE.into(),
        vault: VaultSecrets {
            vault_id: hex::encode(cfg.vault_id()),
            master_key: hex::encode(sv.master),
            version_seal_key: hex::encode(sv.seal_key),
            index_key: hex::encode(keys.index_key(cfg.vault_id()).expose()),
            version_private_keys: cfg
                .key_versions
                .iter()
                .map(|v| {
                    let sk = keys.version_key(v.version).unwrap().to_secret_bytes();
                    (v.version.to_string(), hex::encode(sk.expose()))
                })
                .collect(),
        },
        files,
        vectors: vs,
    };
    let mut json = serde_json::to_vec_pretty(&manifest).unwrap();
    json.push(b'\n');
    std::fs::write(dir.join(MANIFEST), json).unwrap();

    check_all();
}

/// Adds the record-version-2 vectors (FORMAT.md §3.1, §6) to the vectors
/// generated by [`regenerate`], leaving every existing file as it is: a
/// sidecar of `o-1.obj` whose DEK is wrapped under key version 2's private
/// key, and its damaged variants. Run once, when record version 2 came in.
#[test]
#[ignore = "extends tests/vectors once; the files it writes are committed"]
fn add_version_key_sidecar_vectors() {
    let dir = vectors_dir();
    let sidecar_file = "o-1.v2.rec";
    assert!(
        !dir.join(sidecar_file).exists(),
        "already added: delete {sidecar_file} and its vectors first"
    );
    let mut manifest: Manifest =
        serde_json::from_slice(&std::fs::read(dir.join(MANIFEST)).unwrap()).unwrap();
    let cfg = VaultConfig::parse(&std::fs::read(dir.join(CONFIG)).unwrap()).unwrap();
    let rk = recovery::decode(&manifest.recovery_key).unwrap();
    let (keys, _) = cfg.unlock(&Credential::Recovery(&rk)).unwrap();

    let obj = std::fs::read(dir.join("o-1.obj")).unwrap();
    let p = object::read_prefix(&obj[..]).unwrap();
    let (_, dek) = object::unwrap(&keys, cfg.vault_id(), &p.header, &p.record).unwrap();
    let rec = object::rewrap_record(&keys, 2, &p.header, &dek, &p.record).unwrap();
    assert_eq!(rec.wrap, format::DekWrap::VersionKey);
    let bytes = format::sidecar_to_bytes(&p.header, &rec);
    std::fs::write(dir.join(sidecar_file), &bytes).unwrap();
    manifest.files.push(StoredFile {
        file: sidecar_file.into(),
        len: bytes.len() as u64,
        sha256: sha256_hex(&bytes),
    });

    let base = manifest
        .vectors
        .iter()
        .find(|v| v.name == "ok-o-1")
        .expect("the ok-o-1 vector")
        .clone();
    let mut opened = base.expect.opened.clone().expect("ok-o-1 opens");
    opened.record = "sidecar".into();
    opened.key_version = 2;
    let side = |xor: Vec<Xor>| Source {
        parts: vec![part(sidecar_file, 0, bytes.len() as u64)],
        xor,
    };
    // Offsets in the sidecar: 104 = its record; record + 0 = version,
    // + 1 = key version, + 5 = enc (the salt), + 37 = wrapped DEK.
    let at = |off: u64, mask: u8| {
        vec![Xor {
            at: 104 + off,
            mask,
        }]
    };
    let with = |name: &str, description: &str, sidecar: Source, expect: Expect| Vector {
        name: name.into(),
        description: description.into(),
        object: base.object.clone(),
        sidecar: Some(sidecar),
        expect,
    };
    let unwrap_fails = || fail("DecryptionFailed", "unwrap");
    manifest.vectors.extend([
        with(
            "ok-o-1-sidecar-record-v2",
            "a sidecar whose record (version 2) wraps the DEK under key version 2's private key (FORMAT.md §3.1): in force, opens",
            side(vec![]),
            ok(opened),
        ),
        with(
            "sidecar-v2-salt",
            "flipped bit in a version 2 record's salt (enc): another wrap key",
            side(at(5, 0x01)),
            unwrap_fails(),
        ),
        with(
            "sidecar-v2-wrapped-dek",
            "flipped bit in a version 2 record's wrapped DEK",
            side(at(37 + 10, 0x80)),
            unwrap_fails(),
        ),
        with(
            "sidecar-v2-key-version-relabelled",
            "a version 2 record's key version changed from 2 to 1 (another private key, another AAD)",
            side(at(4, 0x03)),
            unwrap_fails(),
        ),
        with(
            "sidecar-v2-read-as-v1",
            "a version 2 record relabelled as version 1: its salt is not an HPKE encapsulation of this DEK",
            side(at(0, 0x03)),
            unwrap_fails(),
        ),
        with(
            "sidecar-record-version-3",
            "a version 2 record relabelled as version 3",
            side(at(0, 0x01)),
            fail("UnsupportedVersion", "sidecar"),
        ),
    ]);
    let mut json = serde_json::to_vec_pretty(&manifest).unwrap();
    json.push(b'\n');
    std::fs::write(dir.join(MANIFEST), json).unwrap();

    check_all();
}
