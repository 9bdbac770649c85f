//! Host copies of a model's projection weights, so that the few-row products of a decode
//! step run on [`gemv`]'s and [`quant_gemv`]'s threaded kernels instead of the CPU backend's
//! general matrix product (one thread for a single row; packing the whole weight for every
//! product of a few rows).
//!
//! A generation installs a [`Scope`] and drops it when it ends (the server's model thread
//! keeps one for its whole life: its model never changes). While it is installed on a
//! thread, [`project`] and [`tied_logits`] answer every product of few enough rows from host
//! copies of the weights, each made the first time a product reads it. How many rows: on a
//! CPU with AVX-512, up to [`quant_gemv::MAX_ROWS`] (64) for a weight held as quantized
//! blocks or in f32 (the tiled kernel); without AVX-512, up to
//! [`quant_gemv::ONE_PASS_ROWS`] (12) for blocks and [`gemv::MAX_ROWS`] (4) for f32; bf16
//! copies up to [`gemv::MAX_ROWS`]. That is the decode steps of a batch of sequences and the
//! last-position logits of a few prompts (a longer prompt is prefilled on the burn path).
//! Anything else (larger products, LoRA-adapted projections, GPU devices, no scope) takes the
//! ordinary burn path. The copies die with the scope, so they never outlive a change of the
//! weights (training runs outside generations). They cost memory and the time to make them
//! (for SmolLM2 on a 2-vCPU VM about 0.6 s for its blocks, 0.3 s in f32, paid once per
//! generation, i.e. per `chat` turn); a generation that never has a product of few enough
//! rows copies nothing. While a scope is installed the MLP's `silu(gate) ⊙ up` is also
//! computed on the host (`Mlp::forward`), since the scope also says that no gradient is
//! taken on this thread; the attention of a cached forward pass runs on the host on the CPU
//! whether or not a scope is installed ([`host_attention`](super::host_attention)).
//!
//! The default, [`WeightFormat::Auto`], keeps each weight that is exactly a GGUF's quantized
//! blocks as those blocks ([`BlockRows::recover`]; SmolLM2-135M's Q4_1/Q8_0 file: 111 MB
//! instead of 540 MB of f32, and that much less to read per token) and the others in f32.
//! [`WeightFormat::Bf16`] (opt-in: `--decode-weights bf16`) stores them as bfloat16, a
//! rounding: products of more rows still read the f32 weights, so with bf16 a sequence
//! decoded alone and the same sequence in a large batch can differ by the rounding, from the
//! first token on. [`WeightFormat::Off`] makes no copies at all.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU8, Ordering};

use half::bf16;

use burn::module::{Param, ParamId};
use burn::tensor::{Device, Tensor};

use super::quant_blocks::BlockRows;

mod products;
pub use products::{feed_forward, project, project_many, tied_logits};

/// `[rows, cols]` → `[cols, rows]`, row-major, in tiles of 32 columns split across the
/// threads.
fn transpose(v: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    use rayon::prelude::*;
    const TILE: usize = 32;
    let mut out = vec![0f32; v.len()];
    if rows == 0 || cols == 0 {
        return out;
    }
    out.par_chunks_mut(TILE * rows)
        .enumerate()
        .for_each(|(t, tile)| {
            let c0 = t * TILE;
            let width = tile.len() / rows;
            for (r, row) in v.chunks_exact(cols).enumerate() {
                for (i, &x) in row[c0..c0 + width].iter().enumerate() {
                    tile[i * rows + r] = x;
                }
            }
        });
    out
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<HostWeights>>> = const { RefCell::new(None) };
}

/// How the host copies store the weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WeightFormat {
    /// The checkpoint's own quantized blocks where the model's f32 weights are exactly such
    /// blocks ([`BlockRows::recover`]: a GGUF's Q4_1 and Q8_0 tensors, not yet finetuned),
    /// f32 for every other weight. The values are the model's, bit for bit; results equal
    /// the burn path's up to the order of sums. For SmolLM2-135M's Q4_1/Q8_0 GGUF the copies
    /// hold 115 MB instead of 540 MB, and a decode step reads that much less.
    #[default]
    Auto,
    /// The model's own f32 values: results equal the burn path's up to the order of sums.
    F32,
    /// Rounded to bfloat16 (round to nearest even): half the bytes to read per token, so
    /// single-sequence decoding is faster, and the logits move by the rounding (measured on
    /// SmolLM2-135M in the book's Performance chapter). Opt-in, never the default.
    Bf16,
    /// No host copies: every product takes the burn path, as before this module existed.
    /// For short one-off generations, where making the copies (for SmolLM2 on a 2-vCPU VM
    /// about 0.6 s as blocks, 0.3 s in f32) costs more than the faster steps save, or when
    /// memory is tight.
    Off,
}

impl std::str::FromStr for WeightFormat {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        match s {
            "auto" => Ok(Self::Auto),
            "f32" => Ok(Self::F32),
            "bf16" => Ok(Self::Bf16),
            "off" => Ok(Self::Off),
            other => {
                anyhow::bail!("decode weights `{other}`: expected `auto`, `f32`, `bf16` or `off`")
            }
        }
    }
}

