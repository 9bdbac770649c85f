//! The completion-only loss and burn-train's `TrainStep` / `InferenceStep` for [`Llama`].
//!
//! Normalisation, spelled out: an optimiser step covers K micro-batches with T₁…T_K label
//! tokens. Each micro-batch contributes `Σ_its tokens CE / (T₁+…+T_K)`; burn-train sums the
//! K gradients before the step, so the update is the gradient of the mean cross-entropy over
//! all the step's label tokens. (Averaging per micro-batch and then over micro-batches would
//! weight a 10-token micro-batch like a 100-token one.)

use burn::module::Module;
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor};
use burn::train::metric::{Adaptor, ItemLazy, LossInput};
use burn::train::{InferenceStep, TrainOutput, TrainStep};

use super::batch::{LmBatch, make_batch};
use super::example::TrainExample;
use crate::model::linear::has_adapter;
use crate::model::llama::Llama;

/// Sum of the token cross-entropies `-log p(target)` over the label positions.
///
/// # Shapes
/// - `logits`: `[batch, seq_len, vocab_size]`
/// - `targets`: `[batch, seq_len]`; `target_mask`: `[batch, seq_len]` (1.0 = label)
/// - output: `[1]` (nats)
pub fn masked_nll_sum(
    logits: Tensor<3>,
    targets: Tensor<2, Int>,
    target_mask: Tensor<2>,
) -> Tensor<1> {
    let log_probs = log_softmax(logits, 2);
    let picked: Tensor<2> = log_probs.gather(2, targets.unsqueeze_dim(2)).squeeze_dim(2);
    picked.mul(target_mask).sum().neg()
}

/// What a training or validation step reports to the metrics.
pub struct LmOutput {
    /// Mean cross-entropy per label token of this micro-batch, repeated once per label token
    /// `[num_targets]`, so that burn's loss metric (a mean weighted by the first dimension)
    /// averages over tokens, not over batches.
    pub loss: Tensor<1>,
}

impl ItemLazy for LmOutput {
    fn sync(self) -> Result<Self, burn::tensor::ExecutionError> {
        self.loss.device().flush()?;
        Ok(Self {
            loss: self.loss.without_autodiff(),
        })
    }
}

impl Adaptor<LossInput> for LmOutput {
    fn adapt(&self) -> LossInput {
        LossInput::new(self.loss.clone())
    }
}

/// Sum of the token cross-entropies over the rows of `logits`, each `-log p(target) =
/// logsumexp(logits) − logit[target]`, with the maximum (detached) subtracted before `exp`.
///
/// # Shapes
/// - `logits`: `[num_targets, vocab_size]`; `targets`: `[num_targets]`
/// - output: `[1]` (nats)
pub fn nll_sum(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    let max = logits.clone().detach().max_dim(1); // [n, 1]
    let log_sum_exp = (logits.clone() - max.clone()).exp().sum_dim(1).log() + max; // [n, 1]
    let picked = logits.gather(1, targets.unsqueeze_dim(1)); // [n, 1]
    (log_sum_exp - picked).sum()
}

impl Llama {
    /// `(Σ token cross-entropy [1], label tokens)` of a batch.
    ///
    /// Logits are computed only at the label positions (the hidden states there are
    /// gathered first), so prompt and padding positions cost neither the output head
    /// (`hidden_size × vocab_size` per position) nor a softmax over the vocabulary.
    pub fn batch_nll(&self, batch: &LmBatch) -> (Tensor<1>, usize) {
        if batch.num_targets == 0 {
            // Nothing supervised: a zero that is still connected to the graph.
            let logits = self.forward(batch.input_ids.clone(), &batch.attention_mask);
            let sum = masked_nll_sum(logits, batch.targets.clone(), batch.target_mask.clone());
            return (sum, 0);
        }
        let hidden = self.hidden_states(batch.input_ids.clone(), &batch.attention_mask);
        let [b, s, h] = hidden.dims();
        let at_labels = hidden
            .reshape([b * s, h])
            .select(0, batch.label_positions.clone()); // [num_targets, hidden]
        if let Some(sum) = self.head_nll_sum_on_host(at_labels.clone(), batch) {
            return (sum, batch.num_targets);
        }
        let logits = self.logits(at_labels.unsqueeze_dim(0)).squeeze_dim(0); // [n, vocab]
        (
            nll_sum(logits, batch.label_targets.clone()),
            batch.num_targets,
        )
    }

