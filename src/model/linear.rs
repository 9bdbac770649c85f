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

/// `linear(x)` (`x · W + bias`), with a LoRA adapter applied as a side path when the weight
/// carries one.
///
/// # Shapes
/// `x`: `[batch, seq_len, d_in]` → `[batch, seq_len, d_out]`.
pub fn project(linear: &Linear, x: Tensor<3>) -> Tensor<3> {
    let Some(lora) = linear.weight.reparameterization::<LoraAdapter>() else {
        // A decode step's few rows, with a generation's host weights installed.
        if let Some(out) = super::decode_weights::project(linear, &x) {
            return out;
        }
        return linear.forward(x);
    };
    let [batch, seq, d_in] = x.dims();
    let x = x.reshape([batch * seq, d_in]);
    let mut out = x.clone().matmul(linear.weight.base())
        + x.matmul(lora.a.val())
            .matmul(lora.b.val())
            .mul_scalar(lora.scale);
    if let Some(bias) = &linear.bias {
        out = out + bias.val().unsqueeze_dim(0);
    }
    let d_out = out.dims()[1];
    out.reshape([batch, seq, d_out])
}

/// [`project`] for several projections of the same `x` (a layer's q/k/v): during a
/// generation, when none carries an adapter, from the host copies in one pass
/// ([`decode_weights::project_many`](super::decode_weights::project_many)); else one by one.
///
/// # Shapes
/// `x`: `[batch, seq_len, d_in]` → `[batch, seq_len, d_outᵢ]` each.
pub fn project_many<const N: usize>(linears: [&Linear; N], x: Tensor<3>) -> [Tensor<3>; N] {
    if !linears.iter().any(|l| has_adapter(l))
        && let Some(outs) = super::decode_weights::project_many(linears, &x)
    {
        return outs;
    }
    linears.map(|l| project(l, x.clone()))
}

/// Whether `linear`'s weight carries a LoRA adapter.
pub fn has_adapter(linear: &Linear) -> bool {
    linear.weight.reparameterization::<LoraAdapter>().is_some()
}
