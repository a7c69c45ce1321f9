//! Fixtures shared by the fuzz targets and the corpus generator
//! (`examples/gen_corpus.rs`): fixed keys and headers, so the committed
//! seeds are valid for the targets that read them, and the input layout of
//! the `stream_tamper` target.

use coffer_core::format::{CHUNK_SIZE, FileId, HEADER_LEN, Header};
use coffer_core::secret::Key32;

/// Payload key of the `stream_*` targets.
pub const STREAM_KEY: [u8; 32] = *b"coffer-fuzz/stream-payload-key!!";

/// The key as coffer-core wants it.
pub fn stream_key() -> Key32 {
    Key32::from_bytes(STREAM_KEY)
}

/// The 92-byte header (chunk AAD) of the `stream_*` targets: a well-formed
/// object header with fixed id, salt and commitment.
pub fn stream_header() -> [u8; HEADER_LEN] {
    Header {
        file_id: FileId(*b"coffer-fuzz-fid!"),
        salt: [0x5a; 32],
        commitment: [0xc3; 32],
    }
    .to_bytes()
}

/// Index key of the `vault_open_index` target.
pub const INDEX_KEY: [u8; 32] = *b"coffer-fuzz/index-key-0123456789";
/// Vault id of the `vault_open_index` target.
pub const VAULT_ID: [u8; 16] = *b"coffer-fuzz-vid!";

/// Largest plaintext `stream_tamper` encrypts: three full chunks and one
/// byte, so every chunk-boundary case (empty, short, exact, one over,
/// several chunks) is reachable without slowing the fuzzer down.
pub const MAX_TAMPER_PLAINTEXT: usize = 3 * CHUNK_SIZE + 1;

/// Bytes of `stream_tamper` input before the plaintext fill.
pub const TAMPER_PREFIX_LEN: usize = 1 + 4 + 1 + 3;

/// How `stream_tamper` alters the encrypted stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// XOR one byte of `header ‖ ciphertext` with `byte` (0 is a no-op).
    Xor,
    /// Cut the ciphertext at `pos` (a no-op at its full length).
    Truncate,
    /// Insert `byte` into the ciphertext at `pos`.
    Insert,
    /// Delete the ciphertext byte at `pos`.
    Delete,
}

impl Mutation {
    fn from_byte(b: u8) -> Self {
        match b % 4 {
            0 => Mutation::Xor,
            1 => Mutation::Truncate,
            2 => Mutation::Insert,
            _ => Mutation::Delete,
        }
    }

    fn to_byte(self) -> u8 {
        match self {
            Mutation::Xor => 0,
            Mutation::Truncate => 1,
            Mutation::Insert => 2,
            Mutation::Delete => 3,
        }
    }
}

/// One `stream_tamper` case. Input layout:
/// `mutation (1) ‖ LE32 pos ‖ byte (1) ‖ LE24 plaintext length ‖ fill`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tamper<'a> {
    /// What to do to the stream.
    pub mutation: Mutation,
    /// Where (reduced modulo the length of what is mutated).
    pub pos: u32,
    /// The XOR mask or the inserted byte.
    pub byte: u8,
    /// Plaintext length (reduced modulo `MAX_TAMPER_PLAINTEXT + 1`).
    pub len: usize,
    /// Plaintext bytes, repeated to `len` (a fixed pattern when empty).
    pub fill: &'a [u8],
}

impl<'a> Tamper<'a> {
    /// Splits fuzzer input into a case; `None` if it is too short.
    pub fn parse(data: &'a [u8]) -> Option<Self> {
        if data.len() < TAMPER_PREFIX_LEN {
            return None;
        }
        let len = u32::from_le_bytes([data[6], data[7], data[8], 0]) as usize;
        Some(Tamper {
            mutation: Mutation::from_byte(data[0]),
            pos: u32::from_le_bytes([data[1], data[2], data[3], data[4]]),
            byte: data[5],
            len: len % (MAX_TAMPER_PLAINTEXT + 1),
            fill: &data[TAMPER_PREFIX_LEN..],
        })
    }

    /// The input bytes that parse back to `self` (for seeds).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = vec![self.mutation.to_byte()];
        b.extend_from_slice(&self.pos.to_le_bytes());
        b.push(self.byte);
        b.extend_from_slice(&(self.len as u32).to_le_bytes()[..3]);
        b.extend_from_slice(self.fill);
        b
    }

    /// The plaintext to encrypt.
    pub fn plaintext(&self) -> Vec<u8> {
        if self.fill.is_empty() {
            (0..self.len).map(|i| (i * 31 % 251) as u8).collect()
        } else {
            self.fill.iter().copied().cycle().take(self.len).collect()
        }
    }

    /// Applies the mutation to a stream's header and ciphertext. Returns
    /// whether anything changed.
    pub fn apply(&self, header: &mut [u8; HEADER_LEN], ct: &mut Vec<u8>) -> bool {
        let pos = self.pos as usize;
        match self.mutation {
            Mutation::Xor => {
                let at = pos % (HEADER_LEN + ct.len());
                if at < HEADER_LEN {
                    header[at] ^= self.byte;
                } else {
                    ct[at - HEADER_LEN] ^= self.byte;
                }
                self.byte != 0
            }
            Mutation::Truncate => {
                let before = ct.len();
                ct.truncate(pos % (before + 1));
                ct.len() != before
            }
            Mutation::Insert => {
                ct.insert(pos % (ct.len() + 1), self.byte);
                true
            }
            Mutation::Delete => {
                if ct.is_empty() {
                    return false;
                }
                ct.remove(pos % ct.len());
                true
            }
        }
    }
}
