//! Key/value cache for incremental decoding, and the host-side bookkeeping of which cached
//! slots hold real tokens (left padding of a batch) so that masks and positions stay right.
//!
//! Each layer's keys and values live in tensors with room for more positions than are
//! filled: a decode step writes its new key/value into the free slots in place
//! (`slice_assign` on a uniquely held tensor) instead of concatenating, which would copy the
//! whole cache every step. When the room runs out the buffers are reallocated with at least
//! double the capacity, so a sequence of `n` steps copies O(n) positions in all.

use burn::tensor::{Device, Int, Tensor, TensorData};

use super::host_attention::SharedSlots;

mod shared;
use shared::{SharedKv, host_f32};

/// One layer's slot in a [`KvCache`]: `None` until its first forward pass.
pub type LayerCache = Option<LayerKv>;

/// One layer's cached keys and values (keys already rotated).
#[derive(Debug, Clone)]
pub struct LayerKv {
    /// `[batch, num_key_value_heads, capacity, head_dim]`; positions `len..` are free. With
    /// `shared`, a row's slots after the shared ones.
    keys: Tensor<4>,
    /// `[batch, num_key_value_heads, capacity, head_dim]`; positions `len..` are free.
    values: Tensor<4>,
    /// Filled positions of `keys`/`values`.
    len: usize,
    /// Leading slots stored once for the rows that share them ([`KvCache::share_rows`]):
    /// slot `j` of row `b` is shared slot `j` of prompt `rows[b]` for `j < shared.len`, else
    /// own slot `j − shared.len`. Only on the host path (f32 on the CPU backend).
    shared: Option<SharedKv>,
}

impl LayerKv {
    /// Appends `keys`/`values` (`[batch, num_key_value_heads, new_len, head_dim]`) to the
    /// cache in `slot` (created with room for `reserve` positions when empty) and returns
    /// views of all cached keys and values, `[batch, num_key_value_heads, len, head_dim]`.
    pub(crate) fn append(
        slot: &mut LayerCache,
        keys: Tensor<4>,
        values: Tensor<4>,
        reserve: usize,
    ) -> (Tensor<4>, Tensor<4>) {
        let [batch, heads, new_len, head_dim] = keys.dims();
        debug_assert_eq!(
            values.dims(),
            keys.dims(),
            "keys and values differ in shape"
        );
        debug_assert!(
            slot.as_ref().is_none_or(|c| {
                let [b, h, _, d] = c.keys.dims();
                (b, h, d) == (batch, heads, head_dim)
            }),
            "cached [batch, heads, _, head_dim] differ from the new keys' {:?}",
            keys.dims()
        );
        let (mut all_k, mut all_v, past) = match slot.take().map(LayerKv::unshared) {
            Some(c) if c.len + new_len <= c.keys.dims()[2] => (c.keys, c.values, c.len),
            Some(c) => {
                let capacity = (c.len + new_len).max(2 * c.keys.dims()[2]);
                let grow = |t: Tensor<4>| {
                    let dev = t.device();
                    Tensor::zeros([batch, heads, capacity, head_dim], &dev).slice_assign(
                        [0..batch, 0..heads, 0..c.len, 0..head_dim],
                        t.narrow(2, 0, c.len),
                    )
                };
                (grow(c.keys), grow(c.values), c.len)
            }
            None => {
                let capacity = new_len.max(reserve);
                let dev = keys.device();
                let zeros = || Tensor::zeros([batch, heads, capacity, head_dim], &dev);
                (zeros(), zeros(), 0)
            }
        };
        let len = past + new_len;
        let at = [0..batch, 0..heads, past..len, 0..head_dim];
        all_k = all_k.slice_assign(at.clone(), keys);
        all_v = all_v.slice_assign(at, values);
        let views = (
            all_k.clone().narrow(2, 0, len),
            all_v.clone().narrow(2, 0, len),
        );
        *slot = Some(LayerKv {
            keys: all_k,
            values: all_v,
            len,
            shared: None,
        });
        views
    }
}

