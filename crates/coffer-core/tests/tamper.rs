//! Round trips and tampering through the object API a vault uses:
//! `Sealed::write` → `read_prefix` → `unwrap` → `open_metadata` →
//! `decrypt_stream`.
//!
//! - Round trips at every chunk and batch boundary, and property tests over
//!   random sizes with readers that return short reads (and `Interrupted`)
//!   on both the encrypting and the decrypting side.
//! - Tampering: a bit flipped in every byte of the header and key record and
//!   in every region of every chunk; truncation at and between chunk
//!   boundaries; an appended, dropped, reordered, duplicated or spliced
//!   chunk; headers and records swapped between files; a wrong or removed
//!   key version; another vault. All must fail, and the plaintext written
//!   before the failure must be whole chunks strictly before the first bad
//!   one, equal to the original: nothing of the failing chunk, nothing
//!   unauthenticated.
//! - Rotation through a sidecar record: the content is untouched and opens
//!   under the new record.

use std::io::{self, Read};
use std::sync::OnceLock;

use coffer_core::Error;
use coffer_core::config::{Credential, NewSlot, UnlockedKeys, VaultConfig};
use coffer_core::format::{self, CHUNK_OVERHEAD, CHUNK_SIZE, HEADER_LEN, Metadata};
use coffer_core::object::{self, Sealed, WrapTarget};
use coffer_core::secret::Key32;
use proptest::prelude::*;

const C: usize = CHUNK_SIZE;
/// A sealed full chunk.
const CT: usize = CHUNK_SIZE + CHUNK_OVERHEAD;
/// The reference implementation opens chunks in parallel batches of 32.
const BATCH: usize = 32;

fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + seed as usize * 7) % 251) as u8)
        .collect()
}

struct Vault {
    cfg: VaultConfig,
    keys: UnlockedKeys,
}

impl Vault {
    fn new() -> Self {
        let (cfg, keys) = VaultConfig::create();
        Vault { cfg, keys }
    }

    fn target(&self) -> WrapTarget {
        let (key_version, public_key) = self.cfg.current_public_key();
        WrapTarget {
            vault_id: *self.cfg.vault_id(),
            key_version,
            public_key,
        }
    }

    fn sealed(&self, size: usize) -> Sealed {
        Sealed::new(&self.target(), None, &meta(size)).unwrap()
    }

    /// A whole object holding `data`.
    fn seal(&self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let n = self.sealed(data.len()).write(data, &mut out).unwrap();
        assert_eq!(n, data.len() as u64);
        out
    }

    /// Opens an object read through `r`: the result, and everything the
    /// decryptor wrote to its output.
    fn open_from(&self, mut r: impl Read) -> (coffer_core::Result<Metadata>, Vec<u8>) {
        let mut out = Vec::new();
        let res = (|| {
            let p = object::read_prefix(&mut r)?;
            let (fk, _) = object::unwrap(&self.keys, self.cfg.vault_id(), &p.header, &p.record)?;
            let m = object::open_metadata(&fk, &p.header, &p.record)?;
            let n = object::decrypt_stream(&fk, &p.header, &mut r, &mut out)?;
            assert_eq!(n, out.len() as u64);
            Ok(m)
        })();
        (res, out)
    }

    fn open(&self, obj: &[u8]) -> (coffer_core::Result<Metadata>, Vec<u8>) {
        self.open_from(obj)
    }
}

fn meta(size: usize) -> Metadata {
    Metadata {
        path: "clinic/scans/ct 01.pdf".into(),
        size: size as u64,
        mtime_ns: 1_767_225_600_000_000_000,
        mode: 0o600,
        added_ns: 1_767_225_600_000_000_001,
    }
}

fn shared() -> &'static Vault {
    static V: OnceLock<Vault> = OnceLock::new();
    V.get_or_init(Vault::new)
}

/// Offset of the chunk stream in an object.
fn stream_offset(obj: &[u8]) -> usize {
    object::read_prefix(obj).unwrap().stream_offset as usize
}

/// Byte range of chunk `i` in an object.
fn chunk_range(obj: &[u8], i: usize) -> std::ops::Range<usize> {
    let s = stream_offset(obj) + i * CT;
    s..(s + CT).min(obj.len())
}

fn chunks_of(obj: &[u8]) -> usize {
    (obj.len() - stream_offset(obj)).div_ceil(CT)
}

