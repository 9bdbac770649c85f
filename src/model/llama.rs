//! The Llama decoder-only transformer (Touvron et al. 2023; HF `LlamaForCausalLM`):
//! token embedding → `num_hidden_layers` × [`DecoderLayer`] → RMSNorm → output head (tied to
//! the embedding or separate).
//!
//! Two forward paths share every layer: [`Llama::forward`] over whole padded sequences (for
//! training and scoring) and [`Llama::forward_cached`] with a [`KvCache`] (for generation).

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig, RmsNorm, RmsNormConfig};
use burn::tensor::{Device, Int, Tensor};

use super::block::DecoderLayer;
use super::cache::KvCache;
use super::config::LlamaConfig;
use super::layout::StepLayout;
use super::rope::RopeAngles;

/// A Llama causal language model.
#[derive(Module, Debug)]
pub struct Llama {
    /// Token embedding, weight `[vocab_size, hidden_size]` (HF `model.embed_tokens`).
    pub embed_tokens: Embedding,
    /// Decoder layers (HF `model.layers`).
    pub layers: Vec<DecoderLayer>,
    /// Final RMSNorm (HF `model.norm`).
    pub norm: RmsNorm,
    /// Output head `[hidden_size → vocab_size]` (HF `lm_head`); `None` when the embedding is
    /// tied (`tie_word_embeddings`), in which case logits are `h · embed_tokensᵀ`.
    pub lm_head: Option<Linear>,
    /// The architecture this model was built from.
    #[module(skip)]
    pub config: LlamaConfig,
}

impl Llama {
    /// Random initialisation from a config (tests, from-scratch training).
    pub fn init(config: &LlamaConfig, device: &Device) -> Self {
        let c = config;
        Self {
            embed_tokens: EmbeddingConfig::new(c.vocab_size, c.hidden_size).init(device),
            layers: (0..c.num_hidden_layers)
                .map(|_| DecoderLayer::init(c, device))
                .collect(),
            norm: RmsNormConfig::new(c.hidden_size)
                .with_epsilon(c.rms_norm_eps)
                .init(device),
            lm_head: (!c.tie_word_embeddings).then(|| {
                LinearConfig::new(c.hidden_size, c.vocab_size)
                    .with_bias(false)
                    .init(device)
            }),
            config: c.clone(),
        }
    }

    /// Logits for every position of whole sequences (no cache).
    ///
    /// `attention_mask[b][i]` is `true` for real tokens and `false` for padding (left or right
    /// padding both work: positions count real tokens only).
    ///
    /// # Shapes
    /// - `input_ids`: `[batch, seq_len]`
    /// - output logits: `[batch, seq_len, vocab_size]`
    pub fn forward(&self, input_ids: Tensor<2, Int>, attention_mask: &[Vec<bool>]) -> Tensor<3> {
        self.logits(self.hidden_states(input_ids, attention_mask))
    }

    /// Final hidden states (after the last RMSNorm) of whole sequences, no cache: the
    /// input of [`Llama::logits`], for callers that need logits at a few positions only.
    ///
    /// # Shapes
    /// - `input_ids`: `[batch, seq_len]`
    /// - output: `[batch, seq_len, hidden_size]`
    pub fn hidden_states(
        &self,
        input_ids: Tensor<2, Int>,
        attention_mask: &[Vec<bool>],
    ) -> Tensor<3> {
        let layout = StepLayout::new(&[], attention_mask, &input_ids.device());
        self.hidden(input_ids, layout, None)
    }

