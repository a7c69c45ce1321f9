//! Byte layouts of an object file: the fixed header, the key record and the
//! metadata record. docs/FORMAT.md is the normative description; the names
//! here are the names used there. Every parser checks every length before
//! it reads and never panics on hostile input.

use crate::crypto::primitives::{NONCE_LEN, TAG_LEN};
use crate::error::{Error, Result};

pub mod escrow_key;
pub mod index;
pub mod manifest;
pub mod recovery;

/// First bytes of every object file.
pub const OBJECT_MAGIC: &[u8; 8] = b"COFFEROB";
/// First bytes of a sidecar key-record file.
pub const SIDECAR_MAGIC: &[u8; 8] = b"COFFERKR";
/// The object format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// log2 of the chunk size.
pub const CHUNK_SHIFT: u8 = 16;
/// Plaintext bytes per chunk (64 KiB); only the last chunk may be shorter.
pub const CHUNK_SIZE: usize = 1 << CHUNK_SHIFT;
/// Bytes a sealed chunk adds to its plaintext.
pub const CHUNK_OVERHEAD: usize = TAG_LEN;
/// Length of the fixed header.
pub const HEADER_LEN: usize = 8 + 2 + 1 + 1 + 16 + 32 + 32;
/// Length of a file id.
pub const FILE_ID_LEN: usize = 16;
pub use crate::crypto::wrap::ENC_LEN;
/// A wrapped DEK: 32 bytes of key plus the HPKE AEAD tag.
pub const WRAPPED_DEK_LEN: usize = 32 + TAG_LEN;
/// Upper bound on an encrypted metadata record (a 4 KiB path plus fields).
pub const MAX_META_CT_LEN: usize = 8192;
/// Upper bound on a whole key record.
pub const MAX_RECORD_LEN: usize =
    1 + 4 + ENC_LEN + WRAPPED_DEK_LEN + NONCE_LEN + 4 + MAX_META_CT_LEN;
/// Upper bound on a whole sidecar key-record file: magic, header copy,
/// record length and the longest record (readers refuse a larger file
/// before reading it).
pub const MAX_SIDECAR_LEN: u64 = (8 + HEADER_LEN + 4 + MAX_RECORD_LEN) as u64;
/// Longest relative path stored, in bytes.
pub const MAX_PATH_LEN: usize = 4096;

/// A random identifier naming one file across versions of its record.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub [u8; FILE_ID_LEN]);

impl FileId {
    /// A fresh random id.
    pub fn random() -> Self {
        FileId(crate::crypto::primitives::random_array())
    }

    /// Lower-case hex, the object's on-disk name.
    pub fn to_hex(&self) -> String {
        data_encoding::HEXLOWER.encode(&self.0)
    }

    /// Parses the 32-hex-digit form.
    pub fn from_hex(s: &str) -> Option<Self> {
        let v = data_encoding::HEXLOWER_PERMISSIVE
            .decode(s.as_bytes())
            .ok()?;
        Some(FileId(v.try_into().ok()?))
    }
}

impl std::fmt::Debug for FileId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileId({})", self.to_hex())
    }
}

impl std::fmt::Display for FileId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The immutable part of an object: bound into every chunk as AAD.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Header {
    /// Identifies the file; stable for its lifetime.
    pub file_id: FileId,
    /// HKDF salt for this content instance.
    pub salt: [u8; 32],
    /// Commitment to the payload key (see `keys::commitment`).
    pub commitment: [u8; 32],
}

impl Header {
    /// The exact `HEADER_LEN` bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(OBJECT_MAGIC);
        b[8..10].copy_from_slice(&FORMAT_VERSION.to_be_bytes());
        b[10] = CHUNK_SHIFT;
        b[11] = 0;
        b[12..28].copy_from_slice(&self.file_id.0);
        b[28..60].copy_from_slice(&self.salt);
        b[60..92].copy_from_slice(&self.commitment);
        b
    }

    /// Parses a header. `bytes` must be at least `HEADER_LEN` long.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        const WHAT: &str = "object header";
        if bytes.len() < HEADER_LEN {
            return Err(Error::corrupt(WHAT, "too short"));
        }
        if &bytes[0..8] != OBJECT_MAGIC {
            return Err(Error::corrupt(WHAT, "not a Coffer object (bad magic)"));
        }
        let version = u16::from_be_bytes([bytes[8], bytes[9]]);
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                what: "object format",
                version: version.into(),
            });
        }
        if bytes[10] != CHUNK_SHIFT {
            return Err(Error::corrupt(WHAT, "unsupported chunk size"));
        }
        if bytes[11] != 0 {
            return Err(Error::corrupt(WHAT, "reserved byte is not zero"));
        }
        Ok(Header {
            file_id: FileId(bytes[12..28].try_into().expect("16 bytes")),
            salt: bytes[28..60].try_into().expect("32 bytes"),
            commitment: bytes[60..92].try_into().expect("32 bytes"),
        })
    }
}

