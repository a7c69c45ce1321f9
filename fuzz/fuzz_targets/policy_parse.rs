//! `policy::Policy::parse` over arbitrary text (`/etc/coffer/policy.toml`,
//! written by IT but read by every Coffer process): never panics, and an
//! accepted policy answers every question the vault asks of it.
#![no_main]

use std::path::Path;

use coffer_core::config::SlotKind;
use coffer_core::policy::Policy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = Policy::parse(text) {
        let floor = p.kdf_floor();
        assert!(floor.check(&coffer_core::kdf::Argon2Params::FLOOR).is_ok());
        for k in [
            SlotKind::Passphrase,
            SlotKind::Keychain,
            SlotKind::Recovery,
            SlotKind::Escrow,
        ] {
            let _ = p.allows(k);
        }
        let _ = p.escrow_key();
        let home = Path::new("/home/fuzz");
        for f in p.mandatory_folders(home) {
            assert!(f.starts_with("/"), "mandatory folders are absolute");
        }
        let _ = p.check_extract(Path::new("/home/fuzz/Desktop/x"), home);
    }
});
