//! One encrypted file as bytes: `header ‖ BE32(record length) ‖ key record ‖
//! chunk stream`. Creating an object needs only the vault's public key;
//! reading it needs the private key of the record's key version.

use std::io::{Read, Write};

use crate::config::UnlockedKeys;
use crate::crypto::primitives::NONCE_LEN;
use crate::crypto::primitives::{self, random_array};
use crate::crypto::secret::Key32;
use crate::crypto::wrap::{self, ENC_LEN, PublicKey};
use crate::error::{Error, IoContext, Result};
use crate::format::{DekWrap, FileId, HEADER_LEN, Header, KeyRecord, MAX_RECORD_LEN, Metadata};
use crate::keys::FileKeys;
use crate::stream;

/// HPKE `info` prefix for DEK wrapping (followed by the vault id).
pub const INFO_DEK_WRAP: &[u8] = b"coffer/v1/dek-wrap";

/// HKDF `info` of a record-version-2 wrap key.
pub const INFO_DEK_WRAP_VERSION_KEY: &[u8] = b"coffer/v2/dek-wrap-key";

/// Where new DEKs are wrapped: the vault's current key version.
#[derive(Clone, Debug)]
pub struct WrapTarget {
    /// The vault id (bound into every wrap).
    pub vault_id: [u8; 16],
    /// Current key version number.
    pub key_version: u32,
    /// Its public key.
    pub public_key: PublicKey,
}

/// A content instance being written: its header, record and keys.
pub struct Sealed {
    /// Immutable header.
    pub header: Header,
    /// Key record to embed.
    pub record: KeyRecord,
    /// Derived keys (payload, metadata).
    pub keys: FileKeys,
    /// The DEK, kept only for as long as the caller needs to verify.
    pub dek: Key32,
}

fn dek_aad(header: &Header, key_version: u32) -> Vec<u8> {
    [&header.to_bytes()[..], &key_version.to_be_bytes()].concat()
}

fn dek_info(vault_id: &[u8; 16]) -> Vec<u8> {
    [INFO_DEK_WRAP, vault_id].concat()
}

/// Wraps `dek` for `header` to `target`, and seals `meta` under `keys`.
pub fn make_record(
    target: &WrapTarget,
    header: &Header,
    dek: &Key32,
    keys: &FileKeys,
    meta: &Metadata,
) -> Result<KeyRecord> {
    let meta_nonce = random_array();
    let meta_pt = zeroize::Zeroizing::new(meta.to_bytes());
    let meta_ct = primitives::seal(&keys.metadata, &meta_nonce, &header.to_bytes(), &meta_pt);
    let (enc, wrapped) = wrap::seal(
        &target.public_key,
        &dek_info(&target.vault_id),
        &dek_aad(header, target.key_version),
        dek.expose(),
    )?;
    Ok(KeyRecord {
        wrap: DekWrap::Hpke,
        key_version: target.key_version,
        enc,
        wrapped_dek: wrapped.try_into().expect("32 + 16 bytes"),
        meta_nonce,
        meta_ct,
    })
}

/// The key of a [`DekWrap::VersionKey`] wrap: used for one DEK only, since
/// its salt is fresh and random, so its nonce can be fixed (docs/FORMAT.md
/// §3.1). It comes from the key version's wrap secret, which comes from its
/// private key, so it dies with the version as HPKE's wraps do.
fn version_wrap_key(wrap_secret: &Key32, salt: &[u8; ENC_LEN]) -> Key32 {
    primitives::hkdf32(salt, wrap_secret.expose(), &[INFO_DEK_WRAP_VERSION_KEY])
}

const VERSION_WRAP_NONCE: [u8; NONCE_LEN] = [0; NONCE_LEN];

/// The same DEK and metadata ciphertext, wrapped to key version
/// `key_version`, whose private key the caller holds: what a depth-2
/// rotation writes as the object's sidecar. It needs no public-key
/// operation (docs/FORMAT.md §6, record version 2).
pub fn rewrap_record(
    keys: &UnlockedKeys,
    key_version: u32,
    header: &Header,
    dek: &Key32,
    old: &KeyRecord,
) -> Result<KeyRecord> {
    let secret = keys.version_wrap_secret(key_version).ok_or_else(|| {
        Error::corrupt(
            "vault config",
            "the rotation's key version has no private key",
        )
    })?;
    let salt = random_array();
    let wrapped = primitives::seal(
        &version_wrap_key(secret, &salt),
        &VERSION_WRAP_NONCE,
        &dek_aad(header, key_version),
        dek.expose(),
    );
    Ok(KeyRecord {
        wrap: DekWrap::VersionKey,
        key_version,
        enc: salt,
        wrapped_dek: wrapped.try_into().expect("32 + 16 bytes"),
        meta_nonce: old.meta_nonce,
        meta_ct: old.meta_ct.clone(),
    })
}

