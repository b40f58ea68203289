//! mnemo in WebAssembly: the engine behind the `mnemo` npm package.
//!
//! [`core::Core`] is the engine as the package drives it (JSON in and out,
//! every operation through `mnemo_server::ops`, so the answers and errors
//! are the server's); it builds natively too, which is how the tests
//! compare the browser's recall with the native engine's. On
//! `wasm32-unknown-unknown` the `wasm` module adds the wasm-bindgen face
//! (`Engine`) and [`volume`]'s storage: every log and snapshot file goes
//! through a JavaScript object the host provides (OPFS synchronous access
//! handles in a Worker, IndexedDB, or Node's file system).

pub mod core;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub mod volume;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod wasm;

pub use crate::core::{Core, Failure};
