//! The plugins of `plugins/` (example and hostile handlers), one constant
//! per crate, compiled to wasm32-wasip2 components by this crate's build
//! script: `plugins::ECHO`, `plugins::HOSTILE_SPIN`, …, and `for_each_plugin!`
//! over them. A new plugin crate gets its constant by
//! being a member of `plugins/Cargo.toml`, and `every_plugin_has_a_test`
//! (in `tests/all`) fails until a test uses it.

use std::path::Path;

include!(concat!(env!("OUT_DIR"), "/plugins.rs"));

/// One built plugin component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plugin {
    name: &'static str,
    path: &'static str,
}

impl Plugin {
    /// The crate's name (`hostile-spin`), as the JS suites name it.
    pub const fn name(self) -> &'static str {
        self.name
    }

    /// The component file.
    pub fn path(self) -> &'static Path {
        Path::new(self.path)
    }

    /// The component's bytes, as a deploy uploads them.
    pub fn bytes(self) -> Vec<u8> {
        std::fs::read(self.path)
            .unwrap_or_else(|e| panic!("read plugin {} at {}: {e}", self.name, self.path))
    }
}
