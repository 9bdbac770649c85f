//! Stub of `cubecl-llvm` 0.11.3 for building `cubecl-cuda` 0.11.3 without LLVM.
//!
//! The real crate's build dependency `tracel-llvm-bundler` downloads an LLVM archive, which an
//! offline machine cannot do. `cubecl-cuda` names a handful of its items whether or not its
//! LLVM backend is selected, so this crate provides exactly those, with the same paths and
//! shapes. The backend itself is absent: [`PlironCompiler::compile`] always returns an error.
//! Build `cubecl-cuda` with its `cpp` feature (`cubecl/cuda-cpp`) so that kernels go through
//! the CUDA C++ compiler and NVRTC, and this crate's compiler is never called.

#[cfg(feature = "nvptx")]
pub mod nvptx;
pub mod shared;
pub mod target;

#[cfg(feature = "nvptx")]
pub use shared::NvptxModule;
pub use shared::{PlironArtifact, PlironCompiler, PlironOptions};
pub use target::LlvmTarget;
