//! Key/value cache for incremental decoding, and the host-side bookkeeping of which cached
//! slots hold real tokens (left padding of a batch) so that masks and positions stay right.
//!
//! Each layer's keys and values live in tensors with room for more positions than are
//! filled: a decode step writes its new key/value into the free slots in place
//! (`slice_assign` on a uniquely held tensor) instead of concatenating, which would copy the
//! whole cache every step. When the room runs out the buffers are reallocated with at least
//! double the capacity, so a sequence of `n` steps copies O(n) positions in all.

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

/// One layer's slot in a [`KvCache`]: `None` until its first forward pass.
pub type LayerCache = Option<LayerKv>;

/// One layer's cached keys and values (keys already rotated).
#[derive(Debug, Clone)]
pub struct LayerKv {
    /// `[batch, num_key_value_heads, capacity, head_dim]`; positions `len..` are free.
    keys: Tensor<4>,
    /// `[batch, num_key_value_heads, capacity, head_dim]`; positions `len..` are free.
    values: Tensor<4>,
    /// Filled positions.
    len: usize,
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
        let (mut all_k, mut all_v, past) = match slot.take() {
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
        });
        views
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
    pub fn join(self, other: KvCache, reserve: usize) -> KvCache {
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

/// Masks and positions for one forward call, built on the host.
#[derive(Debug, Clone)]
pub struct StepLayout {
    /// Rotary positions of the new tokens, `[batch, seq_len]`: index among the row's real
    /// tokens (padding slots get the position of the next real token; they are masked).
    pub positions: Tensor<2, Int>,
    /// `true` where attention is forbidden, `[batch, 1, seq_len, past_len + seq_len]`.
    /// Query `i` (absolute slot `past + i`) may see key `j` iff `j ≤ past + i` and slot `j`
    /// is a real token; a query always sees itself, so no row is fully masked.
    pub mask: Tensor<4, Bool>,
}

impl StepLayout {
    /// Builds the layout for `new_valid` (per row, one flag per new token) following the
    /// `past_valid` slots already in the cache.
    ///
    /// # Panics
    /// If rows have different lengths (a caller bug, not user input).
    pub fn new(past_valid: &[Vec<bool>], new_valid: &[Vec<bool>], device: &Device) -> Self {
        let batch = new_valid.len();
        let seq = new_valid.first().map_or(0, Vec::len);
        let past = past_valid.first().map_or(0, Vec::len);
        let total = past + seq;
        let mut positions = Vec::with_capacity(batch * seq);
        let mut mask = Vec::with_capacity(batch * seq * total);
        for (b, new) in new_valid.iter().enumerate() {
            assert_eq!(new.len(), seq, "ragged batch");
            let all: Vec<bool> = past_valid
                .get(b)
                .into_iter()
                .flatten()
                .chain(new.iter())
                .copied()
                .collect();
            assert_eq!(all.len(), total, "cache rows of different lengths");
            let mut count = all[..past].iter().filter(|&&v| v).count() as i64;
            for i in 0..seq {
                positions.push(count);
                if all[past + i] {
                    count += 1;
                }
                let q = past + i;
                for (j, &valid) in all.iter().enumerate() {
                    mask.push(!(j == q || (j < q && valid)));
                }
            }
        }
        Self {
            positions: Tensor::from_data(TensorData::new(positions, [batch, seq]), device),
            mask: Tensor::from_data(TensorData::new(mask, [batch, 1, seq, total]), device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_with_left_padding_and_cache_offset() {
        let dev = Device::flex();
        // Row 0: one pad then two tokens; row 1: three tokens. Then one new token each.
        let prefill = StepLayout::new(&[], &[vec![false, true, true], vec![true; 3]], &dev);
        let pos = prefill
            .positions
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .unwrap();
        assert_eq!(pos, vec![0, 0, 1, 0, 1, 2]);
        let m = prefill.mask.into_data().try_to_vec::<bool>().unwrap();
        // row 0, query 2 sees keys 1 and 2, not the pad (0).
        assert_eq!(&m[6..9], &[true, false, false]);
        // row 0, query 0 (pad) sees only itself.
        assert_eq!(&m[0..3], &[false, true, true]);
        // row 1, query 0 sees key 0 only (causal).
        assert_eq!(&m[9..12], &[false, true, true]);

        let past = vec![vec![false, true, true], vec![true; 3]];
        let step = StepLayout::new(&past, &[vec![true], vec![true]], &dev);
        assert_eq!(
            step.positions
                .into_data()
                .convert::<i64>()
                .try_to_vec::<i64>()
                .unwrap(),
            vec![2, 3]
        );
        let m = step.mask.into_data().try_to_vec::<bool>().unwrap();
        assert_eq!(
            m,
            vec![true, false, false, false, false, false, false, false]
        );
    }
}
