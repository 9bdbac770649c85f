//! The burn [`Batcher`]: tokenized examples → padded tensors with next-token targets and
//! the completion mask.

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::example::TrainExample;

/// A padded micro-batch for causal-LM finetuning.
///
/// Inputs are tokens `0..n-1` of each example and targets tokens `1..n` (the one shift);
/// rows are right-padded with id 0, which is never attended to nor supervised.
#[derive(Debug, Clone)]
pub struct LmBatch {
    /// Input ids `[batch, seq_len]`.
    pub input_ids: Tensor<2, Int>,
    /// Next-token targets `[batch, seq_len]`.
    pub targets: Tensor<2, Int>,
    /// Completion mask `[batch, seq_len]`: 1.0 where `targets` is a label (target text or
    /// its end token), 0.0 on prompt tokens and padding.
    pub target_mask: Tensor<2>,
    /// Flat indices `b · seq_len + i` of the label positions, `[num_targets]`: the loss
    /// computes logits only there.
    pub label_positions: Tensor<1, Int>,
    /// The next-token targets at `label_positions`, `[num_targets]`.
    pub label_targets: Tensor<1, Int>,
    /// Attention validity per row (`false` on padding), `batch` rows of `seq_len` flags.
    pub attention_mask: Vec<Vec<bool>>,
    /// Label tokens in this micro-batch.
    pub num_targets: usize,
    /// Label tokens in the whole optimiser step this micro-batch belongs to: the loss of
    /// every micro-batch is divided by it, so that the accumulated gradient is the gradient
    /// of the mean over the step's tokens (not a mean of per-micro-batch means).
    pub step_targets: usize,
    /// Data parallelism (`TrainConfig::devices`): the rest of this micro-batch's examples, one
    /// batch per other device, each on its device and with the same `step_targets`; the train
    /// step sums their gradients with this batch's on the main device. Empty on one device.
    pub shards: Vec<LmBatch>,
}

/// Builds [`LmBatch`]es; a batch on its own is its own optimiser step (`step_targets =
/// num_targets`), the training plan overrides `step_targets` under accumulation.
#[derive(Debug, Clone, Copy, Default)]
pub struct LmBatcher;

impl Batcher<TrainExample, LmBatch> for LmBatcher {
    fn batch(&self, items: Vec<TrainExample>, device: &Device) -> LmBatch {
        make_batch(&items, device)
    }
}

/// Pads and shifts `items` (each at least 2 tokens long) into an [`LmBatch`].
///
/// # Panics
/// On an empty slice or an example shorter than two tokens (the tokenizer never makes one).
pub fn make_batch(items: &[TrainExample], device: &Device) -> LmBatch {
    assert!(!items.is_empty(), "empty batch");
    let seq_len = items.iter().map(|e| e.input_ids.len() - 1).max().unwrap();
    let b = items.len();
    let mut inputs = vec![0i64; b * seq_len];
    let mut targets = vec![0i64; b * seq_len];
    let mut mask = vec![0f32; b * seq_len];
    let mut attention_mask = Vec::with_capacity(b);
    let mut num_targets = 0;
    let (mut label_positions, mut label_targets) = (Vec::new(), Vec::new());
    for (r, e) in items.iter().enumerate() {
        assert!(e.input_ids.len() >= 2, "example {} has < 2 tokens", e.id);
        let n = e.input_ids.len() - 1;
        let row = r * seq_len;
        for i in 0..n {
            inputs[row + i] = e.input_ids[i] as i64;
            targets[row + i] = e.input_ids[i + 1] as i64;
            if e.label_mask[i + 1] {
                mask[row + i] = 1.0;
                num_targets += 1;
                label_positions.push((row + i) as i64);
                label_targets.push(e.input_ids[i + 1] as i64);
            }
        }
        let mut valid = vec![false; seq_len];
        valid[..n].fill(true);
        attention_mask.push(valid);
    }
    LmBatch {
        input_ids: Tensor::from_data(TensorData::new(inputs, [b, seq_len]), device),
        targets: Tensor::from_data(TensorData::new(targets, [b, seq_len]), device),
        target_mask: Tensor::from_data(TensorData::new(mask, [b, seq_len]), device),
        label_positions: Tensor::from_data(TensorData::new(label_positions, [num_targets]), device),
        label_targets: Tensor::from_data(TensorData::new(label_targets, [num_targets]), device),
        attention_mask,
        num_targets,
        step_targets: num_targets,
        shards: Vec::new(),
    }
}
