//! Argon2id passphrase stretching, with the bounds we accept.

use serde::{Deserialize, Serialize};

use crate::crypto::secret::{Key32, Passphrase};
use crate::error::{Error, Result};

/// Argon2id cost parameters of a passphrase slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes over memory.
    pub t: u32,
    /// Lanes (threads).
    pub p: u32,
}

impl Argon2Params {
    /// Coffer's default: 256 MiB, 3 passes, 4 lanes (~0.5 s on a 2-core laptop).
    pub const DEFAULT: Argon2Params = Argon2Params {
        m_kib: 256 * 1024,
        t: 3,
        p: 4,
    };

    /// The weakest we ever accept, whatever a config says (OWASP's minimum
    /// for Argon2id: 19 MiB, t = 2).
    pub const FLOOR: Argon2Params = Argon2Params {
        m_kib: 19 * 1024,
        t: 2,
        p: 1,
    };

    /// The costliest we accept from a config, so a hostile one cannot make
    /// unlock exhaust memory or hang: 2 GiB, 16 passes, 16 lanes; and
    /// memory × passes over every passphrase slot is bounded too
    /// (`config::MAX_UNLOCK_WORK_KIB`).
    pub const CAP: Argon2Params = Argon2Params {
        m_kib: 2 * 1024 * 1024,
        t: 16,
        p: 16,
    };

    /// Refuses parameters outside `[floor, CAP]`.
    pub fn check(&self, floor: &Argon2Params) -> Result<()> {
        let Argon2Params { m_kib, t, p } = *self;
        if m_kib > Self::CAP.m_kib || t > Self::CAP.t || p > Self::CAP.p {
            return Err(Error::KdfParams(format!(
                "m={m_kib} KiB, t={t}, p={p} exceed the cap of m={} KiB, t={}, p={}",
                Self::CAP.m_kib,
                Self::CAP.t,
                Self::CAP.p
            )));
        }
        if m_kib < floor.m_kib || t < floor.t || p < floor.p {
            return Err(Error::KdfParams(format!(
                "m={m_kib} KiB, t={t}, p={p} are below the minimum of m={} KiB, t={}, p={}",
                floor.m_kib, floor.t, floor.p
            )));
        }
        if m_kib < 8 * p {
            return Err(Error::KdfParams(
                "memory must be at least 8 KiB per lane".into(),
            ));
        }
        Ok(())
    }

    /// `self`, raised where it is below `floor` (e.g. a policy's minimum).
    pub fn raised_to(self, floor: &Argon2Params) -> Argon2Params {
        Argon2Params {
            m_kib: self.m_kib.max(floor.m_kib),
            t: self.t.max(floor.t),
            p: self.p.max(floor.p),
        }
    }

    /// Whether `self` is at least as costly as `other` in every parameter.
    pub fn at_least(&self, other: &Argon2Params) -> bool {
        self.m_kib >= other.m_kib && self.t >= other.t && self.p >= other.p
    }
}

/// Argon2id (RFC 9106, version 0x13) of `passphrase` with `salt` into a
/// 32-byte key. Parameters must already have passed [`Argon2Params::check`].
pub fn argon2id(passphrase: &Passphrase, salt: &[u8], params: &Argon2Params) -> Result<Key32> {
    let p = argon2::Params::new(params.m_kib, params.t, params.p, Some(32))
        .map_err(|e| Error::KdfParams(e.to_string()))?;
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p);
    let mut out = [0u8; 32];
    a.hash_password_into(passphrase.expose(), salt, &mut out)
        .map_err(|e| Error::KdfParams(e.to_string()))?;
    let k = Key32::from_bytes(out);
    zeroize::Zeroize::zeroize(&mut out);
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert!(Argon2Params::DEFAULT.check(&Argon2Params::FLOOR).is_ok());
        let mut big = Argon2Params::DEFAULT;
        big.m_kib = u32::MAX;
        assert!(big.check(&Argon2Params::FLOOR).is_err());
        let weak = Argon2Params {
            m_kib: 1024,
            t: 1,
            p: 1,
        };
        assert!(weak.check(&Argon2Params::FLOOR).is_err());
    }
}
