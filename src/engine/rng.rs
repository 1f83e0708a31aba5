//! Named random streams derived from one seed.
//!
//! Every consumer of randomness asks for its own stream by name (`"arrivals"`,
//! `"runtimes"`, `"policy:random"`, …). A stream's generator is seeded from a hash of
//! `(run seed, name)`, so adding a new consumer, or one consumer drawing more numbers, never
//! shifts the numbers another consumer sees. The generator is ChaCha8 from `rand_chacha`,
//! whose output is specified and stable across versions and platforms (unlike `StdRng`).

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The random generator every stream uses.
pub type StreamRng = ChaCha8Rng;

/// The source of all random streams of one run.
#[derive(Clone, Copy, Debug)]
pub struct RandomStreams {
    seed: u64,
}

impl RandomStreams {
    /// Streams for a run with this seed.
    pub fn new(seed: u64) -> Self {
        RandomStreams { seed }
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The stream called `name`: the same `(seed, name)` always gives the same sequence.
    pub fn stream(&self, name: &str) -> StreamRng {
        ChaCha8Rng::from_seed(derive_seed(self.seed, name))
    }
}

/// 256 seed bits from `(seed, name)`: SplitMix64 over an FNV-1a hash of the name, both fixed
/// algorithms written out here so the derivation can never change under us.
fn derive_seed(seed: u64, name: &str) -> [u8; 32] {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut state = seed ^ h.rotate_left(29);
    let mut out = [0u8; 32];
    for chunk in out.chunks_mut(8) {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn first_draws(mut rng: StreamRng) -> Vec<u64> {
        (0..4).map(|_| rng.gen()).collect()
    }

    #[test]
    fn streams_are_reproducible_and_independent() {
        let streams = RandomStreams::new(42);
        let a = first_draws(streams.stream("a"));
        assert_eq!(a, first_draws(streams.stream("a")));
        assert_ne!(a, first_draws(streams.stream("b")));
        assert_ne!(a, first_draws(RandomStreams::new(43).stream("a")));
    }

    #[test]
    fn derivation_is_pinned() {
        // Pinned so that a change to the derivation (which would change every generated
        // workload) cannot slip in unnoticed.
        let mut r = RandomStreams::new(1).stream("arrivals");
        let x: u64 = r.gen();
        assert_eq!(x, PINNED_FIRST_DRAW);
    }
    const PINNED_FIRST_DRAW: u64 = 10_731_516_186_979_117_730;
}
