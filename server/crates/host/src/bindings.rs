//! The one place bindings are generated from `sdk/wit`, the contract the SDK
//! generates its side from too.

wasmtime::component::bindgen!({
    path: "../../../sdk/wit",
    world: "eddy:handler/app",
    imports: {
        // Key-value calls may wait on the registry's database.
        "eddy:handler/kv": async,
        default: trappable,
    },
    exports: {
        default: async,
    },
    additional_derives: [PartialEq],
});