    /// Runs the new tokens through the model, appending their keys/values to `cache`, and
    /// returns the final hidden states (after the last RMSNorm). Use [`Llama::logits`] on the
    /// positions you need.
    ///
    /// # Shapes
    /// - `input_ids`: `[batch, new_len]`; `new_valid`: `batch` rows of `new_len` flags
    /// - output: `[batch, new_len, hidden_size]`
    pub fn forward_cached(
        &self,
        input_ids: Tensor<2, Int>,
        new_valid: &[Vec<bool>],
        cache: &mut KvCache,
    ) -> Tensor<3> {
        let layout = StepLayout::new(&cache.valid, new_valid, &input_ids.device());
        if cache.valid.is_empty() {
            cache.valid = vec![Vec::new(); new_valid.len()];
        }
        for (row, new) in cache.valid.iter_mut().zip(new_valid) {
            row.extend_from_slice(new);
        }
        if cache.layers.len() != self.layers.len() {
            cache.layers = vec![None; self.layers.len()];
        }
        self.hidden(input_ids, layout, Some(cache))
    }

    fn hidden(
        &self,
        input_ids: Tensor<2, Int>,
        layout: StepLayout,
        mut cache: Option<&mut KvCache>,
    ) -> Tensor<3> {
        let rope = RopeAngles::new(&self.config, layout.positions);
        let mut x = self.embed_tokens.forward(input_ids);
        for (i, layer) in self.layers.iter().enumerate() {
            let slot = cache.as_deref_mut().map(|c| (&mut c.layers[i], c.reserve));
            x = layer.forward(x, &rope, layout.mask.clone(), slot);
        }
        self.norm.forward(x)
    }

