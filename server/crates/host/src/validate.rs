//! Upload checks that need no compilation (size, magic, component or core
//! module) and the import allowlist, which needs the compiled type.

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::LoadError;
use crate::pool::Contract;

/// The custom section eddy-sdk stamps its version into (`sdk/src/lib.rs`).
pub(crate) const SDK_SECTION: &str = "eddy-sdk";
/// The longest stamp read; anything longer is not ours.
const MAX_STAMP_BYTES: usize = 64;

/// Interfaces a handler may import: our contract, and the WASI pieces that
/// `wasm32-wasip2` guests import even when they do no I/O (the context
/// behind them is locked down: no environment, files or network).
const ALLOWED_IMPORTS: [&str; 5] = [
    "eddy:handler/",
    "wasi:io/",
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:random/",
];

const MAGIC: &[u8; 4] = b"\0asm";
const CORE_VERSION: [u8; 4] = [1, 0, 0, 0];

pub(crate) fn header(wasm: &[u8], max_bytes: usize) -> Result<(), LoadError> {
    if wasm.is_empty() {
        return Err(LoadError::Empty);
    }
    if wasm.len() > max_bytes {
        return Err(LoadError::TooLarge {
            size: wasm.len(),
            max: max_bytes,
        });
    }
    if wasm.len() < 8 || &wasm[..4] != MAGIC {
        return Err(LoadError::NotWasm);
    }
    if wasm[4..8] == CORE_VERSION {
        return Err(LoadError::CoreModule);
    }
    Ok(())
}

pub(crate) fn imports(engine: &Engine, component: &Component) -> Result<(), LoadError> {
    for (name, _) in component.component_type().imports(engine) {
        if !ALLOWED_IMPORTS
            .iter()
            .any(|prefix| name.starts_with(prefix))
        {
            return Err(LoadError::UnsupportedImport {
                name: name.to_owned(),
            });
        }
    }
    Ok(())
}

/// The contract whose `handler` interface the component exports (one
/// that exports neither is taken as the current one, so its refusal names
/// what the current contract expects), checked against its imports: every
/// `eddy:handler` interface it imports must be of the same version, so a
/// 0.1 component cannot set timers it has no hook to receive.
pub(crate) fn contract(engine: &Engine, component: &Component) -> Result<Contract, LoadError> {
    let old = component
        .component_type()
        .exports(engine)
        .any(|(name, _)| name == "eddy:handler/handler@0.1.0");
    let contract = if old { Contract::V0_1 } else { Contract::V0_2 };
    let version = format!("@{}", contract.version());
    for (name, _) in component.component_type().imports(engine) {
        if name.starts_with("eddy:handler/") && !name.ends_with(&version) {
            return Err(LoadError::UnsupportedImport {
                name: format!(
                    "{name} (the component's handler is of contract {}; import that version)",
                    contract.version()
                ),
            });
        }
    }
    Ok(contract)
}

/// The SDK version stamped into the component (in a custom section of one
/// of its core modules), if it is there and reads as a short printable
/// string.
pub(crate) fn sdk_version(wasm: &[u8]) -> Option<String> {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let Ok(wasmparser::Payload::CustomSection(section)) = payload else {
            continue;
        };
        if section.name() != SDK_SECTION {
            continue;
        }
        let data = section.data();
        return (data.len() <= MAX_STAMP_BYTES)
            .then(|| std::str::from_utf8(data).ok())
            .flatten()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() || b == b' '))
            .map(str::to_owned);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checks() {
        assert_eq!(header(b"", 10), Err(LoadError::Empty));
        assert_eq!(
            header(&[0; 20], 10),
            Err(LoadError::TooLarge { size: 20, max: 10 })
        );
        assert_eq!(header(b"hello world", 100), Err(LoadError::NotWasm));
        assert_eq!(header(b"\0asm\x01\0\0\0", 100), Err(LoadError::CoreModule));
        assert_eq!(header(b"\0asm\x0d\0\x01\0", 100), Ok(()));
    }
}