impl LayerKv {
    /// [`append`](Self::append) on the host: writes `keys`/`values` (host rows,
    /// `[batch, num_key_value_heads, new_len, head_dim]` = `dims`) after the filled positions
    /// of the cache in `slot` (created with room for `reserve` positions when empty, grown
    /// like `append` when full), then hands `attend` the rows' own buffers (`[batch,
    /// num_key_value_heads, capacity, head_dim]`), the slots shared by several rows if any
    /// (they come first), the buffers' capacity and the filled length (shared slots
    /// included), and returns its result. The buffers move between the cache's tensors and
    /// the host without a copy when the cache holds them alone (the CPU backend hands a
    /// uniquely held, contiguous tensor's memory over as it is).
    ///
    /// # Panics
    /// If the cache holds other than f32 values (the host path is only taken for f32).
    pub(crate) fn append_on_host<R>(
        slot: &mut LayerCache,
        keys: &[f32],
        values: &[f32],
        dims: [usize; 4],
        reserve: usize,
        device: &Device,
        attend: impl FnOnce(&[f32], &[f32], Option<&SharedSlots>, usize, usize) -> R,
    ) -> R {
        let [batch, heads, new_len, head_dim] = dims;
        assert!(keys.len() == batch * heads * new_len * head_dim && values.len() == keys.len());
        let shared = slot.as_mut().and_then(|c| c.shared.take());
        let (mut all_k, mut all_v, capacity, past) = match slot.take() {
            Some(c) if c.len + new_len <= c.keys.dims()[2] => {
                let capacity = c.keys.dims()[2];
                (host_f32(c.keys), host_f32(c.values), capacity, c.len)
            }
            Some(c) => {
                let old = c.keys.dims()[2];
                let capacity = (c.len + new_len).max(2 * old);
                let grow = |v: Vec<f32>| {
                    let mut out = vec![0f32; batch * heads * capacity * head_dim];
                    for bh in 0..batch * heads {
                        out[bh * capacity * head_dim..][..c.len * head_dim]
                            .copy_from_slice(&v[bh * old * head_dim..][..c.len * head_dim]);
                    }
                    out
                };
                (
                    grow(host_f32(c.keys)),
                    grow(host_f32(c.values)),
                    capacity,
                    c.len,
                )
            }
            None => {
                let capacity = new_len.max(reserve);
                let zeros = || vec![0f32; batch * heads * capacity * head_dim];
                (zeros(), zeros(), capacity, 0)
            }
        };
        let len = past + new_len;
        let row = new_len * head_dim;
        for bh in 0..batch * heads {
            let at = (bh * capacity + past) * head_dim;
            all_k[at..at + row].copy_from_slice(&keys[bh * row..(bh + 1) * row]);
            all_v[at..at + row].copy_from_slice(&values[bh * row..(bh + 1) * row]);
        }
        let filled = shared.as_ref().map_or(0, |s| s.len) + len;
        let result = attend(
            &all_k,
            &all_v,
            shared.as_ref().map(SharedKv::view).as_ref(),
            capacity,
            filled,
        );
        let shape = [batch, heads, capacity, head_dim];
        *slot = Some(LayerKv {
            keys: Tensor::from_data(TensorData::new(all_k, shape), device),
            values: Tensor::from_data(TensorData::new(all_v, shape), device),
            len,
            shared,
        });
        result
    }
}

/// Per-layer cached keys and values plus the validity of every cached slot.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    /// One entry per layer, `None` before the first forward.
    pub(crate) layers: Vec<LayerCache>,
    /// `valid[b][j]`: slot `j` of row `b` holds a real token (false: padding).
    pub(crate) valid: Vec<Vec<bool>>,
    /// Positions to make room for when a layer's buffers are first allocated (the prompt
    /// plus the tokens still to generate); more is allocated on demand.
    pub(crate) reserve: usize,
}

impl KvCache {
    /// An empty cache for a model with `num_layers` decoder layers.
    pub fn new(num_layers: usize) -> Self {
        Self {
            layers: vec![None; num_layers],
            valid: Vec::new(),
            reserve: 0,
        }
    }

    /// An empty cache that allocates room for `positions` tokens per row up front (prompt
    /// plus new tokens), so decoding never reallocates.
    pub fn with_capacity(num_layers: usize, positions: usize) -> Self {
        Self {
            reserve: positions,
            ..Self::new(num_layers)
        }
    }

    /// Number of cached positions (including padding slots).
    pub fn len(&self) -> usize {
        self.valid.first().map_or(0, Vec::len)
    }

    /// True before the first forward pass.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rebuilds the batch from the given rows, in order: dropping rows (finished sequences)
    /// or repeating them (several samples from one prefilled prompt).
    pub fn select_rows(&mut self, rows: &[usize]) {
        if rows.is_empty() {
            *self = Self {
                reserve: self.reserve,
                ..Self::new(self.layers.len())
            };
            return;
        }
        let Some(device) = self.layers.iter().flatten().next().map(|c| c.keys.device()) else {
            return;
        };
        let idx = Tensor::<1, Int>::from_ints(
            TensorData::new(rows.iter().map(|&r| r as i64).collect(), [rows.len()]),
            &device,
        );
        for c in self.layers.iter_mut().flatten() {
            c.keys = c.keys.clone().select(0, idx.clone());
            c.values = c.values.clone().select(0, idx.clone());
            if let Some(s) = &mut c.shared {
                s.rows = rows.iter().map(|&r| s.rows[r]).collect();
            }
        }
        self.valid = rows.iter().map(|&r| self.valid[r].clone()).collect();
    }
}

