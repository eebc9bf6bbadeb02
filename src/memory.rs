//! Executable memory: W^X as a type, packed into shared chunks, freed space reused.
//!
//! [`WritableCode`] is a region reserved for one compiled code object plus a private staging
//! buffer the compiler fills; [`WritableCode::seal`] writes the buffer into the region and returns
//! [`ExecutableCode`]. No page is ever writable and executable at once, and no page is ever
//! writable through a second mapping either: the code pages are read-execute (or inaccessible)
//! in the page tables at all times.
//!
//! Sealing writes the bytes with one `pwrite` to `/proc/self/mem`, which the kernel carries out
//! as a debugger's write into a read-only private page (copy-on-write rules apply, so a forked
//! child writes its own copies). The file is opened for each seal and closed right after, so the
//! program never sees a descriptor of cpjit's (see `write_by_proc_mem`). That is three system
//! calls per compile, where flipping the pages read-write and back costs two `mprotect`s that
//! split and merge mappings and flush the TLB (about twice the system time in the compile bench).
//! Where that write is refused (no /proc, a kernel that forbids forced writes), sealing falls back
//! for the rest of the process to making the region's pages read-write, copying, and making them
//! read-execute again (and for one seal when the process has no descriptor to spare); that is
//! safe because native code only runs with the GIL held and the compiler holds it, so no thread
//! executes in a page while it is writable (and the heap lock serialises such fills).
//!
//! Code objects share 256 KiB chunks, mapped read-execute when made (their pages cost nothing
//! until written). A region is placed best-fit in the free space of all chunks (64-byte
//! aligned). Freed regions go back to their chunk's free list (coalesced with their neighbours);
//! a page no live region touches any more is discarded (`MADV_DONTNEED`) and made inaccessible,
//! and made read-execute again (with a few pages after it) when a later region lands on it; a
//! chunk with no live region is unmapped. So the memory code holds is the pages live code
//! touches: a few survivors keep a few pages, not whole chunks. Code larger than a quarter chunk
//! gets a mapping of its own. A stencil's data stays within ±2 GiB of its code because code and
//! data of one compiled object are one region.
//!
//! Each chunk begins with a copy of the symbol table the compiler passes to
//! [`WritableCode::new_near`] (the addresses of the CPython functions and data stencils use), so
//! code reaches CPython through its chunk's table and needs no GOT of its own; the table counts as
//! a region of the chunk and goes with it.
//!
//! A cap ([`set_max_executable_bytes`]) bounds the pages live code touches; an allocation that
//! would pass it fails with [`CapReached`] and is counted, and the caller leaves the code
//! interpreted.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Size of a shared chunk.
pub const CHUNK_SIZE: usize = 256 * 1024;
/// Alignment (and size granule) of each region inside a chunk.
const REGION_ALIGN: usize = 64;
/// Pages made read-execute at once, past a region, when it lands on inaccessible pages: the
/// next regions placed after it need no `mprotect`.
const OPEN_AHEAD_PAGES: usize = 16;

fn page_size() -> usize {
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    let p = PAGE.load(Ordering::Relaxed);
    if p != 0 {
        return p;
    }
    // SAFETY: sysconf has no preconditions.
    let p = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as usize,
        _ => 4096,
    };
    PAGE.store(p, Ordering::Relaxed);
    p
}

/// One mapping of address space. Offsets are relative to `base`.
struct Chunk {
    base: usize,
    size: usize,
    /// Free byte ranges (offset, length), sorted by offset, never adjacent (coalesced).
    free: Vec<(usize, usize)>,
    /// Per page: touched by a live region (counted in `mapped_bytes`) since it was last
    /// discarded.
    committed: Vec<bool>,
    /// Per page: read-execute rather than inaccessible. Every committed page is open.
    open: Vec<bool>,
    /// Regions allocated and not yet freed (the symbol table counts as one).
    regions: usize,
    /// The chunk's symbol table (see [`WritableCode::new_near`]): its address, its length and
    /// the generation of [`Heap::symbols`] it holds.
    got: Option<(usize, usize, u32)>,
    /// Shared chunks take many regions; a large region's own mapping takes one.
    shared: bool,
}

