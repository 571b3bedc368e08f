//! Load-time checks, shared by upload, the directory watcher and `touchstone plugin check`: a
//! plugin is refused, with a message saying why in plain words, unless it is a core wasm
//! module within the size limit whose initial memory and table fit the limits, whose only
//! import is `touchstone.log` and which exports `memory`, `touchstone_alloc` and at least one
//! hook with the ABI's signatures. (The trial instantiation in `plugin.rs` then runs any start
//! function and reads the declared ABI version.)

use crate::cache::{self, Compiled};
use crate::error::{PluginError, error_chain};
use crate::layout::{self, Layout, PAGE};
use crate::limits::Limits;
use serde::Serialize;
use touchstone_plugin_sdk::abi::{EXPORT_ALLOC, EXPORT_MEMORY, Hook, IMPORT_LOG, IMPORT_MODULE};
use wasmtime::{Engine, ExternType, FuncType, Module, ValType};

const WASM_MAGIC: &[u8; 4] = b"\0asm";
const CORE_VERSION: [u8; 4] = [1, 0, 0, 0];

/// A module that passed every load-time check.
pub(crate) struct Checked {
    pub(crate) module: Module,
    pub(crate) hooks: Vec<Hook>,
    pub(crate) compiled: Compiled,
}

/// `loaded` is the same bytes already compiled (a plugin loaded with identical content), so
/// a re-upload or a touched file is not compiled again; otherwise the module comes from the
/// precompiled cache in `cache_dir` or is compiled (and cached).
pub(crate) fn check(
    engine: &Engine,
    bytes: &[u8],
    limits: &Limits,
    loaded: Option<Module>,
    cache_dir: Option<&std::path::Path>,
) -> Result<Checked, PluginError> {
    if bytes.len() > limits.module_bytes {
        return Err(PluginError::ModuleTooLarge {
            size: bytes.len(),
            limit: limits.module_bytes,
        });
    }
    check_header(bytes)?;
    check_footprint(&layout::read(bytes), limits)?;
    let (module, compiled) = match loaded {
        Some(module) => (module, Compiled::FromCache),
        None => cache::module(
            engine,
            bytes,
            &crate::plugin::version_of(bytes).1,
            cache_dir,
        )?,
    };
    let hooks = check_shape(&module)?;
    Ok(Checked {
        module,
        hooks,
        compiled,
    })
}

fn check_header(bytes: &[u8]) -> Result<(), PluginError> {
    if bytes.len() < 8 || &bytes[..4] != WASM_MAGIC {
        return Err(PluginError::NotWasm);
    }
    if bytes[4..8] != CORE_VERSION {
        return Err(PluginError::Component);
    }
    Ok(())
}

fn check_footprint(layout: &Layout, limits: &Limits) -> Result<(), PluginError> {
    if let Some((initial, _)) = layout.memory_pages
        && initial.saturating_mul(PAGE) > limits.memory_bytes as u64
    {
        let stack = layout
            .stack_bytes
            .map(|stack| format!(" with about {} of stack", layout::mib(stack)))
            .unwrap_or_default();
        let limit_pages = limits.memory_bytes as u64 / PAGE;
        return Err(PluginError::InitialMemory(format!(
            "initial memory is {}{stack}; the limit is {} (plugins.memory_bytes); link with a \
             smaller stack or initial memory: clang/lld `-Wl,-z,stack-size=16384` (and no \
             `-Wl,--initial-memory` above the limit), Rust `-C link-arg=-zstack-size=65536`",
            layout::pages(initial),
            layout::pages(limit_pages)
        )));
    }
    if let Some(initial) = layout.table_elements
        && initial > crate::engine::TABLE_ELEMENTS as u64
    {
        return Err(PluginError::TableTooLarge {
            initial,
            limit: crate::engine::TABLE_ELEMENTS as u64,
        });
    }
    Ok(())
}

