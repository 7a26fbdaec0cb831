//! Adler-32 (RFC 1950 §8.2), with `combine` so that checksums of independently
//! compressed chunks can be joined without touching their bytes again.

const MOD: u32 = 65_521;
/// Largest n such that 255·n·(n+1)/2 + (n+1)·(MOD−1) fits in a u32.
const NMAX: usize = 5_552;

/// A running Adler-32 checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Adler32 {
    a: u32,
    b: u32,
}

impl Default for Adler32 {
    fn default() -> Self {
        Self::new()
    }
}

impl Adler32 {
    /// The checksum of the empty string (1).
    pub const fn new() -> Self {
        Adler32 { a: 1, b: 0 }
    }

    /// Rebuilds a checksum from its 32-bit value.
    pub const fn from_value(v: u32) -> Self {
        Adler32 {
            a: v & 0xffff,
            b: v >> 16,
        }
    }

    pub const fn value(&self) -> u32 {
        (self.b << 16) | self.a
    }

    pub fn update(&mut self, data: &[u8]) {
        let (mut a, mut b) = (self.a, self.b);
        for block in data.chunks(NMAX) {
            #[cfg(all(
                target_arch = "wasm32",
                target_feature = "simd128",
                feature = "simd-adler"
            ))]
            let block = simd128::sums(&mut a, &mut b, block);
            let mut quads = block.chunks_exact(4);
            for q in &mut quads {
                a += u32::from(q[0]);
                b += a;
                a += u32::from(q[1]);
                b += a;
                a += u32::from(q[2]);
                b += a;
                a += u32::from(q[3]);
                b += a;
            }
            for &byte in quads.remainder() {
                a += u32::from(byte);
                b += a;
            }
            a %= MOD;
            b %= MOD;
        }
        self.a = a;
        self.b = b;
    }

    /// The checksum of `X ‖ Y` from `adler(X)` (self), `adler(Y)` and `len(Y)`.
    pub fn combine(&self, other: Adler32, other_len: u64) -> Adler32 {
        let rem = (other_len % u64::from(MOD)) as u32;
        let a1 = self.a;
        let b1 = self.b;
        // a = a1 + a2 − 1; b = b1 + b2 + rem·(a1 − 1)   (all mod MOD)
        let a = (a1 + other.a + MOD - 1) % MOD;
        let cross = (u64::from(rem) * u64::from((a1 + MOD - 1) % MOD) % u64::from(MOD)) as u32;
        let b = ((u64::from(b1) + u64::from(other.b) + u64::from(cross)) % u64::from(MOD)) as u32;
        Adler32 { a, b }
    }
}

/// WebAssembly SIMD: 16 bytes per step. Over n bytes x₀…xₙ₋₁ added to (a, b):
/// a' = a + Σxᵢ and b' = b + n·a + Σ(n−i)·xᵢ. Per 16-byte step k (of m), the byte
/// sums go to `va`, the weighted sums Σ(16−j)·x₁₆ₖ₊ⱼ to `vb`, and `vp` adds up the
/// byte sums of the steps before, which count 16 times more per later step. Lanes stay
/// far below 2³²: a block is at most NMAX bytes, so `va` ≤ 347·1,020 and `vp` ≤ 347·`va`
/// per lane; the final sum is taken in u64.
#[cfg(all(
    target_arch = "wasm32",
    target_feature = "simd128",
    feature = "simd-adler"
))]
mod simd128 {
    use core::arch::wasm32::*;

    /// Adds the whole 16-byte steps of `block` (at most NMAX bytes) to `a` and `b` (both
    /// below MOD + 255·NMAX on entry, as in the scalar loop); returns the bytes left over.
    pub fn sums<'a>(a: &mut u32, b: &mut u32, block: &'a [u8]) -> &'a [u8] {
        let steps = block.chunks_exact(16);
        let rest = steps.remainder();
        let m = (block.len() / 16) as u64;
        if m == 0 {
            return rest;
        }
        let weights_hi = i16x8(16, 15, 14, 13, 12, 11, 10, 9);
        let weights_lo = i16x8(8, 7, 6, 5, 4, 3, 2, 1);
        let (mut va, mut vb, mut vp) = (u32x4_splat(0), u32x4_splat(0), u32x4_splat(0));
        for s in steps {
            // SAFETY: `s` is exactly 16 bytes; v128_load has no alignment requirement.
            let x = unsafe { v128_load(s.as_ptr().cast::<v128>()) };
            vp = i32x4_add(vp, va);
            let lo = u16x8_extend_low_u8x16(x);
            let hi = u16x8_extend_high_u8x16(x);
            va = i32x4_add(va, u32x4_extadd_pairwise_u16x8(u16x8_add(lo, hi)));
            vb = i32x4_add(
                vb,
                i32x4_add(
                    i32x4_dot_i16x8(lo, weights_hi),
                    i32x4_dot_i16x8(hi, weights_lo),
                ),
            );
        }
        let lanes = |v: v128| -> u64 {
            u64::from(u32x4_extract_lane::<0>(v))
                + u64::from(u32x4_extract_lane::<1>(v))
                + u64::from(u32x4_extract_lane::<2>(v))
                + u64::from(u32x4_extract_lane::<3>(v))
        };
        let n = 16 * m;
        let b64 = u64::from(*b) + n * u64::from(*a) + 16 * lanes(vp) + lanes(vb);
        *a = ((u64::from(*a) + lanes(va)) % u64::from(super::MOD)) as u32;
        *b = (b64 % u64::from(super::MOD)) as u32;
        rest
    }
}

/// Adler-32 of a whole buffer.
pub fn adler32(data: &[u8]) -> u32 {
    let mut s = Adler32::new();
    s.update(data);
    s.value()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        assert_eq!(adler32(b""), 1);
        assert_eq!(adler32(b"a"), 0x0062_0062);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        // Long input of 0xff exercises the deferred modulo at its limit.
        let ff = vec![0xffu8; 100_000];
        let (mut a, mut b) = (1u64, 0u64);
        for &x in &ff {
            a = (a + u64::from(x)) % 65_521;
            b = (b + a) % 65_521;
        }
        assert_eq!(u64::from(adler32(&ff)), (b << 16) | a);
    }

    proptest! {
        #[test]
        fn combine_matches_concatenation(x in proptest::collection::vec(any::<u8>(), 0..20_000),
                                         y in proptest::collection::vec(any::<u8>(), 0..20_000)) {
            let mut whole = Adler32::new();
            whole.update(&x);
            whole.update(&y);
            let mut ax = Adler32::new();
            ax.update(&x);
            let mut ay = Adler32::new();
            ay.update(&y);
            prop_assert_eq!(ax.combine(ay, y.len() as u64), whole);
        }
    }
}