/// The object opened: the plaintext is back, whole.
#[track_caller]
fn assert_round_trip(v: &Vault, obj: &[u8], data: &[u8]) {
    let (res, out) = v.open(obj);
    let m = res.unwrap();
    assert_eq!(m, meta(data.len()));
    assert!(
        out == data,
        "plaintext differs ({} vs {} bytes)",
        out.len(),
        data.len()
    );
    assert_eq!(
        obj.len() as u64,
        HEADER_LEN as u64 + 4 + 148 + m.path.len() as u64 + format::stream_len(data.len() as u64)
    );
}

/// The object failed to open with `DecryptionFailed` (or, for damage in
/// front of the stream, any format error), and what was written is whole
/// chunks of the original strictly before chunk `first_bad`.
#[track_caller]
fn assert_fails_cleanly(
    res: coffer_core::Result<Metadata>,
    out: &[u8],
    data: &[u8],
    first_bad: usize,
) {
    match res {
        Ok(_) => panic!("tampered object opened (first bad chunk {first_bad})"),
        Err(Error::DecryptionFailed) => {}
        Err(e) => panic!("expected DecryptionFailed, got {e:?}"),
    }
    assert_eq!(out.len() % C, 0, "a partial chunk was released");
    assert!(
        out.len() <= first_bad * C,
        "{} bytes released, but chunk {first_bad} is bad",
        out.len()
    );
    assert!(
        out == &data[..out.len()],
        "released bytes differ from the plaintext"
    );
}

/// A reader that returns at most `sizes[i]` bytes on its i-th call
/// (cycling), and `Interrupted` where the size is 0.
struct Choppy<'a> {
    data: &'a [u8],
    pos: usize,
    sizes: Vec<usize>,
    call: usize,
}

impl<'a> Choppy<'a> {
    fn new(data: &'a [u8], mut sizes: Vec<usize>) -> Self {
        sizes.push(1); // never only interruptions
        Choppy {
            data,
            pos: 0,
            sizes,
            call: 0,
        }
    }
}