    /// [`head_loss::head_nll_sum`](super::head_loss::head_nll_sum) for this model's output
    /// head: the tied embedding, or an `lm_head` without bias or adapter. `None` where it
    /// does not apply (see there).
    ///
    /// # Shapes
    /// `at_labels`: `[num_targets, hidden_size]` → `[1]` (nats)
    fn head_nll_sum_on_host(&self, at_labels: Tensor<2>, batch: &LmBatch) -> Option<Tensor<1>> {
        let weight = match &self.lm_head {
            None => self.embed_tokens.weight.val(), // [vocab, hidden]
            Some(head) if head.bias.is_none() && !has_adapter(head) => {
                head.weight.val().transpose() // [hidden, vocab] → [vocab, hidden]
            }
            Some(_) => return None,
        };
        let targets: Vec<usize> = batch
            .label_targets
            .clone()
            .into_data()
            .iter::<i64>()
            .map(|t| usize::try_from(t).expect("token ids are non-negative"))
            .collect();
        super::head_loss::head_nll_sum(at_labels, weight, &targets)
    }

    /// The loss a micro-batch contributes to its optimiser step: its summed token
    /// cross-entropy divided by the label tokens of the whole step (see the module docs).
    ///
    /// # Shapes
    /// output `[1]`
    pub fn step_loss(&self, batch: &LmBatch) -> (Tensor<1>, LmOutput) {
        let (sum, n) = self.batch_nll(batch);
        let loss = sum.clone().div_scalar(batch.step_targets.max(1) as f64);
        (loss, report(sum, n))
    }
}

fn report(sum: Tensor<1>, n: usize) -> LmOutput {
    let mean = sum.detach().div_scalar(n.max(1) as f64);
    LmOutput {
        loss: mean.repeat_dim(0, n.max(1)),
    }
}

/// Mean cross-entropy per label token over `examples` (no gradients), or `None` if empty.
pub fn mean_loss(
    model: &Llama,
    examples: &[TrainExample],
    batch_size: usize,
    device: &Device,
) -> Option<f64> {
    if examples.is_empty() {
        return None;
    }
    let (mut sum, mut n) = (0.0, 0usize);
    for chunk in examples.chunks(batch_size.max(1)) {
        let batch = make_batch(chunk, device);
        let (s, k) = model.batch_nll(&batch);
        sum += s.into_scalar::<f64>();
        n += k;
    }
    (n > 0).then(|| sum / n as f64)
}

impl TrainStep for Llama {
    type Input = LmBatch;
    type Output = LmOutput;

    /// One micro-batch's gradients. With [`LmBatch::shards`] (data parallelism), each shard
    /// runs on its own device in its own thread with a fork of the model, and its gradients
    /// are moved to this batch's device and summed with this batch's: as every part is
    /// divided by the whole step's label tokens, the sum is the whole micro-batch's gradient.
    fn step(&self, mut batch: LmBatch) -> TrainOutput<LmOutput> {
        let shards = std::mem::take(&mut batch.shards);
        if shards.is_empty() {
            let (loss, out) = self.step_loss(&batch);
            return TrainOutput::new(self, loss.backward(), out);
        }
        let main = batch.input_ids.device();
        let parts: Vec<(GradientsParams, Tensor<1>, usize)> = std::thread::scope(|scope| {
            let handles: Vec<_> = shards
                .into_iter()
                .map(|shard| {
                    let model = self.clone();
                    scope.spawn(move || {
                        // This thread's parallel loops run on a pool of its own: the thread
                        // that started it may be a worker of the global pool, and it waits
                        // in the join below, outside any loop (see `threads`).
                        let _pool = crate::threads::pool_of_its_own();
                        let model = model.fork(&shard.input_ids.device().autodiff());
                        shard_gradients(&model, &shard)
                    })
                })
                .collect();
            let mut parts = vec![shard_gradients(self, &batch)];
            parts.extend(
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a data-parallel shard's step panicked")),
            );
            parts
        });
        let mut grads = GradientsAccumulator::<Llama>::new();
        let (mut sum, mut n) = (None::<Tensor<1>>, 0);
        for (g, s, k) in parts {
            grads.accumulate(self, g.to_device(&main, self));
            let s = s.to_device(&main);
            sum = Some(match sum {
                Some(total) => total + s,
                None => s,
            });
            n += k;
        }
        TrainOutput {
            grads: grads.grads(),
            item: report(sum.expect("at least the main shard"), n),
        }
    }
}

/// One part's gradients (its loss divided by the whole step's label tokens), with its summed
/// cross-entropy (detached) and label tokens.
fn shard_gradients(model: &Llama, batch: &LmBatch) -> (GradientsParams, Tensor<1>, usize) {
    let (sum, n) = model.batch_nll(batch);
    let loss = sum.clone().div_scalar(batch.step_targets.max(1) as f64);
    (
        GradientsParams::from_grads(loss.backward(), model),
        sum.detach(),
        n,
    )
}

impl InferenceStep for Llama {
    type Input = LmBatch;
    type Output = LmOutput;

    fn step(&self, batch: LmBatch) -> LmOutput {
        let (sum, n) = self.batch_nll(&batch);
        report(sum, n)
    }
}
