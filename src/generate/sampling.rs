//! Picking the next token from a row of logits: greedy (argmax), or temperature sampling
//! restricted to the nucleus (top-p, Holtzman et al. 2020).

use rand::Rng;
use rand::rngs::StdRng;

use super::SamplingConfig;

/// Picks a token from `logits` (`[vocab_size]`).
///
/// With `top_p < 1` the nucleus is found by partial selection: the `k` most probable tokens
/// are selected in O(vocab) (`k` = 64, then ×8 while their mass is short of `top_p`) and
/// only they are sorted, instead of sorting the whole vocabulary every step. The order is
/// probability descending, then token id ascending, so the nucleus and the sampled token
/// are exactly those of a full stable sort.
pub fn sample_token(logits: &[f32], cfg: &SamplingConfig, rng: &mut StdRng) -> u32 {
    if cfg.temperature <= 0.0 {
        return argmax(logits);
    }
    let inv_t = 1.0 / cfg.temperature;
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut probs: Vec<(u32, f32)> = logits
        .iter()
        .enumerate()
        .map(|(i, &l)| (i as u32, ((l - max) * inv_t).exp()))
        .collect();
    let total: f32 = probs.iter().map(|p| p.1).sum();
    let mut keep = probs.len();
    if cfg.top_p < 1.0 {
        keep = nucleus(&mut probs, total, cfg.top_p);
    }
    let probs = &probs[..keep];
    let mass: f32 = probs.iter().map(|p| p.1).sum();
    let mut r = rng.random::<f32>() * mass;
    for &(id, p) in probs {
        r -= p;
        if r <= 0.0 {
            return id;
        }
    }
    probs.last().map_or(0, |p| p.0)
}

/// Moves the nucleus (the smallest prefix, in order of probability descending then id
/// ascending, whose mass reaches `top_p · total`) to the front of `probs`, sorted, and
/// returns its length. `probs` holds unnormalised `(id, p)` pairs summing to `total`.
fn nucleus(probs: &mut [(u32, f32)], total: f32, top_p: f32) -> usize {
    let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    let n = probs.len();
    let mut k = 64.min(n);
    loop {
        if k < n {
            probs.select_nth_unstable_by(k - 1, order);
        }
        let head = &mut probs[..k];
        head.sort_unstable_by(order);
        let mut acc = 0.0;
        for (i, p) in head.iter().enumerate() {
            acc += p.1 / total;
            if acc >= top_p {
                return i + 1;
            }
        }
        if k == n {
            return n;
        }
        k = (k * 8).min(n);
    }
}

/// Natural log of `Σ exp(row)`, with the maximum subtracted before `exp` (exponentials in
/// `f32`, their sum in `f64`); `-inf` for an empty row or one that is all `-inf`.
pub fn logsumexp(row: &[f32]) -> f64 {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !m.is_finite() {
        return f64::from(m);
    }
    let sum: f64 = row.iter().map(|&x| f64::from((x - m).exp())).sum();
    f64::from(m) + sum.ln()
}

/// Natural log-probability of token `id` under the model: `logits[id] − logsumexp(logits)`,
/// the softmax of the raw logits (temperature 1, whole vocabulary), whatever temperature and
/// top-p the token was sampled with (the model's own confidence, as SelfCheckGPT's
/// probability baselines use it, arXiv 2303.08896 §5). `logits`: `[vocab_size]`.
pub fn token_logprob(logits: &[f32], id: u32) -> f32 {
    (f64::from(logits[id as usize]) - logsumexp(logits)) as f32
}