    /// Output head.
    ///
    /// # Shapes
    /// `hidden`: `[batch, seq_len, hidden_size]` → logits `[batch, seq_len, vocab_size]`.
    pub fn logits(&self, hidden: Tensor<3>) -> Tensor<3> {
        match &self.lm_head {
            Some(head) => super::linear::project(head, hidden),
            None => {
                if let Some(out) = super::decode_weights::tied_logits(&self.embed_tokens, &hidden) {
                    return out;
                }
                let [b, s, h] = hidden.dims();
                let w = self.embed_tokens.weight.val(); // [vocab, hidden], contiguous
                // (W · hᵀ)ᵀ keeps the large matrix contiguous; only the small one is transposed.
                w.matmul(hidden.reshape([b * s, h]).transpose())
                    .transpose()
                    .reshape([b, s, self.config.vocab_size])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::tensor::TensorData;

    #[test]
    fn tied_head_is_embedding_transpose() {
        let dev = Device::flex();
        let mut c = LlamaConfig::tiny(3);
        c.hidden_size = 2;
        let mut m = Llama::init(&c, &dev);
        m.embed_tokens.weight = Param::from_tensor(Tensor::from_data(
            TensorData::new(vec![1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0], [3, 2]),
            &dev,
        ));
        let h = Tensor::<3>::from_data(TensorData::new(vec![2.0f32, 3.0], [1, 1, 2]), &dev);
        let l = m.logits(h).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(l, vec![2.0, 3.0, 5.0]);
    }

    #[test]
    fn rms_norm_by_hand() {
        let dev = Device::flex();
        let c = LlamaConfig::tiny(3);
        let mut norm = Llama::init(&c, &dev).norm;
        norm.gamma = Param::from_tensor(Tensor::from_floats([1.0f32, 1.0, 2.0, 2.0], &dev));
        norm.epsilon = 0.0;
        let x = Tensor::<3>::from_floats([[[1.0f32, 2.0, 3.0, 4.0]]], &dev);
        let y = norm.forward(x).into_data().try_to_vec::<f32>().unwrap();
        // rms = sqrt((1 + 4 + 9 + 16) / 4) = sqrt(7.5)
        let r = 7.5f32.sqrt();
        let want = [1.0 / r, 2.0 / r, 6.0 / r, 8.0 / r];
        for (a, b) in y.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn padded_batch_equals_rows_alone() {
        let dev = Device::flex();
        let m = Llama::init(&LlamaConfig::tiny(50), &dev);
        let a: Vec<i64> = vec![3, 14, 15, 9];
        let b: Vec<i64> = vec![2, 6, 5, 35, 8, 9];
        let alone = |ids: &Vec<i64>| {
            let n = ids.len();
            let t = Tensor::<2, Int>::from_data(TensorData::new(ids.clone(), [1, n]), &dev);
            m.forward(t, &[vec![true; n]])
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        // a left-padded by 2 in a batch with b.
        let ids = [vec![0, 0], a.clone(), b.clone()].concat();
        let t = Tensor::<2, Int>::from_data(TensorData::new(ids, [2, 6]), &dev);
        let mask = vec![[vec![false; 2], vec![true; 4]].concat(), vec![true; 6]];
        let batch = m.forward(t, &mask).into_data().try_to_vec::<f32>().unwrap();
        let v = 50;
        let (ra, rb) = (alone(&a), alone(&b));
        for (x, y) in batch[2 * v..6 * v].iter().zip(&ra) {
            assert!((x - y).abs() < 1e-4);
        }
        for (x, y) in batch[6 * v..].iter().zip(&rb) {
            assert!((x - y).abs() < 1e-4);
        }
    }

    /// Continuous batching: a request prefilled on its own and joined to a running batch
    /// (whose cache is longer) decodes the same next tokens as each row run alone.
    #[test]
    fn a_joined_cache_decodes_as_each_row_alone() {
        let dev = Device::flex();
        let m = Llama::init(&LlamaConfig::tiny(50), &dev);
        let ids = |v: &[i64]| {
            Tensor::<2, Int>::from_data(TensorData::new(v.to_vec(), [1, v.len()]), &dev)
        };
        // the reference: each prompt, then one token, alone
        let alone = |prompt: &[i64], next: i64| {
            let mut cache = KvCache::new(m.layers.len());
            m.forward_cached(ids(prompt), &[vec![true; prompt.len()]], &mut cache);
            m.forward_cached(ids(&[next]), &[vec![true]], &mut cache)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        let (a, b) = (vec![3i64, 14, 15, 9, 2, 6], vec![5i64, 35]);
        // a runs first (6 positions), b is prefilled alone (2) and joins it
        let mut ca = KvCache::new(m.layers.len());
        m.forward_cached(ids(&a), &[vec![true; 6]], &mut ca);
        let mut cb = KvCache::new(m.layers.len());
        m.forward_cached(ids(&b), &[vec![true; 2]], &mut cb);
        let mut joined = ca.join(cb, 4);
        assert_eq!(joined.len(), 6);
        assert_eq!(joined.valid[1], [false, false, false, false, true, true]);
        let next = Tensor::<2, Int>::from_data(TensorData::new(vec![7i64, 8], [2, 1]), &dev);
        let both = m
            .forward_cached(next, &[vec![true], vec![true]], &mut joined)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        // hidden states of the new position, `[2, 1, hidden_size]`
        let h = m.config.hidden_size;
        let (ra, rb) = (alone(&a, 7), alone(&b, 8));
        assert_eq!((ra.len(), both.len()), (h, 2 * h));
        for (x, y) in both[..h].iter().zip(&ra).chain(both[h..].iter().zip(&rb)) {
            assert!((x - y).abs() < 1e-4, "{x} vs {y}");
        }
        // a leaves: b's 4 leading padding slots of 7 are dropped, and b decodes as alone
        joined.select_rows(&[1]);
        joined.trim_leading_padding();
        assert_eq!(joined.valid, vec![vec![true; 3]]);
        let next = Tensor::<2, Int>::from_data(TensorData::new(vec![9i64], [1, 1]), &dev);
        let got = m
            .forward_cached(next, &[vec![true]], &mut joined)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let mut cb = KvCache::new(m.layers.len());
        m.forward_cached(ids(&[5, 35, 8]), &[vec![true; 3]], &mut cb);
        let want = m
            .forward_cached(ids(&[9]), &[vec![true]], &mut cb)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for (x, y) in got.iter().zip(&want) {
            assert!((x - y).abs() < 1e-4, "{x} vs {y}");
        }
    }
}