impl Read for Choppy<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = self.sizes[self.call % self.sizes.len()];
        self.call += 1;
        if want == 0 {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = want.min(buf.len()).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

// ---------------------------------------------------------------------------
// Round trips

#[test]
fn round_trips_at_chunk_and_batch_boundaries() {
    let v = shared();
    for size in [
        0,
        1,
        C - 1,
        C,
        C + 1,
        2 * C - 1,
        2 * C,
        2 * C + 1,
        3 * C,
        (BATCH - 1) * C,
        BATCH * C - 1,
        BATCH * C,
        BATCH * C + 1,
        (BATCH + 1) * C,
        (BATCH + 1) * C + 1,
    ] {
        let data = content(size, 1);
        let obj = v.seal(&data);
        assert_eq!(
            chunks_of(&obj) as u64,
            format::chunk_count(size as u64),
            "{size}"
        );
        assert_round_trip(v, &obj, &data);
    }
}

fn sizes() -> impl Strategy<Value = usize> {
    prop_oneof![
        0usize..=300,
        // Near a chunk boundary.
        (0usize..=4, 0usize..=6).prop_map(|(k, d)| (k * C + d).saturating_sub(3)),
        // Near the batch boundary.
        (BATCH - 1..=BATCH + 1, 0usize..=2).prop_map(|(k, d)| (k * C + d).saturating_sub(1)),
        0usize..=4 * C + 100,
    ]
}

/// How much one `read` call returns: 0 is an `Interrupted` error.
fn read_size() -> impl Strategy<Value = usize> {
    prop_oneof![
        1 => Just(0usize),
        2 => 1usize..=64,
        4 => 64usize..=2 * CT,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_random_sizes_with_short_reads(
        size in sizes(),
        seed in any::<u8>(),
        write_sizes in proptest::collection::vec(read_size(), 1..6),
        read_sizes in proptest::collection::vec(read_size(), 1..6),
    ) {
        let v = shared();
        let data = content(size, seed);
        let sealed = v.sealed(size);
        let mut obj = Vec::new();
        let n = sealed.write(Choppy::new(&data, write_sizes), &mut obj).unwrap();
        prop_assert_eq!(n, size as u64);
        // Short reads change nothing in what is written...
        let mut again = Vec::new();
        sealed.write(&data[..], &mut again).unwrap();
        prop_assert!(obj == again);
        // ...or in what is read back.
        let (res, out) = v.open_from(Choppy::new(&obj, read_sizes));
        prop_assert_eq!(res.unwrap(), meta(size));
        prop_assert!(out == data);
    }

    #[test]
    fn any_single_bit_flip_fails(
        size in 0usize..=2 * C + 50,
        at in any::<proptest::sample::Index>(),
        bit in 0u8..8,
    ) {
        let v = shared();
        let data = content(size, 3);
        let mut obj = v.seal(&data);
        let i = at.index(obj.len());
        obj[i] ^= 1 << bit;
        let (res, out) = v.open(&obj);
        prop_assert!(res.is_err(), "flip at {} of {} opened", i, obj.len());
        prop_assert!(out.is_empty());
    }
}

// ---------------------------------------------------------------------------
// Tampering

#[test]
fn flip_every_header_and_record_byte() {
    let v = shared();
    let data = content(3 * C + 100, 5);
    let obj = v.seal(&data);
    let s = stream_offset(&obj);
    for i in 0..s {
        for bit in [i % 8, 7 - i % 8] {
            let mut bad = obj.clone();
            bad[i] ^= 1 << bit;
            let (res, out) = v.open(&bad);
            let e = res.expect_err(&format!("flip at byte {i} bit {bit} opened"));
            assert!(out.is_empty(), "byte {i}: plaintext released");
            // Structure is checked first; everything else is authenticated.
            let expected = match i {
                0..8 | 10 | 11 | 92..96 => "Corrupt",
                8 | 9 => "UnsupportedVersion",
                96 => "UnsupportedVersion",
                _ if (96 + 97..96 + 101).contains(&i) => "Corrupt",
                _ => "DecryptionFailed",
            };
            let got = match e {
                Error::Corrupt { .. } => "Corrupt",
                Error::UnsupportedVersion { .. } => "UnsupportedVersion",
                Error::DecryptionFailed => "DecryptionFailed",
                ref other => panic!("byte {i}: unexpected {other:?}"),
            };
            assert_eq!(got, expected, "byte {i} bit {bit}: {e}");
        }
    }
}

#[test]
fn flip_every_region_of_every_chunk() {
    let v = shared();
    let data = content(3 * C + 100, 6);
    let obj = v.seal(&data);
    for c in 0..chunks_of(&obj) {
        let r = chunk_range(&obj, c);
        let body_end = r.end - CHUNK_OVERHEAD;
        let mut spots = vec![r.start, r.start + 1, (r.start + body_end) / 2, body_end - 1];
        spots.extend(body_end..r.end); // every tag byte
        for at in spots {
            for bit in [0, 7] {
                let mut bad = obj.clone();
                bad[at] ^= 1 << bit;
                let (res, out) = v.open(&bad);
                assert_fails_cleanly(res, &out, &data, c);
            }
        }
    }
}

/// A file long enough to span two batches: 41 chunks.
fn long_file(v: &Vault, seed: u8) -> (Vec<u8>, Vec<u8>) {
    let data = content((BATCH + 8) * C + 123, seed);
    let obj = v.seal(&data);
    assert_eq!(chunks_of(&obj), BATCH + 9);
    (data, obj)
}

#[test]
fn tampered_chunk_releases_nothing_of_its_batch() {
    let v = shared();
    let (data, obj) = long_file(v, 7);
    let n = chunks_of(&obj);
    for c in [0, 1, BATCH - 1, BATCH, BATCH + 1, n - 1] {
        let mut bad = obj.clone();
        bad[chunk_range(&obj, c).start + 10] ^= 0x01;
        let (res, out) = v.open(&bad);
        assert_fails_cleanly(res, &out, &data, c);
        // What is released is what authenticated: whole batches before the bad one.
        assert_eq!(out.len(), c / BATCH * BATCH * C, "chunk {c}");
    }
}

#[test]
fn truncation_at_and_between_chunk_boundaries() {
    let v = shared();
    let (data, obj) = long_file(v, 8);
    let s = stream_offset(&obj);
    let n = chunks_of(&obj);
    for j in [0, 1, BATCH - 1, BATCH, BATCH + 1, n - 1] {
        let boundary = s + j * CT;
        // At the boundary: chunk j-1 ends the stream but is not flagged last
        // (for j = 0 there is no chunk at all).
        let (res, out) = v.open(&obj[..boundary]);
        assert_fails_cleanly(res, &out, &data, j.saturating_sub(1));
        // Between boundaries: chunk j is cut short.
        for r in [1, 15, 16, 17, CT - 1] {
            if boundary + r >= obj.len() {
                continue;
            }
            let (res, out) = v.open(&obj[..boundary + r]);
            assert_fails_cleanly(res, &out, &data, j);
        }
    }
    // The last byte, and the whole last chunk.
    let (res, out) = v.open(&obj[..obj.len() - 1]);
    assert_fails_cleanly(res, &out, &data, n - 1);
    let (res, out) = v.open(&obj[..chunk_range(&obj, n - 1).start]);
    assert_fails_cleanly(res, &out, &data, n - 2);
    // Cut inside the header or the record: a format error, nothing released.
    for end in [0, 1, 91, 92, 95, 96, s - 1] {
        let (res, out) = v.open(&obj[..end]);
        assert!(matches!(res, Err(Error::Corrupt { .. })), "cut at {end}");
        assert!(out.is_empty());
    }
}

/// Builds an object from `obj`'s prefix and the given chunks of `obj`.
fn rebuild(obj: &[u8], chunks: &[usize]) -> Vec<u8> {
    let mut out = obj[..stream_offset(obj)].to_vec();
    for &c in chunks {
        out.extend_from_slice(&obj[chunk_range(obj, c)]);
    }
    out
}

#[test]
fn appended_dropped_reordered_duplicated_chunks() {
    let v = shared();
    let (data, obj) = long_file(v, 9);
    let n = chunks_of(&obj);
    let all: Vec<usize> = (0..n).collect();
    let check = |order: Vec<usize>, first_bad: usize| {
        let (res, out) = v.open(&rebuild(&obj, &order));
        assert_fails_cleanly(res, &out, &data, first_bad);
    };
    assert_round_trip(v, &rebuild(&obj, &all), &data);
    // Appended: a copy of chunk 0, of the last chunk; the old last chunk
    // is no longer last.
    check([&all[..], &[0]].concat(), n - 1);
    check([&all[..], &[n - 1]].concat(), n - 1);
    // Dropped: the last chunk, a middle chunk, the first chunk.
    check(all[..n - 1].to_vec(), n - 2);
    check([&all[..5], &all[6..]].concat(), 5);
    check(all[1..].to_vec(), 0);
    // Reordered.
    for (a, b) in [
        (0, 1),
        (5, 6),
        (BATCH - 1, BATCH),
        (BATCH + 2, BATCH + 3),
        (n - 2, n - 1),
    ] {
        let mut order = all.clone();
        order.swap(a, b);
        check(order, a);
    }
    // Duplicated.
    for c in [0, 3, BATCH, n - 2] {
        let order = [&all[..=c], &all[c..]].concat();
        check(order, c + 1);
    }
}

#[test]
fn chunk_spliced_from_another_file_fails() {
    let v = shared();
    let (data, a) = long_file(v, 10);
    let (_, b) = long_file(v, 10); // same plaintext, other DEK
    for c in [0, 2, BATCH, chunks_of(&a) - 1] {
        let mut bad = a.clone();
        let r = chunk_range(&a, c);
        bad[r.clone()].copy_from_slice(&b[r]);
        let (res, out) = v.open(&bad);
        assert_fails_cleanly(res, &out, &data, c);
    }
}

#[test]
fn headers_and_records_swapped_between_files() {
    let v = shared();
    let data = content(2 * C + 7, 11);
    let a = v.seal(&data);
    let b = v.seal(&data);
    let (sa, sb) = (stream_offset(&a), stream_offset(&b));
    assert_eq!(sa, sb);
    // B's header on A's record and stream: the DEK wrap is bound to the header.
    let bad = [&b[..HEADER_LEN], &a[HEADER_LEN..]].concat();
    let (res, out) = v.open(&bad);
    assert_fails_cleanly(res, &out, &data, 0);
    // A's header with B's record: likewise.
    let bad = [&a[..HEADER_LEN], &b[HEADER_LEN..sb], &a[sa..]].concat();
    let (res, out) = v.open(&bad);
    assert_fails_cleanly(res, &out, &data, 0);
    // B's header and record (valid together) on A's stream: the chunks are
    // bound to A's payload key and header.
    let bad = [&b[..sb], &a[sa..]].concat();
    let (res, out) = v.open(&bad);
    assert_fails_cleanly(res, &out, &data, 0);
    // A's salt or commitment in B's header.
    for range in [28..60, 60..92] {
        let mut bad = b.clone();
        bad[range.clone()].copy_from_slice(&a[range]);
        let (res, out) = v.open(&bad);
        assert_fails_cleanly(res, &out, &data, 0);
    }
}

#[test]
fn wrong_key_version_fails() {
    let mut v = Vault::new();
    let rk = Key32::random();
    v.cfg.add_slot(&v.keys, NewSlot::Recovery(&rk)).unwrap();
    v.cfg.authenticate(&v.keys);
    let before = v.cfg.clone(); // knows only key version 1
    let data = content(C + 1, 12);
    let obj1 = v.seal(&data);
    v.cfg.add_key_version(&mut v.keys);
    let obj2 = v.seal(&data);
    assert_round_trip(&v, &obj1, &data);
    assert_round_trip(&v, &obj2, &data);

    // The record relabelled to the other version, or to one that does not exist.
    let kv_at = HEADER_LEN + 4 + 1 + 3;
    for (obj, new) in [(&obj1, 2u8), (&obj2, 1), (&obj1, 9)] {
        let mut bad = obj.clone();
        bad[kv_at] = new;
        let (res, out) = v.open(&bad);
        assert_fails_cleanly(res, &out, &data, 0);
    }
    // Keys that predate version 2.
    let old = Vault {
        keys: before.unlock(&Credential::Recovery(&rk)).unwrap().0,
        cfg: before,
    };
    assert_round_trip(&old, &obj1, &data);
    let (res, out) = old.open(&obj2);
    assert_fails_cleanly(res, &out, &data, 0);
    // Version 1 removed after rotation.
    v.cfg.remove_key_version(&mut v.keys, 1).unwrap();
    let (res, out) = v.open(&obj1);
    assert_fails_cleanly(res, &out, &data, 0);
    assert_round_trip(&v, &obj2, &data);
}

#[test]
fn wrong_vault_fails() {
    let a = Vault::new();
    let b = Vault::new();
    let data = content(C + 5, 13);
    let obj = a.seal(&data);
    assert_round_trip(&a, &obj, &data);
    // B's keys.
    let (res, out) = b.open(&obj);
    assert_fails_cleanly(res, &out, &data, 0);
    // A's keys but B's vault id: the vault id is in the HPKE info.
    let p = object::read_prefix(&obj[..]).unwrap();
    assert!(matches!(
        object::unwrap(&a.keys, b.cfg.vault_id(), &p.header, &p.record),
        Err(Error::DecryptionFailed)
    ));
}

#[test]
fn rotation_through_a_sidecar_leaves_content_alone() {
    let mut v = Vault::new();
    let data = content(2 * C + 3, 14);
    let sealed = v.sealed(data.len());
    let mut obj = Vec::new();
    sealed.write(&data[..], &mut obj).unwrap();
    let before = obj.clone();

    v.cfg.add_key_version(&mut v.keys);
    let t2 = v.target();
    assert_eq!(t2.key_version, 2);
    let mut renamed = meta(data.len());
    renamed.path = "clinic/archive/ct 01.pdf".into();
    let rec2 =
        object::make_record(&t2, &sealed.header, &sealed.dek, &sealed.keys, &renamed).unwrap();
    let side = format::sidecar_to_bytes(&sealed.header, &rec2);
    assert_eq!(side.len(), 8 + HEADER_LEN + 4 + rec2.encoded_len());
    let (h, r) = format::parse_sidecar(&side).unwrap();
    assert_eq!(h, sealed.header);
    assert_eq!(r, rec2);
    assert!(obj == before, "rotation does not touch the object");

    // The new record opens the untouched stream under key version 2.
    let (fk, dek) = object::unwrap(&v.keys, v.cfg.vault_id(), &h, &r).unwrap();
    assert_eq!(dek.expose(), sealed.dek.expose());
    assert_eq!(object::open_metadata(&fk, &h, &r).unwrap(), renamed);
    let mut out = Vec::new();
    object::decrypt_stream(&fk, &h, &obj[stream_offset(&obj)..], &mut out).unwrap();
    assert!(out == data);
    // Once version 1 is gone only the sidecar's record opens.
    v.cfg.remove_key_version(&mut v.keys, 1).unwrap();
    let p = object::read_prefix(&obj[..]).unwrap();
    assert!(object::unwrap(&v.keys, v.cfg.vault_id(), &p.header, &p.record).is_err());
    assert!(object::unwrap(&v.keys, v.cfg.vault_id(), &h, &r).is_ok());
    // A record moved next to another object's header does not open: the
    // DEK wrap is bound to the header it was made for.
    let other = v.sealed(1);
    let moved = format::sidecar_to_bytes(&other.header, &rec2);
    let (h2, r2) = format::parse_sidecar(&moved).unwrap();
    assert!(matches!(
        object::unwrap(&v.keys, v.cfg.vault_id(), &h2, &r2),
        Err(Error::DecryptionFailed)
    ));
}