impl Sealed {
    /// A fresh DEK, salt and (unless given) file id, with `meta` sealed and
    /// the DEK wrapped to `target`.
    pub fn new(target: &WrapTarget, file_id: Option<FileId>, meta: &Metadata) -> Result<Self> {
        let dek = Key32::random();
        let file_id = file_id.unwrap_or_else(FileId::random);
        let salt = random_array();
        let keys = FileKeys::derive(&dek, &salt, &file_id);
        let header = Header {
            file_id,
            salt,
            commitment: keys.commitment,
        };
        let record = make_record(target, &header, &dek, &keys, meta)?;
        Ok(Sealed {
            header,
            record,
            keys,
            dek,
        })
    }

    /// Writes the whole object: header, record, then `input` as the chunk
    /// stream. Returns the plaintext length.
    pub fn write(&self, input: impl Read, mut out: impl Write + Send) -> Result<u64> {
        let hb = self.write_prefix(&mut out)?;
        stream::encrypt(&self.keys.payload, &hb, input, out)
    }

    /// Writes the whole object with the contents of another: its chunk
    /// stream, read from `input` and opened with `from`'s keys and header,
    /// is sealed again under this object's keys chunk by chunk (depth 3).
    /// [`stream::Failed::Source`] means the old stream did not read or
    /// authenticate; [`stream::Failed::Sink`] that `out` failed.
    pub fn reencrypt_from(
        &self,
        from: (&FileKeys, &Header),
        input: impl Read,
        mut out: impl Write + Send,
    ) -> std::result::Result<u64, stream::Failed> {
        let hb = self.write_prefix(&mut out).map_err(stream::Failed::Sink)?;
        stream::reencrypt(
            (&from.0.payload, &from.1.to_bytes()),
            (&self.keys.payload, &hb),
            input,
            out,
        )
    }

    /// The header and the embedded record, as they precede the stream, in
    /// one write (the output is not buffered).
    fn write_prefix(&self, out: &mut impl Write) -> Result<[u8; HEADER_LEN]> {
        let hb = self.header.to_bytes();
        let rec = self.record.to_bytes();
        let mut prefix = Vec::with_capacity(HEADER_LEN + 4 + rec.len());
        prefix.extend_from_slice(&hb);
        prefix.extend_from_slice(&(rec.len() as u32).to_be_bytes());
        prefix.extend_from_slice(&rec);
        out.write_all(&prefix).ctx("writing ciphertext")?;
        Ok(hb)
    }
}

/// The header and embedded record read from the front of an object, and
/// where the chunk stream starts.
pub struct Prefix {
    /// Immutable header.
    pub header: Header,
    /// The record embedded at creation.
    pub record: KeyRecord,
    /// Offset of the first chunk.
    pub stream_offset: u64,
}

/// Reads and parses an object's header and embedded record.
pub fn read_prefix(mut r: impl Read) -> Result<Prefix> {
    let mut hb = [0u8; HEADER_LEN + 4];
    r.read_exact(&mut hb).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => Error::corrupt("object", "truncated header"),
        _ => Error::Io {
            context: "reading an object",
            source: e,
        },
    })?;
    let header = Header::parse(&hb[..HEADER_LEN])?;
    let len = u32::from_be_bytes(hb[HEADER_LEN..].try_into().expect("4 bytes")) as usize;
    if len > MAX_RECORD_LEN {
        return Err(Error::corrupt("object", "key record too long"));
    }
    let mut rec = vec![0u8; len];
    r.read_exact(&mut rec).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => Error::corrupt("object", "truncated key record"),
        _ => Error::Io {
            context: "reading an object",
            source: e,
        },
    })?;
    Ok(Prefix {
        header,
        record: KeyRecord::parse(&rec)?,
        stream_offset: (HEADER_LEN + 4 + len) as u64,
    })
}

/// Unwraps the DEK of `record` with the vault's keys and checks it against
/// the header's commitment. Returns the derived file keys and the DEK.
pub fn unwrap(
    keys: &UnlockedKeys,
    vault_id: &[u8; 16],
    header: &Header,
    record: &KeyRecord,
) -> Result<(FileKeys, Key32)> {
    let sk = keys
        .version_key(record.key_version)
        .ok_or(Error::DecryptionFailed)?;
    let aad = dek_aad(header, record.key_version);
    let dek = match record.wrap {
        DekWrap::Hpke => wrap::open(
            sk,
            &record.enc,
            &dek_info(vault_id),
            &aad,
            &record.wrapped_dek,
        )?,
        DekWrap::VersionKey => primitives::open(
            &version_wrap_key(
                keys.version_wrap_secret(record.key_version)
                    .ok_or(Error::DecryptionFailed)?,
                &record.enc,
            ),
            &VERSION_WRAP_NONCE,
            &aad,
            &record.wrapped_dek,
        )?,
    };
    let dek = Key32::from_slice(&dek).ok_or(Error::DecryptionFailed)?;
    let fk = FileKeys::derive_checked(&dek, header)?;
    Ok((fk, dek))
}

/// Decrypts and parses the metadata of `record`.
pub fn open_metadata(keys: &FileKeys, header: &Header, record: &KeyRecord) -> Result<Metadata> {
    let pt = primitives::open(
        &keys.metadata,
        &record.meta_nonce,
        &header.to_bytes(),
        &record.meta_ct,
    )?;
    Metadata::parse(&pt)
}