impl Drop for Chunk {
    fn drop(&mut self) {
        // SAFETY: [base, base + size) is a mapping this chunk made and owns; it is dropped only
        // when no live region lies in it, so nothing refers to that memory any more.
        unsafe { libc::munmap(self.base as *mut libc::c_void, self.size) };
    }
}

struct Heap {
    chunks: BTreeMap<usize, Chunk>,
    /// The symbol table chunks made for [`WritableCode::new_near`] hold, and its generation
    /// (bumped when a different table is asked for).
    symbols: Vec<u64>,
    symbols_generation: u32,
    /// Every free range of the shared chunks as (length, address): best fit is one lookup.
    by_size: BTreeSet<(usize, usize)>,
    mapped_bytes: usize,
    live_bytes: usize,
    reserved_bytes: usize,
}

static HEAP: Mutex<Heap> = Mutex::new(Heap {
    chunks: BTreeMap::new(),
    symbols: Vec::new(),
    symbols_generation: 0,
    by_size: BTreeSet::new(),
    mapped_bytes: 0,
    live_bytes: 0,
    reserved_bytes: 0,
});

/// The cap on executable bytes (0: none), and how many allocations it refused.
static MAX_EXECUTABLE: AtomicUsize = AtomicUsize::new(0);
static CAP_REFUSALS: AtomicU64 = AtomicU64::new(0);

/// Cap the executable pages cpjit maps at `bytes` (0: no cap).
pub fn set_max_executable_bytes(bytes: usize) {
    MAX_EXECUTABLE.store(bytes, Ordering::Relaxed);
}

pub fn max_executable_bytes() -> usize {
    MAX_EXECUTABLE.load(Ordering::Relaxed)
}

/// The error an allocation past the cap fails with (inside an `io::Error`).
#[derive(Debug)]
pub struct CapReached {
    pub cap: usize,
}

impl std::fmt::Display for CapReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "executable memory cap of {} bytes reached (CPJIT_MAX_CODE_MB)",
            self.cap
        )
    }
}

impl std::error::Error for CapReached {}

/// Is `e` the cap refusing an allocation?
pub fn is_cap_reached(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<CapReached>())
}

/// What the allocator holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryStats {
    /// Bytes of pages mapped executable (or being written): what live code touches.
    pub mapped_bytes: usize,
    /// Bytes of live regions (rounded to the region granule).
    pub live_bytes: usize,
    /// Address space reserved by chunks (inaccessible where no code is).
    pub reserved_bytes: usize,
    /// Allocations the cap refused since start.
    pub cap_refusals: u64,
}

