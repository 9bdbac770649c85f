//! Percentile bootstrap over prompts: resample the prompts with replacement, recompute a
//! statistic on each resample, and take the 2.5th and 97.5th percentiles as the 95% interval.
//!
//! Deterministic: the resamples depend only on the seed and the number of items
//! ([`StdRng`] from `rand` 0.9, seeded with [`SeedableRng::seed_from_u64`]).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// How many resamples, from which seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapConfig {
    /// Number of resamples (default 1000; 0 = no intervals).
    pub resamples: usize,
    /// Seed of the resampling RNG.
    pub seed: u64,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        BootstrapConfig {
            resamples: 1000,
            seed: 0,
        }
    }
}

/// Draws `cfg.resamples` resamples of `items` (each `items.len()` items drawn uniformly with
/// replacement) and returns, for each resample, the `K` statistics `stats` computes on it
/// (`None` where a statistic is undefined on that resample). Empty `items` → no resamples.
pub fn resample<T: Clone, const K: usize>(
    items: &[T],
    cfg: &BootstrapConfig,
    stats: impl Fn(&[T]) -> [Option<f64>; K],
) -> Vec<[Option<f64>; K]> {
    if items.is_empty() {
        return Vec::new();
    }
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let mut draw = Vec::with_capacity(items.len());
    (0..cfg.resamples)
        .map(|_| {
            draw.clear();
            draw.extend((0..items.len()).map(|_| items[rng.random_range(0..items.len())].clone()));
            stats(&draw)
        })
        .collect()
}

/// The 95% percentile interval `[lo, hi]` of `values` (the defined values of one statistic
/// over the resamples): nearest-rank percentiles, `lo` = sorted value at index
/// `round(0.025·(m−1))`, `hi` at `round(0.975·(m−1))` for `m` values. `None` without values.
pub fn percentile_interval(values: impl IntoIterator<Item = f64>) -> Option<[f64; 2]> {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    Some([at(0.025), at(0.975)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_hand() {
        // 0..=100: index round(2.5) = 3 (ties away from zero), round(97.5) = 98
        let v = (0..=100).map(f64::from);
        assert_eq!(percentile_interval(v), Some([3.0, 98.0]));
        assert_eq!(percentile_interval([5.0]), Some([5.0, 5.0]));
        assert_eq!(percentile_interval([2.0, 1.0]), Some([1.0, 2.0]));
        assert_eq!(percentile_interval(std::iter::empty()), None);
        assert_eq!(percentile_interval([f64::NAN]), None);
    }

    #[test]
    fn resamples_are_seeded_and_of_full_size() {
        let items: Vec<f64> = (0..10).map(f64::from).collect();
        let cfg = BootstrapConfig {
            resamples: 50,
            seed: 7,
        };
        let len = |d: &[f64]| [Some(d.len() as f64)];
        assert!(
            resample(&items, &cfg, len)
                .iter()
                .all(|s| s[0] == Some(10.0))
        );
        let sum = |d: &[f64]| [Some(d.iter().sum::<f64>())];
        let a = resample(&items, &cfg, sum);
        assert_eq!(a, resample(&items, &cfg, sum));
        assert_eq!(a.len(), 50);
        let other = resample(&items, &BootstrapConfig { seed: 8, ..cfg }, sum);
        assert_ne!(a, other);
        assert!(resample(&[] as &[f64], &cfg, sum).is_empty());
    }
}