static FORMAT: AtomicU8 = AtomicU8::new(0);

/// Sets the format of the host copies for the scopes installed from now on, in this process
/// (the CLI's `--decode-weights`).
pub fn set_format(format: WeightFormat) {
    let code = match format {
        WeightFormat::Auto => 0,
        WeightFormat::F32 => 1,
        WeightFormat::Bf16 => 2,
        WeightFormat::Off => 3,
    };
    FORMAT.store(code, Ordering::Relaxed);
}

/// The format scopes are installed with ([`set_format`]; [`WeightFormat::Auto`] unless set).
pub fn format() -> WeightFormat {
    match FORMAT.load(Ordering::Relaxed) {
        1 => WeightFormat::F32,
        2 => WeightFormat::Bf16,
        3 => WeightFormat::Off,
        _ => WeightFormat::Auto,
    }
}

/// One host copy: f32 values or quantized blocks along the input dimension (`[d_output,
/// d_input]` for projections, the embedding `[vocab_size, hidden_size]` as it is: what the
/// tiled kernel reads), or bf16 values in the tensor's own layout (`[d_input, d_output]` for
/// projections).
enum Store {
    F32(Vec<f32>),
    Bf16(Vec<bf16>),
    Blocks(BlockRows),
}

/// A host copy and the tensor's dims, row-major.
type HostWeight = Rc<(Store, [usize; 2])>;

/// What the host copies of the installed scope hold: `(f32, bf16, blocks)` weight counts
/// and their bytes. For tests and benchmarks.
pub fn held() -> ([usize; 3], usize) {
    CURRENT.with(|c| {
        let mut counts = [0; 3];
        let mut bytes = 0;
        if let Some(scope) = &*c.borrow() {
            for w in scope.by_param.borrow().values() {
                let (i, b) = match &w.0 {
                    Store::F32(v) => (0, 4 * v.len()),
                    Store::Bf16(v) => (1, 2 * v.len()),
                    Store::Blocks(b) => (2, b.bytes()),
                };
                counts[i] += 1;
                bytes += b;
            }
        }
        (counts, bytes)
    })
}

/// The host copies of one scope, by parameter id, made the first time a product reads them.
struct HostWeights {
    format: WeightFormat,
    by_param: RefCell<HashMap<ParamId, HostWeight>>,
}

impl HostWeights {
    /// The copy of `param`, made now if this scope has none yet.
    ///
    /// `transposed`: the product reads the weight as `x · wᵀ` (the tied head), so its rows
    /// are already along the input dimension.
    fn get(&self, param: &Param<Tensor<2>>, transposed: bool) -> Option<HostWeight> {
        if let Some(w) = self.by_param.borrow().get(&param.id) {
            return Some(w.clone());
        }
        let t = param.val();
        let dims = t.dims();
        let v = t.into_data().try_into_vec::<f32>().ok()?;
        let [rows, cols] = dims;
        // Along the input dimension: `[d_output, d_input]` (the embedding already is).
        let along_input = |v: Vec<f32>| {
            if transposed {
                v
            } else {
                transpose(&v, rows, cols)
            }
        };
        let store = match self.format {
            WeightFormat::Auto => {
                let v = along_input(v);
                let [n, k] = if transposed { dims } else { [cols, rows] };
                match BlockRows::recover(&v, n, k) {
                    Some(b) => Store::Blocks(b),
                    None => Store::F32(v),
                }
            }
            WeightFormat::F32 => Store::F32(along_input(v)),
            WeightFormat::Bf16 => Store::Bf16(v.into_iter().map(bf16::from_f32).collect()),
            // Never installed (see `install_as`); the burn path, should it ever be.
            WeightFormat::Off => return None,
        };
        let w = Rc::new((store, dims));
        self.by_param.borrow_mut().insert(param.id, w.clone());
        Some(w)
    }
}

/// While alive, decode-step products on this thread read host copies of the weights.
/// Dropping it frees them and restores whatever scope was installed before.
pub struct Scope {
    previous: Option<Rc<HostWeights>>,
}

impl Drop for Scope {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// Whether a scope is installed on this thread (a generation on the CPU is running on it).
pub fn active() -> bool {
    CURRENT.with(|c| c.borrow().is_some())
}

/// Installs a scope on this thread in the process's [`format()`]; `None` (nothing installed)
/// unless `device` is the CPU.
///
/// A weight is copied the first time a product of few enough rows reads it, and the copy is
/// reused until the scope ends, so the weights must not change while it lives: install one
/// per generation, around one model.
pub fn install(device: &Device) -> Option<Scope> {
    install_as(device, format())
}

/// [`install`] with an explicit format.
pub fn install_as(device: &Device, format: WeightFormat) -> Option<Scope> {
    if format == WeightFormat::Off || !crate::backend::is_cpu(device) {
        return None;
    }
    let weights = Rc::new(HostWeights {
        format,
        by_param: RefCell::new(HashMap::new()),
    });
    let previous = CURRENT.with(|c| c.borrow_mut().replace(weights));
    Some(Scope { previous })
}