pub fn stats() -> MemoryStats {
    let h = lock(&HEAP);
    MemoryStats {
        mapped_bytes: h.mapped_bytes,
        live_bytes: h.live_bytes,
        reserved_bytes: h.reserved_bytes,
        cap_refusals: CAP_REFUSALS.load(Ordering::Relaxed),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn protect(addr: usize, len: usize, prot: libc::c_int) -> io::Result<()> {
    // SAFETY: callers pass whole pages of a chunk this module mapped and still owns; changing
    // their protection affects no memory outside it.
    if unsafe { libc::mprotect(addr as *mut libc::c_void, len, prot) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

const RX: libc::c_int = libc::PROT_READ | libc::PROT_EXEC;

impl Heap {
    /// Pages [first, last) of the region [off, off + len).
    fn pages(off: usize, len: usize) -> (usize, usize) {
        let p = page_size();
        (off / p, (off + len).div_ceil(p))
    }

    /// Bytes of pages the region would newly commit.
    fn new_pages(chunk: &Chunk, off: usize, len: usize) -> usize {
        let (a, b) = Self::pages(off, len);
        chunk.committed[a..b].iter().filter(|m| !**m).count() * page_size()
    }

    fn map_chunk(&mut self, size: usize, shared: bool) -> io::Result<usize> {
        // Read-execute from the start: untouched pages cost nothing, and regions are written
        // by sealing (see the module doc), never through a writable mapping.
        // SAFETY: a fresh anonymous private mapping at an address the kernel picks; it
        // overlaps nothing. The chunk unmaps it on drop.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                RX,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = base as usize;
        let pages = size / page_size();
        self.chunks.insert(
            base,
            Chunk {
                base,
                size,
                free: vec![(0, size)],
                committed: vec![false; pages],
                open: vec![true; pages],
                regions: 0,
                got: None,
                shared,
            },
        );
        self.reserved_bytes += size;
        if shared {
            self.by_size.insert((size, base));
        }
        Ok(base)
    }

    /// Best fit among the shared chunks' free ranges (the smallest that holds `len`, lowest
    /// address first): (chunk base, index in its free list).
    fn best_fit(&mut self, len: usize) -> Option<(usize, usize)> {
        let &(_, addr) = self.by_size.range((len, 0)..).next()?;
        let chunk = self.chunk_of(addr);
        let off = addr - chunk.base;
        let i = chunk
            .free
            .binary_search_by_key(&off, |&(o, _)| o)
            .expect("indexed range is in its chunk's free list");
        Some((chunk.base, i))
    }

    /// Reserve `len` bytes whose pages are read-execute. Returns the region's address and,
    /// when `symbols` is given, the address of a copy of it in the region's chunk (0: none
    /// there).
    fn allocate(&mut self, len: usize, symbols: Option<&[u64]>) -> io::Result<(usize, usize)> {
        let len = len.div_ceil(REGION_ALIGN) * REGION_ALIGN;
        if let Some(table) = symbols {
            if self.symbols[..] != *table {
                self.symbols = table.to_vec();
                self.symbols_generation = self.symbols_generation.wrapping_add(1);
            }
        }
        let got_len = symbols.map_or(0, |t| (8 * t.len()).div_ceil(REGION_ALIGN) * REGION_ALIGN);
        let (base, index) = if len > CHUNK_SIZE / 4 {
            let size = (len + got_len).div_ceil(page_size()) * page_size();
            self.check_cap(size)?;
            let base = self.map_chunk(size, false)?;
            self.install_got(base, got_len)?;
            (base, 0)
        } else if let Some(found) = self.best_fit(len) {
            found
        } else {
            self.check_cap((len + got_len).div_ceil(page_size()) * page_size())?;
            let base = self.map_chunk(CHUNK_SIZE, true)?;
            self.install_got(base, got_len)?;
            (base, 0)
        };
        let chunk = self.chunks.get_mut(&base).expect("chunk just chosen");
        let (off, flen) = chunk.free[index];
        let shared = chunk.shared;
        let new = Self::new_pages(chunk, off, len);
        let cap = max_executable_bytes();
        if cap != 0 && self.mapped_bytes + new > cap {
            CAP_REFUSALS.fetch_add(1, Ordering::Relaxed);
            let empty = chunk.regions == chunk.got.is_some() as usize;
            if empty {
                self.unmap(base);
            }
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                CapReached { cap },
            ));
        }
        let (a, b) = Self::pages(off, len);
        if let Some(first) = (a..b).find(|&i| !chunk.open[i]) {
            // Pages a free discarded: open them, and a few more of the free range after the
            // region (never past it), in one call.
            let free_end = (off + flen) / page_size();
            let mut end = b.max((first + OPEN_AHEAD_PAGES).min(free_end));
            while end > b && chunk.open[end - 1] {
                end -= 1;
            }
            let p = page_size();
            protect(chunk.base + first * p, (end - first) * p, RX)?;
            for o in &mut chunk.open[first..end] {
                *o = true;
            }
        }
        for m in &mut chunk.committed[a..b] {
            *m = true;
        }
        if flen == len {
            chunk.free.remove(index);
        } else {
            chunk.free[index] = (off + len, flen - len);
        }
        if shared {
            self.by_size.remove(&(flen, base + off));
            if flen > len {
                self.by_size.insert((flen - len, base + off + len));
            }
        }
        chunk.regions += 1;
        let got = match (symbols, chunk.got) {
            (Some(_), Some((address, _, generation))) if generation == self.symbols_generation => {
                address
            }
            _ => 0,
        };
        self.mapped_bytes += new;
        self.live_bytes += len;
        Ok((base + off, got))
    }

    /// Put the current symbol table at the start of the fresh chunk at `base` (nothing when
    /// `got_len` is 0). It counts as one region, freed with the chunk.
    fn install_got(&mut self, base: usize, got_len: usize) -> io::Result<()> {
        if got_len == 0 {
            return Ok(());
        }
        let generation = self.symbols_generation;
        let chunk = self.chunks.get_mut(&base).expect("chunk just made");
        let p = page_size();
        let pages = got_len.div_ceil(p);
        for m in &mut chunk.committed[..pages] {
            *m = true;
        }
        chunk.free[0] = (got_len, chunk.size - got_len);
        if chunk.shared {
            self.by_size.remove(&(chunk.size, base));
            self.by_size.insert((chunk.size - got_len, base + got_len));
        }
        chunk.regions = 1;
        chunk.got = Some((base, got_len, generation));
        self.mapped_bytes += pages * p;
        self.live_bytes += got_len;
        let table = std::mem::take(&mut self.symbols);
        // SAFETY: the table's u64s viewed as their bytes (u8 has no alignment or validity
        // requirement; x86-64 is little-endian, the order the code reads them in).
        let bytes =
            unsafe { std::slice::from_raw_parts(table.as_ptr() as *const u8, 8 * table.len()) };
        let written = write_code(base, bytes, Some(self));
        self.symbols = table;
        written
    }

    fn check_cap(&self, bytes: usize) -> io::Result<()> {
        let cap = max_executable_bytes();
        if cap != 0 && self.mapped_bytes + bytes > cap {
            CAP_REFUSALS.fetch_add(1, Ordering::Relaxed);
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                CapReached { cap },
            ));
        }
        Ok(())
    }

    fn chunk_of(&mut self, addr: usize) -> &mut Chunk {
        chunk_in(&mut self.chunks, addr)
    }

    /// The fallback write: make the region's pages read-write, copy, make them read-execute.
    /// Called with the heap lock held, which serialises it against every other fill.
    fn write_by_mprotect(&mut self, addr: usize, bytes: &[u8]) -> io::Result<()> {
        let chunk = self.chunk_of(addr);
        let (a, b) = Self::pages(addr - chunk.base, bytes.len());
        let p = page_size();
        let (start, pages) = (chunk.base + a * p, (b - a) * p);
        protect(start, pages, libc::PROT_READ | libc::PROT_WRITE)?;
        // SAFETY: [addr, addr + len) is this live region's, inside pages just made read-write;
        // no thread runs native code meanwhile (module doc) and no other fill runs (heap lock).
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), addr as *mut u8, bytes.len()) };
        protect(start, pages, RX)
    }

    /// Give a region back: coalesce, discard pages no region touches, unmap an empty chunk.
    fn free(&mut self, addr: usize, len: usize) {
        let len = len.div_ceil(REGION_ALIGN) * REGION_ALIGN;
        self.live_bytes -= len;
        let chunk = chunk_in(&mut self.chunks, addr);
        let base = chunk.base;
        chunk.regions -= 1;
        if chunk.regions == chunk.got.is_some() as usize {
            self.unmap(base);
            return;
        }
        let off = addr - base;
        let i = chunk.free.partition_point(|&(o, _)| o < off);
        chunk.free.insert(i, (off, len));
        // Coalesce with the next, then the previous range.
        if i + 1 < chunk.free.len() && chunk.free[i].0 + chunk.free[i].1 == chunk.free[i + 1].0 {
            let (noff, nlen) = chunk.free.remove(i + 1);
            chunk.free[i].1 += nlen;
            self.by_size.remove(&(nlen, base + noff));
        }
        let i = if i > 0 && chunk.free[i - 1].0 + chunk.free[i - 1].1 == chunk.free[i].0 {
            let (poff, plen) = chunk.free[i - 1];
            self.by_size.remove(&(plen, base + poff));
            chunk.free[i - 1].1 += chunk.free[i].1;
            chunk.free.remove(i);
            i - 1
        } else {
            i
        };
        let (foff, flen) = chunk.free[i];
        self.by_size.insert((flen, base + foff));
        // Whole pages inside the coalesced free range hold no live code: discard them and make
        // them inaccessible.
        let p = page_size();
        let (a, b) = (foff.div_ceil(p), (foff + flen) / p);
        let mut released = 0;
        if a < b && chunk.open[a..b].iter().any(|o| *o) {
            let (start, bytes) = (base + a * p, (b - a) * p);
            // SAFETY: these pages belong to this chunk and no live region overlaps them; their
            // contents are garbage from now on (sealing writes every byte of a region).
            unsafe { libc::madvise(start as *mut libc::c_void, bytes, libc::MADV_DONTNEED) };
            if protect(start, bytes, libc::PROT_NONE).is_ok() {
                for o in &mut chunk.open[a..b] {
                    *o = false;
                }
            }
            for m in &mut chunk.committed[a..b] {
                if *m {
                    released += p;
                    *m = false;
                }
            }
        }
        self.mapped_bytes -= released;
    }

    /// The allocator's invariants (tests).
    #[cfg(test)]
    fn check(&self) {
        let mut indexed = 0;
        let mut mapped = 0;
        for c in self.chunks.values() {
            for w in c.free.windows(2) {
                assert!(w[0].0 + w[0].1 < w[1].0, "free ranges sorted, apart: {w:?}");
            }
            for &(off, len) in &c.free {
                assert!(len > 0 && off + len <= c.size);
                if c.shared {
                    assert!(self.by_size.contains(&(len, c.base + off)));
                    indexed += 1;
                }
            }
            assert!(
                c.regions > c.got.is_some() as usize,
                "an empty chunk is unmapped"
            );
            for (m, o) in c.committed.iter().zip(&c.open) {
                assert!(!*m || *o, "a committed page is open");
            }
            mapped += c.committed.iter().filter(|m| **m).count() * page_size();
        }
        assert_eq!(indexed, self.by_size.len());
        assert_eq!(mapped, self.mapped_bytes);
    }

    fn unmap(&mut self, base: usize) {
        let chunk = self.chunks.remove(&base).expect("chunk to unmap");
        if chunk.shared {
            for &(off, len) in &chunk.free {
                self.by_size.remove(&(len, base + off));
            }
        }
        self.mapped_bytes -= chunk.committed.iter().filter(|m| **m).count() * page_size();
        self.reserved_bytes -= chunk.size;
        if let Some((_, got_len, _)) = chunk.got {
            self.live_bytes -= got_len;
        }
        // The chunk holds no live region and nothing refers to its memory any more: dropping it
        // unmaps it.
        drop(chunk);
    }
}

