//! The chunk stream: STREAM (Hoang, Reyhanitabar, Rogaway, Vizár 2015) over
//! AES-256-GCM with 64 KiB chunks. Nonce = 7 zero bytes ‖ BE32(chunk index)
//! ‖ last-flag (docs/FORMAT.md §3.1, §8 — the nonce layout of `aead-stream`'s
//! `StreamBE32`, which this module used before; the object vectors pin it).
//! The key is fresh per content instance, so the fixed prefix never
//! repeats a nonce. The AAD of every chunk is the object's 92-byte header.
//!
//! AES-256-GCM here is aws-lc-rs's, measured on the development machine
//! against the `aes-gcm` crate the rest of Coffer uses for its few small
//! messages (README, Performance; issue #18). Its expanded key lives in a
//! context aws-lc allocates, and aws-lc's `OPENSSL_free` cleanses every
//! allocation before freeing it, so the key schedule is wiped when the
//! key is dropped, as the rule for secrets wants (ring, as fast, does not
//! wipe it, and this crate forbids the `unsafe` that would).
//!
//! Chunks are sealed and opened in parallel in batches and written in order;
//! memory is bounded by the batch, not the file.

use std::io::{self, Read, Write};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use rayon::prelude::*;
use zeroize::Zeroizing;

use crate::crypto::secret::Key32;
use crate::error::{Error, IoContext, Result};
use crate::format::{CHUNK_OVERHEAD, CHUNK_SIZE, HEADER_LEN};

/// Chunks sealed or opened per parallel batch (2 MiB of plaintext).
const BATCH: usize = 32;

/// Pieces read in one go, and whether the last of them ends the input.
type Batch = (Vec<Zeroizing<Vec<u8>>>, bool);

/// A payload key expanded for AES-256-GCM.
struct ChunkKey(LessSafeKey);

impl ChunkKey {
    fn new(key: &Key32) -> Self {
        let k = UnboundKey::new(&AES_256_GCM, key.expose()).expect("a 32-byte AES-256 key");
        ChunkKey(LessSafeKey::new(k))
    }

    /// The STREAM nonce of chunk `index`.
    fn nonce(index: u32, last: bool) -> Nonce {
        let mut n = [0u8; 12];
        n[7..11].copy_from_slice(&index.to_be_bytes());
        n[11] = u8::from(last);
        Nonce::assume_unique_for_key(n)
    }

    /// Seals `buf` in place and appends the tag (room for it is reserved,
    /// so the buffer never moves and leaves no plaintext copy behind).
    fn seal(&self, index: u32, last: bool, header: &[u8; HEADER_LEN], buf: &mut Vec<u8>) {
        self.0
            .seal_in_place_append_tag(Self::nonce(index, last), Aad::from(&header[..]), buf)
            .expect("AES-GCM sealing a 64 KiB chunk cannot fail");
    }

    /// Opens `buf` in place and drops the tag.
    fn open(
        &self,
        index: u32,
        last: bool,
        header: &[u8; HEADER_LEN],
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let n = self
            .0
            .open_in_place(Self::nonce(index, last), Aad::from(&header[..]), buf)
            .map_err(|_| Error::DecryptionFailed)?
            .len();
        buf.truncate(n);
        Ok(())
    }
}

