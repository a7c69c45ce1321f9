//! The vault's config changed behind an unlocked handle's back: never
//! taken in and re-signed (docs/FORMAT.md §4.5).

mod common;

use coffer_core::Error;
use coffer_core::config::NewSlot;
use coffer_core::secret::Key32;

#[test]
fn a_config_swapped_behind_an_unlocked_handle_is_refused_not_re_signed() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("vault");
    let mut v = common::new_vault(&dir);
    let other = common::new_vault(&d.path().join("other"));
    // The attacker swaps the public key while the app holds the vault
    // unlocked (for hours, or during a rotation's scan).
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("vault.json")).unwrap()).unwrap();
    let theirs: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path().join("other/vault.json")).unwrap()).unwrap();
    cfg["key_versions"][0]["public_key"] = theirs["key_versions"][0]["public_key"].clone();
    let swapped = serde_json::to_vec_pretty(&cfg).unwrap();
    std::fs::write(dir.join("vault.json"), &swapped).unwrap();
    drop(other);
    // Any change the user makes now re-reads the config first.
    let r = v.add_slot(NewSlot::Recovery(&Key32::random()));
    assert!(matches!(r, Err(Error::Tampered { .. })), "{r:?}");
    assert_eq!(
        std::fs::read(dir.join("vault.json")).unwrap(),
        swapped,
        "the swapped config was not re-signed"
    );
    let r = v.reload_config();
    assert!(matches!(r, Err(Error::Tampered { .. })), "{r:?}");
}
