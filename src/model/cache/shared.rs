//! Cache slots stored once for several rows: after a prefill, the N samples of one prompt
//! share the prompt's keys and values instead of holding N copies ([`KvCache::share_rows`]),
//! and attention reads them from memory once for all N (`host_attention`'s tasks take the
//! rows of one KV head one after the other). Host path only (f32 on the CPU backend);
//! whatever needs each row whole (joining, trimming, the backend's attention) copies them
//! back into the rows first ([`LayerKv::unshared`]).

use std::sync::Arc;

use burn::tensor::{DType, Tensor, TensorData};

use super::{KvCache, LayerKv, SharedSlots};

/// Cache slots held once for several rows, on the host (see [`LayerKv`]'s `shared`).
#[derive(Debug, Clone)]
pub(super) struct SharedKv {
    /// `[prompts, num_key_value_heads, len, head_dim]` (rotated).
    pub(super) keys: Arc<Vec<f32>>,
    /// `[prompts, num_key_value_heads, len, head_dim]`.
    pub(super) values: Arc<Vec<f32>>,
    /// Slots per prompt.
    pub(super) len: usize,
    /// Row `b` of the batch reads prompt `rows[b]`'s slots, `[batch]`.
    pub(super) rows: Vec<usize>,
}

impl SharedKv {
    /// The slots as [`host_attention::attend`](crate::model::host_attention::attend) reads
    /// them.
    pub(super) fn view(&self) -> SharedSlots<'_> {
        SharedSlots {
            keys: &self.keys,
            values: &self.values,
            len: self.len,
            rows: &self.rows,
        }
    }
}

/// A host copy of an f32 tensor's values (no copy when the tensor holds a contiguous buffer
/// alone).
///
/// # Panics
/// If the tensor is not f32 (the host path is only taken for f32).
pub(super) fn host_f32(t: Tensor<4>) -> Vec<f32> {
    t.into_data()
        .try_into_vec::<f32>()
        .expect("the host path's cache holds f32")
}

impl LayerKv {
    /// The same slots with the shared ones copied into every row that reads them (for what
    /// needs each row whole: joining, trimming, the backend's attention).
    ///
    /// # Shapes
    /// `[batch, heads, capacity, head_dim]` after `shared.len` shared slots →
    /// `[batch, heads, shared.len + capacity, head_dim]`, `shared.len + len` filled.
    pub(super) fn unshared(self) -> LayerKv {
        let Some(s) = self.shared else {
            return self;
        };
        let [batch, heads, capacity, head_dim] = self.keys.dims();
        let device = self.keys.device();
        let room = s.len + capacity;
        let (shared_row, own_row) = (s.len * head_dim, capacity * head_dim);
        let whole = |shared: &[f32], own: Vec<f32>| {
            let mut out = vec![0f32; batch * heads * room * head_dim];
            for b in 0..batch {
                for g in 0..heads {
                    let dst = (b * heads + g) * room * head_dim;
                    let from = (s.rows[b] * heads + g) * shared_row;
                    out[dst..][..shared_row].copy_from_slice(&shared[from..][..shared_row]);
                    out[dst + shared_row..][..own_row]
                        .copy_from_slice(&own[(b * heads + g) * own_row..][..own_row]);
                }
            }
            Tensor::from_data(
                TensorData::new(out, [batch, heads, room, head_dim]),
                &device,
            )
        };
        LayerKv {
            keys: whole(&s.keys, host_f32(self.keys)),
            values: whole(&s.values, host_f32(self.values)),
            len: s.len + self.len,
            shared: None,
        }
    }
}

impl KvCache {
    /// [`select_rows`](Self::select_rows) for rows that repeat (the N samples of each
    /// prefilled prompt), without copying the slots filled so far on the host path (f32 on
    /// the CPU backend): they are kept once, shared by every row made from the same row, and
    /// each row gets buffers of its own for the positions still to come (room for `reserve`
    /// minus the filled positions, grown on demand). Attention then reads a prompt's keys
    /// and values from memory once for all its samples, and the cache holds them once.
    /// Elsewhere (another backend or dtype, slots already shared, rows that do not repeat)
    /// it is `select_rows`.
    ///
    /// # Shapes
    /// Each layer: `[prompts, heads, len, head_dim]` filled → shared slots
    /// `[prompts, heads, len, head_dim]` + own buffers `[rows.len(), heads, room, head_dim]`.
    pub fn share_rows(&mut self, rows: &[usize]) {
        let distinct = rows.iter().collect::<std::collections::HashSet<_>>().len();
        let host_path = !self.layers.is_empty()
            && self.layers.iter().all(|c| {
                c.as_ref().is_some_and(|c| {
                    c.shared.is_none()
                        && c.keys.dtype() == DType::F32
                        && crate::backend::is_cpu(&c.keys.device())
                })
            });
        if distinct == rows.len() || !host_path {
            self.select_rows(rows);
            return;
        }
        let len = self.len();
        let room = self.reserve.saturating_sub(len).max(1);
        for c in self.layers.iter_mut().flatten() {
            let [_, heads, _, head_dim] = c.keys.dims();
            let device = c.keys.device();
            let filled = |t: &Tensor<4>| Arc::new(host_f32(t.clone().narrow(2, 0, len)));
            let own = || Tensor::zeros([rows.len(), heads, room, head_dim], &device);
            c.shared = Some(SharedKv {
                keys: filled(&c.keys),
                values: filled(&c.values),
                len,
                rows: rows.to_vec(),
            });
            c.keys = own();
            c.values = own();
            c.len = 0;
        }
        self.valid = rows.iter().map(|&r| self.valid[r].clone()).collect();
    }

