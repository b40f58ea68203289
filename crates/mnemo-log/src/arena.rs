//! An append-only byte buffer whose written prefix can be shared as
//! [`Bytes`] while the writer keeps appending after it.
//!
//! This is how the segment being written serves zero-copy reads: readers get
//! `Bytes` slices of bytes that are already written (and never change again),
//! while the single writer fills the region after them.

use std::sync::Arc;

use bytes::Bytes;

/// The memory behind an [`Arena`]. Dropped when the arena and every
/// `Bytes` handed out from it are gone.
struct Block {
    ptr: *mut u8,
    cap: usize,
    /// Large blocks are anonymous memory maps (zero pages committed lazily,
    /// transparent huge pages requested); small ones and WebAssembly use the
    /// heap.
    #[cfg(not(target_arch = "wasm32"))]
    map: Option<memmap2::MmapMut>,
}

/// Blocks at least this large are memory-mapped.
#[cfg(not(target_arch = "wasm32"))]
const MAP_THRESHOLD: usize = 2 * 1024 * 1024;

// SAFETY: `Block` owns its allocation; the bytes are only written through
// `Arena` (single writer, `&mut self`) in the region no reader can see.
unsafe impl Send for Block {}
// SAFETY: as above; shared access only ever reads the published prefix.
unsafe impl Sync for Block {}

impl Block {
    fn new(cap: usize) -> Self {
        #[cfg(not(target_arch = "wasm32"))]
        if cap >= MAP_THRESHOLD
            && let Ok(mut map) = memmap2::MmapMut::map_anon(cap)
        {
            #[cfg(target_os = "linux")]
            {
                // Fewer page faults and TLB misses; purely advisory.
                let _ = map.advise(memmap2::Advice::HugePage);
            }
            let ptr = map.as_mut_ptr();
            return Self {
                ptr,
                cap,
                map: Some(map),
            };
        }
        let boxed: Box<[u8]> = vec![0u8; cap].into_boxed_slice();
        let ptr = Box::into_raw(boxed).cast::<u8>();
        Self {
            ptr,
            cap,
            #[cfg(not(target_arch = "wasm32"))]
            map: None,
        }
    }
}

impl AsRef<[u8]> for Block {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `ptr` points to `cap` initialised bytes owned by this block.
        unsafe { std::slice::from_raw_parts(self.ptr, self.cap) }
    }
}

/// The owner given to `Bytes`: a shared handle on the block, so the arena
/// can tell when no reader holds any part of it any more.
struct SharedBlock(Arc<Block>);

impl AsRef<[u8]> for SharedBlock {
    fn as_ref(&self) -> &[u8] {
        self.0.as_ref().as_ref()
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        #[cfg(not(target_arch = "wasm32"))]
        if self.map.is_some() {
            return; // the map unmaps itself
        }
        // SAFETY: `ptr`/`cap` came from `Box::into_raw` of a `Box<[u8]>` of
        // exactly this length and are freed only here.
        unsafe {
            drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(
                self.ptr, self.cap,
            )));
        }
    }
}

/// Append-only buffer. Bytes below [`Arena::len`] are immutable and may be
/// shared through [`Arena::frozen`] and [`Arena::whole`]; the writer appends above it.
pub(crate) struct Arena {
    /// A `Bytes` over the whole block; slices of it are handed to readers.
    shared: Bytes,
    /// The arena's own handle on the block (for [`Arena::recycle`]).
    block: Arc<Block>,
    ptr: *mut u8,
    cap: usize,
    len: usize,
}

// SAFETY: the raw pointer refers to the block kept alive by `shared`; all
// writes go through `&mut self`.
unsafe impl Send for Arena {}
// SAFETY: `&Arena` only permits reading the published prefix.
unsafe impl Sync for Arena {}

impl Arena {
    /// An empty arena with room for `cap` bytes.
    pub(crate) fn with_capacity(cap: usize) -> Self {
        Self::on_block(Arc::new(Block::new(cap.max(1))))
    }

    fn on_block(block: Arc<Block>) -> Self {
        let ptr = block.ptr;
        let cap = block.cap;
        Self {
            shared: Bytes::from_owner(SharedBlock(block.clone())),
            block,
            ptr,
            cap,
            len: 0,
        }
    }