impl KvCache {
    /// The rows of `self` followed by the rows of `other` (a batch that a new request joins:
    /// continuous batching). The shorter of the two is left-padded with masked slots up to the
    /// longer one's length, so every row keeps its tokens, their positions (which count real
    /// tokens only) and its mask; room is kept for `reserve` more positions per row.
    ///
    /// # Shapes
    /// Each layer: `[b₁, heads, len₁, head_dim]` and `[b₂, heads, len₂, head_dim]` →
    /// `[b₁ + b₂, heads, max(len₁, len₂), head_dim]` filled (capacity ≥ that + `reserve`).
    pub fn join(mut self, mut other: KvCache, reserve: usize) -> KvCache {
        self.unshare();
        other.unshare();
        if self.valid.is_empty() {
            return KvCache { reserve, ..other };
        }
        if other.valid.is_empty() {
            return KvCache { reserve, ..self };
        }
        let (la, lb) = (self.len(), other.len());
        let len = la.max(lb);
        let (ba, bb) = (self.valid.len(), other.valid.len());
        let layers = self
            .layers
            .into_iter()
            .zip(other.layers)
            .map(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => {
                    let [_, heads, _, head_dim] = a.keys.dims();
                    let device = a.keys.device();
                    let capacity = len + reserve;
                    let joined = |x: Tensor<4>, y: Tensor<4>| {
                        Tensor::zeros([ba + bb, heads, capacity, head_dim], &device)
                            .slice_assign(
                                [0..ba, 0..heads, len - la..len, 0..head_dim],
                                x.narrow(2, 0, la),
                            )
                            .slice_assign(
                                [ba..ba + bb, 0..heads, len - lb..len, 0..head_dim],
                                y.narrow(2, 0, lb),
                            )
                    };
                    Some(LayerKv {
                        keys: joined(a.keys, b.keys),
                        values: joined(a.values, b.values),
                        len,
                        shared: None,
                    })
                }
                _ => None,
            })
            .collect();
        let pad = |rows: Vec<Vec<bool>>, l: usize| {
            rows.into_iter().map(move |r| {
                let mut v = vec![false; len - l];
                v.extend(r);
                v
            })
        };
        let valid = pad(self.valid, la).chain(pad(other.valid, lb)).collect();
        KvCache {
            layers,
            valid,
            reserve,
        }
    }
}

impl KvCache {
    /// Drops the slots at the front that are padding in every row (left by rows that have
    /// left a continuously batched cache), when they are at least a quarter of it: without
    /// this, a server that is never idle would grow its cache by every sequence it ever ran.
    /// Positions count real tokens only, so nothing a row computes changes.
    pub fn trim_leading_padding(&mut self) {
        let len = self.len();
        let lead = self
            .valid
            .iter()
            .map(|r| r.iter().take_while(|v| !**v).count())
            .min()
            .unwrap_or(0);
        if lead == 0 || lead * 4 < len {
            return;
        }
        self.unshare();
        for c in self.layers.iter_mut().flatten() {
            let [batch, heads, capacity, head_dim] = c.keys.dims();
            let keep = c.len - lead;
            let room = capacity - lead;
            let shift = |t: Tensor<4>| {
                let device = t.device();
                Tensor::zeros([batch, heads, room, head_dim], &device).slice_assign(
                    [0..batch, 0..heads, 0..keep, 0..head_dim],
                    t.narrow(2, lead, keep),
                )
            };
            c.keys = shift(c.keys.clone());
            c.values = shift(c.values.clone());
            c.len = keep;
        }
        for r in &mut self.valid {
            r.drain(..lead);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uniquely_held_cache_buffer_reaches_the_host_without_a_copy() {
        let dev = Device::flex();
        let v = vec![1f32; 4096];
        let at = v.as_ptr();
        let t = Tensor::<4>::from_data(TensorData::new(v, [2, 2, 16, 64]), &dev);
        let back = t.into_data().try_into_vec::<f32>().unwrap();
        assert_eq!(back.as_ptr(), at, "from_data + into_data copied the buffer");
    }
}