/// The chunk holding `addr`.
fn chunk_in(chunks: &mut BTreeMap<usize, Chunk>, addr: usize) -> &mut Chunk {
    chunks
        .range_mut(..=addr)
        .next_back()
        .map(|(_, c)| c)
        .filter(|c| addr < c.base + c.size)
        .expect("address inside a chunk")
}

/// Writing through `/proc/self/mem`: the descriptor, the process it was opened in (a forked child
/// inherits the descriptor, which still names its parent's memory) and the file's identity (a
/// program may close descriptors it does not own, `os.closerange`, and the number be reused for
/// another file, which must never be written).
/// Set once `/proc/self/mem` refused a write or could not be opened: seal by mprotect from then
/// on.
static USE_MPROTECT: AtomicBool = AtomicBool::new(false);

/// Make sealing use the mprotect fallback (tests; a process where forced writes are refused
/// switches by itself).
pub fn force_mprotect_fallback(on: bool) {
    USE_MPROTECT.store(on, Ordering::Relaxed);
}

/// Which way sealing writes code now: "proc_mem" or "mprotect".
pub fn write_method() -> &'static str {
    if USE_MPROTECT.load(Ordering::Relaxed) {
        "mprotect"
    } else {
        "proc_mem"
    }
}

/// Why a forced write through `/proc/self/mem` did not happen.
enum ProcMemError {
    /// This once (the process is out of file descriptors): seal this region by mprotect.
    NoDescriptor,
    /// For good (no /proc, a kernel that refuses forced writes): seal by mprotect from now on.
    Refused,
}

