//! Replay ids and sampling decisions, all derived from the injected random
//! bytes so that a replay id alone determines its mode and its error draws.

use crate::prelude::*;
const SESSION_SEED: u64 = 0x5EED_0000_0000_0001;
const DRAW_SEED: u64 = 0x5EED_0000_0000_0002;

use super::json::HEX;

/// 32 lowercase hex digits.
pub fn replay_id(random: [u8; 16]) -> String {
    let mut s = String::with_capacity(32);
    for b in random {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    s
}

/// Whether `s` is a replay id (32 lowercase hex digits).
pub fn is_replay_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// SplitMix64's finaliser: a bijective 64-bit mixer.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn hash(seed: u64, id: &str, k: u64) -> u64 {
    let mut h = mix(seed);
    for chunk in id.as_bytes().chunks(8) {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        h = mix(h ^ u64::from_le_bytes(w));
    }
    mix(h ^ mix(k.wrapping_add(seed)))
}

/// A hash mapped to [0, 1) with 53 bits.
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The replay's sampling value u ∈ [0, 1): `u < sessionSampleRate` → session.
pub fn session_value(id: &str) -> f64 {
    unit(hash(SESSION_SEED, id, 0))
}

/// The k-th error draw: whether the k-th captured error samples the replay.
pub fn draw(id: &str, k: u64, error_sample_rate: f64) -> bool {
    unit(hash(DRAW_SEED, id, k)) < error_sample_rate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_hex() {
        let id = replay_id([0xab; 16]);
        assert_eq!(id, "ab".repeat(16));
        assert!(is_replay_id(&id));
        assert!(!is_replay_id("AB"));
        assert!(!is_replay_id(&"g".repeat(32)));
    }

    #[test]
    fn unit_range() {
        assert_eq!(unit(0), 0.0);
        assert!(unit(u64::MAX) < 1.0);
    }
}
