//! EME-OAEP decoding (RFC 8017 §7.1.2, steps 3a–3g) with SHA-256,
//! MGF1-SHA-256 and the empty label, for tokens that decrypt OAEP with
//! SHA-1 only (SoftHSM2 before 2.7, some older HSMs): the token performs
//! the raw RSA operation (`CKM_RSA_X_509`) with its non-extractable key,
//! and the padding is checked here, on IT's machine. Every check is
//! folded into one verdict so no step's outcome is told apart.

use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

const H: usize = 32;

/// MGF1 with SHA-256 (RFC 8017 B.2.1), XORed into `out`.
fn mgf1_xor(seed: &[u8], out: &mut [u8]) {
    for (counter, chunk) in out.chunks_mut(H).enumerate() {
        let mut h = Sha256::new();
        h.update(seed);
        h.update((counter as u32).to_be_bytes());
        for (o, m) in chunk.iter_mut().zip(h.finalize()) {
            *o ^= m;
        }
    }
}

/// The message inside `em` (the raw RSA output, left-padded to `k`
/// bytes), or None when it is not a valid OAEP-SHA-256 encoding.
pub fn decode(em: &[u8], k: usize) -> Option<Zeroizing<Vec<u8>>> {
    if em.len() > k || k < 2 * H + 2 {
        return None;
    }
    let mut buf = Zeroizing::new(vec![0u8; k]);
    buf[k - em.len()..].copy_from_slice(em);
    let (y, rest) = buf.split_at_mut(1);
    let (seed, db) = rest.split_at_mut(H);
    mgf1_xor(db, seed);
    mgf1_xor(seed, db);
    let l_hash = Sha256::digest(b"");
    let mut good = y[0].ct_eq(&0) & db[..H].ct_eq(&l_hash[..]);
    // Find the 0x01 after the zero padding without branching on secrets.
    let mut looking = Choice::from(1);
    let mut index = 0u32;
    let mut bad_pad = Choice::from(0);
    for (i, b) in db[H..].iter().enumerate() {
        let is_one = b.ct_eq(&1);
        let is_zero = b.ct_eq(&0);
        let found = looking & is_one;
        index.conditional_assign(&(i as u32), found);
        bad_pad |= looking & !is_one & !is_zero;
        looking &= !is_one;
    }
    good &= !looking & !bad_pad;
    if bool::from(good) {
        Some(Zeroizing::new(db[H + index as usize + 1..].to_vec()))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// EME-OAEP encoding (RFC 8017 §7.1.1 step 2) with a fixed seed.
    fn encode(m: &[u8], k: usize, seed: [u8; H]) -> Vec<u8> {
        let mut db = Sha256::digest(b"").to_vec();
        db.resize(k - m.len() - H - 2, 0);
        db.push(1);
        db.extend_from_slice(m);
        let mut seed = seed.to_vec();
        mgf1_xor(&seed, &mut db);
        mgf1_xor(&db, &mut seed);
        [vec![0], seed, db].concat()
    }

    #[test]
    fn decodes_and_refuses_every_tampering() {
        let m = [0x5au8; 32];
        let em = encode(&m, 384, [3; H]);
        assert_eq!(&decode(&em, 384).unwrap()[..], &m);
        // A raw result without its leading zero byte is left-padded.
        assert_eq!(&decode(&em[1..], 384).unwrap()[..], &m);
        for i in 0..em.len() {
            let mut bad = em.clone();
            bad[i] ^= 0x80;
            assert!(decode(&bad, 384).is_none(), "byte {i}");
        }
        assert!(decode(&em, 383).is_none());
        assert!(decode(&[0; 384], 384).is_none());
        assert_eq!(decode(&encode(b"", 512, [9; H]), 512).unwrap().len(), 0);
    }
}