/// Write `bytes` at `addr` (a live region's read-execute pages) with a forced write through
/// `/proc/self/mem`, opened for this write and closed after it. No descriptor is held between
/// writes: a program sees exactly the descriptors it would see without cpjit (the numbers `open`
/// hands out, what `/proc/self/fd` lists, what a child started with `pass_fds` inherits), a forked
/// child opens its own file, and a program that closes every descriptor closes none of cpjit's.
/// The descriptor lives only while the compiler holds the GIL, so no Python code can observe it.
fn write_by_proc_mem(addr: usize, bytes: &[u8]) -> Result<(), ProcMemError> {
    // SAFETY: a NUL-terminated path; the descriptor is closed below on every path.
    let fd = unsafe { libc::open(c"/proc/self/mem".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if fd < 0 {
        let e = io::Error::last_os_error();
        return Err(match e.raw_os_error() {
            Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM | libc::EINTR) => {
                ProcMemError::NoDescriptor
            }
            _ => ProcMemError::Refused,
        });
    }
    let mut done = 0;
    let mut result = Ok(());
    while done < bytes.len() {
        let rest = &bytes[done..];
        // SAFETY: writes `rest` into this process's memory at [addr + done, addr + len): pages
        // of a live region that only its WritableCode writes (it is not sealed yet); the kernel
        // checks the range is mapped.
        let n = unsafe {
            libc::pwrite(
                fd,
                rest.as_ptr() as *const libc::c_void,
                rest.len(),
                (addr + done) as libc::off_t,
            )
        };
        match n {
            n if n > 0 => done += n as usize,
            0 => {
                result = Err(ProcMemError::Refused);
                break;
            }
            _ => {
                if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                    result = Err(ProcMemError::Refused);
                    break;
                }
            }
        }
    }
    // SAFETY: the descriptor was opened above and is not used after this.
    unsafe { libc::close(fd) };
    result
}

