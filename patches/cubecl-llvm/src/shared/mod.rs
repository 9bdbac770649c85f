mod base;
pub mod lowered_features;

pub use base::*;
