//! The masks and rotary positions of one forward call (a whole padded batch, or the new
//! positions after a [`KvCache`](super::KvCache)'s), built on the host from which slots hold
//! real tokens.

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

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
