//! AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019) as burn's
//! `AdamW` computes it, with one pass over each parameter on the CPU.
//!
//! burn 0.22.1's `AdamW` updates a parameter with about fifteen whole-tensor operations (the
//! two moments, their bias corrections, the square root, the quotient, the decay and the
//! step), each a single-threaded pass over the parameter on the CPU backend; for a 135M
//! parameter model that is about 14% of a full-finetuning step. [`FusedAdamW`] does the same
//! arithmetic, in the same order and in f32, element by element in one loop split across the
//! threads, on the tensors' own buffers. On other devices (and for tensors that are not f32)
//! it calls burn's `AdamW`. The state is burn's [`AdamWState`], so checkpoints are those of
//! burn's `AdamW`, and a run resumes from either.
//!
//! For a parameter `p` with gradient `g` at step `t` (learning rate `lr`, weight decay `λ`):
//!
//! ```text
//! m ← β₁ m + (1 − β₁) g            (first step: m = (1 − β₁) g)
//! v ← β₂ v + (1 − β₂) g²           (first step: v = (1 − β₂) g²)
//! p ← p (1 − lr λ) − lr · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
//! ```

use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{
    AdamW, AdamWConfig, AdamWState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer,
};
use burn::tensor::{DType, Device, Tensor, TensorData};
use rayon::prelude::*;

/// Elements per parallel task: large enough that a task's overhead is negligible.
const CHUNK: usize = 1 << 16;

/// AdamW's settings (the fields of burn's `AdamWConfig` that this project uses).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWSettings {
    /// Decay rate of the first moment, β₁ (HF `adam_beta1`).
    pub beta_1: f32,
    /// Decay rate of the second moment, β₂ (HF `adam_beta2`).
    pub beta_2: f32,
    /// ε added to the square root of the second moment (HF `adam_epsilon`).
    pub epsilon: f32,
    /// Decoupled weight decay λ (HF `weight_decay`).
    pub weight_decay: f32,
}

impl Default for AdamWSettings {
    /// burn's `AdamWConfig` defaults: β = (0.9, 0.999), ε = 1e-5, λ = 1e-4.
    fn default() -> Self {
        Self {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-5,
            weight_decay: 1e-4,
        }
    }
}

/// AdamW, fused on the CPU (see the module docs).
#[derive(Clone)]
pub struct FusedAdamW {
    settings: AdamWSettings,
    /// burn's AdamW with the same settings, for other devices and dtypes.
    fallback: AdamW,
}

impl FusedAdamW {
    /// AdamW with these settings.
    pub fn new(settings: AdamWSettings) -> Self {
        let fallback = AdamWConfig::new()
            .with_beta_1(settings.beta_1)
            .with_beta_2(settings.beta_2)
            .with_epsilon(settings.epsilon)
            .with_weight_decay(settings.weight_decay)
            .build();
        Self { settings, fallback }
    }

    /// A whole-module optimiser over every parameter, clipping the gradient norm at
    /// `max_grad_norm` if set.
    pub fn module_optimizer(
        settings: AdamWSettings,
        max_grad_norm: Option<f32>,
    ) -> ModuleOptimizer {
        let optim = ModuleOptimizer::from(Self::new(settings));
        match max_grad_norm {
            Some(n) => optim.with_grad_clipping(GradientClippingConfig::Norm(n).init()),
            None => optim,
        }
    }
}

impl Optimizer for FusedAdamW {
    type State<const D: usize> = AdamWState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let device = tensor.device();
        let fused = runs_fused(&device, tensor.dtype())
            && grad.dtype() == DType::F32
            && state.as_ref().is_none_or(|s| {
                s.momentum.max_moment_2.is_none()
                    && s.momentum.moment_1.dtype() == DType::F32
                    && s.momentum.moment_2.dtype() == DType::F32
            });
        if !fused {
            return self.fallback.step(lr, tensor, grad, state);
        }
        let (time, moments) = match state {
            Some(s) => (
                s.momentum.time + 1,
                Some((s.momentum.moment_1, s.momentum.moment_2)),
            ),
            None => (1, None),
        };
        // The tensors' own buffers when nothing else holds them (else copies).
        let mut param = tensor.into_data();
        let grad = grad.into_data();
        let (mut m, mut v) = match moments {
            Some((m, v)) => (m.into_data(), v.into_data()),
            // The first step's moments are (1 − β₁) g and (1 − β₂) g²: `update` computes
            // them from zeros (β·0 + x is x exactly).
            None => (zeros_like(&grad), zeros_like(&grad)),
        };
        update(
            &self.settings,
            lr,
            time,
            as_mut(&mut param),
            as_slice(&grad),
            as_mut(&mut m),
            as_mut(&mut v),
        );
        let back = |data: TensorData| Tensor::<D>::from_data(data, &device);
        let momentum = AdaptiveMomentumState::new(time, back(m), back(v));
        (back(param), Some(AdamWState::new(momentum)))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        <AdamW as Optimizer>::to_device(state, device)
    }
}

/// Whether [`FusedAdamW`] updates a parameter of this dtype on this device (the inner device,
/// without automatic differentiation, as optimisers see it) with [`update`]: f32 on the CPU.
/// Elsewhere it calls burn's `AdamW`.
pub fn runs_fused(device: &Device, dtype: DType) -> bool {
    crate::backend::is_cpu(device) && dtype == DType::F32
}

/// One AdamW step over flat buffers, in place, with burn's `AdamW` arithmetic: the same
/// f32 operations in the same order (scalars from f64 rounded to f32 as burn's CPU backend
/// rounds them).
///
/// `time` is the step number `t`, from 1. `param`, `grad`, `m`, `v` have one length.
pub fn update(
    s: &AdamWSettings,
    lr: LearningRate,
    time: usize,
    param: &mut [f32],
    grad: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    let n = param.len();
    assert!(
        grad.len() == n && m.len() == n && v.len() == n,
        "AdamW: parameter, gradient and moments differ in length"
    );
    let t = i32::try_from(time).unwrap_or(i32::MAX);
    let (b1, b2, eps) = (s.beta_1, s.beta_2, s.epsilon);
    let (f1, f2) = (1.0 - b1, 1.0 - b2);
    let (c1, c2) = (1f32 - b1.powi(t), 1f32 - b2.powi(t));
    let keep = (1.0 - lr * f64::from(s.weight_decay)) as f32;
    let lr = lr as f32;
    let rows = param
        .par_chunks_mut(CHUNK)
        .zip(grad.par_chunks(CHUNK))
        .zip(m.par_chunks_mut(CHUNK))
        .zip(v.par_chunks_mut(CHUNK));
    rows.for_each(|(((p, g), m), v)| {
        for i in 0..p.len() {
            let gi = g[i];
            let mi = m[i] * b1 + gi * f1;
            let vi = v[i] * b2 + (gi * gi) * f2;
            m[i] = mi;
            v[i] = vi;
            let delta = (mi / c1) / ((vi / c2).sqrt() + eps);
            p[i] = p[i] * keep - delta * lr;
        }
    });
}

fn zeros_like(data: &TensorData) -> TensorData {
    TensorData::new(vec![0f32; data.num_elements()], data.shape().clone())
}

fn as_mut(data: &mut TensorData) -> &mut [f32] {
    data.as_mut_slice::<f32>()
        .expect("AdamW: an f32 tensor's data is f32")
}

fn as_slice(data: &TensorData) -> &[f32] {
    data.as_slice::<f32>()
        .expect("AdamW: an f32 tensor's data is f32")
}
