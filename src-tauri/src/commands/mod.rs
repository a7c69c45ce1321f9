//! The Tauri commands of docs/IPC.md, one file per screen of ui/src/screens
//! (the app shell's `app_state` sits with Home). Each command takes the
//! shared state, converts its input, makes one core call and maps its
//! error; long work runs on a blocking thread and reports progress over a
//! channel. Commands stand on the glue and the platform pieces; nothing
//! imports them but lib.rs.

pub(crate) mod audit;
pub(crate) mod files;
pub(crate) mod folders;
pub(crate) mod home;
pub(crate) mod keys;
pub(crate) mod settings;
pub(crate) mod unlock;
