//! The one place bindings are generated from `sdk/wit`, the contract the SDK
//! generates its side from too: the current version at the root of this
//! module, and every older version still served in a module of its own.

wasmtime::component::bindgen!({
    path: "../../../sdk/wit",
    world: "eddy:handler/app",
    imports: {
        // These calls may wait on the registry's database.
        "eddy:handler/kv": async,
        "eddy:handler/timers": async,
        "eddy:handler/config": async,
        default: trappable,
    },
    exports: {
        default: async,
    },
    additional_derives: [PartialEq],
});

/// `eddy:handler@0.1.0`, as components built against it import and export
/// it. Its imports are served by the current ones (`imports/v0_1.rs`).
pub(crate) mod v0_1 {
    wasmtime::component::bindgen!({
        path: "../../../sdk/wit/0.1.0",
        world: "eddy:handler/app",
        imports: {
            "eddy:handler/kv": async,
            default: trappable,
        },
        exports: {
            default: async,
        },
        additional_derives: [PartialEq],
    });
}
