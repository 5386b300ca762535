//! Metrics: lock-free counters (`counters.rs`, a leaf the data plane bumps)
//! and their Prometheus rendering (`prometheus.rs`, which knows the apps).

mod counters;
mod prometheus;

pub(crate) use counters::{
    AddressRefusals, AppMetrics, CLOSE_REASONS, Counter, LatencyHistogram, ServerMetrics, Traffic,
};
pub(crate) use prometheus::render;
