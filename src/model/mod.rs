//! Llama in burn: configuration, layers, the full model, its KV cache, and checkpoint
//! loaders (GGUF and Hugging Face safetensors).

pub mod attention;
pub mod block;
pub mod cache;
pub mod config;
pub mod decode_weights;
pub mod gemv;
pub mod host_attention;
pub mod layout;
pub mod linear;
pub mod llama;
pub mod load;
pub mod mlp;
pub mod quant_blocks;
pub mod quant_gemv;
pub mod rope;
#[cfg(target_arch = "x86_64")]
pub mod simd_exp;
pub mod softmax;

pub use cache::KvCache;
pub use config::LlamaConfig;
pub use llama::Llama;
