//! The output head and the cross-entropy together, on the CPU: the loss and its gradient
//! without differentiating a softmax over the vocabulary.
//!
//! For hidden states `h` `[n, hidden]`, head weight `W` `[vocab, hidden]` and targets `t`,
//! the summed cross-entropy `L = Σᵣ logsumexp(zᵣ) − zᵣ[tᵣ]` with logits `z = h Wᵀ` has
//! `∂L/∂z = G = softmax(z) − onehot(t)`, so `∂L/∂h = G W` and `∂L/∂W = Gᵀ h`. Here `z` is
//! computed without gradient tracking, `G` and `L` come from one pass over each row of `z` on
//! the host (`z` is overwritten by `G`), and the surrogate `S = Σ h ⊙ (G W)`, whose gradients
//! with respect to `h` and `W` are exactly those above (`G` held constant), carries them to
//! the graph. The returned value is `L + S − detach(S)`: `L`'s value with `S`'s gradients.
//!
//! Autodiff of the loss written with tensor operations keeps the `[n, vocab]` logits and
//! several intermediates of the same size for the backward pass, and passes over them about
//! ten times (max, shift, `exp` forward and again backward, sums, the scatter of the gathered
//! targets' gradient, the sum of the two paths); here they are passed over twice and one
//! `[n, vocab]` tensor (`G`) is kept. The matrix products are the same three
//! (`z`, `G W`, `Gᵀ h`).

use burn::tensor::{DType, Tensor, TensorData};
use rayon::prelude::*;

use crate::model::softmax::exp_minus_max;

/// `Σ` cross-entropy (nats) of the targets under the logits `hidden · weightᵀ`, as a `[1]`
/// tensor whose gradients with respect to `hidden` and `weight` are those of the cross-entropy
/// (see the module docs). `None` off the CPU or for weights that are not f32: the caller then
/// computes the loss with tensor operations.
///
/// # Shapes
/// - `hidden`: `[num_targets, hidden_size]`
/// - `weight`: `[vocab_size, hidden_size]` (the tied embedding, or the head's weight transposed)
/// - `targets`: `num_targets` token ids, each `< vocab_size`
/// - output: `[1]` (nats)
///
/// # Panics
/// If `targets` and `hidden` disagree in length or a target is out of the vocabulary.
pub fn head_nll_sum(hidden: Tensor<2>, weight: Tensor<2>, targets: &[usize]) -> Option<Tensor<1>> {
    let device = hidden.device();
    if !crate::backend::is_cpu(&device.clone().inner())
        || hidden.dtype() != DType::F32
        || weight.dtype() != DType::F32
    {
        return None;
    }
    let [n, _] = hidden.dims();
    let [vocab, _] = weight.dims();
    assert_eq!(targets.len(), n, "one target per row of the hidden states");
    let logits = hidden
        .clone()
        .detach()
        .matmul(weight.clone().detach().transpose()); // [n, vocab]
    let mut grad = logits.into_data();
    let losses = softmax_minus_onehot(
        grad.as_mut_slice::<f32>().expect("f32 logits"),
        vocab,
        targets,
    );
    let loss: f64 = losses.iter().sum();
    let grad = Tensor::<2>::from_data(grad, &device); // [n, vocab], constant
    let surrogate = (hidden * grad.matmul(weight)).sum();
    let loss = Tensor::<1>::from_data(TensorData::new(vec![loss as f32], [1]), &device);
    Some(surrogate.clone() - surrogate.detach() + loss)
}

/// Each row `z` of `logits` (rows of `vocab` values) becomes `softmax(z) − onehot(t)`; returns
/// each row's cross-entropy `logsumexp(z) − z[t]`, in row order. Rows run in parallel.
///
/// # Panics
/// If a target is `≥ vocab` or the rows and targets disagree in number.
pub fn softmax_minus_onehot(logits: &mut [f32], vocab: usize, targets: &[usize]) -> Vec<f64> {
    assert_eq!(logits.len(), vocab * targets.len(), "rows × vocab values");
    logits
        .par_chunks_mut(vocab)
        .zip(targets.par_iter())
        .map(|(row, &t)| {
            assert!(t < vocab, "target {t} is outside the vocabulary ({vocab})");
            let z_t = row[t];
            let (max, sum) = exp_minus_max(row);
            let inv = 1.0 / sum;
            for p in row.iter_mut() {
                *p *= inv;
            }
            row[t] -= 1.0;
            f64::from(max) + f64::from(sum).ln() - f64::from(z_t)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two rows of four logits, worked out by hand in f64.
    #[test]
    fn softmax_minus_onehot_by_hand() {
        let mut z = vec![1.0f32, 2.0, 3.0, 4.0, -1.0, 0.0, 0.0, 1.0];
        let losses = softmax_minus_onehot(&mut z, 4, &[2, 0]);
        let lse0 = (1f64.exp() + 2f64.exp() + 3f64.exp() + 4f64.exp()).ln();
        let lse1 = ((-1f64).exp() + 2.0 + 1f64.exp()).ln();
        assert!((losses[0] - (lse0 - 3.0)).abs() < 1e-6, "{}", losses[0]);
        assert!((losses[1] - (lse1 + 1.0)).abs() < 1e-6, "{}", losses[1]);
        let want = [
            (1f64 - lse0).exp(),
            (2f64 - lse0).exp(),
            (3f64 - lse0).exp() - 1.0,
            (4f64 - lse0).exp(),
            (-1f64 - lse1).exp() - 1.0,
            (-lse1).exp(),
            (-lse1).exp(),
            (1f64 - lse1).exp(),
        ];
        for (g, w) in z.iter().zip(want) {
            assert!((f64::from(*g) - w).abs() < 1e-6, "{g} vs {w}");
        }
    }
}
