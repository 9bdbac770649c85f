//! SwiGLU feed-forward block (Shazeer 2020, as in Llama):
//! `down_proj(silu(gate_proj(x)) ⊙ up_proj(x))`.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{DType, Device, Tensor, TensorData, activation::silu};

use super::linear::{has_adapter, project};

/// The MLP of one decoder layer (HF names `gate_proj`, `up_proj`, `down_proj`).
#[derive(Module, Debug)]
pub struct Mlp {
    /// `[hidden_size → intermediate_size]`, gated by SiLU.
    pub gate_proj: Linear,
    /// `[hidden_size → intermediate_size]`.
    pub up_proj: Linear,
    /// `[intermediate_size → hidden_size]`.
    pub down_proj: Linear,
}

impl Mlp {
    /// Random initialisation (for tests and from-scratch training).
    pub fn init(hidden_size: usize, intermediate_size: usize, device: &Device) -> Self {
        let lin = |i, o| LinearConfig::new(i, o).with_bias(false).init(device);
        Self {
            gate_proj: lin(hidden_size, intermediate_size),
            up_proj: lin(hidden_size, intermediate_size),
            down_proj: lin(intermediate_size, hidden_size),
        }
    }

    /// # Shapes
    /// `x`: `[batch, seq_len, hidden_size]` → `[batch, seq_len, hidden_size]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let linears = [&self.gate_proj, &self.up_proj, &self.down_proj];
        if host_silu_applies(&x)
            && !linears.iter().any(|l| has_adapter(l))
            && let Some(out) = super::decode_weights::feed_forward(linears, &x, silu_mul)
        {
            return out;
        }
        let gate = project(&self.gate_proj, x.clone());
        let up = project(&self.up_proj, x);
        let hidden = if host_silu_applies(&gate) {
            host_silu_mul(gate, up)
        } else {
            silu(gate) * up
        };
        project(&self.down_proj, hidden)
    }
}

/// Whether `silu(gate) ⊙ up` is computed on the host ([`host_silu_mul`]): during a
/// generation (a [`decode_weights`](super::decode_weights) scope is installed on this
/// thread, so no gradients are taken) on a CPU with AVX-512, for f32 values.
fn host_silu_applies(gate: &Tensor<3>) -> bool {
    #[cfg(target_arch = "x86_64")]
    return super::decode_weights::active()
        && super::simd_exp::available()
        && gate.dtype() == DType::F32;
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = gate;
        false
    }
}

/// `silu(gate) ⊙ up` on the host with a vectorized `exp`, written over `gate`'s values: a
/// generation's MLP activations are held only here, so their memory moves to the host and
/// back without a copy.
///
/// # Shapes
/// `gate`, `up`: `[batch, seq_len, intermediate_size]` → the same
///
/// # Panics
/// Unless [`host_silu_applies`].
fn host_silu_mul(gate: Tensor<3>, up: Tensor<3>) -> Tensor<3> {
    let (dims, device) = (gate.dims(), gate.device());
    let host = |t: Tensor<3>| t.into_data().try_into_vec::<f32>().expect("checked f32");
    let (mut g, u) = (host(gate), host(up));
    silu_mul(&mut g, &u);
    Tensor::from_data(TensorData::new(g, dims), &device)
}

/// `gate ← silu(gate) ⊙ up` on host values ([`simd_exp::silu_mul`](super::simd_exp::silu_mul)).
///
/// # Panics
/// Unless [`host_silu_applies`] (the CPU has AVX-512F and FMA), or if the lengths differ.
fn silu_mul(gate: &mut [f32], up: &[f32]) {
    assert_eq!(
        gate.len(),
        up.len(),
        "silu_mul: gate and up differ in length"
    );
    #[cfg(target_arch = "x86_64")]
    {
        assert!(super::simd_exp::available(), "silu_mul: no AVX-512 here");
        // SAFETY: AVX-512F and FMA (asserted above).
        unsafe { super::simd_exp::silu_mul(gate, up) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("host_silu_applies is false here ({})", up.len());
}
