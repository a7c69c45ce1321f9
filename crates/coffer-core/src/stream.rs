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
//! Chunks are sealed and opened in parallel in batches of 2 MiB; a writer
//! thread writes one batch while the next is read and sealed, in order.
//! Memory is bounded by the batches in flight (about 6 MiB), not the file.

use std::io::{self, IoSlice, Read, Write};
use std::sync::mpsc;

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

impl ChunkKey {
    /// Seals a batch of plaintext pieces in place, in parallel; returns
    /// the plaintext bytes it held.
    fn seal_batch(
        &self,
        header: &[u8; HEADER_LEN],
        batch: &mut [Zeroizing<Vec<u8>>],
        base: u64,
        ends: bool,
    ) -> Result<u64> {
        let n = batch.len();
        position(base + n as u64 - 1)?;
        let plain: usize = batch.iter().map(|b| b.len()).sum();
        let one = |(i, buf): (usize, &mut Zeroizing<Vec<u8>>)| {
            let last = ends && i == n - 1;
            debug_assert!(buf.capacity() >= buf.len() + CHUNK_OVERHEAD);
            self.seal((base + i as u64) as u32, last, header, buf);
        };
        if n > 1 {
            batch.par_iter_mut().enumerate().for_each(one);
        } else {
            batch.iter_mut().enumerate().for_each(one);
        }
        Ok(plain as u64)
    }

