//! One random stream per replicate, derived from (seed, scenario key, replicate index).
//!
//! ```text
//! key    = SHA-256("survmc/ChaCha8Rng/v1" || 0x00 || seed (u64 LE) || len(scenario) (u64 LE) || scenario)
//! rng_i  = ChaCha8Rng::from_seed(key), then set_stream(i)      (i = replicate index, 0-based)
//! ```
//! ChaCha is counter-based: stream i is fixed by (key, i) alone, so replicate i can be regenerated
//! on its own and draws do not depend on threads, shards or the order replicates run in.
//! `set_stream` resets the word position to 0 (it must come before any `set_word_pos`).
//! ChaCha8Rng is portable and stable across platforms; never use `StdRng`/`SmallRng` here.

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use sha2::{Digest, Sha256};

const DOMAIN: &[u8] = b"survmc/ChaCha8Rng/v1\0";

/// The 32-byte ChaCha key of a (seed, scenario key) pair.
pub fn derive_key(seed: u64, scenario_key: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(seed.to_le_bytes());
    h.update((scenario_key.len() as u64).to_le_bytes());
    h.update(scenario_key.as_bytes());
    h.finalize().into()
}

/// The generator of replicate `rep`, at its start.
pub fn rng_for(seed: u64, scenario_key: &str, rep: u64) -> ChaCha8Rng {
    Streams::new(seed, scenario_key).replicate(rep)
}

/// Hands out replicate streams without re-hashing the key each time.
/// (ChaCha8Rng is not `Clone`; seeding from the key is a copy of 32 bytes.)
#[derive(Debug, Clone)]
pub struct Streams {
    key: [u8; 32],
}

impl Streams {
    pub fn new(seed: u64, scenario_key: &str) -> Self {
        Streams { key: derive_key(seed, scenario_key) }
    }

    pub fn replicate(&self, rep: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::from_seed(self.key);
        rng.set_stream(rep);
        rng
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let s = Streams::new(42, "scenario");
        let mut a = s.replicate(7);
        let _ = s.replicate(3).next_u64(); // using another stream does not disturb stream 7
        let mut b = rng_for(42, "scenario", 7);
        assert_eq!(a.next_u64(), b.next_u64());
        assert_ne!(rng_for(42, "scenario", 8).next_u64(), rng_for(42, "scenario", 7).next_u64());
        assert_ne!(rng_for(43, "scenario", 7).next_u64(), rng_for(42, "scenario", 7).next_u64());
        assert_ne!(rng_for(42, "scenarib", 7).next_u64(), rng_for(42, "scenario", 7).next_u64());
        // The key separates (seed, scenario) pairs that concatenate alike.
        assert_ne!(derive_key(1, "ab"), derive_key(1, "a"));
    }
}