/// The mutable part of an object: which key version wraps the DEK, the
/// wrapped DEK, and the encrypted metadata. Replaced as a whole by a sidecar
/// at rotation or rename; the content is never touched.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct KeyRecord {
    /// How the DEK is wrapped (the record version says it).
    pub wrap: DekWrap,
    /// The vault key version whose key wraps the DEK.
    pub key_version: u32,
    /// HPKE encapsulated key ([`DekWrap::Hpke`]), or the random salt of the
    /// wrap key ([`DekWrap::VersionKey`]).
    pub enc: [u8; ENC_LEN],
    /// AES-256-GCM ciphertext of the DEK, tag included (HPKE's, or under
    /// the derived wrap key).
    pub wrapped_dek: [u8; WRAPPED_DEK_LEN],
    /// Nonce of the metadata ciphertext.
    pub meta_nonce: [u8; NONCE_LEN],
    /// AES-256-GCM ciphertext of the metadata plaintext, tag included.
    pub meta_ct: Vec<u8>,
}

/// Version byte of a key record whose DEK is wrapped by HPKE to the key
/// version's public key: what a writer that holds no secret (a locked
/// `add`, the watcher) can make.
pub const RECORD_VERSION: u8 = 1;

/// Version byte of a key record whose DEK is wrapped under a key derived
/// from the key version's private key: what an unlocked rotation writes,
/// at a fraction of HPKE's cost (docs/FORMAT.md §6).
pub const RECORD_VERSION_VERSION_KEY: u8 = 2;

/// How a key record wraps its DEK; both can be opened only with the key
/// version's private key, and both die with it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DekWrap {
    /// HPKE base mode to the key version's public key (record version 1).
    Hpke,
    /// AES-256-GCM under a one-use key from the record's salt and the key
    /// version's wrap secret, itself derived from its private key (record
    /// version 2, docs/FORMAT.md §3.1).
    VersionKey,
}

impl DekWrap {
    fn record_version(self) -> u8 {
        match self {
            DekWrap::Hpke => RECORD_VERSION,
            DekWrap::VersionKey => RECORD_VERSION_VERSION_KEY,
        }
    }
}

impl KeyRecord {
    /// Serialized form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(self.encoded_len());
        b.push(self.wrap.record_version());
        b.extend_from_slice(&self.key_version.to_be_bytes());
        b.extend_from_slice(&self.enc);
        b.extend_from_slice(&self.wrapped_dek);
        b.extend_from_slice(&self.meta_nonce);
        b.extend_from_slice(&(self.meta_ct.len() as u32).to_be_bytes());
        b.extend_from_slice(&self.meta_ct);
        b
    }

    /// Length of [`Self::to_bytes`].
    pub fn encoded_len(&self) -> usize {
        1 + 4 + ENC_LEN + WRAPPED_DEK_LEN + NONCE_LEN + 4 + self.meta_ct.len()
    }

    /// Parses exactly one record filling `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        const WHAT: &str = "key record";
        let mut r = Reader::new(bytes, WHAT);
        let wrap = match r.u8()? {
            RECORD_VERSION => DekWrap::Hpke,
            RECORD_VERSION_VERSION_KEY => DekWrap::VersionKey,
            v => {
                return Err(Error::UnsupportedVersion {
                    what: "key record",
                    version: v.into(),
                });
            }
        };
        let key_version = r.u32()?;
        let enc = r.array()?;
        let wrapped_dek = r.array()?;
        let meta_nonce = r.array()?;
        let meta_len = r.u32()? as usize;
        if !(TAG_LEN..=MAX_META_CT_LEN).contains(&meta_len) {
            return Err(Error::corrupt(WHAT, "metadata length out of range"));
        }
        let meta_ct = r.take(meta_len)?.to_vec();
        r.finish()?;
        Ok(KeyRecord {
            wrap,
            key_version,
            enc,
            wrapped_dek,
            meta_nonce,
            meta_ct,
        })
    }
}

/// What a sidecar file holds: the header it belongs to and the record that
/// supersedes the one embedded in the object.
pub fn sidecar_to_bytes(header: &Header, record: &KeyRecord) -> Vec<u8> {
    let rec = record.to_bytes();
    let mut b = Vec::with_capacity(8 + HEADER_LEN + 4 + rec.len());
    b.extend_from_slice(SIDECAR_MAGIC);
    b.extend_from_slice(&header.to_bytes());
    b.extend_from_slice(&(rec.len() as u32).to_be_bytes());
    b.extend_from_slice(&rec);
    b
}

