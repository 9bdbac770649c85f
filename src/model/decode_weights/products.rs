//! The products of a decode step from the host copies of the installed scope: one
//! projection, several projections of the same input in one parallel region, the
//! feed-forward block, and the tied head's logits.

use std::rc::Rc;

use burn::module::Param;
use burn::nn::{Embedding, Linear};
use burn::tensor::{Tensor, TensorData};

use super::super::{gemv, quant_gemv};
use super::{CURRENT, HostWeights, Store, WeightFormat};

/// `x · w` (or `x · wᵀ` when `transposed`) with the host copy of `param` in `scope`, as
/// `(output [m, n], n)`; `None` when the copy's kernels do not take `m` rows (see
/// [`rows_limit`]).
fn product(
    scope: &HostWeights,
    param: &Param<Tensor<2>>,
    x: &[f32],
    m: usize,
    transposed: bool,
) -> Option<(Vec<f32>, usize)> {
    let w = scope.get(param, transposed)?;
    let (store, [rows, cols]) = &*w;
    let (k, n) = if transposed {
        (*cols, *rows)
    } else {
        (*rows, *cols)
    };
    if let Some(source) = tiled_source(store, k, n, m) {
        return Some((quant_gemv::tiled_matmul(x, m, source), n));
    }
    let out = match (store, transposed) {
        (Store::Blocks(w), _) if m <= quant_gemv::max_rows() => quant_gemv::matmul(x, m, w),
        (Store::F32(w), _) if m <= gemv::MAX_ROWS => gemv::matmul_transposed(x, m, w, k, n),
        (Store::Bf16(w), false) if m <= gemv::MAX_ROWS => gemv::matmul(x, m, w, k, n),
        (Store::Bf16(w), true) if m <= gemv::MAX_ROWS => gemv::matmul_transposed(x, m, w, k, n),
        _ => return None,
    };
    Some((out, n))
}

/// The copy as the tiled kernel reads it (`[n, k]`: `n` outputs of `k` inputs), when this CPU
/// has that kernel and it takes `m` rows of this copy: blocks, or f32 with `k` a multiple
/// of 32; `None` for the other kernels.
fn tiled_source(store: &Store, k: usize, n: usize, m: usize) -> Option<quant_gemv::Source<'_>> {
    if !quant_gemv::has_tiled() || m > quant_gemv::MAX_ROWS {
        return None;
    }
    match store {
        Store::Blocks(w) => Some(quant_gemv::Source::Blocks(w)),
        Store::F32(w) if k.is_multiple_of(32) => Some(quant_gemv::Source::F32 { w, n, k }),
        _ => None,
    }
}

/// The most rows the host kernels take for a scope of `format` on this CPU: with AVX-512
/// (the tiled kernel) [`quant_gemv::MAX_ROWS`] for blocks and f32, else
/// [`quant_gemv::ONE_PASS_ROWS`] for blocks; [`gemv::MAX_ROWS`] for f32 without AVX-512 and
/// for bf16. (Under `auto` a weight kept in f32 on a CPU without AVX-512 takes at most
/// [`gemv::MAX_ROWS`]; [`product`] hands larger products back.)
fn rows_limit(format: WeightFormat) -> usize {
    match format {
        WeightFormat::Auto => quant_gemv::max_rows(),
        WeightFormat::F32 if quant_gemv::has_tiled() => quant_gemv::MAX_ROWS,
        _ => gemv::MAX_ROWS,
    }
}

/// The scope installed on this thread, and `x` as `[rows, width]` on the host, if there is
/// a scope and `x` has few enough rows for its host kernels ([`rows_limit`]); `None`
/// (nothing copied) else.
fn host_rows(x: &Tensor<3>) -> Option<(Rc<HostWeights>, Vec<f32>, usize)> {
    let scope = CURRENT.with(|c| c.borrow().clone())?;
    let [b, s, _] = x.dims();
    if b * s > rows_limit(scope.format) {
        return None;
    }
    x.clone()
        .into_data()
        .try_into_vec::<f32>()
        .ok()
        .map(|v| (scope, v, b * s))
}

/// `linear(x)` from the host copy of its weight, or `None` to take the burn path.
///
/// # Shapes
/// `x`: `[batch, seq_len, d_input]` with few rows (`batch · seq_len`, see the module docs) →
/// `[batch, seq_len, d_output]`
pub fn project(linear: &Linear, x: &Tensor<3>) -> Option<Tensor<3>> {
    let [out] = project_many([linear], x)?;
    Some(out)
}

