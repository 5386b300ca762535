//! Load errors (an upload that cannot run) and call errors, with guest
//! faults (the tenant's) kept apart from host faults (ours).

use thiserror::Error;

/// Why a component cannot be loaded. Each message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LoadError {
    #[error("the upload is empty")]
    Empty,
    #[error("the upload is {size} bytes; the limit is {max}")]
    TooLarge { size: usize, max: usize },
    #[error("not a WebAssembly file (it does not start with \\0asm)")]
    NotWasm,
    #[error(
        "this is a core WebAssembly module, not a component: build it with `cargo build --target wasm32-wasip2` (or wrap it with `wasm-tools component new`)"
    )]
    CoreModule,
    #[error("the component is invalid: {0}")]
    Invalid(String),
    #[error(
        "the component imports `{name}`, which Eddy does not provide (allowed: eddy:handler/*, wasi:io, wasi:cli, wasi:clocks, wasi:random)"
    )]
    UnsupportedImport { name: String },
    #[error(
        "the component does not export `eddy:handler/handler@0.1.x` with the expected functions ({0}); build it with eddy-sdk"
    )]
    WrongExports(String),
    #[error("compiling the component failed: {0}")]
    Compile(String),
    #[error("the component failed to start (trial instantiation): {0}")]
    Instantiate(String),
}

/// A call into a handler failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CallError {
    #[error(transparent)]
    Guest(#[from] GuestFault),
    #[error(transparent)]
    Host(#[from] HostFault),
}

/// The handler misbehaved; charged to the tenant. Its instance is discarded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GuestFault {
    #[error("the handler ran past its {deadline_ms} ms deadline")]
    Timeout { deadline_ms: u64 },
    #[error("the handler exceeded its memory limit of {limit_bytes} bytes")]
    MemoryLimit { limit_bytes: usize },
    #[error("the handler trapped: {0}")]
    Trap(String),
}

impl GuestFault {
    /// A stable code for metrics and error acks.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Timeout { .. } => "handler_timeout",
            Self::MemoryLimit { .. } => "handler_memory_limit",
            Self::Trap(_) => "handler_trap",
        }
    }
}

/// Something failed on our side of the boundary (a bug or exhaustion).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("host fault: {0}")]
pub struct HostFault(pub String);
