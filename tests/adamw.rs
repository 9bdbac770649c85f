//! `train::adamw::FusedAdamW` against two independent references: burn 0.22.1's own `AdamW`
//! (the optimiser it replaces on the CPU) over several steps of a real module, and the AdamW
//! formulas evaluated by hand in f64.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use halt_llm::train::adamw::{AdamWSettings, FusedAdamW, runs_fused, update};

const SETTINGS: AdamWSettings = AdamWSettings {
    beta_1: 0.9,
    beta_2: 0.95,
    epsilon: 1e-8,
    weight_decay: 0.1,
};

fn burn_adamw() -> ModuleOptimizer {
    AdamWConfig::new()
        .with_beta_1(SETTINGS.beta_1)
        .with_beta_2(SETTINGS.beta_2)
        .with_epsilon(SETTINGS.epsilon)
        .with_weight_decay(SETTINGS.weight_decay)
        .init()
}

fn values(linear: &Linear) -> Vec<f32> {
    let mut v = linear.weight.val().into_data().try_to_vec::<f32>().unwrap();
    v.extend(
        linear
            .bias
            .as_ref()
            .unwrap()
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap(),
    );
    v
}

/// Deterministic values in about [-1, 1] (no random generator: tests share the backend's).
fn wave(n: usize, phase: f32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as f32) * 0.7311 + phase).sin())
        .collect()
}

/// Six steps (learning rates 1e-2 … 6e-2) of `loss = c · Σ (x W + b)²` with different inputs
/// per step, from the same start, for each optimiser.
fn train(mut optim: ModuleOptimizer) -> Vec<f32> {
    let dev = Device::flex().autodiff();
    // 300 × 300 weights: more than one parallel chunk (2¹⁶ elements) of the fused loop.
    let n = 300;
    let weight =
        Tensor::<2>::from_data(TensorData::new(wave(n * n, 0.0), [n, n]), &dev).mul_scalar(0.05);
    let bias = Tensor::<1>::from_data(TensorData::new(wave(n, 1.0), [n]), &dev);
    let mut linear = Linear {
        weight: Param::from_tensor(weight),
        bias: Some(Param::from_tensor(bias)),
    };
    for step in 1..=6 {
        let x = Tensor::<2>::from_data(TensorData::new(wave(4 * n, step as f32), [4, n]), &dev);
        let y = linear.forward(x);
        let loss = (y.clone() * y).sum().mul_scalar(0.01 * step as f64);
        let grads = GradientsParams::from_grads(loss.backward(), &linear);
        linear = optim.step(1e-2 * step as f64, linear, grads);
    }
    values(&linear.valid())
}

#[test]
fn fused_adamw_gives_burns_adamw_weights() {
    // The comparison below is only worth something if the fused loop ran: optimisers see the
    // parameters on the inner device (the CPU backend), in f32.
    assert!(runs_fused(&Device::flex(), burn::tensor::DType::F32));
    assert!(!runs_fused(&Device::flex(), burn::tensor::DType::F64));
    let want = train(burn_adamw());
    let got = train(FusedAdamW::module_optimizer(SETTINGS, None));
    assert_eq!(got.len(), want.len());
    let moved = want.iter().filter(|w| w.abs() > 0.05).count();
    assert!(moved > 1000, "the weights moved: {moved}");
    let worst = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    // The same f32 operations in the same order: the same bits.
    assert!(
        worst == 0.0,
        "largest difference from burn's AdamW: {worst}"
    );
}

#[test]
fn fused_adamw_with_clipping_gives_burns_clipped_adamw_weights() {
    use burn::optim::grad_clipping::GradientClippingConfig;
    let want = train(burn_adamw().with_grad_clipping(GradientClippingConfig::Norm(0.5).init()));
    let got = train(FusedAdamW::module_optimizer(SETTINGS, Some(0.5)));
    let unclipped = train(FusedAdamW::module_optimizer(SETTINGS, None));
    let worst = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max)
    };
    assert!(worst(&got, &want) == 0.0, "{}", worst(&got, &want));
    assert!(worst(&got, &unclipped) > 1e-4, "clipping changed nothing");
}

/// Two steps on three elements, against AdamW's formulas in f64 (bias-corrected moments,
/// decoupled decay): `p ← p(1 − lr λ) − lr m̂ / (√v̂ + ε)`.
#[test]
fn two_steps_by_hand() {
    let s = SETTINGS;
    let (b1, b2, eps, wd) = (
        f64::from(s.beta_1),
        f64::from(s.beta_2),
        f64::from(s.epsilon),
        f64::from(s.weight_decay),
    );
    let mut p = [0.5f32, -1.25, 2.0];
    let grads = [[0.1f32, -0.4, 0.0], [-0.3f32, -0.2, 1e-3]];
    let lrs = [0.01, 0.02];
    let (mut m, mut v) = ([0f32; 3], [0f32; 3]);
    let mut want: Vec<f64> = p.iter().map(|&x| f64::from(x)).collect();
    let (mut mw, mut vw) = ([0f64; 3], [0f64; 3]);
    for t in 1..=2 {
        let (g, lr) = (grads[t - 1], lrs[t - 1]);
        update(&s, lr, t, &mut p, &g, &mut m, &mut v);
        for i in 0..3 {
            let gi = f64::from(g[i]);
            mw[i] = b1 * mw[i] + (1.0 - b1) * gi;
            vw[i] = b2 * vw[i] + (1.0 - b2) * gi * gi;
            let m_hat = mw[i] / (1.0 - b1.powi(t as i32));
            let v_hat = vw[i] / (1.0 - b2.powi(t as i32));
            want[i] = want[i] * (1.0 - lr * wd) - lr * m_hat / (v_hat.sqrt() + eps);
        }
    }
    for i in 0..3 {
        let got = f64::from(p[i]);
        assert!((got - want[i]).abs() < 1e-6, "p[{i}]: {got} vs {}", want[i]);
    }
    // Element 2 had a zero gradient at step 1: only the decay moved it then.
    assert!((want[2] - 2.0).abs() > 1e-5);
}
