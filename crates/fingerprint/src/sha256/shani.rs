//! SHA-256 rounds with the x86 SHA extensions, for one or two messages.
//!
//! One generic routine processes `N` messages in lock step; the compiler
//! unrolls the lane loops, so with `N = 2` the round instructions of the two
//! messages interleave. The state layout (ABEF/CDGH word pairs) is the one
//! `sha256rnds2` works on; see Intel's "SHA Extensions" white paper.

use std::arch::x86_64::*;

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

const PREFETCH_AHEAD: usize = 1024;

/// Whether this CPU has what the routines below are compiled for.
pub fn available() -> bool {
    is_x86_feature_detected!("sha")
        && is_x86_feature_detected!("sse2")
        && is_x86_feature_detected!("ssse3")
        && is_x86_feature_detected!("sse4.1")
}

/// # Safety
/// The CPU must have the features `available` checks; `blocks` must be
/// whole 64-byte blocks.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
pub unsafe fn compress1(state: &mut [u32; 8], blocks: &[u8]) {
    lanes::<1>([state], [blocks]);
}

/// # Safety
/// As `compress1`; both slices must have the same length.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
pub unsafe fn compress2(a: &mut [u32; 8], a_blocks: &[u8], b: &mut [u32; 8], b_blocks: &[u8]) {
    lanes::<2>([a, b], [a_blocks, b_blocks]);
}

#[inline(always)]
unsafe fn lanes<const N: usize>(states: [&mut [u32; 8]; N], data: [&[u8]; N]) {
    // Message words are big-endian; this shuffle swaps each 32-bit word.
    let byte_swap = _mm_set_epi64x(0x0c0d_0e0f_0809_0a0b, 0x0405_0607_0001_0203);
    let mut abef = [_mm_setzero_si128(); N];
    let mut cdgh = [_mm_setzero_si128(); N];
    for l in 0..N {
        (abef[l], cdgh[l]) = load(states[l]);
    }
    let blocks = data[0].len() / 64;
    for i in 0..blocks {
        let (abef_in, cdgh_in) = (abef, cdgh);
        // The last four schedule vectors (16 message words) per lane.
        let mut w = [[_mm_setzero_si128(); 4]; N];
        for l in 0..N {
            let ahead = (64 * i + PREFETCH_AHEAD).min(data[l].len().saturating_sub(1));
            _mm_prefetch::<_MM_HINT_T0>(data[l].as_ptr().add(ahead) as *const i8);
            let p = data[l].as_ptr().add(64 * i) as *const __m128i;
            for (k, slot) in w[l].iter_mut().enumerate() {
                *slot = _mm_shuffle_epi8(_mm_loadu_si128(p.add(k)), byte_swap);
            }
        }
        for j in 0..16 {
            let k = _mm_loadu_si128(K.as_ptr().add(4 * j) as *const __m128i);
            let mut wk = [_mm_setzero_si128(); N];
            for l in 0..N {
                let words = if j < 4 {
                    w[l][j]
                } else {
                    let [w0, w1, w2, w3] = w[l];
                    let next = _mm_sha256msg2_epu32(
                        _mm_add_epi32(_mm_sha256msg1_epu32(w0, w1), _mm_alignr_epi8(w3, w2, 4)),
                        w3,
                    );
                    w[l] = [w1, w2, w3, next];
                    next
                };
                wk[l] = _mm_add_epi32(words, k);
                cdgh[l] = _mm_sha256rnds2_epu32(cdgh[l], abef[l], wk[l]);
            }
            for l in 0..N {
                abef[l] = _mm_sha256rnds2_epu32(abef[l], cdgh[l], _mm_shuffle_epi32(wk[l], 0x0e));
            }
        }
        for l in 0..N {
            abef[l] = _mm_add_epi32(abef[l], abef_in[l]);
            cdgh[l] = _mm_add_epi32(cdgh[l], cdgh_in[l]);
        }
    }
    for l in 0..N {
        store(states[l], abef[l], cdgh[l]);
    }
}

#[inline(always)]
unsafe fn load(state: &[u32; 8]) -> (__m128i, __m128i) {
    let p = state.as_ptr() as *const __m128i;
    let dcba = _mm_loadu_si128(p);
    let hgfe = _mm_loadu_si128(p.add(1));
    let cdab = _mm_shuffle_epi32(dcba, 0xb1);
    let efgh = _mm_shuffle_epi32(hgfe, 0x1b);
    (
        _mm_alignr_epi8(cdab, efgh, 8),
        _mm_blend_epi16(efgh, cdab, 0xf0),
    )
}

#[inline(always)]
unsafe fn store(state: &mut [u32; 8], abef: __m128i, cdgh: __m128i) {
    let feba = _mm_shuffle_epi32(abef, 0x1b);
    let dchg = _mm_shuffle_epi32(cdgh, 0xb1);
    let p = state.as_mut_ptr() as *mut __m128i;
    _mm_storeu_si128(p, _mm_blend_epi16(feba, dchg, 0xf0));
    _mm_storeu_si128(p.add(1), _mm_alignr_epi8(dchg, feba, 8));
}
