//! SHA-256 over block-aligned messages, two messages at a time.
//!
//! With the CPU's SHA extensions one message is bound by the latency of
//! each round instruction: the next round waits for the last. Two
//! independent messages interleaved on one core fill those waits, so the
//! hasher keeps two files in flight per thread (`scripts/bench-fingerprint`
//! and `benches/sha256.rs` show the gain). Without SHA extensions both
//! calls fall back to the `sha2` crate, one message after the other.
//!
//! Callers feed whole 64-byte blocks and add the final padding themselves
//! with [`pad`]; that keeps a file's last partial block in the caller's
//! buffer instead of copying it into a hasher.

#[cfg(target_arch = "x86_64")]
mod shani;

/// Bytes per SHA-256 block.
pub const BLOCK: usize = 64;

/// Most bytes [`pad`] writes.
pub const MAX_PADDING_OUTPUT: usize = 2 * BLOCK;

const INITIAL: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// The running state of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State([u32; 8]);

impl Default for State {
    fn default() -> Self {
        State(INITIAL)
    }
}

impl State {
    /// The digest, once every block (padding included) went in.
    pub fn digest(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.0) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }
}

/// Feeds whole blocks of one message.
///
/// # Panics
/// When `blocks` is not a whole number of blocks (a caller bug).
pub fn compress(state: &mut State, blocks: &[u8]) {
    assert_eq!(blocks.len() % BLOCK, 0, "partial SHA-256 block");
    #[cfg(target_arch = "x86_64")]
    if shani::available() {
        // SAFETY: the CPU has the features `shani` is compiled for, and the
        // length is a whole number of blocks.
        unsafe { shani::compress1(&mut state.0, blocks) };
        return;
    }
    portable(state, blocks);
}

/// Feeds the same number of whole blocks to two messages at once.
///
/// # Panics
/// When the lengths differ or are not whole blocks (a caller bug).
pub fn compress_pair(a: &mut State, a_blocks: &[u8], b: &mut State, b_blocks: &[u8]) {
    assert_eq!(a_blocks.len(), b_blocks.len(), "uneven SHA-256 lanes");
    assert_eq!(a_blocks.len() % BLOCK, 0, "partial SHA-256 block");
    #[cfg(target_arch = "x86_64")]
    if shani::available() {
        // SAFETY: as in `compress`; both slices hold the same whole blocks.
        unsafe { shani::compress2(&mut a.0, a_blocks, &mut b.0, b_blocks) };
        return;
    }
    portable(a, a_blocks);
    portable(b, b_blocks);
}

fn portable(state: &mut State, blocks: &[u8]) {
    use sha2::digest::generic_array::GenericArray;
    for block in blocks.chunks_exact(BLOCK) {
        sha2::compress256(
            &mut state.0,
            std::slice::from_ref(GenericArray::from_slice(block)),
        );
    }
}

/// Writes the last partial block `tail` (shorter than a block) and the
/// padding for a message of `total_len` bytes into `out`; returns how many
/// bytes (one or two blocks) to feed.
///
/// # Panics
/// When `tail` is a block or longer (a caller bug).
pub fn pad(tail: &[u8], total_len: u64, out: &mut [u8]) -> usize {
    assert!(tail.len() < BLOCK, "tail longer than a block");
    let used = if tail.len() < BLOCK - 8 {
        BLOCK
    } else {
        2 * BLOCK
    };
    let out = &mut out[..used];
    out[..tail.len()].copy_from_slice(tail);
    out[tail.len()] = 0x80;
    out[tail.len() + 1..used - 8].fill(0);
    out[used - 8..].copy_from_slice(&total_len.wrapping_mul(8).to_be_bytes());
    used
}

/// SHA-256 of a whole message in memory (for tests and small inputs).
pub fn digest(message: &[u8]) -> [u8; 32] {
    let full = message.len() / BLOCK * BLOCK;
    let mut state = State::default();
    compress(&mut state, &message[..full]);
    let mut last = [0u8; MAX_PADDING_OUTPUT];
    let n = pad(&message[full..], message.len() as u64, &mut last);
    compress(&mut state, &last[..n]);
    state.digest()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sha2::Digest;

    fn padded(message: &[u8]) -> Vec<u8> {
        let full = message.len() / BLOCK * BLOCK;
        let mut v = message[..full].to_vec();
        let mut last = [0u8; MAX_PADDING_OUTPUT];
        let n = pad(&message[full..], message.len() as u64, &mut last);
        v.extend_from_slice(&last[..n]);
        v
    }

    #[test]
    fn known_answers() {
        assert_eq!(
            hex::encode(digest(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex::encode(digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // Lengths around the padding boundaries.
        for len in [55, 56, 57, 63, 64, 65, 119, 120, 128] {
            let m = vec![0x61u8; len];
            assert_eq!(
                digest(&m),
                <[u8; 32]>::from(sha2::Sha256::digest(&m)),
                "{len}"
            );
        }
    }

    #[test]
    fn portable_matches_the_accelerated_path() {
        let m: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 251) as u8).collect();
        let p = padded(&m);
        let mut fast = State::default();
        compress(&mut fast, &p);
        let mut slow = State::default();
        portable(&mut slow, &p);
        assert_eq!(fast, slow);
    }

    proptest! {
        #[test]
        fn one_lane_matches_sha2(m in proptest::collection::vec(any::<u8>(), 0..2000)) {
            prop_assert_eq!(digest(&m), <[u8; 32]>::from(sha2::Sha256::digest(&m)));
        }

        #[test]
        fn two_lanes_match_sha2(
            a in proptest::collection::vec(any::<u8>(), 0..3000),
            b in proptest::collection::vec(any::<u8>(), 0..3000),
        ) {
            // Pair as many blocks as both have, then finish each alone.
            let (pa, pb) = (padded(&a), padded(&b));
            let n = pa.len().min(pb.len());
            let (mut sa, mut sb) = (State::default(), State::default());
            compress_pair(&mut sa, &pa[..n], &mut sb, &pb[..n]);
            compress(&mut sa, &pa[n..]);
            compress(&mut sb, &pb[n..]);
            prop_assert_eq!(sa.digest(), <[u8; 32]>::from(sha2::Sha256::digest(&a)));
            prop_assert_eq!(sb.digest(), <[u8; 32]>::from(sha2::Sha256::digest(&b)));
        }
    }
}
