//! The forward pass of a projection that may carry a LoRA adapter (Hu et al. 2021, §4.1:
//! `h = W₀x + BAx`).
//!
//! burn 0.22's LoRA reparameterization makes `Linear::forward` read the weight as
//! `W + s·A·B`: it builds the adapted `[d_in, d_out]` matrix on every call and, in the
//! backward pass, computes its full `[d_in, d_out]` gradient before reducing it to the
//! factors. [`project`] computes `x·W + s·(x·A)·B` instead: the frozen `W` gets no gradient,
//! and the factors' gradients come from `[tokens, rank]` products. Without an adapter it is
//! `Linear::forward`.

use burn::module::LoraAdapter;
use burn::nn::Linear;
use burn::tensor::Tensor;
use rayon::prelude::*;

use crate::backend::is_host_inference;

/// `rows · d_in · d_out` below which burn-flex hands a product to `gemm` without
/// parallelism (burn-flex 0.22.1 `PARALLEL_THRESHOLD`, 192³).
const SERIAL_GEMM_OPS: usize = 192 * 192 * 192;

/// Output columns per part, at least: smaller parts cost more in joining than they save.
const MIN_COLUMNS_PER_PART: usize = 128;

/// `x · w`, split by output columns across threads when it would otherwise run on one core
/// (CPU inference, and one row, which `gemm` computes as a matrix-vector product on one
/// core, or `rows · d_in · d_out` under burn-flex's parallel threshold).
///
/// # Shapes
/// `x`: `[rows, d_in]`, `w`: `[d_in, d_out]` → `[rows, d_out]`.
pub fn matmul(x: Tensor<2>, w: Tensor<2>) -> Tensor<2> {
    let [rows, d_in] = x.dims();
    let d_out = w.dims()[1];
    if !splits(rows, d_in, d_out, &x) {
        return x.matmul(w);
    }
    let parts = rayon::current_num_threads().min(d_out / MIN_COLUMNS_PER_PART);
    let width = d_out.div_ceil(parts);
    let outs: Vec<Tensor<2>> = (0..parts)
        .into_par_iter()
        .map(|p| {
            let start = p * width;
            let cols = width.min(d_out - start);
            x.clone().matmul(w.clone().narrow(1, start, cols))
        })
        .collect();
    Tensor::cat(outs, 1)
}

/// Whether [`matmul`] splits a `[rows, d_in] · [d_in, d_out]` product with left operand `x`.
pub fn splits(rows: usize, d_in: usize, d_out: usize, x: &Tensor<2>) -> bool {
    rayon::current_num_threads().min(d_out / MIN_COLUMNS_PER_PART) >= 2
        && (rows == 1 || rows.saturating_mul(d_in).saturating_mul(d_out) < SERIAL_GEMM_OPS)
        && is_host_inference(&x.device())
}

/// `linear(x)` (`x · W + bias`), with a LoRA adapter applied as a side path when the weight
/// carries one.
///
/// # Shapes
/// `x`: `[batch, seq_len, d_in]` → `[batch, seq_len, d_out]`.
pub fn project(linear: &Linear, x: Tensor<3>) -> Tensor<3> {
    let [batch, seq, d_in] = x.dims();
    let x = x.reshape([batch * seq, d_in]);
    let mut out = match linear.weight.reparameterization::<LoraAdapter>() {
        None => matmul(x, linear.weight.val()),
        Some(lora) => {
            x.clone().matmul(linear.weight.base())
                + x.matmul(lora.a.val())
                    .matmul(lora.b.val())
                    .mul_scalar(lora.scale)
        }
    };
    if let Some(bias) = &linear.bias {
        out = out + bias.val().unsqueeze_dim(0);
    }
    let d_out = out.dims()[1];
    out.reshape([batch, seq, d_out])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution};

    #[test]
    fn a_split_product_equals_the_whole_one() {
        let dev = Device::flex();
        for (rows, d_in, d_out) in [(1, 576, 1536), (2, 64, 1000), (1, 576, 49_152 / 8)] {
            let x = Tensor::<2>::random([rows, d_in], Distribution::Normal(0.0, 1.0), &dev);
            let w = Tensor::<2>::random([d_in, d_out], Distribution::Normal(0.0, 1.0), &dev);
            if rayon::current_num_threads() >= 2 {
                assert!(splits(rows, d_in, d_out, &x));
            }
            let split = matmul(x.clone(), w.clone())
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            let whole = x.matmul(w).into_data().try_to_vec::<f32>().unwrap();
            assert_eq!(split.len(), rows * d_out);
            for (a, b) in split.iter().zip(&whole) {
                assert!((a - b).abs() < 1e-3, "{a} vs {b}");
            }
        }
    }
}