    /// Opens a batch of chunks in place, in parallel; returns the
    /// plaintext bytes it holds. Fails if any chunk does not authenticate.
    fn open_batch(
        &self,
        header: &[u8; HEADER_LEN],
        batch: &mut [Zeroizing<Vec<u8>>],
        base: u64,
        ends: bool,
    ) -> Result<u64> {
        let n = batch.len();
        position(base + n as u64 - 1)?;
        let one = |(i, buf): (usize, &mut Zeroizing<Vec<u8>>)| -> Result<()> {
            let last = ends && i == n - 1;
            // Canonical encoding: only an empty file has an empty chunk.
            if buf.len() < CHUNK_OVERHEAD || (buf.len() == CHUNK_OVERHEAD && base + i as u64 != 0) {
                return Err(Error::DecryptionFailed);
            }
            self.open((base + i as u64) as u32, last, header, buf)
        };
        if n > 1 {
            batch.par_iter_mut().enumerate().try_for_each(one)?;
        } else {
            batch.iter_mut().enumerate().try_for_each(one)?;
        }
        Ok(batch.iter().map(|b| b.len() as u64).sum())
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

/// The most one `writev` of a batch carries.
///
/// A write of 2 MiB at a 2 MiB-aligned offset lets the kernel back it with
/// one 2 MiB page-cache folio (ext4 has large folios since Linux 6.x), and
/// on the development VM allocating those is slow: `dd bs=2M` of 1 GiB
/// after a cache drop took 1.96-3.07 s, `bs=1M` 0.43 s, `bs=2097168`
/// (unaligned) 0.46-0.50 s, run after run. A plaintext batch is exactly
/// 2 MiB at 2 MiB offsets, so extract and open met it every time; sealed
/// chunks (65,552 bytes) never line up. Capping each call at 1 MiB costs
/// one more system call per batch anywhere else.
const MAX_WRITE: usize = 1 << 20;

/// Writes a batch with few system calls (one `writev` per MiB for a
/// file), straight from the chunk buffers: a `BufWriter` around the output
/// would copy every byte once more (and keep an unzeroized copy of
/// decrypted plaintext in its buffer).
fn write_batch(out: &mut impl Write, batch: &[Zeroizing<Vec<u8>>]) -> io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = batch.iter().map(|b| IoSlice::new(b)).collect();
    let mut rest = &mut slices[..];
    IoSlice::advance_slices(&mut rest, 0);
    while !rest.is_empty() {
        let mut take = 0;
        let mut len = 0;
        for s in rest.iter() {
            if take > 0 && len + s.len() > MAX_WRITE {
                break;
            }
            len += s.len();
            take += 1;
        }
        match out.write_vectored(&rest[..take]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// What a stream direction does to each batch: seals or opens its chunks
/// in place, given the index of its first chunk and whether its last chunk
/// ends the stream, and returns the plaintext bytes it holds.
type Transform<'a> = dyn Fn(&mut [Zeroizing<Vec<u8>>], u64, bool) -> Result<u64> + Sync + 'a;

/// Where a stream failed: reading or transforming its input (for a
/// decryption, the object's fault), or writing its output (the
/// destination's). A re-encryption needs to tell them apart; the others
/// report either as the error it is.
#[derive(Debug)]
pub enum Failed {
    /// The input did not read, or did not authenticate.
    Source(Error),
    /// The output did not take the bytes.
    Sink(Error),
}

impl Failed {
    /// The error, wherever it happened.
    pub fn into_error(self) -> Error {
        match self {
            Failed::Source(e) | Failed::Sink(e) => e,
        }
    }
}

/// Runs a chunk stream: this thread reads a batch and transforms it (the
/// chunks in parallel) while a writer thread writes the batch before it,
/// so the disk, the page cache and the cipher are busy at once instead of
/// in turn. A stream of one batch (every small file) is done inline: a
/// thread per file would cost more than it saves.
///
/// A batch is handed on only once all of it has been transformed, so a
/// decryption writes nothing from its first failing batch on.
fn run<R: Read, W: Write + Send>(
    mut reader: ChunkReader<R>,
    context: (&'static str, &'static str),
    transform: &Transform<'_>,
    mut output: W,
) -> std::result::Result<u64, Failed> {
    let (read_ctx, write_ctx) = context;
    let source = |r: Result<Option<Batch>>| r.map_err(Failed::Source);
    let Some((mut first, ends)) = source(reader.next_batch(read_ctx))? else {
        return Ok(0);
    };
    let mut total = transform(&mut first, 0, ends).map_err(Failed::Source)?;
    if ends {
        write_batch(&mut output, &first)
            .ctx(write_ctx)
            .map_err(Failed::Sink)?;
        return Ok(total);
    }
    let mut index = first.len() as u64;
    std::thread::scope(|s| {
        // One batch queued while one is written and one transformed: about
        // 6 MiB in flight, whatever the file's size.
        let (to_writer, queued) = mpsc::sync_channel::<Vec<Zeroizing<Vec<u8>>>>(1);
        let (give_back, returned) = mpsc::channel();
        let writer = s.spawn(move || -> io::Result<()> {
            for batch in queued {
                write_batch(&mut output, &batch)?;
                let _ = give_back.send(batch);
            }
            Ok(())
        });
        let produced = (|| -> Result<u64> {
            let mut ready = first;
            loop {
                if to_writer.send(ready).is_err() {
                    // The writer stopped on an error, which it reports.
                    return Ok(total);
                }
                for spare in returned.try_iter() {
                    reader.recycle(spare);
                }
                let Some((mut batch, ends)) = reader.next_batch(read_ctx)? else {
                    return Ok(total);
                };
                total += transform(&mut batch, index, ends)?;
                index += batch.len() as u64;
                ready = batch;
            }
        })();
        drop(to_writer);
        let written = writer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let total = produced.map_err(Failed::Source)?;
        written.ctx(write_ctx).map_err(Failed::Sink)?;
        Ok(total)
    })
}

/// Encrypts `input` into `output` as a chunk stream under `payload_key`,
/// binding `header` into every chunk. Returns the plaintext length.
pub fn encrypt(
    payload_key: &Key32,
    header: &[u8; HEADER_LEN],
    input: impl Read,
    output: impl Write + Send,
) -> Result<u64> {
    let key = ChunkKey::new(payload_key);
    run(
        ChunkReader::new(input, CHUNK_SIZE),
        ("reading the file to encrypt", "writing ciphertext"),
        &|batch, base, ends| key.seal_batch(header, batch, base, ends),
        output,
    )
    .map_err(Failed::into_error)
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
    output: impl Write + Send,
) -> Result<u64> {
    let key = ChunkKey::new(payload_key);
    run(
        ChunkReader::new(input, CHUNK_SIZE + CHUNK_OVERHEAD),
        ("reading ciphertext", "writing decrypted data"),
        &|batch, base, ends| key.open_batch(header, batch, base, ends),
        output,
    )
    .map_err(Failed::into_error)
}

/// Re-encrypts a chunk stream from one payload key and header to another
/// (a compromise response's new DEK). Every chunk is opened and sealed
/// again in its own buffer, so the plaintext never leaves the zeroizing
/// chunk buffers (no pipe, no second copy), and a batch is written only
/// once all of it authenticated under the old key. Chunk boundaries are
/// the same in both streams, so chunk i of the new stream is last exactly
/// when chunk i of the old one was. Returns the plaintext length.
pub fn reencrypt(
    from: (&Key32, &[u8; HEADER_LEN]),
    to: (&Key32, &[u8; HEADER_LEN]),
    input: impl Read,
    output: impl Write + Send,
) -> std::result::Result<u64, Failed> {
    let (old, new) = (ChunkKey::new(from.0), ChunkKey::new(to.0));
    run(
        ChunkReader::new(input, CHUNK_SIZE + CHUNK_OVERHEAD),
        ("reading ciphertext", "writing ciphertext"),
        &|batch, base, ends| {
            let n = old.open_batch(from.1, batch, base, ends)?;
            new.seal_batch(to.1, batch, base, ends)?;
            Ok(n)
        },
        output,
    )
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

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 253) as u8).collect()
    }

    fn sealed(key: &Key32, header: &[u8; HEADER_LEN], data: &[u8]) -> Vec<u8> {
        let mut ct = Vec::new();
        encrypt(key, header, data, &mut ct).unwrap();
        ct
    }

    /// A writer that takes `room` bytes and then reports a full disk.
    struct FullAfter {
        room: usize,
        taken: Vec<u8>,
    }

    impl Write for FullAfter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.taken.len() >= self.room {
                return Err(io::ErrorKind::StorageFull.into());
            }
            let n = buf.len().min(self.room - self.taken.len());
            self.taken.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn reencryption_gives_the_stream_a_fresh_key_would_give() {
        let c = CHUNK_SIZE;
        for len in [0, 1, c, BATCH * c, BATCH * c + 1, 3 * BATCH * c + 5] {
            let (k1, k2) = (Key32::random(), Key32::random());
            let (h1, h2) = ([1u8; HEADER_LEN], [2u8; HEADER_LEN]);
            let data = sample(len);
            let old = sealed(&k1, &h1, &data);
            let mut new = Vec::new();
            let n = reencrypt((&k1, &h1), (&k2, &h2), &old[..], &mut new).unwrap();
            assert_eq!(n, len as u64);
            // Deterministic given key, header and plaintext: byte-identical
            // to sealing the plaintext afresh.
            assert_eq!(new, sealed(&k2, &h2, &data), "len {len}");
            let mut back = Vec::new();
            decrypt(&k2, &h2, &new[..], &mut back).unwrap();
            assert_eq!(back, data);
            assert!(decrypt(&k1, &h1, &new[..], Vec::new()).is_err());
        }
    }

    #[test]
    fn reencryption_tells_a_bad_source_from_a_failing_sink() {
        let (k1, k2) = (Key32::random(), Key32::random());
        let h = [3u8; HEADER_LEN];
        let data = sample(3 * BATCH * CHUNK_SIZE);
        let mut old = sealed(&k1, &h, &data);
        // The wrong key, a flipped byte in the third batch, a cut stream:
        // the source's fault.
        let wrong = reencrypt((&k2, &h), (&k1, &h), &old[..], Vec::new());
        assert!(matches!(
            wrong,
            Err(Failed::Source(Error::DecryptionFailed))
        ));
        let cut = &old[..old.len() - 100];
        let r = reencrypt((&k1, &h), (&k2, &h), cut, Vec::new());
        assert!(matches!(r, Err(Failed::Source(Error::DecryptionFailed))));
        let at = 2 * BATCH * (CHUNK_SIZE + CHUNK_OVERHEAD) + 10;
        old[at] ^= 1;
        let mut out = Vec::new();
        let r = reencrypt((&k1, &h), (&k2, &h), &old[..], &mut out);
        assert!(matches!(r, Err(Failed::Source(Error::DecryptionFailed))));
        // Nothing of the failing batch was written.
        assert_eq!(out.len(), 2 * BATCH * (CHUNK_SIZE + CHUNK_OVERHEAD));
        old[at] ^= 1;
        // A full disk: the sink's.
        let mut full = FullAfter {
            room: 3 * CHUNK_SIZE,
            taken: Vec::new(),
        };
        let r = reencrypt((&k1, &h), (&k2, &h), &old[..], &mut full);
        match r {
            Err(Failed::Sink(Error::Io { source, .. })) => {
                assert_eq!(source.kind(), io::ErrorKind::StorageFull)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn decryption_writes_whole_authenticated_batches_only() {
        let key = Key32::random();
        let h = [4u8; HEADER_LEN];
        let data = sample(5 * BATCH * CHUNK_SIZE + 123);
        let mut ct = sealed(&key, &h, &data);
        for bad_batch in [0usize, 1, 4, 5] {
            let at = bad_batch * BATCH * (CHUNK_SIZE + CHUNK_OVERHEAD) + 1;
            ct[at] ^= 0x80;
            let mut out = Vec::new();
            let r = decrypt(&key, &h, &ct[..], &mut out);
            assert!(matches!(r, Err(Error::DecryptionFailed)));
            assert_eq!(out.len(), bad_batch * BATCH * CHUNK_SIZE);
            assert_eq!(out[..], data[..out.len()]);
            ct[at] ^= 0x80;
        }
    }

    #[test]
    fn a_full_disk_stops_a_long_encryption_with_the_error() {
        let key = Key32::random();
        let data = sample(4 * BATCH * CHUNK_SIZE);
        let mut full = FullAfter {
            room: BATCH * CHUNK_SIZE + 5,
            taken: Vec::new(),
        };
        match encrypt(&key, &[0; HEADER_LEN], &data[..], &mut full) {
            Err(Error::Io { source, .. }) => {
                assert_eq!(source.kind(), io::ErrorKind::StorageFull)
            }
            other => panic!("{other:?}"),
        }
    }
}
