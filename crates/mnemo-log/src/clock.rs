//! Timestamps for records.

/// A source of wall-clock time for record timestamps.
///
/// The log never lets timestamps go backwards: a record's timestamp is the
/// maximum of the clock reading and the previous record's timestamp.
pub trait Clock: Send + Sync {
    /// Nanoseconds since the Unix epoch.
    fn now_nanos(&self) -> u64;
}

/// The operating system's wall clock, read the cheap way: on Linux this is
/// `CLOCK_REALTIME_COARSE` (a few nanoseconds to read, resolution of one
/// kernel tick, 1–4 ms), elsewhere the standard library's clock. Record
/// order is always given by seq; use [`PreciseClock`] when timestamps need
/// sub-millisecond resolution.
///
/// WebAssembly without a host has no clock: there it reads 0 and callers
/// should supply their own [`Clock`] (the browser bindings pass `Date.now()`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[cfg(target_os = "linux")]
    fn now_nanos(&self) -> u64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) };
        if rc != 0 {
            return PreciseClock.now_nanos();
        }
        (ts.tv_sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(ts.tv_nsec as u64)
    }

    #[cfg(not(target_os = "linux"))]
    fn now_nanos(&self) -> u64 {
        PreciseClock.now_nanos()
    }
}

/// The standard library's wall clock at full resolution (slower to read than
/// [`SystemClock`] on Linux).
#[derive(Debug, Clone, Copy, Default)]
pub struct PreciseClock;

impl Clock for PreciseClock {
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    fn now_nanos(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }

    /// `Date.now()`: the browser's (or Node's) wall clock, in whole
    /// milliseconds.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    fn now_nanos(&self) -> u64 {
        (js_sys::Date::now() as u64).saturating_mul(1_000_000)
    }
}

/// A clock that returns a fixed, settable value (tests and simulations).
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: std::sync::atomic::AtomicU64,
}

impl ManualClock {
    /// A clock reading `nanos`.
    pub fn new(nanos: u64) -> Self {
        Self {
            nanos: std::sync::atomic::AtomicU64::new(nanos),
        }
    }

    /// Sets the reading.
    pub fn set(&self, nanos: u64) {
        self.nanos
            .store(nanos, std::sync::atomic::Ordering::Relaxed);
    }

    /// Moves the reading forward.
    pub fn advance(&self, nanos: u64) {
        self.nanos
            .fetch_add(nanos, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now_nanos(&self) -> u64 {
        self.nanos.load(std::sync::atomic::Ordering::Relaxed)
    }
}
