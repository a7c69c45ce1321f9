//! `config::VaultConfig::parse` over arbitrary bytes (`vault.json`): never
//! panics; an accepted config keeps the promises `validate` makes to the
//! rest of the crate, and survives its own serialization.
#![no_main]

use coffer_core::config::{VaultConfig, WriterKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cfg) = VaultConfig::parse(data) {
        // `expect`s "validated: the current version exists".
        let (v, _) = cfg.current_public_key();
        assert_eq!(v, cfg.current_key_version);
        for s in &cfg.slots {
            let _ = (s.id_hex(), s.kind(), s.created());
        }
        let again = VaultConfig::parse(&cfg.to_bytes()).expect("own output parses");
        assert_eq!(again, cfg, "config round trip");
        // The MAC check (FORMAT.md §4.5) of any accepted config never
        // panics, and an unauthenticated (version 1) config is never
        // taken as verified.
        let verified = cfg.verify(&WriterKey::from_bytes([7; 32]));
        if !cfg.is_authenticated() {
            assert!(verified.is_err());
        }
        assert!(cfg.mac_input().starts_with(b"coffer/v2/config{"));
    }
});
