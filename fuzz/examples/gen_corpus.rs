//! Writes the seed corpora under fuzz/corpus/<target>/: a few small, valid
//! inputs per target, made with coffer-core itself so they follow the
//! format as the code writes it. Run from fuzz/:
//!
//!     cargo run --release --example gen_corpus
//!
//! Existing seeds of the same name are overwritten; other files are left
//! alone. Keys and ids are random except where a target fixes them (see
//! src/lib.rs), so re-running changes the bytes but not the coverage.

use std::fs;
use std::path::{Path, PathBuf};

use coffer_core::config::{NewSlot, RotationKind, RotationState, VaultConfig};
use coffer_core::format::{
    CHUNK_SIZE, FileId, Header, KeyRecord, Metadata, parse_sidecar, sidecar_to_bytes,
};
use coffer_core::kdf::Argon2Params;
use coffer_core::object::{self, Sealed, WrapTarget};
use coffer_core::secret::{Key32, Passphrase};
use coffer_core::vault::open_index;
use coffer_core::{primitives, recovery, stream, wrap};
use coffer_fuzz::{INDEX_KEY, Mutation, Tamper, VAULT_ID, stream_header, stream_key};

fn corpus_dir(target: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    fs::create_dir_all(&d).expect("create corpus dir");
    d
}

fn seed(target: &str, name: &str, bytes: &[u8]) {
    let p = corpus_dir(target).join(name);
    fs::write(&p, bytes).expect("write seed");
    println!("{:>6} B  {}", bytes.len(), p.display());
}

fn metadata(path: &str, size: u64) -> Metadata {
    Metadata {
        path: path.into(),
        size,
        mtime_ns: 1_700_000_000_123_456_789,
        mode: 0o640,
        added_ns: 1_760_000_000_000_000_000,
    }
}

