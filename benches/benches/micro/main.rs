//! The criterion micro-benchmarks, one binary for all (each bench binary
//! links eddy, wasmtime and sqlx; one link instead of four). Run one group
//! with a filter: `cargo bench --bench micro -- codec` (or `broadcast`,
//! `handler`, `registry`).

mod broadcast;
mod codec;
mod handler;
mod registry;

criterion::criterion_group!(
    benches,
    codec::decode,
    broadcast::broadcast,
    handler::handlers,
    registry::registry
);
criterion::criterion_main!(benches);