fn argmax(v: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// log p = logit − ln Σ exp(logits), by hand: logits [ln 0.6, ln 0.3, ln 0.1] sum to 1, so
    /// the log-probabilities are the logits; shifted by 1000 they are unchanged.
    #[test]
    fn token_logprob_is_the_log_softmax() {
        let logits = [0.6f32.ln(), 0.3f32.ln(), 0.1f32.ln()];
        for (id, p) in [0.6f32, 0.3, 0.1].into_iter().enumerate() {
            assert!((token_logprob(&logits, id as u32) - p.ln()).abs() < 1e-6);
            let shifted: Vec<f32> = logits.iter().map(|l| l + 1000.0).collect();
            assert!((token_logprob(&shifted, id as u32) - p.ln()).abs() < 1e-4);
        }
        assert!((logsumexp(&[1000.0, 1000.0]) - (1000.0 + 2f64.ln())).abs() < 1e-9);
        assert_eq!(logsumexp(&[f32::NEG_INFINITY]), f64::NEG_INFINITY);
    }

    #[test]
    fn greedy_is_argmax() {
        let cfg = SamplingConfig::default();
        let mut rng = StdRng::seed_from_u64(0);
        assert_eq!(sample_token(&[0.1, 3.0, -1.0, 2.9], &cfg, &mut rng), 1);
    }

    #[test]
    fn top_p_keeps_only_the_nucleus() {
        // probabilities ≈ [0.6, 0.3, 0.1] at temperature 1: top_p 0.5 keeps only id 0.
        let logits = [0.6f32.ln(), 0.3f32.ln(), 0.1f32.ln()];
        let cfg = SamplingConfig {
            temperature: 1.0,
            top_p: 0.5,
            ..Default::default()
        };
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..200 {
            assert_eq!(sample_token(&logits, &cfg, &mut rng), 0);
        }
        // top_p 0.85 keeps ids 0 and 1, never 2; both appear.
        let cfg = SamplingConfig { top_p: 0.85, ..cfg };
        let mut seen = [0; 3];
        for _ in 0..2000 {
            seen[sample_token(&logits, &cfg, &mut rng) as usize] += 1;
        }
        assert_eq!(seen[2], 0);
        // expected share of id 0 within the nucleus: 0.6 / 0.9 = 0.667
        let share = seen[0] as f64 / 2000.0;
        assert!((share - 0.667).abs() < 0.05, "{share}");
    }

    #[test]
    fn nucleus_by_selection_equals_full_stable_sort() {
        // Reference: the previous implementation, a full stable sort by probability.
        let mut rng = StdRng::seed_from_u64(3);
        for case in 0..50 {
            let n = [10, 100, 5000][case % 3];
            // Ties on purpose: logits rounded to a coarse grid.
            let probs: Vec<(u32, f32)> = (0..n)
                .map(|i| (i as u32, (rng.random::<f32>() * 8.0).round().exp()))
                .collect();
            let total: f32 = probs.iter().map(|p| p.1).sum();
            for top_p in [0.1f32, 0.5, 0.9, 0.95, 0.999] {
                let mut full = probs.clone();
                full.sort_by(|a, b| b.1.total_cmp(&a.1));
                let mut acc = 0.0;
                let mut keep = n;
                for (i, p) in full.iter().enumerate() {
                    acc += p.1 / total;
                    if acc >= top_p {
                        keep = i + 1;
                        break;
                    }
                }
                let mut fast = probs.clone();
                let k = nucleus(&mut fast, total, top_p);
                assert_eq!(k, keep, "n {n} top_p {top_p}");
                assert_eq!(&fast[..k], &full[..keep], "n {n} top_p {top_p}");
            }
        }
    }

    #[test]
    fn temperature_sampling_follows_softmax() {
        let logits = [0.0f32, 1.0f32.ln() + 1.0]; // p = [1/(1+e), e/(1+e)] = [0.269, 0.731]
        let cfg = SamplingConfig {
            temperature: 1.0,
            ..Default::default()
        };
        let mut rng = StdRng::seed_from_u64(1);
        let ones = (0..4000)
            .filter(|_| sample_token(&logits, &cfg, &mut rng) == 1)
            .count();
        let share = ones as f64 / 4000.0;
        assert!((share - 0.731).abs() < 0.03, "{share}");
    }
}
