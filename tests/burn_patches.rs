//! The patched burn crates (see `patches/README.md`).
//!
//! `patches/burn-autodiff`: the softmax and log-softmax differentiation rules. Expected
//! gradients come from the closed forms, evaluated here in f64 with plain loops on the same
//! inputs: for `L = Σ w ⊙ softmax(x)`, `∂L/∂x_i = y_i (w_i − Σ_j w_j y_j)`; for
//! `L = Σ w ⊙ log_softmax(x)`, `∂L/∂x_i = w_i − p_i Σ_j w_j` with `p = softmax(x)`.
//!
//! `patches/burn-flex`: element-wise operations split across threads. Expected values: the
//! same operation applied to each element by a plain loop here, which must agree bit for bit.

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

/// More elements than the patched loops run on one thread (2¹⁶), not a multiple of the
/// parallel chunk (2¹⁴) nor of a SIMD vector.
const LONG: usize = (1 << 18) + 37;

fn long_values(phase: f32) -> Vec<f32> {
    (0..LONG)
        .map(|i| ((i as f32) * 0.013 + phase).sin() * 3.0)
        .collect()
}

fn flex(v: &[f32]) -> Tensor<1> {
    Tensor::<1>::from_data(TensorData::new(v.to_vec(), [v.len()]), &Device::flex())
}

fn bits(t: Tensor<1>) -> Vec<u32> {
    t.into_data()
        .try_to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|x| x.to_bits())
        .collect()
}

fn want_bits(v: impl Iterator<Item = f32>) -> Vec<u32> {
    v.map(f32::to_bits).collect()
}

#[test]
fn long_element_wise_operations_equal_a_plain_loop_bit_for_bit() {
    let (a, b) = (long_values(0.0), long_values(1.0));
    // unary, in place (a unique tensor) and into a new buffer (a shared one)
    assert_eq!(bits(flex(&a).exp()), want_bits(a.iter().map(|x| x.exp())));
    let shared = flex(&a);
    let _other_owner = shared.clone();
    assert_eq!(bits(shared.exp()), want_bits(a.iter().map(|x| x.exp())));
    // with a scalar, in place and into a new buffer
    assert_eq!(
        bits(flex(&a).mul_scalar(0.37)),
        want_bits(a.iter().map(|x| x * 0.37))
    );
    let shared = flex(&a);
    let _other_owner = shared.clone();
    assert_eq!(
        bits(shared.add_scalar(2.5)),
        want_bits(a.iter().map(|x| x + 2.5))
    );
    // same-shape binary operations (written into either operand)
    let pairs = || a.iter().zip(&b);
    assert_eq!(
        bits(flex(&a) * flex(&b)),
        want_bits(pairs().map(|(x, y)| x * y))
    );
    assert_eq!(
        bits(flex(&a) - flex(&b)),
        want_bits(pairs().map(|(x, y)| x - y))
    );
    let lhs = flex(&a);
    let _lhs_owner = lhs.clone();
    assert_eq!(bits(lhs / flex(&b)), want_bits(pairs().map(|(x, y)| x / y)));
}

/// `FlexTensor::empty` (patched to allocate at the element's width): the output of a long
/// matrix product and `zeros` hold the right values, and f32 data read back is f32.
#[test]
fn new_tensors_of_every_width_hold_their_values() {
    use burn::tensor::{DType, Int};
    let dev = Device::flex();
    let n = 300;
    let a = Tensor::<2>::from_data(
        TensorData::new(long_values(0.5)[..n * n].to_vec(), [n, n]),
        &dev,
    );
    let id: Vec<f32> = (0..n * n)
        .map(|i| if i % (n + 1) == 0 { 1.0 } else { 0.0 })
        .collect();
    let eye = Tensor::<2>::from_data(TensorData::new(id, [n, n]), &dev);
    // a · I = a, exactly (each output is one product by 1 plus zeros)
    let got = a
        .clone()
        .matmul(eye)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert_eq!(got, a.into_data().try_to_vec::<f32>().unwrap());
    for dtype in [DType::F32, DType::F64, DType::F16] {
        let z = Tensor::<1>::zeros([LONG], (&dev, dtype)).cast(DType::F32);
        assert!(
            z.into_data()
                .try_to_vec::<f32>()
                .unwrap()
                .iter()
                .all(|&x| x == 0.0)
        );
    }
    let zi = Tensor::<1, Int>::zeros([LONG], &dev)
        .into_data()
        .convert::<i64>();
    assert!(zi.iter::<i64>().all(|x| x == 0));
}
