//! The PTX ISA version type `cubecl-cuda` names. Its LLVM/NVPTX backend picks one per driver;
//! that backend is absent from this stub (kernels go through CUDA C++ and NVRTC), so no
//! version is ever chosen: [`PtxVersion::for_driver`] answers `None`, which the real crate
//! also answers for drivers it has no entry for ("leave it to LLVM's default").

use core::fmt;

/// A PTX ISA version as the NVPTX target feature spells it (8.7 is `87`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PtxVersion(pub u32);

impl PtxVersion {
    /// The version for a driver of CUDA `driver` (12.8 is `12080`): always `None` here, as no
    /// NVPTX code is emitted.
    pub fn for_driver(_driver: i32) -> Option<Self> {
        None
    }
}

impl fmt::Display for PtxVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ptx{}", self.0)
    }
}