fn position(index: u64) -> Result<u32> {
    u32::try_from(index).map_err(|_| Error::Invalid("file too large (over 256 TiB)".into()))
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads chunk-sized pieces and knows which one is last by reading one ahead.
///
/// Buffers are recycled from batch to batch and zeroized once, when the
/// reader is dropped: allocating, clearing and zeroizing 64 KiB per chunk
/// cost as much as the encryption itself.
struct ChunkReader<R> {
    input: R,
    piece: usize,
    ahead: Option<Zeroizing<Vec<u8>>>,
    spare: Vec<Zeroizing<Vec<u8>>>,
    done: bool,
    first: bool,
}

impl<R: Read> ChunkReader<R> {
    fn new(input: R, piece: usize) -> Self {
        ChunkReader {
            input,
            piece,
            ahead: None,
            spare: Vec::new(),
            done: false,
            first: true,
        }
    }

    fn read_piece(&mut self, context: &'static str) -> Result<Zeroizing<Vec<u8>>> {
        let mut buf = self.spare.pop().unwrap_or_else(|| {
            // Room for the tag too, so sealing in place never reallocates
            // (a reallocation would leave a plaintext copy unzeroized).
            Zeroizing::new(Vec::with_capacity(self.piece + CHUNK_OVERHEAD))
        });
        buf.resize(self.piece, 0);
        let n = read_full(&mut self.input, &mut buf).ctx(context)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Takes a batch's buffers back for the next batch.
    fn recycle(&mut self, batch: Vec<Zeroizing<Vec<u8>>>) {
        self.spare.extend(batch);
    }

    /// Up to `BATCH` pieces and whether the last of them ends the input.
    /// An empty input yields one empty final piece.
    fn next_batch(&mut self, context: &'static str) -> Result<Option<Batch>> {
        if self.done {
            return Ok(None);
        }
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            let cur = match self.ahead.take() {
                Some(p) => p,
                None => self.read_piece(context)?,
            };
            if cur.is_empty() && !(self.first && batch.is_empty()) {
                // The input ended exactly on a piece boundary: the previous
                // piece was the last one.
                self.done = true;
                return Ok(Some((batch, true)));
            }
            self.first = false;
            let short = cur.len() < self.piece;
            batch.push(cur);
            if short {
                self.done = true;
                return Ok(Some((batch, true)));
            }
            if batch.len() == BATCH {
                let next = self.read_piece(context)?;
                let last = next.is_empty();
                self.done = last;
                self.ahead = Some(next);
                return Ok(Some((batch, last)));
            }
        }
    }
}

/// Encrypts `input` into `output` as a chunk stream under `payload_key`,
/// binding `header` into every chunk. Returns the plaintext length.
pub fn encrypt(
    payload_key: &Key32,
    header: &[u8; HEADER_LEN],
    input: impl Read,
    mut output: impl Write,
) -> Result<u64> {
    let key = ChunkKey::new(payload_key);
    let mut reader = ChunkReader::new(input, CHUNK_SIZE);
    let mut index: u64 = 0;
    let mut total: u64 = 0;
    while let Some((mut batch, ends)) = reader.next_batch("reading the file to encrypt")? {
        let n = batch.len();
        let base = index;
        position(base + n as u64 - 1)?;
        let seal = |(i, buf): (usize, &mut Zeroizing<Vec<u8>>)| {
            let last = ends && i == n - 1;
            debug_assert!(buf.capacity() >= buf.len() + CHUNK_OVERHEAD);
            key.seal((base + i as u64) as u32, last, header, buf);
        };
        if n > 1 {
            batch.par_iter_mut().enumerate().for_each(seal);
        } else {
            batch.iter_mut().enumerate().for_each(seal);
        }
        for buf in &batch {
            total += (buf.len() - CHUNK_OVERHEAD) as u64;
            output.write_all(buf).ctx("writing ciphertext")?;
        }
        reader.recycle(batch);
        index += n as u64;
    }
    Ok(total)
}

/// Decrypts a chunk stream from `input` into `output`. Only authenticated
/// plaintext is written, and nothing from the first failing batch on; a
/// stream that ends early, runs on past its last chunk, or has any chunk
/// altered, moved or swapped is [`Error::DecryptionFailed`]. Returns the
/// plaintext length.
pub fn decrypt(
    payload_key: &Key32,
    header: &[u8; HEADER_LEN],
    input: impl Read,
    mut output: impl Write,
) -> Result<u64> {
    let key = ChunkKey::new(payload_key);
    let mut reader = ChunkReader::new(input, CHUNK_SIZE + CHUNK_OVERHEAD);
    let mut index: u64 = 0;
    let mut total: u64 = 0;
    while let Some((mut batch, ends)) = reader.next_batch("reading ciphertext")? {
        let n = batch.len();
        let base = index;
        position(base + n as u64 - 1)?;
        let open = |(i, buf): (usize, &mut Zeroizing<Vec<u8>>)| -> Result<()> {
            let last = ends && i == n - 1;
            // Canonical encoding: only an empty file has an empty chunk.
            if buf.len() < CHUNK_OVERHEAD || (buf.len() == CHUNK_OVERHEAD && base + i as u64 != 0) {
                return Err(Error::DecryptionFailed);
            }
            key.open((base + i as u64) as u32, last, header, buf)
        };
        if n > 1 {
            batch.par_iter_mut().enumerate().try_for_each(open)?;
        } else {
            batch.iter_mut().enumerate().try_for_each(open)?;
        }
        for buf in &batch {
            total += buf.len() as u64;
            output.write_all(buf).ctx("writing decrypted data")?;
        }
        reader.recycle(batch);
        index += n as u64;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(len: usize) {
        let key = Key32::random();
        let header = [0x5a; HEADER_LEN];
        let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        let mut ct = Vec::new();
        assert_eq!(
            encrypt(&key, &header, &data[..], &mut ct).unwrap(),
            len as u64
        );
        assert_eq!(ct.len() as u64, crate::format::stream_len(len as u64));
        let mut pt = Vec::new();
        assert_eq!(
            decrypt(&key, &header, &ct[..], &mut pt).unwrap(),
            len as u64
        );
        assert_eq!(pt, data);
    }

    #[test]
    fn round_trips_at_chunk_and_batch_boundaries() {
        let c = CHUNK_SIZE;
        for len in [
            0,
            1,
            c - 1,
            c,
            c + 1,
            3 * c,
            BATCH * c - 1,
            BATCH * c,
            BATCH * c + 1,
            2 * BATCH * c + 17,
        ] {
            round_trip(len);
        }
    }
}