    /// Turns a finished arena into an empty one on the same memory, if no
    /// reader holds any slice of it (pages already faulted in are reused).
    pub(crate) fn recycle(self) -> Option<Arena> {
        let Arena { shared, block, .. } = self;
        drop(shared);
        // Only this handle left: every `Bytes` over the block is gone and,
        // since we own the last handle, no new one can appear.
        if Arc::strong_count(&block) == 1 {
            Some(Arena::on_block(block))
        } else {
            None
        }
    }

    /// Bytes written so far.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The written bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.shared[..self.len]
    }

    /// A `Bytes` over the whole block, written or not. Only its written
    /// prefix may be read, and only while the writer is excluded (the log
    /// holds its state lock for that); slices of it that end within the
    /// written prefix may be handed out freely.
    pub(crate) fn whole(&self) -> Bytes {
        self.shared.clone()
    }

    /// Address of the block's first byte (changes when the arena grows).
    #[inline]
    pub(crate) fn block_ptr(&self) -> *const u8 {
        self.ptr
    }

    /// A `Bytes` over everything written so far.
    pub(crate) fn frozen(&self) -> Bytes {
        self.shared.slice(..self.len)
    }

    /// Makes room for `additional` more bytes, moving to a bigger block
    /// (at least doubling) if needed. Readers holding slices of the old block
    /// keep it alive; new slices come from the new one.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let needed = self.len + additional;
        if needed <= self.cap {
            return;
        }
        let new_cap = needed.max(self.cap.saturating_mul(2));
        let mut grown = Arena::with_capacity(new_cap);
        // SAFETY: the new block is private to `grown` and large enough.
        unsafe { grown.write_unpublished(self.as_slice()) };
        grown.len = self.len;
        *self = grown;
    }

    /// Appends `n` bytes produced by `fill`, which receives the unpublished
    /// region to initialise. Grows the arena when needed; returns the offset of the new bytes.
    pub(crate) fn append_with(&mut self, n: usize, fill: impl FnOnce(&mut [u8])) -> usize {
        self.reserve(n);
        let start = self.len;
        // SAFETY: `start..start + n` lies inside the block and above `len`,
        // so no `Bytes` handed out so far covers it (slices are only made
        // of `..len`), and `&mut self` excludes other writers.
        let region = unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), n) };
        fill(region);
        self.len += n;
        start
    }

    /// Copies `data` to the start of an arena nothing has been read from.
    ///
    /// # Safety
    /// No slice of this arena may have been handed out.
    unsafe fn write_unpublished(&mut self, data: &[u8]) {
        debug_assert!(data.len() <= self.cap);
        // SAFETY: caller guarantees exclusivity; bounds checked above.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr, data.len()) };
    }
}

#[cfg(test)]
mod tests {
    use super::Arena;

    #[test]
    fn slices_survive_growth_and_later_writes() {
        let mut arena = Arena::with_capacity(4);
        arena.reserve(3);
        arena.append_with(3, |b| b.copy_from_slice(b"abc"));
        let first = arena.frozen().slice(0..3);
        arena.reserve(100);
        arena.append_with(100, |b| b.fill(b'x'));
        assert_eq!(&first[..], b"abc");
        assert_eq!(arena.len(), 103);
        assert_eq!(&arena.frozen().slice(0..4)[..], b"abcx");
        drop(arena);
        assert_eq!(&first[..], b"abc");
    }

    #[test]
    fn recycling_waits_until_no_reader_holds_a_slice() {
        let mut arena = Arena::with_capacity(16);
        arena.append_with(4, |b| b.copy_from_slice(b"data"));
        let held = arena.frozen().slice(0..4);
        assert!(arena.recycle().is_none(), "a reader still holds a slice");
        drop(held);
        let mut arena = Arena::with_capacity(16);
        arena.append_with(4, |b| b.copy_from_slice(b"data"));
        let mut reused = arena.recycle().expect("no readers");
        assert_eq!(reused.len(), 0);
        reused.append_with(3, |b| b.copy_from_slice(b"new"));
        assert_eq!(&reused.frozen()[..], b"new");
    }
}
