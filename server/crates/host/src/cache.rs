//! Compiled components on disk, by content hash and engine configuration,
//! so a restart does not recompile.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::LoadError;

pub(crate) struct Cache {
    dir: PathBuf,
    /// Changes with the wasmtime version and every setting that affects code.
    engine_key: String,
}

impl Cache {
    pub(crate) fn new(dir: PathBuf, engine: &Engine) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(Self {
            dir,
            engine_key: format!("{:016x}", hasher.finish()),
        })
    }

    pub(crate) fn load_or_compile(
        &self,
        engine: &Engine,
        content_hash: &str,
        wasm: &[u8],
    ) -> Result<Component, LoadError> {
        let path = self
            .dir
            .join(format!("{content_hash}-{}.cwasm", self.engine_key));
        if path.exists() {
            match deserialize(engine, &path) {
                Ok(component) => return Ok(component),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "discarding an unusable compiled artifact");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let compiled = engine
            .precompile_component(wasm)
            .map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        // Write then rename: a crash never leaves a half-written artifact
        // under its final name.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, &compiled)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| LoadError::Compile(format!("cannot store the compiled artifact: {e}")))?;
        deserialize(engine, &path).map_err(|e| LoadError::Compile(format!("{e:#}")))
    }
}

/// Maps a compiled artifact into memory.
///
/// `Component::deserialize_file` is unsafe because the file is trusted
/// machine code. Only files this cache wrote are loaded: they live in the
/// server's own data directory, named by the content hash of the upload they
/// were compiled from, and never come from a tenant.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, path: &std::path::Path) -> wasmtime::Result<Component> {
    unsafe { Component::deserialize_file(engine, path) }
}