/// `[linear(x) for each linear]` from the host copies of their weights (all of the same
/// `d_input`), `x` moved to the host once and, where every copy takes the tiled kernel, the
/// products computed in one parallel region ([`quant_gemv::tiled_matmul_many`]: a layer's
/// q/k/v projections wake the threads once instead of three times); `None` to take the burn
/// path. The outputs equal [`project`]'s one by one, bit for bit.
///
/// # Shapes
/// `x`: `[batch, seq_len, d_input]` with few rows (see the module docs) → `[batch, seq_len,
/// d_outputᵢ]` each
pub fn project_many<const N: usize>(
    linears: [&Linear; N],
    x: &Tensor<3>,
) -> Option<[Tensor<3>; N]> {
    let [b, s, _] = x.dims();
    let (scope, rows, m) = host_rows(x)?;
    let outs = products(&scope, linears, &rows, m)?;
    Some(outs.map(|(v, n)| Tensor::from_data(TensorData::new(v, [b, s, n]), &x.device())))
}

/// The feed-forward block `down(act(gate(x), up(x)))` on the host: gate and up in one
/// parallel region, `act` applied to their host values (it writes its result over the gate's
/// values), then down, with one move of `x` to the host and one of the result back; `None`
/// to take the burn path.
///
/// # Shapes
/// `x`: `[batch, seq_len, hidden_size]` with few rows (see the module docs) → the same
pub fn feed_forward(
    [gate, up, down]: [&Linear; 3],
    x: &Tensor<3>,
    act: impl FnOnce(&mut [f32], &[f32]),
) -> Option<Tensor<3>> {
    let [b, s, _] = x.dims();
    let (scope, rows, m) = host_rows(x)?;
    let [(mut g, _), (u, _)] = products(&scope, [gate, up], &rows, m)?;
    act(&mut g, &u);
    let [(out, n)] = products(&scope, [down], &g, m)?;
    Some(Tensor::from_data(
        TensorData::new(out, [b, s, n]),
        &x.device(),
    ))
}

/// `x · wᵢ (+ biasᵢ)` for each linear, as `(output [m, nᵢ], nᵢ)`: one parallel region when
/// every host copy takes the tiled kernel, else [`product`] one by one; `None` when a copy's
/// kernels do not take `m` rows.
fn products<const N: usize>(
    scope: &HostWeights,
    linears: [&Linear; N],
    x: &[f32],
    m: usize,
) -> Option<[(Vec<f32>, usize); N]> {
    let copies = linears.map(|l| scope.get(&l.weight, false));
    // The copies hold `[d_input, d_output]`: the tiled kernel's `[n, k]` is `[d_output, d_input]`.
    let sources: Option<Vec<quant_gemv::Source>> = copies
        .iter()
        .map(|c| {
            let (store, [k, n]) = &**c.as_ref()?;
            tiled_source(store, *k, *n, m)
        })
        .collect();
    let mut outs: [(Vec<f32>, usize); N] = match sources {
        Some(sources) => {
            let mut by_weight = quant_gemv::tiled_matmul_many(x, m, &sources).into_iter();
            std::array::from_fn(|i| (by_weight.next().unwrap_or_default(), sources[i].dims().0))
        }
        None => {
            let mut one_by_one = Vec::with_capacity(N);
            for l in linears {
                one_by_one.push(product(scope, &l.weight, x, m, false)?);
            }
            one_by_one.try_into().ok()?
        }
    };
    for (l, (out, n)) in linears.iter().zip(outs.iter_mut()) {
        if let Some(bias) = &l.bias {
            let bias = bias.val().into_data().try_into_vec::<f32>().ok()?;
            for row in out.chunks_mut(*n) {
                for (o, b) in row.iter_mut().zip(&bias) {
                    *o += b;
                }
            }
        }
    }
    Some(outs)
}

/// Logits `hidden · embeddingᵀ` of a tied head from the host copy of the embedding, or
/// `None` to take the burn path.
///
/// # Shapes
/// `hidden`: `[batch, seq_len, hidden_size]` with few rows (see the module docs) →
/// `[batch, seq_len, vocab_size]`
pub fn tied_logits(embedding: &Embedding, hidden: &Tensor<3>) -> Option<Tensor<3>> {
    let [b, s, _] = hidden.dims();
    let (scope, rows, m) = host_rows(hidden)?;
    let (out, vocab) = product(&scope, &embedding.weight, &rows, m, true)?;
    Some(Tensor::from_data(
        TensorData::new(out, [b, s, vocab]),
        &hidden.device(),
    ))
}
