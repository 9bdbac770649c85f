//! The softmax and log-softmax differentiation rules added to burn-autodiff 0.22.1 by
//! `patches/burn-autodiff` (see `patches/README.md`). Expected gradients come from the closed
//! forms, evaluated here in f64 with plain loops on the same inputs:
//! for `L = Σ w ⊙ softmax(x)`, `∂L/∂x_i = y_i (w_i − Σ_j w_j y_j)`;
//! for `L = Σ w ⊙ log_softmax(x)`, `∂L/∂x_i = w_i − p_i Σ_j w_j` with `p = softmax(x)`.

use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Device, Tensor, TensorData};

const ROWS: usize = 3;
const COLS: usize = 7;

/// Inputs with a wide range, and one masked entry per row (as attention's causal mask gives).
fn inputs() -> (Vec<f64>, Vec<f64>) {
    let x: Vec<f64> = (0..ROWS * COLS)
        .map(|i| ((i * 37 % 23) as f64 - 11.0) * 0.45)
        .map(|v| if v.abs() > 4.9 { f64::NEG_INFINITY } else { v })
        .collect();
    let w: Vec<f64> = (0..ROWS * COLS)
        .map(|i| ((i * 13 % 17) as f64 - 8.0) * 0.3)
        .collect();
    assert!(
        x.iter().any(|v| v.is_infinite()),
        "the inputs hold a masked entry"
    );
    (x, w)
}

fn softmax_rows(x: &[f64]) -> Vec<f64> {
    x.chunks(COLS)
        .flat_map(|row| {
            let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = row.iter().map(|v| (v - max).exp()).collect();
            let sum: f64 = e.iter().sum();
            e.into_iter().map(move |v| v / sum)
        })
        .collect()
}

/// `(value of L, ∂L/∂x)` from burn's autodiff on the CPU backend.
fn burn_grad(f: impl Fn(Tensor<2>) -> Tensor<2>, x: &[f64], w: &[f64]) -> (f64, Vec<f64>) {
    let dev = Device::flex().autodiff();
    let to32 = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
    let xt = Tensor::<2>::from_data(TensorData::new(to32(x), [ROWS, COLS]), &dev).require_grad();
    let wt = Tensor::<2>::from_data(TensorData::new(to32(w), [ROWS, COLS]), &dev);
    let y = f(xt.clone());
    // Masked entries of log-softmax are -inf; their weight is zeroed so that L stays finite.
    let y = y.mask_fill(xt.clone().equal_elem(f32::NEG_INFINITY), 0.0);
    let loss = (y * wt).sum();
    let value = loss.clone().into_scalar::<f64>();
    let grads = loss.backward();
    let g = xt
        .grad(&grads)
        .expect("x has a gradient")
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .unwrap();
    (value, g)
}

fn assert_close(got: &[f64], want: &[f64], what: &str) {
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 + 1e-5 * b.abs(),
            "{what}[{i}]: {a} vs {b}"
        );
    }
}

#[test]
fn softmax_gradient_is_the_closed_form() {
    let (x, w) = inputs();
    let y = softmax_rows(&x);
    let mut want = vec![0.0; x.len()];
    for r in 0..ROWS {
        let row = r * COLS..(r + 1) * COLS;
        let dot: f64 = row.clone().map(|i| w[i] * y[i]).sum();
        for i in row {
            want[i] = y[i] * (w[i] - dot);
        }
    }
    let (value, got) = burn_grad(|t| softmax(t, 1), &x, &w);
    let want_value: f64 = y.iter().zip(&w).map(|(a, b)| a * b).sum();
    assert!((value - want_value).abs() < 1e-5, "{value} vs {want_value}");
    assert_close(&got, &want, "d softmax");
    for (i, g) in got.iter().enumerate() {
        if x[i].is_infinite() {
            assert_eq!(*g, 0.0, "a masked entry gets no gradient");
        }
    }
}

#[test]
fn log_softmax_gradient_is_the_closed_form() {
    let (x, w) = inputs();
    let p = softmax_rows(&x);
    // Masked entries carry weight 0 in L (see `burn_grad`).
    let w_used: Vec<f64> = w
        .iter()
        .zip(&x)
        .map(|(&a, v)| if v.is_infinite() { 0.0 } else { a })
        .collect();
    let mut want = vec![0.0; x.len()];
    for r in 0..ROWS {
        let row = r * COLS..(r + 1) * COLS;
        let sum: f64 = row.clone().map(|i| w_used[i]).sum();
        for i in row {
            want[i] = w_used[i] - p[i] * sum;
        }
    }
    let (value, got) = burn_grad(|t| log_softmax(t, 1), &x, &w);
    let want_value: f64 = p
        .iter()
        .zip(&w_used)
        .filter(|(_, w)| **w != 0.0)
        .map(|(p, w)| p.ln() * w)
        .sum();
    assert!((value - want_value).abs() < 1e-4, "{value} vs {want_value}");
    assert_close(&got, &want, "d log_softmax");
}