    /// Copies shared slots into every row that reads them ([`LayerKv::unshared`]).
    pub(super) fn unshare(&mut self) {
        for c in &mut self.layers {
            *c = c.take().map(LayerKv::unshared);
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Int, Tensor, TensorData};

    use crate::model::{KvCache, Llama, LlamaConfig};

    /// Two prompts (the second left-padded) prefilled once, then decoded as four rows
    /// (prompt 0 three times): with the prompt slots shared or copied per row
    /// (`select_rows`, the path before sharing), every step's hidden states are the same bit
    /// for bit, through a step that outgrows the rows' own buffers, dropping rows, and
    /// joining another request's cache (which copies the shared slots back into the rows).
    /// Each row also matches its prompt decoded alone, up to f32 rounding.
    #[test]
    fn shared_prompt_slots_decode_like_copies_per_row() {
        let dev = Device::flex();
        let m = Llama::init(&LlamaConfig::tiny(50), &dev);
        let ids = |v: Vec<i64>, rows: usize| {
            let cols = v.len() / rows;
            Tensor::<2, Int>::from_data(TensorData::new(v, [rows, cols]), &dev)
        };
        let hidden = |t: Tensor<3>| t.into_data().try_to_vec::<f32>().unwrap();
        let (a, b) = (vec![3i64, 14, 15, 9, 2], vec![5i64, 35, 8]);
        let mut prefilled = KvCache::with_capacity(m.layers.len(), 6);
        let padded_b = [vec![0, 0], b.clone()].concat();
        let valid = [vec![true; 5], [vec![false; 2], vec![true; 3]].concat()];
        m.forward_cached(
            ids([a.clone(), padded_b].concat(), 2),
            &valid,
            &mut prefilled,
        );
        let rows = [0usize, 0, 1, 0];
        let (mut shared, mut copied) = (prefilled.clone(), prefilled);
        shared.share_rows(&rows);
        copied.select_rows(&rows);
        assert!(shared.layers.iter().flatten().all(|c| c.shared.is_some()));
        assert!(copied.layers.iter().flatten().all(|c| c.shared.is_none()));
        assert_eq!(shared.valid, copied.valid);

        let step = |tokens: Vec<i64>, shared: &mut KvCache, copied: &mut KvCache| {
            let valid = vec![vec![true]; tokens.len()];
            let s = hidden(m.forward_cached(ids(tokens.clone(), tokens.len()), &valid, shared));
            let c = hidden(m.forward_cached(ids(tokens.clone(), tokens.len()), &valid, copied));
            assert!(
                s.iter().zip(&c).all(|(x, y)| x.to_bits() == y.to_bits()),
                "shared and copied slots differ after {tokens:?}"
            );
            s
        };
        // room for one more position each: the second step grows the rows' own buffers
        let first = step(vec![7, 8, 9, 10], &mut shared, &mut copied);
        step(vec![11, 12, 13, 14], &mut shared, &mut copied);
        // rows 0 and 2 finish
        shared.select_rows(&[1, 3]);
        copied.select_rows(&[1, 3]);
        step(vec![20, 21], &mut shared, &mut copied);
        // a one-token request joins: the shared slots are copied back into the rows
        let join = |cache: KvCache| {
            let mut other = KvCache::new(m.layers.len());
            m.forward_cached(ids(vec![4], 1), &[vec![true]], &mut other);
            cache.join(other, 4)
        };
        let (mut shared, mut copied) = (join(shared), join(copied));
        assert!(shared.layers.iter().flatten().all(|c| c.shared.is_none()));
        step(vec![30, 31, 32], &mut shared, &mut copied);

        // the first step of row 2 (prompt b) is b's alone, up to f32 rounding
        let mut alone = KvCache::new(m.layers.len());
        m.forward_cached(ids(b, 1), &[vec![true; 3]], &mut alone);
        let want = hidden(m.forward_cached(ids(vec![9], 1), &[vec![true]], &mut alone));
        let h = m.config.hidden_size;
        for (x, y) in first[2 * h..3 * h].iter().zip(&want) {
            assert!((x - y).abs() < 1e-4, "{x} vs {y}");
        }
    }
}
