//! The seeding rule of generation in batches (`halt-llm generate --batch-size`): batch `b` of
//! `batch_size` prompts starts at seed `seed + b·batch_size`, and [`generate`](super::generate)
//! gives sequence `i` of a call the seed `seed + i`, so prompt `j` of the whole input samples with
//! `seed + j` whatever the batch size.

/// The seed to pass ([`SamplingConfig::seed`](super::SamplingConfig::seed)) for batch `batch`
/// (0-based) when prompts are generated `batch_size` at a time: `seed + batch·batch_size`,
/// wrapping at `u64::MAX`. With [`generate`](super::generate) seeding row `i` of a call with
/// `seed + i`, prompt `j` (0-based, of the whole input) samples with `seed + j`: the answers do
/// not depend on the batch size.
pub fn batch_seed(seed: u64, batch: usize, batch_size: usize) -> u64 {
    seed.wrapping_add((batch * batch_size) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_seeds_by_hand() {
        // base seed 10, batches of 8: batch 0 starts at 10, batch 3 at 10 + 24 = 34
        assert_eq!(batch_seed(10, 0, 8), 10);
        assert_eq!(batch_seed(10, 3, 8), 34);
        // batches of 1: batch b is prompt b, seed 10 + b
        assert_eq!(batch_seed(10, 5, 1), 15);
        // wraps: (2^64 − 1) + 2 = 1 (mod 2^64)
        assert_eq!(batch_seed(u64::MAX, 1, 2), 1);
        // prompt 5, base seed 7: with batches of 2 it is row 1 of batch 2, 7 + 4 + 1 = 12; with
        // batches of 4, row 1 of batch 1, 7 + 4 + 1 = 12; with batches of 8, row 5 of batch 0,
        // 7 + 0 + 5 = 12: 7 + 5 every time
        assert_eq!(batch_seed(7, 2, 2) + 1, 12);
        assert_eq!(batch_seed(7, 1, 4) + 1, 12);
        assert_eq!(batch_seed(7, 0, 8) + 5, 12);
    }
}
