//! The training plan: which examples go into which micro-batch and optimiser step, for the
//! whole run, fixed before training starts.
//!
//! Each pass (epoch) shuffles the training examples with its own seed and cuts them into
//! micro-batches of `batch_size`, grouped by length: the shuffled order is cut into windows
//! of [`LENGTH_WINDOW`] micro-batches' worth of examples, each window is sorted by token
//! count (longest first, ties in shuffled order) and cut into micro-batches, and the window's
//! micro-batches are shuffled again, so a micro-batch holds examples of similar length (less
//! padding computed) while the order of steps stays random (the idea of Hugging Face's
//! `group_by_length`). Consecutive runs of `grad_accum` micro-batches form one
//! optimiser step (the last step of the run may be shorter). Every micro-batch knows the
//! label tokens of its whole step (the loss normaliser, see [`super::step`]).
//!
//! burn-train checkpoints at the end of each of its "epochs", so the plan is cut into
//! *segments* of `checkpoint_every` optimiser steps and each segment is one burn-train epoch.
//! [`SegmentLoader`] hands burn-train the next segment at every epoch; a resumed run starts
//! at the segment after the checkpoint and sees exactly the batches the uninterrupted run
//! would have seen.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::data::dataloader::{DataLoader, DataLoaderIterator, Progress};
use burn::data::dataset::DatasetError;
use burn::tensor::Device;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::batch::{LmBatch, make_batch};
use super::example::TrainExample;

/// Micro-batches per length-grouping window (see the module docs).
pub const LENGTH_WINDOW: usize = 16;

/// One micro-batch: indices into the training examples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicroBatch {
    /// Example indices.
    pub examples: Vec<usize>,
    /// Label tokens of the optimiser step this micro-batch belongs to.
    pub step_targets: usize,
}

/// The optimiser steps of a whole run.
#[derive(Debug, Clone)]
pub struct TrainPlan {
    /// `steps[s]` = the micro-batches of optimiser step `s`.
    pub steps: Vec<Vec<MicroBatch>>,
    /// Optimiser steps per segment (checkpoint interval).
    pub checkpoint_every: usize,
}

impl TrainPlan {
    /// Plans `epochs` passes over `examples`.
    pub fn new(
        examples: &[TrainExample],
        epochs: usize,
        batch_size: usize,
        grad_accum: usize,
        checkpoint_every: usize,
        seed: u64,
    ) -> Self {
        let mut micro: Vec<Vec<usize>> = Vec::new();
        for epoch in 0..epochs {
            let mut order: Vec<usize> = (0..examples.len()).collect();
            let mut rng = StdRng::seed_from_u64(
                seed ^ (0x9E37_79B9_7F4A_7C15u64.wrapping_mul(epoch as u64 + 1)),
            );
            order.shuffle(&mut rng);
            for window in order.chunks_mut(batch_size * LENGTH_WINDOW) {
                window.sort_by_key(|&i| std::cmp::Reverse(examples[i].input_ids.len()));
                let mut batches: Vec<Vec<usize>> =
                    window.chunks(batch_size).map(<[usize]>::to_vec).collect();
                batches.shuffle(&mut rng);
                micro.extend(batches);
            }
        }
        let steps = micro
            .chunks(grad_accum)
            .map(|group| {
                let tokens: usize = group
                    .iter()
                    .flatten()
                    .map(|&i| examples[i].num_labels())
                    .sum();
                group
                    .iter()
                    .map(|ex| MicroBatch {
                        examples: ex.clone(),
                        step_targets: tokens,
                    })
                    .collect()
            })
            .collect();
        Self {
            steps,
            checkpoint_every,
        }
    }

    /// Number of optimiser steps.
    pub fn num_steps(&self) -> usize {
        self.steps.len()
    }

    /// Number of segments (burn-train epochs).
    pub fn num_segments(&self) -> usize {
        self.steps.len().div_ceil(self.checkpoint_every)
    }

    /// The micro-batches of segment `s` (0-based), in order.
    pub fn segment(&self, s: usize) -> Vec<MicroBatch> {
        let start = (s * self.checkpoint_every).min(self.steps.len());
        let end = ((s + 1) * self.checkpoint_every).min(self.steps.len());
        self.steps[start..end].iter().flatten().cloned().collect()
    }
}

/// Holds out `round(fraction · n)` examples (at least one when n ≥ 2, never all of them),
/// chosen by `seed`.
pub fn split_valid(
    examples: Vec<TrainExample>,
    fraction: f64,
    seed: u64,
) -> (Vec<TrainExample>, Vec<TrainExample>) {
    let n = examples.len();
    let mut k = (fraction * n as f64).round() as usize;
    if fraction > 0.0 && n >= 2 {
        k = k.clamp(1, n - 1);
    }
    k = k.min(n.saturating_sub(1));
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    let valid_idx: std::collections::HashSet<usize> = order[..k].iter().copied().collect();
    let (mut train, mut valid) = (Vec::new(), Vec::new());
    for (i, e) in examples.into_iter().enumerate() {
        if valid_idx.contains(&i) {
            valid.push(e);
        } else {
            train.push(e);
        }
    }
    (train, valid)
}

/// A burn [`DataLoader`] that yields the plan's segments, one per call to `iter`.
#[derive(Clone)]
pub struct SegmentLoader {
    examples: Arc<Vec<TrainExample>>,
    plan: Arc<TrainPlan>,
    next_segment: Arc<AtomicUsize>,
    device: Device,
    /// The other devices of data-parallel training (empty: one device).
    shard_devices: Vec<Device>,
    range: Option<(usize, usize)>,
}

