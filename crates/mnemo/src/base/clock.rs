//! A monotonic clock that also runs in the browser.
//!
//! Natively a [`Tick`] is a [`std::time::Instant`]. `wasm32-unknown-unknown`
//! has no `Instant` (it panics there), so a tick is the host's
//! `performance.now()` in milliseconds (a Worker, a page and Node all have
//! it), or `Date.now()` where a host lacks it; a clock that steps back is
//! read as no time passing.

use std::time::Duration;

/// A point in time on the monotonic clock.
#[derive(Clone, Copy, Debug)]
pub struct Tick(
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))] std::time::Instant,
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))] f64,
);

impl Tick {
    /// Now.
    pub fn now() -> Self {
        #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
        {
            Tick(std::time::Instant::now())
        }
        #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
        {
            Tick(host::now_ms())
        }
    }

    /// The time from `earlier` to this tick; zero when `earlier` is later.
    pub fn since(self, earlier: Tick) -> Duration {
        #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
        {
            self.0.saturating_duration_since(earlier.0)
        }
        #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
        {
            let ms = self.0 - earlier.0;
            if ms.is_finite() && ms > 0.0 {
                Duration::from_secs_f64(ms / 1e3)
            } else {
                Duration::ZERO
            }
        }
    }

    /// The time since this tick.
    pub fn elapsed(self) -> Duration {
        Tick::now().since(self)
    }
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod host {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        /// `performance.now()`, called directly (a recall reads the clock
        /// at every stage); it throws where `performance` is missing.
        #[wasm_bindgen(catch, js_namespace = performance, js_name = now)]
        fn performance_now() -> Result<f64, JsValue>;
    }

    /// Milliseconds on the host's monotonic clock (`Date.now()` where the
    /// host has no `performance`).
    pub(super) fn now_ms() -> f64 {
        performance_now().unwrap_or_else(|_| js_sys::Date::now())
    }
}
