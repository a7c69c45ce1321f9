//! The words for Coffer's own folders: which one, and how another folder
//! stands to it. Kept apart from [`crate::own_folders`] so that the error
//! type can name them without depending on where the folders are.

/// Which of Coffer's folders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnKind {
    /// The vault.
    Vault,
    /// Coffer's data folder (holds the default vault).
    Data,
    /// Coffer's settings folder.
    Config,
    /// Coffer's cache folder.
    Cache,
    /// The app's working area, where opened files are decrypted.
    WorkArea,
    /// A folder the audit trail is shipped to.
    AuditSink,
    /// The organisation policy's folder.
    Policy,
}

impl OwnKind {
    /// For messages.
    pub fn describe(self) -> &'static str {
        match self {
            OwnKind::Vault => "the vault",
            OwnKind::Data => "Coffer's data folder",
            OwnKind::Config => "Coffer's settings folder",
            OwnKind::Cache => "Coffer's cache folder",
            OwnKind::WorkArea => "the app's working area",
            OwnKind::AuditSink => "a folder the audit trail is shipped to",
            OwnKind::Policy => "the organisation policy's folder",
        }
    }
}

/// How a folder stands to one of Coffer's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    /// It is that folder.
    Is,
    /// It holds that folder.
    Contains,
    /// It lies inside that folder.
    Inside,
}

impl Relation {
    /// For messages.
    pub fn describe(self) -> &'static str {
        match self {
            Relation::Is => "is",
            Relation::Contains => "contains",
            Relation::Inside => "lies inside",
        }
    }
}
