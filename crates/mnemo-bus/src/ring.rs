//! A bounded multi-producer ring of fixed 128-byte slots, drained in batches.
//!
//! The ring is Dmitry Vyukov's bounded MPMC queue: every slot carries a
//! stamp that says whose turn it is. A slot at position `p` (its index is
//! `p % capacity`) is free for the producer of `p` when its stamp equals `p`,
//! and holds a published event for the consumer of `p` when its stamp equals
//! `p + 1`; the consumer hands it back to the producer of `p + capacity` by
//! storing that as the stamp. Producers claim positions by compare-and-swap
//! on `tail`, consumers by compare-and-swap on `head`, so any thread may
//! consume: the shard's writer drains, and a producer under
//! [`Backpressure::DropOldest`](crate::Backpressure::DropOldest) evicts the
//! oldest event itself.
//!
//! What this ring adds to the textbook queue is batching on the consumer's
//! side: the writer claims every published slot from `head` with one
//! compare-and-swap ([`Ring::drain`]), so the head moves once per batch
//! instead of once per event. (Claiming runs of slots on the producers' side
//! too was measured slower: it reads the run's stamps before writing any.)
//!
//! Each slot is two cache lines: the stamp and the event's header in the
//! first 32 bytes and up to [`INLINE_BYTES`] of payload inline after them.
//! A larger payload is moved to the heap (one allocation) and the slot keeps
//! the pointer, so the ring's memory is `capacity × 128` bytes plus the
//! spilled payloads, each at most the stream's `max_event_bytes`.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU64, Ordering};

/// Payload bytes kept inside a slot; larger payloads are moved to the heap.
pub const INLINE_BYTES: usize = 96;

/// Pads a value to its own pair of cache lines (the adjacent-line
/// prefetcher pulls lines in pairs), so the producers' and the consumer's
/// cursors never share one.
#[repr(align(128))]
struct Padded<T>(T);

/// The fixed part of an event in a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The event's type id in its stream.
    pub kind: u16,
    /// Who produced it (also the sharding key).
    pub producer: u64,
    /// Event time in nanoseconds since the Unix epoch, or 0 when the
    /// producer gave none (the log's timestamp then stands for it).
    pub time_nanos: u64,
}

/// A slot's event. The header's fields are kept flat (not as a [`Header`],
/// whose padding would push the slot past two cache lines).
struct SlotData {
    producer: u64,
    time_nanos: u64,
    len: u32,
    kind: u16,
    /// The first `len` bytes, when `len <= INLINE_BYTES`; otherwise the
    /// first 16 bytes hold a `Box<[u8]>` moved in with `ptr::write` (the
    /// words keep it aligned).
    bytes: MaybeUninit<[u64; INLINE_BYTES / 8]>,
}

impl SlotData {
    fn header(&self) -> Header {
        Header {
            kind: self.kind,
            producer: self.producer,
            time_nanos: self.time_nanos,
        }
    }
}

const _: () = assert!(std::mem::size_of::<Slot>() == 128);

#[repr(C, align(128))]
struct Slot {
    stamp: AtomicU64,
    data: UnsafeCell<SlotData>,
}

/// A bounded ring of events; see the module docs.
pub struct Ring {
    head: Padded<AtomicU64>,
    tail: Padded<AtomicU64>,
    slots: Box<[Slot]>,
    mask: u64,
}

// SAFETY: a slot's data is only touched by the one thread that won its
// position with a compare-and-swap, between that win and the stamp store
// that publishes (producer) or releases (consumer) it; the stamp's
// release/acquire pair orders the data accesses across threads.
unsafe impl Sync for Ring {}
// SAFETY: as above; spilled payloads are owned boxes.
unsafe impl Send for Ring {}

/// What [`Ring::drain`] hands the consumer for each event: its header and
/// its payload, borrowed for the call.
pub type Visit<'a> = &'a mut dyn FnMut(&Header, &[u8]);

