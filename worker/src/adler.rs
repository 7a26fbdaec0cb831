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
