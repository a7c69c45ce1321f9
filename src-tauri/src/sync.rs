//! The one locking helper every room uses.

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, recovering from a panic in another command (the data
/// behind these mutexes stays consistent: each write is one assignment).
pub(crate) fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