impl Ring {
    /// A ring of `capacity` slots, rounded up to a power of two (at least 2).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(2).next_power_of_two();
        let slots = (0..capacity as u64)
            .map(|p| Slot {
                stamp: AtomicU64::new(p),
                data: UnsafeCell::new(SlotData {
                    producer: 0,
                    time_nanos: 0,
                    kind: 0,
                    len: 0,
                    bytes: MaybeUninit::uninit(),
                }),
            })
            .collect();
        Self {
            head: Padded(AtomicU64::new(0)),
            tail: Padded(AtomicU64::new(0)),
            slots,
            mask: capacity as u64 - 1,
        }
    }

    /// Slots in the ring.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Events queued now (a snapshot; producers and consumers move on).
    pub fn len(&self) -> usize {
        let tail = self.tail.0.load(Ordering::Acquire);
        let head = self.head.0.load(Ordering::Acquire);
        tail.saturating_sub(head).min(self.slots.len() as u64) as usize
    }

    /// Whether no event is queued now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Positions claimed by producers so far: every event ever admitted has a
    /// position below this.
    pub fn tail_position(&self) -> u64 {
        self.tail.0.load(Ordering::Acquire)
    }

    #[inline]
    fn slot(&self, pos: u64) -> &Slot {
        // The mask keeps the index below the slice's length.
        &self.slots[(pos & self.mask) as usize]
    }

    /// Adds one event, or returns `None` when the ring is full. On success
    /// returns the event's position.
    #[inline]
    pub fn try_push(&self, header: &Header, payload: &[u8]) -> Option<u64> {
        let mut pos = self.tail.0.load(Ordering::Relaxed);
        loop {
            let slot = self.slot(pos);
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == pos {
                match self.tail.0.compare_exchange_weak(
                    pos,
                    pos + 1,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: we won position `pos`; the slot is ours
                        // until the stamp store below.
                        unsafe { write_slot(slot, header, payload) };
                        slot.stamp.store(pos + 1, Ordering::Release);
                        return Some(pos);
                    }
                    Err(now) => pos = now,
                }
            } else if stamp < pos {
                // The slot still holds the event of `pos - capacity`.
                return None;
            } else {
                pos = self.tail.0.load(Ordering::Relaxed);
            }
        }
    }

    /// Takes up to `max` published events from the head in one claim and
    /// shows each to `visit` in order; returns the position range taken.
    /// Events still being written by their producer end the batch.
    pub fn drain(&self, max: usize, visit: Visit<'_>) -> std::ops::Range<u64> {
        let mut pos = self.head.0.load(Ordering::Relaxed);
        let count = loop {
            let mut ready = 0u64;
            while ready < max as u64
                && self.slot(pos + ready).stamp.load(Ordering::Acquire) == pos + ready + 1
            {
                ready += 1;
            }
            if ready == 0 {
                return pos..pos;
            }
            match self.head.0.compare_exchange_weak(
                pos,
                pos + ready,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break ready,
                Err(now) => pos = now,
            }
        };
        let capacity = self.slots.len() as u64;
        for p in pos..pos + count {
            let slot = self.slot(p);
            // SAFETY: positions pos..pos+count are ours until released.
            unsafe {
                let data = &*slot.data.get();
                visit(&data.header(), payload_of(data));
                drop_spill(slot);
            }
            slot.stamp.store(p + capacity, Ordering::Release);
        }
        pos..pos + count
    }

    /// Removes the oldest published event without looking at it (for
    /// `drop_oldest`); returns whether one was removed.
    pub fn evict_oldest(&self) -> bool {
        !self.drain(1, &mut |_, _| {}).is_empty()
    }
}

/// Moves an event into a slot the caller owns.
///
/// # Safety
/// The caller must have claimed the slot's position and not yet published it.
#[inline]
unsafe fn write_slot(slot: &Slot, header: &Header, payload: &[u8]) {
    // SAFETY: the caller owns the slot (see above).
    let data = unsafe { &mut *slot.data.get() };
    data.producer = header.producer;
    data.time_nanos = header.time_nanos;
    data.kind = header.kind;
    data.len = payload.len() as u32;
    if payload.len() <= INLINE_BYTES {
        // SAFETY: `payload.len()` bytes fit the inline buffer.
        unsafe {
            std::ptr::copy_nonoverlapping(
                payload.as_ptr(),
                data.bytes.as_mut_ptr().cast::<u8>(),
                payload.len(),
            );
        }
    } else {
        let spilled: Box<[u8]> = payload.into();
        // SAFETY: a Box<[u8]> (16 bytes, 8-aligned) fits the word buffer; it
        // is read back with `ptr::read` exactly once, by `drop_spill`.
        unsafe { std::ptr::write(data.bytes.as_mut_ptr().cast::<Box<[u8]>>(), spilled) };
    }
}

/// The payload of a published slot.
///
/// # Safety
/// The slot must hold a published event the caller has claimed.
#[inline]
unsafe fn payload_of(data: &SlotData) -> &[u8] {
    let len = data.len as usize;
    if len <= INLINE_BYTES {
        // SAFETY: the producer initialised `len` inline bytes.
        unsafe { std::slice::from_raw_parts(data.bytes.as_ptr().cast::<u8>(), len) }
    } else {
        // SAFETY: the producer moved a Box<[u8]> of `len` bytes in.
        // The box is borrowed in place (not moved): the slot still owns it
        // and `drop_spill` frees it.
        unsafe { &*data.bytes.as_ptr().cast::<Box<[u8]>>() }
    }
}

/// Frees a slot's spilled payload, if any.
///
/// # Safety
/// The slot must hold a published event the caller has claimed; after this,
/// its payload must not be read again.
#[inline]
unsafe fn drop_spill(slot: &Slot) {
    // SAFETY: per the contract above.
    let data = unsafe { &mut *slot.data.get() };
    if data.len as usize > INLINE_BYTES {
        // SAFETY: the producer moved a Box<[u8]> in; it is read out once.
        drop(unsafe { std::ptr::read(data.bytes.as_ptr().cast::<Box<[u8]>>()) });
        data.len = 0;
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // Free the payloads of events nobody drained.
        while !self.drain(usize::MAX, &mut |_, _| {}).is_empty() {}
    }
}
