//! The OS random source, the one place keys and nonces come from.

/// Fills `buf` from the OS CSPRNG. Panics only if the OS has no randomness,
/// in which case no key could be made safely.
pub fn fill_random(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random source failed");
}

/// `N` random bytes.
pub fn random_array<const N: usize>() -> [u8; N] {
    let mut a = [0u8; N];
    fill_random(&mut a);
    a
}