/// Parses a sidecar file.
pub fn parse_sidecar(bytes: &[u8]) -> Result<(Header, KeyRecord)> {
    const WHAT: &str = "key record file";
    let mut r = Reader::new(bytes, WHAT);
    if r.take(8)? != SIDECAR_MAGIC {
        return Err(Error::corrupt(WHAT, "bad magic"));
    }
    let header = Header::parse(r.take(HEADER_LEN)?)?;
    let len = r.u32()? as usize;
    if len > MAX_RECORD_LEN {
        return Err(Error::corrupt(WHAT, "record too long"));
    }
    let record = KeyRecord::parse(r.take(len)?)?;
    r.finish()?;
    Ok((header, record))
}

/// The plaintext of the metadata record.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Metadata {
    /// Relative path, `/`-separated, UTF-8, no `.`/`..`/empty components
    /// (every rule: [`validate_rel_path`]).
    pub path: String,
    /// Plaintext length in bytes.
    pub size: u64,
    /// Modification time of the original, ns since the Unix epoch.
    pub mtime_ns: i64,
    /// Unix permission bits of the original (0 where unknown).
    pub mode: u32,
    /// When this version entered the vault, ns since the Unix epoch.
    pub added_ns: i64,
}

/// Version byte at the start of the metadata plaintext.
pub const META_VERSION: u8 = 1;

impl Metadata {
    /// Serialized plaintext.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(1 + 2 + self.path.len() + 8 + 8 + 4 + 8);
        b.push(META_VERSION);
        b.extend_from_slice(&(self.path.len() as u16).to_be_bytes());
        b.extend_from_slice(self.path.as_bytes());
        b.extend_from_slice(&self.size.to_be_bytes());
        b.extend_from_slice(&self.mtime_ns.to_be_bytes());
        b.extend_from_slice(&self.mode.to_be_bytes());
        b.extend_from_slice(&self.added_ns.to_be_bytes());
        b
    }

    /// Parses the metadata plaintext (after it authenticated).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        const WHAT: &str = "metadata record";
        let mut r = Reader::new(bytes, WHAT);
        let v = r.u8()?;
        if v != META_VERSION {
            return Err(Error::UnsupportedVersion {
                what: "metadata",
                version: v.into(),
            });
        }
        let path_len = r.u16()? as usize;
        let path = std::str::from_utf8(r.take(path_len)?)
            .map_err(|_| Error::corrupt(WHAT, "path is not UTF-8"))?
            .to_owned();
        validate_rel_path(&path).map_err(|e| Error::corrupt(WHAT, e))?;
        let m = Metadata {
            path,
            size: r.u64()?,
            mtime_ns: r.u64()? as i64,
            mode: r.u32()?,
            added_ns: r.u64()? as i64,
        };
        r.finish()?;
        Ok(m)
    }
}

/// Checks that `path` is a relative path we store (docs/FORMAT.md §7, path
/// rules): non-empty components separated by `/`, none of them `.` or
/// `..`; no NUL, backslash or other ASCII control character anywhere; a
/// first component that does not start with a drive prefix (an ASCII
/// letter and `:`, as in `C:`, `c:x`); at most [`MAX_PATH_LEN`] bytes.
/// Returns why not.
///
/// A `:` elsewhere is allowed: Linux and macOS users have files such as
/// `10:30 scan.pdf`. Windows treats `:` as a drive or stream separator, so
/// extraction on Windows refuses a path with a `:` in any component (see
/// [`windows_unsafe_component`]).
pub fn validate_rel_path(path: &str) -> std::result::Result<(), &'static str> {
    if path.is_empty() {
        return Err("empty path");
    }
    if path.len() > MAX_PATH_LEN {
        return Err("path too long");
    }
    if path.contains('\\') {
        return Err("path contains a backslash");
    }
    if path.bytes().any(|b| b.is_ascii_control()) {
        return Err("path contains a NUL or another control character");
    }
    if let [letter, b':', ..] = path.as_bytes()
        && letter.is_ascii_alphabetic()
    {
        return Err("path starts with a drive letter");
    }
    for comp in path.split('/') {
        if comp.is_empty() || comp == "." || comp == ".." {
            return Err("path has an empty, '.' or '..' component");
        }
    }
    Ok(())
}

/// Whether a valid relative path (see [`validate_rel_path`]) has a
/// component Windows would not take as a plain file name: one holding a
/// `:` (a drive or alternate-data-stream separator there).
pub fn windows_unsafe_component(path: &str) -> bool {
    path.split('/').any(|c| c.contains(':'))
}

