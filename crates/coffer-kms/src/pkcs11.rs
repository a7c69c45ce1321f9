//! A PKCS#11 token or HSM (SoftHSM2 in the tests): an RSA key pair whose
//! private key is sensitive and never extractable, found by the token's
//! label and the key's label (`CKA_LABEL`). Decryption is
//! `CKM_RSA_PKCS_OAEP` with `CKM_SHA256`, `CKG_MGF1_SHA256` and no
//! label; a token that refuses those parameters (SoftHSM2 before 2.7 does
//! OAEP with SHA-1 only) is asked for the raw RSA operation instead and
//! the padding is checked on this machine (`oaep.rs`). PKCS#11 has no key versions: each version of the organisation
//! key is its own key pair under its own label, and the policy's version
//! number is IT's own.

use std::path::PathBuf;

use coffer_core::crypto::rsa_oaep::OrgRsaKey;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as PError, RvError};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use rsa::pkcs8::EncodePublicKey;
use zeroize::Zeroizing;

use crate::{KmsError, OrgKeyStore};

/// Where the key is.
pub struct Pkcs11Options {
    /// The PKCS#11 module (`/usr/lib/softhsm/libsofthsm2.so`, the HSM
    /// vendor's library).
    pub module: PathBuf,
    /// The token's label.
    pub token_label: String,
    /// The key pair's label.
    pub key_label: String,
    /// The user PIN.
    pub pin: Zeroizing<String>,
}

/// A logged-in session on the token that holds the key.
pub struct Pkcs11Store {
    key_label: String,
    session: Session,
    // Dropped after the session (field order), which logs out and closes.
    _ctx: Pkcs11,
}

impl Pkcs11Store {
    /// Loads the module, finds the token and logs in.
    pub fn open(opts: Pkcs11Options) -> Result<Self, KmsError> {
        let ctx = Pkcs11::new(&opts.module).map_err(|e| {
            KmsError::Token(format!(
                "cannot load the module {}: {e}",
                opts.module.display()
            ))
        })?;
        ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .map_err(token_err)?;
        let mut found = None;
        for slot in ctx.get_slots_with_token().map_err(token_err)? {
            let info = ctx.get_token_info(slot).map_err(token_err)?;
            if info.label().trim_end() == opts.token_label {
                found = Some(slot);
                break;
            }
        }
        let slot = found
            .ok_or_else(|| KmsError::Token(format!("no token labelled {:?}", opts.token_label)))?;
        let session = ctx.open_ro_session(slot).map_err(token_err)?;
        let pin = AuthPin::from(opts.pin.as_str().to_owned());
        match session.login(UserType::User, Some(&pin)) {
            Ok(()) | Err(PError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(PError::Pkcs11(
                RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange,
                _,
            )) => return Err(KmsError::Denied),
            Err(PError::Pkcs11(RvError::PinLocked, _)) => {
                return Err(KmsError::Token(
                    "the PIN is locked after too many wrong tries; the token's SO must unlock it"
                        .into(),
                ));
            }
            Err(e) => return Err(token_err(e)),
        }
        Ok(Pkcs11Store {
            key_label: opts.key_label,
            session,
            _ctx: ctx,
        })
    }

    fn find(&self, class: ObjectClass) -> Result<ObjectHandle, KmsError> {
        let found = self
            .session
            .find_objects(&[
                Attribute::Class(class),
                Attribute::KeyType(cryptoki::object::KeyType::RSA),
                Attribute::Label(self.key_label.as_bytes().to_vec()),
            ])
            .map_err(token_err)?;
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(KmsError::KeyNotFound(format!(
                "RSA key labelled {:?} on the token",
                self.key_label
            ))),
            _ => Err(KmsError::Token(format!(
                "more than one RSA key is labelled {:?}; give each version its own label",
                self.key_label
            ))),
        }
    }
}

impl OrgKeyStore for Pkcs11Store {
    fn key_name(&self) -> &str {
        &self.key_label
    }

    fn has_versions(&self) -> bool {
        false
    }

    fn latest_version(&self) -> Result<Option<u32>, KmsError> {
        Ok(None)
    }

    fn public_key(&self, _version: u32) -> Result<OrgRsaKey, KmsError> {
        let h = self.find(ObjectClass::PUBLIC_KEY)?;
        let attrs = self
            .session
            .get_attributes(h, &[AttributeType::Modulus, AttributeType::PublicExponent])
            .map_err(token_err)?;
        let (mut n, mut e) = (None, None);
        for a in attrs {
            match a {
                Attribute::Modulus(v) => n = Some(v),
                Attribute::PublicExponent(v) => e = Some(v),
                _ => {}
            }
        }
        let (n, e) = n.zip(e).ok_or_else(|| {
            KmsError::Protocol("the public key has no modulus or exponent".into())
        })?;
        let bad = || KmsError::Protocol("the token's public key is not a usable RSA key".into());
        let n = rsa::BoxedUint::from_be_slice_vartime(&n);
        let e = rsa::BoxedUint::from_be_slice_vartime(&e);
        let key = rsa::PublicKey::new(n, e).map_err(|_| bad())?;
        let der = key.to_public_key_der().map_err(|_| bad())?;
        OrgRsaKey::from_der(der.as_bytes()).map_err(|e| KmsError::Protocol(e.to_string()))
    }

    fn decrypt(&self, _version: u32, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        let h = self.find(ObjectClass::PRIVATE_KEY)?;
        let params = PkcsOaepParams::new(
            MechanismType::SHA256,
            PkcsMgfType::MGF1_SHA256,
            PkcsOaepSource::empty(),
        );
        let raw = match self
            .session
            .decrypt(&Mechanism::RsaPkcsOaep(params), h, ciphertext)
        {
            Ok(v) => return Ok(Zeroizing::new(v)),
            // The token does OAEP with SHA-1 only (SoftHSM2 < 2.7): raw RSA
            // on the token, the OAEP-SHA-256 padding checked here.
            Err(PError::Pkcs11(
                RvError::ArgumentsBad | RvError::MechanismParamInvalid | RvError::MechanismInvalid,
                _,
            )) => self
                .session
                .decrypt(&Mechanism::RsaX509, h, ciphertext)
                .map(Zeroizing::new),
            Err(e) => Err(e),
        };
        match raw {
            Ok(em) => crate::oaep::decode(&em, ciphertext.len()).ok_or(KmsError::DecryptFailed),
            Err(PError::Pkcs11(
                RvError::EncryptedDataInvalid | RvError::EncryptedDataLenRange,
                _,
            )) => Err(KmsError::DecryptFailed),
            Err(PError::Pkcs11(RvError::UserNotLoggedIn, _)) => Err(KmsError::Denied),
            Err(e) => Err(token_err(e)),
        }
    }
}

fn token_err(e: PError) -> KmsError {
    KmsError::Token(e.to_string())
}