fn check_shape(module: &Module) -> Result<Vec<Hook>, PluginError> {
    for import in module.imports() {
        if import.module() != IMPORT_MODULE || import.name() != IMPORT_LOG {
            return Err(PluginError::ForbiddenImport {
                module: import.module().to_owned(),
                name: import.name().to_owned(),
            });
        }
        match import.ty() {
            ExternType::Func(ty)
                if signature_is(&ty, &[ValType::I32, ValType::I32, ValType::I32], &[]) => {}
            _ => return Err(PluginError::BadLogImport),
        }
    }
    match module.get_export(EXPORT_MEMORY) {
        Some(ExternType::Memory(memory)) if !memory.is_64() && !memory.is_shared() => {}
        _ => return Err(PluginError::MissingMemory),
    }
    let mut hooks = Vec::new();
    for hook in Hook::ALL {
        match module.get_export(hook.as_str()) {
            None => {}
            Some(ExternType::Func(ty))
                if signature_is(&ty, &[ValType::I32, ValType::I32], &[ValType::I64]) =>
            {
                hooks.push(hook);
            }
            Some(_) => {
                return Err(PluginError::BadSignature {
                    export: hook.as_str(),
                    expected: "(i32, i32) -> i64",
                });
            }
        }
    }
    if hooks.is_empty() {
        return Err(PluginError::NoHooks);
    }
    match module.get_export(EXPORT_ALLOC) {
        Some(ExternType::Func(ty)) if signature_is(&ty, &[ValType::I32], &[ValType::I32]) => {}
        _ => return Err(PluginError::MissingAlloc),
    }
    Ok(hooks)
}

fn signature_is(ty: &FuncType, params: &[ValType], results: &[ValType]) -> bool {
    let same = |a: ValType, b: &ValType| ValType::eq(&a, b);
    ty.params().len() == params.len()
        && ty.results().len() == results.len()
        && ty.params().zip(params).all(|(a, b)| same(a, b))
        && ty.results().zip(results).all(|(a, b)| same(a, b))
}

/// What `touchstone plugin check FILE.wasm` prints: what the module imports and exports,
/// which hooks it has, its footprint, the limits that would apply, and whether it would load
/// (and if not, why: the very message an upload gets).
#[derive(Debug, Clone, Serialize)]
pub struct PluginReport {
    pub size_bytes: usize,
    /// The version it would get: the first 12 hex digits of its SHA-256.
    pub version: String,
    /// The plugin ABI version it declares (`1.0` when it declares none), once it loads.
    pub abi_version: Option<String>,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    pub hooks: Vec<Hook>,
    /// Initial and maximum memory, in 64 KiB pages, when it exports one.
    pub memory_pages: Option<(u64, Option<u64>)>,
    /// Stack reserved by the linker (estimate), table size, start function.
    pub layout: Layout,
    pub limits: Limits,
    /// Why it would be refused; `None` when it loads.
    pub refused: Option<String>,
}

/// The parts of the report that need no instance; `refused` is set when the bytes are not a
/// module the engine compiles.
pub(crate) fn describe(
    engine: &Engine,
    bytes: &[u8],
    limits: &Limits,
) -> (PluginReport, Option<Module>) {
    let mut report = PluginReport {
        size_bytes: bytes.len(),
        version: crate::plugin::version_of(bytes).0,
        abi_version: None,
        imports: Vec::new(),
        exports: Vec::new(),
        hooks: Vec::new(),
        memory_pages: None,
        layout: layout::read(bytes),
        limits: *limits,
        refused: None,
    };
    // The footprint before compiling: the engine would refuse a memory over the pool's slot
    // in its own words.
    let module = match check_header(bytes)
        .and_then(|()| check_footprint(&report.layout, limits))
        .and_then(|()| Module::new(engine, bytes).map_err(PluginError::Compile))
    {
        Ok(module) => module,
        Err(error) => {
            report.refused = Some(error_chain(&error));
            return (report, None);
        }
    };
    report.imports = module
        .imports()
        .map(|import| format!("{}.{}", import.module(), import.name()))
        .collect();
    report.exports = module
        .exports()
        .map(|export| export.name().to_owned())
        .collect();
    if let Some(ExternType::Memory(memory)) = module.get_export(EXPORT_MEMORY) {
        report.memory_pages = Some((memory.minimum(), memory.maximum()));
    }
    (report, Some(module))
}