/// Decrypts the chunk stream that follows the prefix.
pub fn decrypt_stream(
    keys: &FileKeys,
    header: &Header,
    input: impl Read,
    output: impl Write + Send,
) -> Result<u64> {
    stream::decrypt(&keys.payload, &header.to_bytes(), input, output)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{NewSlot, VaultConfig};

    #[test]
    fn object_round_trip_and_wrong_version() {
        let (mut cfg, mut keys) = VaultConfig::create();
        cfg.add_slot(&keys, NewSlot::Recovery(&Key32::random()))
            .unwrap();
        let (v, pk) = cfg.current_public_key();
        let target = WrapTarget {
            vault_id: *cfg.vault_id(),
            key_version: v,
            public_key: pk,
        };
        let meta = Metadata {
            path: "a/b.txt".into(),
            size: 5,
            mtime_ns: 1,
            mode: 0o600,
            added_ns: 2,
        };
        let s = Sealed::new(&target, None, &meta).unwrap();
        let mut obj = Vec::new();
        s.write(&b"hello"[..], &mut obj).unwrap();
        let p = read_prefix(&obj[..]).unwrap();
        let (fk, _) = unwrap(&keys, cfg.vault_id(), &p.header, &p.record).unwrap();
        assert_eq!(open_metadata(&fk, &p.header, &p.record).unwrap(), meta);
        let mut out = Vec::new();
        decrypt_stream(&fk, &p.header, &obj[p.stream_offset as usize..], &mut out).unwrap();
        assert_eq!(out, b"hello");

        // Relabelling the record's key version breaks the wrap.
        cfg.add_key_version(&mut keys);
        let mut r = p.record.clone();
        r.key_version = 2;
        assert!(unwrap(&keys, cfg.vault_id(), &p.header, &r).is_err());
    }

    #[test]
    fn version_key_rewrap_opens_only_under_its_version_and_header() {
        let (mut cfg, mut keys) = VaultConfig::create();
        let (v1, pk) = cfg.current_public_key();
        let vault_id = *cfg.vault_id();
        let target = WrapTarget {
            vault_id,
            key_version: v1,
            public_key: pk,
        };
        let meta = Metadata {
            path: "a.txt".into(),
            size: 0,
            mtime_ns: 1,
            mode: 0o600,
            added_ns: 2,
        };
        let s = Sealed::new(&target, None, &meta).unwrap();
        let v2 = cfg.add_key_version(&mut keys);
        let r = rewrap_record(&keys, v2, &s.header, &s.dek, &s.record).unwrap();
        assert_eq!((r.wrap, r.key_version), (DekWrap::VersionKey, v2));
        assert_eq!(
            (&r.meta_nonce, &r.meta_ct),
            (&s.record.meta_nonce, &s.record.meta_ct)
        );
        let parsed = KeyRecord::parse(&r.to_bytes()).unwrap();
        let (fk, dek) = unwrap(&keys, &vault_id, &s.header, &parsed).unwrap();
        assert_eq!(dek.expose(), s.dek.expose());
        assert_eq!(open_metadata(&fk, &s.header, &parsed).unwrap(), meta);

        // Two wraps of the same DEK share no key: the salt is fresh.
        let again = rewrap_record(&keys, v2, &s.header, &s.dek, &s.record).unwrap();
        assert_ne!(again.enc, r.enc);
        assert_ne!(again.wrapped_dek, r.wrapped_dek);

        fn refused(keys: &UnlockedKeys, rec: &KeyRecord, header: &Header, id: &[u8; 16]) -> bool {
            matches!(unwrap(keys, id, header, rec), Err(Error::DecryptionFailed))
        }
        let mut salt = r.clone();
        salt.enc[0] ^= 1;
        assert!(refused(&keys, &salt, &s.header, &vault_id), "salt");
        let mut ct = r.clone();
        ct.wrapped_dek[47] ^= 1;
        assert!(refused(&keys, &ct, &s.header, &vault_id), "ciphertext");
        let mut relabelled = r.clone();
        relabelled.key_version = v1;
        assert!(
            refused(&keys, &relabelled, &s.header, &vault_id),
            "key version"
        );
        let mut as_hpke = r.clone();
        as_hpke.wrap = DekWrap::Hpke;
        assert!(refused(&keys, &as_hpke, &s.header, &vault_id), "wrap kind");
        let other = Sealed::new(&target, None, &meta).unwrap();
        assert!(
            refused(&keys, &r, &other.header, &vault_id),
            "another object"
        );
        // Another vault's key version of the same number: other secrets.
        let (mut other_cfg, mut other_keys) = VaultConfig::create();
        other_cfg.add_key_version(&mut other_keys);
        assert!(
            refused(&other_keys, &r, &s.header, other_cfg.vault_id()),
            "another vault"
        );

        // Destroying the version destroys what it wrapped.
        cfg.add_key_version(&mut keys);
        cfg.remove_key_version(&mut keys, v2).unwrap();
        assert!(
            refused(&keys, &r, &s.header, &vault_id),
            "destroyed version"
        );
    }
}
