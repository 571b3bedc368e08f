//! Everything that can go wrong loading or calling a plugin. The caller turns a call error
//! into the safe default; [`PluginError::reason`] is the bounded metrics label.

use touchstone_plugin_sdk::abi::Hook;

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    // --- refused at load ---
    #[error("not a WebAssembly module (it does not start with \\0asm)")]
    NotWasm,
    #[error(
        "is a WebAssembly component; the plugin ABI is a core module built for wasm32-unknown-unknown"
    )]
    Component,
    #[error("module is {size} bytes, more than the limit of {limit}")]
    ModuleTooLarge { size: usize, limit: usize },
    #[error("invalid WebAssembly module")]
    Compile(#[source] wasmtime::Error),
    #[error("imports `{module}.{name}`; a plugin may import only `touchstone.log`")]
    ForbiddenImport { module: String, name: String },
    #[error("`touchstone.log` must have type (i32, i32, i32) -> ()")]
    BadLogImport,
    #[error("exports no memory named `memory`")]
    MissingMemory,
    #[error("exports no `touchstone_alloc` function of type (i32) -> i32")]
    MissingAlloc,
    #[error("exports no hook; export at least one of `eligible`, `payload`, `event`")]
    NoHooks,
    #[error("export `{export}` must have type {expected}")]
    BadSignature {
        export: &'static str,
        expected: &'static str,
    },
    #[error("{0}")]
    InitialMemory(String),
    #[error("its function table starts with {initial} elements; the limit is {limit}")]
    TableTooLarge { initial: u64, limit: u64 },
    #[error("was built for plugin ABI {0}; this server runs modules built for 1.0 to {ours}", ours = crate::answer::supported_version())]
    AbiVersion(String),
    #[error("its start function failed: {0}")]
    Start(Box<PluginError>),
    #[error("limits are invalid: {0}")]
    BadLimits(String),
    #[error("cannot be instantiated within the limits")]
    Instantiate(#[source] wasmtime::Error),
    #[error("the plugin host could not start")]
    Engine(#[source] wasmtime::Error),

    // --- a call that failed ---
    #[error("no plugin named `{0}` is loaded")]
    NotLoaded(String),
    #[error("the plugin does not export the `{0}` hook")]
    HookMissing(Hook),
    #[error("input is {size} bytes, more than the limit of {limit}")]
    InputTooLarge { size: usize, limit: usize },
    #[error("ran out of fuel (instruction budget)")]
    OutOfFuel,
    #[error("ran past its deadline")]
    Deadline,
    #[error("tried to grow its memory past the limit")]
    MemoryLimit,
    #[error("overflowed its stack")]
    StackOverflow,
    #[error("trapped: {0}")]
    Trap(String),
    #[error("all instance slots are busy")]
    Busy,
    #[error("output is {size} bytes, more than the limit of {limit}")]
    OutputTooLarge { size: usize, limit: usize },
    #[error("output ({len} bytes at {ptr}) lies outside its memory")]
    OutputOutOfBounds { ptr: u32, len: u32 },
    #[error("output is not the expected JSON")]
    MalformedOutput(#[source] serde_json::Error),
    #[error("output is invalid: {0}")]
    InvalidAnswer(String),
    #[error("the plugin reported an error: {0}")]
    Guest(String),
    #[error("{0}")]
    BadAlloc(String),
}

impl PluginError {
    /// A stable snake_case label (bounded set) for metrics and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            PluginError::NotWasm
            | PluginError::Component
            | PluginError::ModuleTooLarge { .. }
            | PluginError::Compile(_)
            | PluginError::ForbiddenImport { .. }
            | PluginError::BadLogImport
            | PluginError::MissingMemory
            | PluginError::MissingAlloc
            | PluginError::NoHooks
            | PluginError::BadSignature { .. }
            | PluginError::BadLimits(_)
            | PluginError::InitialMemory(_)
            | PluginError::TableTooLarge { .. }
            | PluginError::AbiVersion(_)
            | PluginError::Start(_)
            | PluginError::Instantiate(_)
            | PluginError::Engine(_) => "refused",
            PluginError::NotLoaded(_) => "not_loaded",
            PluginError::HookMissing(_) => "hook_missing",
            PluginError::InputTooLarge { .. } => "input_too_large",
            PluginError::OutOfFuel => "out_of_fuel",
            PluginError::Deadline => "deadline",
            PluginError::MemoryLimit => "memory_limit",
            PluginError::StackOverflow => "stack_overflow",
            PluginError::Trap(_) => "trap",
            PluginError::Busy => "busy",
            PluginError::OutputTooLarge { .. } => "output_too_large",
            PluginError::OutputOutOfBounds { .. } => "output_out_of_bounds",
            PluginError::MalformedOutput(_) | PluginError::InvalidAnswer(_) => "malformed_output",
            PluginError::Guest(_) => "guest_error",
            PluginError::BadAlloc(_) => "bad_alloc",
        }
    }
}

/// An error and its causes on one line (`outer: inner: root`), for people reading a refusal or
/// a log line: many errors' own message is only the outermost step ("error sending request"),
/// the reason (an unknown TLS issuer, a wasm validation failure) is further down the chain.
/// The one such helper of the workspace (the server's webhook uses it too).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
