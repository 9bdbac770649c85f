//! Host copies of a model's projection weights, so that the few-row products of a decode
//! step run on [`gemv`](super::gemv)'s threaded kernels instead of the CPU backend's
//! one-thread matrix-vector path.
//!
//! A [`Scope`] copies the weights of one model when a generation starts and is dropped when
//! it ends, so the copies can never outlive a change of the weights (training works on
//! other calls). While a scope is installed on a thread, [`project`] and [`tied_logits`]
//! answer products of at most [`gemv::MAX_ROWS`](super::gemv::MAX_ROWS) rows by a weight it
//! holds; anything else (longer inputs, LoRA-adapted projections, GPU devices, no scope)
//! takes the ordinary burn path. Costs one more copy of the weights in memory (540 MB for
//! SmolLM2-135M in f32) while a generation runs.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use burn::module::{LoraAdapter, ParamId};
use burn::nn::{Embedding, Linear};
use burn::tensor::{Device, Tensor, TensorData};

use super::gemv;
use super::llama::Llama;

thread_local! {
    static CURRENT: RefCell<Option<Rc<HostWeights>>> = const { RefCell::new(None) };
}

/// The weights of one model on the host, by parameter id (`[d_input, d_output]` for
/// projections, `[vocab_size, hidden_size]` for the embedding), row-major.
struct HostWeights {
    by_param: HashMap<ParamId, (Vec<f32>, [usize; 2])>,
}

/// While alive, decode-step products on this thread read the host copies of one model's
/// weights. Dropping it restores whatever scope was installed before.
pub struct Scope {
    previous: Option<Rc<HostWeights>>,
}

impl Drop for Scope {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// Copies `model`'s projection weights (and its tied embedding) to the host and installs
/// them on this thread; `None` (nothing installed) unless `device` is the CPU.
pub fn install(model: &Llama, device: &Device) -> Option<Scope> {
    if !crate::backend::is_cpu(device) {
        return None;
    }
    let mut by_param = HashMap::new();
    let mut add = |id: ParamId, t: Tensor<2>| {
        let dims = t.dims();
        if let Ok(v) = t.into_data().try_into_vec::<f32>() {
            by_param.insert(id, (v, dims));
        }
    };
    let mut linear = |l: &Linear| {
        if l.weight.reparameterization::<LoraAdapter>().is_none() {
            add(l.weight.id, l.weight.val());
        }
    };
    for layer in &model.layers {
        let (a, m) = (&layer.self_attn, &layer.mlp);
        for l in [&a.q_proj, &a.k_proj, &a.v_proj, &a.o_proj] {
            linear(l);
        }
        for l in [&m.gate_proj, &m.up_proj, &m.down_proj] {
            linear(l);
        }
    }
    match &model.lm_head {
        Some(head) => linear(head),
        None => add(
            model.embed_tokens.weight.id,
            model.embed_tokens.weight.val(),
        ),
    }
    let weights = Rc::new(HostWeights { by_param });
    let previous = CURRENT.with(|c| c.borrow_mut().replace(weights));
    Some(Scope { previous })
}

/// The host weight of `id` in the installed scope, if any, applied to `f`.
fn with_weight<R>(id: &ParamId, f: impl FnOnce(&[f32], [usize; 2]) -> R) -> Option<R> {
    CURRENT.with(|c| {
        let current = c.borrow();
        let (w, dims) = current.as_ref()?.by_param.get(id)?;
        Some(f(w, *dims))
    })
}

/// `x` as `[rows, width]` on the host, if it has at most `MAX_ROWS` rows.
fn host_rows(x: &Tensor<3>) -> Option<(Vec<f32>, usize)> {
    let [b, s, _] = x.dims();
    if b * s > gemv::MAX_ROWS {
        return None;
    }
    x.clone()
        .into_data()
        .try_into_vec::<f32>()
        .ok()
        .map(|v| (v, b * s))
}

/// `linear(x)` from the host copy of its weight, or `None` to take the burn path.
///
/// # Shapes
/// `x`: `[batch, seq_len, d_input]` with `batch · seq_len ≤ MAX_ROWS` →
/// `[batch, seq_len, d_output]`
pub fn project(linear: &Linear, x: &Tensor<3>) -> Option<Tensor<3>> {
    let [b, s, _] = x.dims();
    let (rows, m) = host_rows(x)?;
    let mut out = with_weight(&linear.weight.id, |w, [k, n]| {
        (gemv::matmul(&rows, m, w, k, n), n)
    })?;
    if let Some(bias) = &linear.bias {
        let bias = bias.val().into_data().try_into_vec::<f32>().ok()?;
        for row in out.0.chunks_mut(out.1) {
            for (o, b) in row.iter_mut().zip(&bias) {
                *o += b;
            }
        }
    }
    let n = out.1;
    Some(Tensor::from_data(
        TensorData::new(out.0, [b, s, n]),
        &x.device(),
    ))
}

/// Logits `hidden · embeddingᵀ` of a tied head from the host copy of the embedding, or
/// `None` to take the burn path.
///
/// # Shapes
/// `hidden`: `[batch, seq_len, hidden_size]` with `batch · seq_len ≤ MAX_ROWS` →
/// `[batch, seq_len, vocab_size]`
pub fn tied_logits(embedding: &Embedding, hidden: &Tensor<3>) -> Option<Tensor<3>> {
    let [b, s, _] = hidden.dims();
    let (rows, m) = host_rows(hidden)?;
    let (out, vocab) = with_weight(&embedding.weight.id, |w, [vocab, k]| {
        (gemv::matmul_transposed(&rows, m, w, k, vocab), vocab)
    })?;
    Some(Tensor::from_data(
        TensorData::new(out, [b, s, vocab]),
        &hidden.device(),
    ))
}
