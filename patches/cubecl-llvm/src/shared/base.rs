#[cfg(feature = "nvptx")]
use crate::nvptx::ptx_version::PtxVersion;
use crate::target::LlvmTarget;
#[cfg(feature = "nvptx")]
use cubecl_core::ir::nvidia::SmArch;
use cubecl_core::ir::amd::GfxArch;
use cubecl_core::prelude::KernelDefinition;
use cubecl_environment::backtrace::BackTrace;
use cubecl_runtime::compiler::{CompilationError, Compiler};
use cubecl_runtime::kernel::BufferIOAttr;

/// The LLVM compiler's handle. In the stub it compiles nothing.
#[derive(Clone, Debug, Default)]
pub struct PlironCompiler {
    pub target: LlvmTarget,
}

/// The real crate's options, field for field where `cubecl-cuda` sets them.
#[derive(Clone, Debug, Default)]
pub struct PlironOptions {
    pub cpu_buffer_alignment: Option<u32>,
    pub arch: Option<GfxArch>,
    #[cfg(feature = "nvptx")]
    pub sm_arch: Option<SmArch>,
    #[cfg(feature = "nvptx")]
    pub ptx_version: Option<PtxVersion>,
    pub grid_constants: bool,
}

/// Compiled PTX module (never produced by the stub).
#[derive(Clone, Debug)]
#[cfg(feature = "nvptx")]
pub struct NvptxModule {
    /// NUL-terminated PTX assembly.
    pub ptx: Vec<core::ffi::c_char>,
    /// Kernel entry point symbol.
    pub entrypoint: String,
    /// IR for logging and cache keys.
    pub ir: String,
    /// Shared memory required per launch, in bytes.
    pub shared_memory_size: usize,
    /// Buffer access modes in binding order.
    pub io: Vec<BufferIOAttr>,
}

/// Compiled kernel artifact (never produced by the stub).
#[derive(Clone, Debug)]
pub enum PlironArtifact {
    #[cfg(feature = "nvptx")]
    NvptxCode(NvptxModule),
    /// Stands for the real crate's other variants (CPU JIT, AMDGPU).
    Unavailable,
}

impl core::fmt::Display for PlironArtifact {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            #[cfg(feature = "nvptx")]
            PlironArtifact::NvptxCode(module) => write!(f, "{}", module.ir),
            PlironArtifact::Unavailable => f.write_str("<no LLVM backend>"),
        }
    }
}

impl Compiler for PlironCompiler {
    type Representation = PlironArtifact;
    type CompilationOptions = PlironOptions;

    fn buffer_io(repr: &Self::Representation) -> Option<Vec<BufferIOAttr>> {
        match repr {
            #[cfg(feature = "nvptx")]
            PlironArtifact::NvptxCode(module) => Some(module.io.clone()),
            PlironArtifact::Unavailable => None,
        }
    }

    fn compile(
        &mut self,
        _kernel: KernelDefinition,
        _options: &Self::CompilationOptions,
    ) -> Result<Self::Representation, CompilationError> {
        Err(CompilationError::Generic {
            reason: "cubecl-llvm is a stub in this build (no LLVM): enable cubecl-cuda's `cpp` \
                     feature (cubecl/cuda-cpp) to compile kernels with NVRTC"
                .to_string(),
            backtrace: BackTrace::capture(),
        })
    }

    fn extension(&self) -> &'static str {
        match self.target {
            LlvmTarget::Cpu => "plir",
            #[allow(unreachable_patterns)]
            _ => "ll",
        }
    }

    fn lang_tag(&self) -> &'static str {
        match self.target {
            LlvmTarget::Cpu => "mlir",
            #[allow(unreachable_patterns)]
            _ => "llvm",
        }
    }
}
