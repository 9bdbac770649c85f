//! The real crate narrows a device's advertised features to what its LLVM backend lowers.
//! `cubecl-cuda` calls [`restrict_features`] only when the LLVM backend is selected, which
//! with this stub must not be the case; it leaves the properties as they are.

use cubecl_core::ir::DeviceProperties;

/// The GPU target a device's features are narrowed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GpuTarget {
    #[cfg(feature = "nvptx")]
    Nvptx,
    #[cfg(feature = "amdgpu")]
    AmdGpu,
}

/// No-op in the stub: there is no LLVM backend whose limits to apply.
pub fn restrict_features(_props: &mut DeviceProperties, _target: GpuTarget) {}