/// Number of chunks a plaintext of `size` bytes is cut into (an empty file
/// is one empty final chunk).
pub fn chunk_count(size: u64) -> u64 {
    size.div_ceil(CHUNK_SIZE as u64).max(1)
}

/// Bytes the chunk stream of a `size`-byte plaintext occupies.
pub fn stream_len(size: u64) -> u64 {
    size + chunk_count(size) * CHUNK_OVERHEAD as u64
}

/// Bounds-checked big-endian reader over a byte slice.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Reader {
            bytes,
            pos: 0,
            what,
        }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| Error::corrupt(self.what, "truncated"))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("take returned N bytes"))
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn finish(self) -> Result<()> {
        if self.pos != self.bytes.len() {
            return Err(Error::corrupt(self.what, "trailing bytes"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_rejects() {
        let h = Header {
            file_id: FileId([7; 16]),
            salt: [1; 32],
            commitment: [2; 32],
        };
        let b = h.to_bytes();
        assert_eq!(Header::parse(&b).unwrap(), h);
        for i in [0usize, 8, 9, 10, 11] {
            let mut bad = b;
            bad[i] ^= 0x40;
            assert!(Header::parse(&bad).is_err(), "byte {i}");
        }
        assert!(Header::parse(&b[..HEADER_LEN - 1]).is_err());
    }

    #[test]
    fn record_and_metadata_round_trip() {
        let m = Metadata {
            path: "scans/2026/ct.pdf".into(),
            size: 12345,
            mtime_ns: -5,
            mode: 0o640,
            added_ns: 1_700_000_000_000_000_000,
        };
        assert_eq!(Metadata::parse(&m.to_bytes()).unwrap(), m);
        for wrap in [DekWrap::Hpke, DekWrap::VersionKey] {
            let r = KeyRecord {
                wrap,
                key_version: 3,
                enc: [4; 32],
                wrapped_dek: [5; 48],
                meta_nonce: [6; 12],
                meta_ct: vec![9; 40],
            };
            let b = r.to_bytes();
            assert_eq!(b[0], wrap.record_version());
            assert_eq!(b.len(), r.encoded_len());
            assert_eq!(KeyRecord::parse(&b).unwrap(), r);
            assert!(KeyRecord::parse(&b[..b.len() - 1]).is_err());
            let mut long = b.clone();
            long.push(0);
            assert!(KeyRecord::parse(&long).is_err());
            for v in [0u8, 3, 255] {
                let mut other = b.clone();
                other[0] = v;
                assert!(matches!(
                    KeyRecord::parse(&other),
                    Err(Error::UnsupportedVersion { .. })
                ));
            }
        }
    }

    #[test]
    fn paths_validated() {
        for bad in [
            "",
            "/abs",
            "a//b",
            "a/./b",
            "../x",
            "a/..",
            "a/../b",
            "a\\b",
            "\\\\server\\share",
            "x\0",
            "a\0b",
            "a\u{1}b",
            "a\nb",
            "tab\there",
            "del\u{7f}",
            "C:/x",
            "c:x",
            "C:",
            "z:/x/y",
        ] {
            assert!(validate_rel_path(bad).is_err(), "{bad:?}");
        }
        for good in [
            "a/b c/ü.pdf",
            "10:30 scan.pdf",
            "Scans/10:30 scan.pdf",
            "1:x",
            "ab:c",
            "Scans/C:x",
            "é:x",
        ] {
            assert_eq!(validate_rel_path(good), Ok(()), "{good:?}");
        }
        assert_eq!(validate_rel_path(&"a".repeat(MAX_PATH_LEN)), Ok(()));
        assert!(validate_rel_path(&"a".repeat(MAX_PATH_LEN + 1)).is_err());
    }

    #[test]
    fn colons_are_flagged_for_windows() {
        assert!(windows_unsafe_component("Scans/10:30 scan.pdf"));
        assert!(windows_unsafe_component("a:b"));
        assert!(!windows_unsafe_component("Scans/scan.pdf"));
    }

    #[test]
    fn metadata_with_a_bad_path_is_corrupt() {
        for bad in ["../x", "/abs", "C:/x", "c:x", "a\0b", "a/../b", "a\u{1}b"] {
            let m = Metadata {
                path: bad.into(),
                size: 1,
                mtime_ns: 0,
                mode: 0,
                added_ns: 0,
            };
            assert!(
                matches!(
                    Metadata::parse(&m.to_bytes()),
                    Err(Error::Corrupt {
                        what: "metadata record",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn stream_sizes() {
        assert_eq!(stream_len(0), 16);
        assert_eq!(stream_len(1), 17);
        assert_eq!(stream_len(65536), 65552);
        assert_eq!(stream_len(65537), 65537 + 32);
        assert_eq!(stream_len(100_000), 100_032);
    }
}
