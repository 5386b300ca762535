//! eddy-bench: the load generator behind `benches/compare` and its pieces.
//! It speaks Engine.IO v4 / Socket.IO v5 itself over websockets, so it drives
//! eddy and the Node reference peer identically.

pub mod client;
pub mod compare;
pub mod procfs;
pub mod report;
pub mod scenario;
