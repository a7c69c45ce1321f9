//! The Unlock screen: creating the vault, unlocking it (passphrase or
//! keychain), recovering with the recovery key; and locking it again.

use coffer_core::config::{Credential, NewSlot, SlotKind};
use coffer_core::secret::{Key32, Passphrase};
use coffer_core::vault::{CreateOptions, Vault};
use serde::Serialize;

use crate::error::CmdResult;
use crate::glue::{AppCore, Core, blocking, enrol_err, keychain_err};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryKey {
    pub(super) recovery_key: String,
    /// Why unlocking with the computer's keychain was not set up, when it
    /// was asked for and failed: the vault and its recovery key stand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) keychain_error: Option<String>,
}

#[tauri::command]
pub async fn create_vault(
    core: Core<'_>,
    passphrase: String,
    with_keychain: bool,
) -> CmdResult<RecoveryKey> {
    let core = core.inner().clone();
    blocking(move || {
        let pass = Passphrase::new(passphrase);
        let kc = with_keychain.then(Key32::random);
        let mut created = Vault::create(
            &core.vault_dir,
            CreateOptions {
                passphrase: &pass,
                kdf: core.policy()?.policy.kdf_default(),
                keychain_secret: kc.as_ref(),
                escrow: None,
            },
        )?;
        // The recovery key exists only here: a keychain failure travels
        // with it, never instead of it (the keychain slot is rolled back).
        let keychain_error = kc.as_ref().and_then(|k| {
            coffer_keychain::adopt(&mut created.vault, k)
                .err()
                .map(|e| enrol_err(e).message)
        });
        let rk = created.recovery_key.to_string();
        core.set_unlocked(created.vault);
        crate::platform::start_watcher(&core);
        Ok(RecoveryKey {
            recovery_key: rk,
            keychain_error,
        })
    })
    .await
}

fn unlock_with(
    core: &AppCore,
    cred: impl FnOnce(&Vault) -> CmdResult<Credential2>,
) -> CmdResult<()> {
    let mut v = core.open_vault()?;
    match cred(&v)? {
        Credential2::Passphrase(p) => v.unlock(&Credential::Passphrase(&p))?,
        Credential2::Keychain(k) => v.unlock(&Credential::Keychain(&k))?,
    };
    announce_pending_rotation(core, &v);
    core.set_unlocked(v);
    core.emit("files-changed", ());
    Ok(())
}

/// After an unlock: an interrupted rotation is announced so the UI resumes
/// it (it needs the unlocked keys and nothing else).
fn announce_pending_rotation(core: &AppCore, v: &Vault) {
    if v.config().rotation.is_some() {
        core.emit("rotation-pending", ());
    }
}

enum Credential2 {
    Passphrase(Passphrase),
    Keychain(Key32),
}

#[tauri::command]
pub async fn unlock(core: Core<'_>, passphrase: String) -> CmdResult<()> {
    let core = core.inner().clone();
    blocking(move || {
        unlock_with(&core, |_| {
            Ok(Credential2::Passphrase(Passphrase::new(passphrase)))
        })?;
        crate::platform::rearm_watcher(&core);
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn unlock_with_keychain(core: Core<'_>) -> CmdResult<()> {
    let core = core.inner().clone();
    blocking(move || {
        unlock_with(&core, |v| {
            coffer_keychain::load_for(v)
                .map(Credential2::Keychain)
                .map_err(keychain_err)
        })?;
        crate::platform::rearm_watcher(&core);
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn recover(
    core: Core<'_>,
    recovery_key: String,
    new_passphrase: String,
) -> CmdResult<()> {
    let core = core.inner().clone();
    blocking(move || {
        let rk = coffer_core::recovery::decode(&recovery_key)?;
        let mut v = core.open_vault()?;
        v.unlock(&Credential::Recovery(&rk))?;
        let p = Passphrase::new(new_passphrase);
        v.replace_slots(
            SlotKind::Passphrase,
            NewSlot::Passphrase(&p, v.policy().policy.kdf_default()),
        )?;
        core.set_unlocked(v);
        crate::platform::rearm_watcher(&core);
        Ok(())
    })
    .await
}

#[tauri::command]
pub fn lock(core: Core<'_>) {
    core.lock("manual");
}

#[tauri::command]
pub fn touch_activity(core: Core<'_>) {
    core.touch();
}