/// Write a region's bytes: through `/proc/self/mem`, or by mprotect when that is refused
/// (`heap`: the heap, when the caller holds its lock).
fn write_code(addr: usize, bytes: &[u8], heap: Option<&mut Heap>) -> io::Result<()> {
    if !USE_MPROTECT.load(Ordering::Relaxed) {
        match write_by_proc_mem(addr, bytes) {
            Ok(()) => {
                debug_assert!(
                    // SAFETY: the region's pages are readable (read-execute) and live.
                    unsafe { std::slice::from_raw_parts(addr as *const u8, bytes.len()) } == bytes
                );
                return Ok(());
            }
            Err(ProcMemError::Refused) => USE_MPROTECT.store(true, Ordering::Relaxed),
            Err(ProcMemError::NoDescriptor) => {}
        }
    }
    match heap {
        Some(heap) => heap.write_by_mprotect(addr, bytes),
        None => lock(&HEAP).write_by_mprotect(addr, bytes),
    }
}

thread_local! {
    /// The staging buffer of the last sealed region on this thread, kept for the next one (no
    /// allocation per compile).
    static STAGING: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The staging buffer, at least `len` long: zero-filled (`zero`), or holding whatever the last
/// region left in it (the caller writes every byte of `[..len]`, so none is zeroed in vain).
fn take_staging(len: usize, zero: bool) -> Vec<u8> {
    let mut v = STAGING.try_with(|c| c.take()).unwrap_or_default();
    if zero {
        v.clear();
        v.resize(len, 0);
    } else if v.len() < len {
        v.resize(len, 0);
    }
    v
}

fn return_staging(v: Vec<u8>) {
    let _ = STAGING.try_with(|c| {
        let old = c.take();
        c.set(if old.capacity() > v.capacity() {
            old
        } else {
            v
        });
    });
}

/// A reserved region and the staging buffer the compiler fills for it (zero-filled, or left as
/// it is for a caller that writes every byte). The region itself is never writable: sealing
/// writes the buffer into it.
pub struct WritableCode {
    address: usize,
    len: usize,
    buf: Vec<u8>,
    sealed: bool,
    /// See [`WritableCode::symbols_address`].
    symbols: u64,
}

/// Sealed machine code: readable and executable, never writable. Dropping it releases the region.
pub struct ExecutableCode {
    address: u64,
    len: usize,
}

impl WritableCode {
    /// Reserve `len` bytes and a zero-filled buffer of that size to fill.
    pub fn new(len: usize) -> io::Result<WritableCode> {
        Self::new_in(len, None, true)
    }

    /// [`WritableCode::new`] with a buffer of arbitrary bytes: the caller writes every one.
    pub fn new_unfilled(len: usize) -> io::Result<WritableCode> {
        Self::new_in(len, None, false)
    }

    /// [`WritableCode::new_near`] with a buffer of arbitrary bytes: the caller writes every
    /// one (the compiler: no zeroing of bytes it then overwrites).
    pub fn new_near_unfilled(len: usize, symbols: &[u64]) -> io::Result<WritableCode> {
        Self::new_in(len, Some(symbols), false)
    }

    fn new_in(len: usize, symbols: Option<&[u64]>, zero: bool) -> io::Result<WritableCode> {
        let len = len.max(1);
        let (address, table) = lock(&HEAP).allocate(len, symbols)?;
        Ok(WritableCode {
            address,
            len,
            buf: take_staging(len, zero),
            sealed: false,
            symbols: table as u64,
        })
    }

    /// [`WritableCode::new`], placed where a copy of `symbols` lies within reach of 32-bit
    /// PC-relative references from the region: code then reaches symbol `i` at
    /// [`WritableCode::symbols_address`] + 8 i and needs no table of its own. Every chunk gets
    /// that copy when it is made, so this fails (address 0) only where the region lands in a
    /// chunk made for another table or for plain [`WritableCode::new`] (tests).
    pub fn new_near(len: usize, symbols: &[u64]) -> io::Result<WritableCode> {
        Self::new_in(len, Some(symbols), true)
    }

    /// The address of the shared symbol table [`WritableCode::new_near`] found (0: none).
    pub fn symbols_address(&self) -> u64 {
        self.symbols
    }

    /// Address of the first byte: where the code will execute from once sealed.
    pub fn address(&self) -> u64 {
        self.address as u64
    }

    /// The bytes to be sealed (a buffer, not the executable region).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..self.len]
    }

    /// Write the bytes into the region, which stays read-execute. The address does not change.
    pub fn seal(mut self) -> io::Result<ExecutableCode> {
        write_code(self.address, &self.buf[..self.len], None)?;
        self.sealed = true;
        Ok(ExecutableCode {
            address: self.address as u64,
            len: self.len,
        })
    }
}