fn main() {
    // --- format_header
    let h = Header {
        file_id: FileId::random(),
        salt: primitives::random_array(),
        commitment: primitives::random_array(),
    };
    seed("format_header", "valid", &h.to_bytes());
    seed("format_header", "stream-fixture", &stream_header());

    // --- a real object, its record and a sidecar
    let (mut cfg, keys) = VaultConfig::create();
    let (v, pk) = cfg.current_public_key();
    let target = WrapTarget {
        vault_id: *cfg.vault_id(),
        key_version: v,
        public_key: pk,
    };
    let meta = metadata("scans/2026/ct.pdf", 5);
    let sealed = Sealed::new(&target, None, &meta).expect("seal");
    let mut obj = Vec::new();
    sealed.write(&b"hello"[..], &mut obj).expect("write object");
    let prefix = object::read_prefix(&obj[..]).expect("own object parses");
    seed("object_read_prefix", "small-object", &obj);
    let empty = Sealed::new(&target, None, &metadata("empty", 0)).expect("seal");
    let mut obj0 = Vec::new();
    empty.write(&b""[..], &mut obj0).expect("write object");
    seed("object_read_prefix", "empty-object", &obj0);

    seed("format_key_record", "valid", &sealed.record.to_bytes());
    let minimal = KeyRecord {
        key_version: 1,
        enc: [0; 32],
        wrapped_dek: [0; 48],
        meta_nonce: [0; 12],
        meta_ct: vec![0; primitives::TAG_LEN],
    };
    seed("format_key_record", "minimal", &minimal.to_bytes());

    let rewrapped = object::rewrap_record(&target, &prefix.header, &sealed.dek, &prefix.record)
        .expect("rewrap");
    let side = sidecar_to_bytes(&prefix.header, &rewrapped);
    parse_sidecar(&side).expect("own sidecar parses");
    seed("format_sidecar", "valid", &side);

    // --- format_metadata
    seed("format_metadata", "pdf", &meta.to_bytes());
    seed(
        "format_metadata",
        "unicode",
        &metadata("a/b c/ü.pdf", 0).to_bytes(),
    );
    seed(
        "format_metadata",
        "one-char",
        &metadata("x", u64::MAX).to_bytes(),
    );

    // --- config_parse: a fresh config, then one with every slot kind and a
    // rotation in progress.
    seed("config_parse", "fresh", &cfg.to_bytes());
    cfg.add_slot(&keys, NewSlot::Recovery(&Key32::random()))
        .expect("recovery slot");
    cfg.add_slot(&keys, NewSlot::Keychain(&Key32::random()))
        .expect("keychain slot");
    let (_, org) = wrap::generate_keypair();
    cfg.add_slot(&keys, NewSlot::Escrow(&org))
        .expect("escrow slot");
    cfg.add_slot(
        &keys,
        NewSlot::Passphrase(&Passphrase::from("fuzz"), Argon2Params::FLOOR),
    )
    .expect("passphrase slot");
    cfg.rotation = Some(RotationState {
        kind: RotationKind::Rewrap,
        started: 1_760_000_000,
        target_version: 1,
    });
    let full = cfg.to_bytes();
    VaultConfig::parse(&full).expect("own config parses");
    seed("config_parse", "all-slots", &full);

    // --- stream_decrypt: valid streams under the fixed key and header.
    for (name, len) in [("empty", 0usize), ("hello", 5), ("1000", 1000)] {
        let pt: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let mut ct = Vec::new();
        stream::encrypt(&stream_key(), &stream_header(), &pt[..], &mut ct).expect("encrypt");
        seed("stream_decrypt", name, &ct);
    }

    // --- stream_tamper: every mutation around the chunk boundaries, plus
    // the no-op cases.
    let c = CHUNK_SIZE;
    let cases: &[(&str, Mutation, u32, u8, usize)] = &[
        ("noop-xor-hello", Mutation::Xor, 100, 0, 5),
        (
            "noop-truncate-2c",
            Mutation::Truncate,
            2 * (c as u32 + 16),
            0,
            2 * c,
        ),
        ("xor-header", Mutation::Xor, 3, 1, 5),
        ("xor-tag", Mutation::Xor, 92 + 5 + 3, 0x80, 5),
        (
            "xor-chunk2",
            Mutation::Xor,
            92 + c as u32 + 16 + 1,
            1,
            c + 1,
        ),
        (
            "truncate-chunk-boundary",
            Mutation::Truncate,
            c as u32 + 16,
            0,
            2 * c,
        ),
        ("truncate-empty", Mutation::Truncate, 0, 0, 0),
        ("insert-empty", Mutation::Insert, 0, 0x41, 0),
        (
            "insert-end-3c",
            Mutation::Insert,
            3 * (c as u32 + 16),
            0,
            3 * c,
        ),
        (
            "delete-last",
            Mutation::Delete,
            2 * (c as u32 + 16),
            0,
            2 * c + 1,
        ),
        ("delete-one-chunk", Mutation::Delete, 7, 0, c),
    ];
    for &(name, mutation, pos, byte, len) in cases {
        let fill: &[u8] = if len < 64 { b"coffer" } else { b"" };
        let t = Tamper {
            mutation,
            pos,
            byte,
            len,
            fill,
        };
        let b = t.to_bytes();
        assert_eq!(Tamper::parse(&b).as_ref(), Some(&t));
        seed("stream_tamper", name, &b);
    }

    // --- recovery_decode
    let rk = recovery::encode(&Key32::random());
    seed("recovery_decode", "printed", rk.as_bytes());
    seed(
        "recovery_decode",
        "typed-sloppily",
        rk.to_lowercase()
            .replace('-', " ")
            .replace('O', "0")
            .as_bytes(),
    );

    // --- vault_open_index: the layout vault.rs's private `seal_index`
    // writes (magic ‖ BE16 version ‖ nonce ‖ AES-256-GCM, AAD = magic ‖
    // version ‖ vault id), checked against `open_index` so drift shows.
    let key = Key32::from_bytes(INDEX_KEY);
    let aad = [&b"COFFERIX"[..], &1u16.to_be_bytes(), &VAULT_ID].concat();
    for (name, pt) in [
        ("empty-list", &b"[]"[..]),
        (
            "one-entry",
            &br#"[{"id":"00112233445566778899aabbccddeeff","path":"a/b.txt","size":5,"mtime_ns":1,"mode":420,"added_ns":2}]"#[..],
        ),
    ] {
        let nonce = primitives::random_array();
        let ct = primitives::seal(&key, &nonce, &aad, pt);
        let idx = [&aad[..10], &nonce, &ct].concat();
        let opened = open_index(&key, &VAULT_ID, &idx).expect("seed index opens");
        assert_eq!(&opened[..], pt);
        seed("vault_open_index", name, &idx);
    }
}
