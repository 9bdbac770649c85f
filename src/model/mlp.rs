//! SwiGLU feed-forward block (Shazeer 2020, as in Llama):
//! `down_proj(silu(gate_proj(x)) ⊙ up_proj(x))`.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor, activation::silu};

use super::linear::project;

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
        let gate = silu(project(&self.gate_proj, x.clone()));
        project(&self.down_proj, gate * project(&self.up_proj, x))
    }
}
