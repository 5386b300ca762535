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
        "the component does not export `eddy:handler/handler` at a version this server runs (0.2.0 or 0.1.0) with the expected functions ({0}); build it with eddy-sdk"
    )]
    WrongExports(String),
    #[error("compiling the component failed: {0}")]
    Compile(String),
    #[error(
        "compiling the component did not finish within {timeout_ms} ms; make it smaller (fewer or smaller functions)"
    )]
    CompileTimeout { timeout_ms: u64 },
    #[error("the component failed to start (trial instantiation): {0}")]
    Instantiate(String),
    #[error(
        "the component's start-up (trial instantiation) did not finish within {deadline_ms} ms: does its initialization loop or sleep?"
    )]
    StartTimeout { deadline_ms: u64 },
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
    /// The instances of the tenant's apps on this node hold all of its
    /// handler memory quota: the call that needed more failed, the pool
    /// is not faulted.
    #[error(
        "the handlers of this app's tenant hold all of its handler memory on this node ({limit_bytes} bytes); try again when calls finish, or raise the tenant's max_handler_memory_mb"
    )]
    TenantMemory { limit_bytes: usize },
    #[error("the handler trapped: {0}")]
    Trap(String),
    /// Instantiating a new instance (its start-up code) ran past the start
    /// deadline. The pool is now faulted (see `backoff.rs`).
    #[error("the handler's start-up ran past its {deadline_ms} ms deadline")]
    StartTimeout { deadline_ms: u64 },
    /// A recent start-up failed, and new instances are refused for a while
    /// so a start that loops cannot keep a core busy.
    #[error(
        "the handler is unavailable: its start-up failed recently; new instances are refused for another {retry_in_ms} ms"
    )]
    Faulted { retry_in_ms: u64 },
}

/// Something failed on our side of the boundary (a bug or exhaustion).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("host fault: {0}")]
pub struct HostFault(pub String);