impl Drop for WritableCode {
    fn drop(&mut self) {
        return_staging(std::mem::take(&mut self.buf));
        // An abandoned fill (compile error): give the region back.
        if !self.sealed {
            lock(&HEAP).free(self.address, self.len);
        }
    }
}

impl ExecutableCode {
    /// No code at all (holds no region; the compiler's detached mode).
    pub fn empty() -> ExecutableCode {
        ExecutableCode {
            address: std::ptr::NonNull::<u8>::dangling().as_ptr() as u64,
            len: 0,
        }
    }

    pub fn address(&self) -> u64 {
        self.address
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the region's pages stay mapped and readable while this ExecutableCode lives
        // (a page is discarded only when no live region touches it); they are only written
        // while sealing a neighbouring region, which writes only that region's bytes.
        unsafe { std::slice::from_raw_parts(self.address as *const u8, self.len) }
    }
}

impl Drop for ExecutableCode {
    fn drop(&mut self) {
        if self.len == 0 {
            return; // ExecutableCode::empty (every region has at least one byte)
        }
        lock(&HEAP).free(self.address as usize, self.len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealing_keeps_address_and_contents() {
        let mut w = WritableCode::new(100).unwrap();
        let addr = w.address();
        w.bytes_mut()[..3].copy_from_slice(&[0xc3, 0x90, 0xcc]);
        let x = w.seal().unwrap();
        assert_eq!(x.address(), addr);
        assert_eq!(&x.bytes()[..3], &[0xc3, 0x90, 0xcc]);
    }

    #[test]
    fn regions_do_not_overlap_and_older_code_survives_new_fills() {
        let mut a = WritableCode::new(10).unwrap();
        a.bytes_mut().copy_from_slice(&[1; 10]);
        let a = a.seal().unwrap();
        let mut b = WritableCode::new(10).unwrap();
        b.bytes_mut().copy_from_slice(&[2; 10]);
        let b = b.seal().unwrap();
        assert!(b.address() >= a.address() + 10 || a.address() >= b.address() + 10);
        assert_eq!(a.bytes(), &[1; 10]);
        assert_eq!(b.bytes(), &[2; 10]);
    }

    #[test]
    fn concurrent_fills_are_serialised() {
        let threads: Vec<_> = (0..8)
            .map(|t| {
                std::thread::spawn(move || {
                    let mut kept = Vec::new();
                    for i in 0..200u32 {
                        let mut w = WritableCode::new(100 + (i as usize % 50)).unwrap();
                        let byte = (t * 31 + i) as u8;
                        w.bytes_mut().fill(byte);
                        kept.push((w.seal().unwrap(), byte));
                        if i % 3 == 0 {
                            kept.remove(kept.len() / 2); // free some: reuse and coalescing
                        }
                    }
                    for (code, byte) in &kept {
                        assert!(code.bytes().iter().all(|b| b == byte));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }

    #[test]
    fn random_allocations_and_frees_keep_the_invariants() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut live: Vec<(ExecutableCode, u8)> = Vec::new();
        for i in 0..3000 {
            if !live.is_empty() && next() % 3 == 0 {
                let k = next() as usize % live.len();
                live.swap_remove(k);
            } else {
                let len = 1 + next() as usize % if i % 50 == 0 { 100_000 } else { 5000 };
                let mut w = WritableCode::new(len).unwrap();
                let byte = next() as u8;
                w.bytes_mut().fill(byte);
                live.push((w.seal().unwrap(), byte));
            }
            if i % 100 == 0 {
                lock(&HEAP).check();
            }
        }
        for (code, byte) in &live {
            assert!(code.bytes().iter().all(|b| b == byte));
        }
        drop(live);
        lock(&HEAP).check();
    }

    #[test]
    fn large_code_gets_its_own_mapping() {
        let mut w = WritableCode::new(CHUNK_SIZE + 5).unwrap();
        w.bytes_mut()[CHUNK_SIZE + 4] = 7;
        let x = w.seal().unwrap();
        assert_eq!(x.bytes()[CHUNK_SIZE + 4], 7);
    }

    #[test]
    fn sealed_code_runs() {
        // mov eax, 42; ret
        let mut w = WritableCode::new(16).unwrap();
        w.bytes_mut()[..6].copy_from_slice(&[0xb8, 42, 0, 0, 0, 0xc3]);
        let x = w.seal().unwrap();
        // SAFETY: the region holds a complete C-ABI function (mov eax, imm32; ret) in executable
        // memory that stays mapped while `x` lives.
        let f: extern "C" fn() -> i32 = unsafe { std::mem::transmute(x.address() as usize) };
        // With the mprotect fallback another test thread could be filling this page; the GIL
        // excludes that in the extension, here the heap lock (held by such fills) does.
        let _no_fill = lock(&HEAP);
        assert_eq!(f(), 42);
    }
}
