//! Compiled modules kept on disk, so a restart (or a second server on the same disk) loads a
//! plugin in milliseconds instead of compiling it again with Cranelift.
//!
//! An artifact is named by the SHA-256 of the module's bytes and a hash of everything about
//! the engine that compiled code depends on (wasmtime version, target, settings), so a change
//! of either simply misses the cache. wasmtime checks the same compatibility again when it
//! loads an artifact, and anything it refuses (or that fails to read) is compiled afresh and
//! rewritten. Writes go to a temporary file renamed into place, so a reader never sees half.
//!
//! Trust: an artifact is native code. The cache directory must be writable only by the
//! server's own user — the same trust as the binary. Plugin uploads never write into it.

use crate::error::PluginError;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::{Engine, Module};

/// Where a module came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compiled {
    /// Compiled now (and written to the cache, if there is one).
    Fresh,
    /// Loaded from a precompiled artifact.
    FromCache,
}

fn artifact_path(dir: &Path, engine: &Engine, sha256: &str) -> PathBuf {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    dir.join(format!("{sha256}-{:016x}.cwasm", hasher.finish()))
}

/// The module for `bytes`, from the cache in `dir` when a compatible artifact is there.
pub(crate) fn module(
    engine: &Engine,
    bytes: &[u8],
    sha256: &str,
    dir: Option<&Path>,
) -> Result<(Module, Compiled), PluginError> {
    let Some(dir) = dir else {
        return Ok((
            Module::new(engine, bytes).map_err(PluginError::Compile)?,
            Compiled::Fresh,
        ));
    };
    let path = artifact_path(dir, engine, sha256);
    if path.is_file() {
        match load_artifact(engine, &path) {
            Ok(module) => return Ok((module, Compiled::FromCache)),
            Err(error) => tracing::warn!(
                path = %path.display(), %error,
                "precompiled plugin artifact refused; compiling again"
            ),
        }
    }
    let module = Module::new(engine, bytes).map_err(PluginError::Compile)?;
    if let Err(error) = write_artifact(&module, dir, &path) {
        tracing::warn!(path = %path.display(), %error, "could not cache the compiled plugin");
    }
    Ok((module, Compiled::Fresh))
}

#[allow(unsafe_code)]
fn load_artifact(engine: &Engine, path: &Path) -> wasmtime::Result<Module> {
    // SAFETY: `deserialize_file` runs the file's native code later, so it must come from a
    // trusted writer: the cache directory is the server's own (see the module docs), the file
    // name binds it to these module bytes and this engine, and wasmtime rejects artifacts of
    // another version or configuration.
    unsafe { Module::deserialize_file(engine, path) }
}

fn write_artifact(module: &Module, dir: &Path, path: &Path) -> wasmtime::Result<()> {
    std::fs::create_dir_all(dir)?;
    let bytes = module.serialize()?;
    let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}