impl SegmentLoader {
    /// A loader whose first `iter` yields segment `first_segment` (0-based), its batches on
    /// `device`; with `shard_devices`, each micro-batch is split across `device` and them
    /// ([`shard`]).
    pub fn new(
        examples: Arc<Vec<TrainExample>>,
        plan: Arc<TrainPlan>,
        first_segment: usize,
        device: Device,
        shard_devices: Vec<Device>,
    ) -> Self {
        Self {
            examples,
            plan,
            next_segment: Arc::new(AtomicUsize::new(first_segment)),
            device,
            shard_devices,
            range: None,
        }
    }
}

/// Splits a micro-batch's `items` across `device` and `others` in contiguous, nearly equal
/// parts (the first ones one example larger; devices left without an example get none): the
/// first part is the returned batch, on `device`; the others are its
/// [`shards`](LmBatch::shards). Every part keeps the step's `step_targets`, so the gradients
/// summed over the parts are those of the whole micro-batch.
///
/// # Panics
/// On an empty `items` (as [`make_batch`]).
pub fn shard(
    items: &[TrainExample],
    step_targets: usize,
    device: &Device,
    others: &[Device],
) -> LmBatch {
    let parts = (1 + others.len()).min(items.len()).max(1);
    let (size, extra) = (items.len() / parts, items.len() % parts);
    let mut start = 0;
    let mut batches = Vec::with_capacity(parts);
    for p in 0..parts {
        let len = size + usize::from(p < extra);
        let on = if p == 0 { device } else { &others[p - 1] };
        let mut b = make_batch(&items[start..start + len], on);
        b.step_targets = step_targets;
        batches.push(b);
        start += len;
    }
    let mut first = batches.remove(0);
    first.shards = batches;
    first
}

struct SegmentIter<'a> {
    loader: &'a SegmentLoader,
    batches: Vec<MicroBatch>,
    next: usize,
}

impl Iterator for SegmentIter<'_> {
    type Item = Result<LmBatch, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mb = self.batches.get(self.next)?;
        self.next += 1;
        let items: Vec<TrainExample> = mb
            .examples
            .iter()
            .map(|&i| self.loader.examples[i].clone())
            .collect();
        Some(Ok(shard(
            &items,
            mb.step_targets,
            &self.loader.device,
            &self.loader.shard_devices,
        )))
    }
}

impl DataLoaderIterator<LmBatch> for SegmentIter<'_> {
    fn progress(&self) -> Progress {
        Progress {
            items_processed: self.next,
            items_total: self.batches.len(),
            unit: Some("micro-batches".into()),
        }
    }
}

impl DataLoader<LmBatch> for SegmentLoader {
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<LmBatch> + 'a> {
        let s = self.next_segment.fetch_add(1, Ordering::SeqCst);
        let mut batches = self.plan.segment(s);
        if let Some((a, b)) = self.range {
            batches = batches[a.min(batches.len())..b.min(batches.len())].to_vec();
        }
        Box::new(SegmentIter {
            loader: self,
            batches,
            next: 0,
        })
    }

    fn num_items(&self) -> usize {
        let s = self.next_segment.load(Ordering::SeqCst);
        self.plan.segment(s).len()
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<LmBatch>> {
        Arc::new(Self {
            device: device.clone(),
            ..self.clone()
        })
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<LmBatch>> {
        Arc::new(Self {
            range: Some((start, end)),
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(labels: usize) -> TrainExample {
        TrainExample {
            id: String::new(),
            input_ids: vec![1; labels + 1],
            label_mask: (0..=labels).map(|i| i > 0).collect(),
            prompt_tokens_cut: 0,
            target_tokens_cut: 0,
        }
    }

    #[test]
    fn steps_group_micro_batches_and_count_their_tokens() {
        // 5 examples with 1..=5 labels, batch 2, accumulation 2, 2 epochs:
        // per epoch 3 micro-batches (2+2+1 examples); 6 micro-batches → 3 steps of 2.
        let examples: Vec<_> = (1..=5).map(ex).collect();
        let plan = TrainPlan::new(&examples, 2, 2, 2, 2, 7);
        assert_eq!(plan.num_steps(), 3);
        assert_eq!(plan.num_segments(), 2);
        for step in &plan.steps {
            let tokens: usize = step.iter().flat_map(|m| &m.examples).map(|&i| i + 1).sum();
            assert!(step.iter().all(|m| m.step_targets == tokens));
        }
        // Each epoch sees every example once.
        let all: Vec<usize> = plan
            .steps
            .iter()
            .flatten()
            .flat_map(|m| m.examples.clone())
            .collect();
        let mut first: Vec<usize> = all[..5].to_vec();
        first.sort();
        assert_eq!(first, vec![0, 1, 2, 3, 4]);
        assert_eq!(plan.segment(0).len(), 4);
        assert_eq!(plan.segment(1).len(), 2);
        // Same seed, same plan.
        assert_eq!(TrainPlan::new(&examples, 2, 2, 2, 2, 7).steps, plan.steps);
    }

    #[test]
    fn micro_batches_group_examples_of_similar_length() {
        // 8 examples of lengths 1..=8 (+1 token), batch 2, one window: the micro-batches
        // are exactly the pairs {8,7}, {6,5}, {4,3}, {2,1} (label counts), in some order.
        let examples: Vec<_> = (1..=8).map(ex).collect();
        let plan = TrainPlan::new(&examples, 1, 2, 1, 4, 3);
        let mut pairs: Vec<Vec<usize>> = plan
            .steps
            .iter()
            .flatten()
            .map(|m| {
                let mut p: Vec<usize> = m.examples.iter().map(|&i| i + 1).collect();
                p.sort();
                p
            })
            .collect();
        pairs.sort();
        assert_eq!(pairs, vec![vec![1, 2], vec![3, 4], vec![5, 6], vec![7, 8]]);
    }
}
