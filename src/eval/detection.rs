//! How well a score detects wrong fragments: the area under the ROC curve and the average
//! precision (area under the precision–recall curve), the two measures SelfCheckGPT (arXiv
//! 2303.08896 §6) reports for the same task.
//!
//! Scores are "suspicion": higher means more likely wrong (for support, use its negative).

/// Area under the ROC curve: the probability that a random positive (wrong fragment) scores
/// higher than a random negative, ties counted as half (Mann–Whitney U / (P·N), from average
/// ranks). `None` without a positive or without a negative.
pub fn auroc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    assert_eq!(scores.len(), positive.len(), "one label per score");
    let p = positive.iter().filter(|&&b| b).count();
    let n = positive.len() - p;
    if p == 0 || n == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // average 1-based ranks over runs of equal scores
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_pos += avg * order[i..=j].iter().filter(|&&k| positive[k]).count() as f64;
        i = j + 1;
    }
    let u = rank_sum_pos - (p * (p + 1)) as f64 / 2.0;
    Some(u / (p * n) as f64)
}

/// Average precision: Σ over the distinct score thresholds, highest first, of (recall gained)
/// × (precision at that threshold); fragments with equal scores enter together (as
/// scikit-learn's `average_precision_score`). `None` without a positive.
pub fn average_precision(scores: &[f64], positive: &[bool]) -> Option<f64> {
    assert_eq!(scores.len(), positive.len(), "one label per score");
    let p = positive.iter().filter(|&&b| b).count();
    if p == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut taken, mut hits, mut ap) = (0usize, 0usize, 0.0);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let new_hits = order[i..=j].iter().filter(|&&k| positive[k]).count();
        taken += j - i + 1;
        hits += new_hits;
        ap += (new_hits as f64 / p as f64) * (hits as f64 / taken as f64);
        i = j + 1;
    }
    Some(ap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_by_hand() {
        // positives 0.9, 0.4; negatives 0.5, 0.1: pairs (0.9>0.5, 0.9>0.1, 0.4<0.5, 0.4>0.1)
        // = 3 of 4
        let s = [0.9, 0.5, 0.4, 0.1];
        let y = [true, false, true, false];
        assert_eq!(auroc(&s, &y), Some(0.75));
        // a tie between a positive and a negative counts half: pairs (1 vs 1: ½, 1 > 0: 1)
        assert_eq!(auroc(&[1.0, 1.0, 0.0], &[true, false, false]), Some(0.75));
        // perfect and reversed
        assert_eq!(auroc(&[2.0, 1.0], &[true, false]), Some(1.0));
        assert_eq!(auroc(&[1.0, 2.0], &[true, false]), Some(0.0));
        assert_eq!(auroc(&[1.0, 2.0], &[true, true]), None);
    }

    #[test]
    fn average_precision_by_hand() {
        // ranked 0.9 (pos), 0.5 (neg), 0.4 (pos), 0.1 (neg):
        // recall ½ at precision 1, then recall 1 at precision 2/3 → ½·1 + ½·⅔ = 5/6
        let s = [0.9, 0.5, 0.4, 0.1];
        let y = [true, false, true, false];
        assert!((average_precision(&s, &y).unwrap() - 5.0 / 6.0).abs() < 1e-12);
        // all tied: one threshold, precision = base rate ⅓
        let ap = average_precision(&[1.0, 1.0, 1.0], &[true, false, false]).unwrap();
        assert!((ap - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(average_precision(&[1.0], &[false]), None);
    }
}
