//! Executable memory: W^X as a type, regions of whole pages in shared chunks, freed space reused.
//!
//! [`WritableCode`] is a region reserved for one compiled code object. Its pages are read-write
//! and not executable while the compiler writes the code into them in place;
//! [`WritableCode::seal`] makes them read-execute with one `mprotect` and returns
//! [`ExecutableCode`]. No page is ever writable and executable at once, no page is written once
//! code on it is sealed, and no page has a second, writable mapping.
//!
//! So a region takes whole pages of its own, starting at an offset within them that varies
//! from one region to the next (see `Heap::allocate`): sealing one region never changes a page
//! another region's code is on, and costs one system call. Regions used to be packed 64 bytes apart into pages that were
//! executable from the start, written through `/proc/self/mem` (open, pwrite, close: three
//! system calls per compile, half of a compile's time in a real process; benches/README.md,
//! session 35). If the kernel refuses to make the pages executable (a policy against memory
//! that was writable becoming executable: `PR_SET_MDWE`, systemd's `MemoryDenyWriteExecute`, an
//! SELinux execmem rule), sealing fails with its error, every later allocation fails at once
//! ([`executable_memory_refused`]), and the caller leaves the code interpreted.
//!
//! Code objects share 256 KiB chunks, mapped read-write, not executable, when made (their pages
//! cost nothing until written). Once the process has had HUGE_AFTER_BYTES of code mapped, new
//! shared chunks are 2 MiB, 2 MiB-aligned and advised onto a transparent huge page
//! ([`HUGE_CHUNK_SIZE`], `CPJIT_HUGE_PAGES`): one fault brings all of a chunk's memory, where
//! 4 KiB faults were a third of a compile's time; such a chunk's freed pages are kept (until its
//! live pages are under an eighth of it: then its long free stretches are discarded), and one
//! empty huge chunk is kept for reuse rather than unmapped. A region is placed best-fit in the
//! free space of all chunks, fresh pages first (`Heap::place`).
//! Freed regions go back to their chunk's free list (coalesced with their neighbours); their
//! pages are discarded (`MADV_DONTNEED`, so they read as zeros and cost nothing) and keep their
//! protection until a later region lands on them, which makes them read-write first, or until
//! they are part of a free stretch of 16 pages or more (or one at an end of the chunk), which is
//! made read-write, not executable, at once. So a chunk stays a few mappings however its live
//! and dead regions alternate, and dead code is not left executable in bulk; a chunk with no
//! live region is unmapped. Pages still read-execute after their region was freed ("dead") are
//! reused only once they come to a quarter of the live ones: until then a new chunk is made
//! instead, since reusing one costs two more `mprotect` calls than a fresh page
//! (`Heap::grow_rather_than_reuse`). Code larger than a quarter chunk gets a mapping of its own.
//! A stencil's data stays within ±2 GiB of its code because code and data of one compiled
//! object are one region.
//!
//! Each chunk begins with a copy of the symbol table the compiler passes to
//! [`WritableCode::new_near`] (the addresses of the CPython functions and data stencils use),
//! read-only, so code reaches CPython through its chunk's table and needs no GOT of its own; the
//! table counts as a region of the chunk and goes with it.
//!
//! A cap ([`set_max_executable_bytes`]) bounds the pages live code touches; an allocation that
//! would pass it fails with [`CapReached`] and is counted, and the caller leaves the code
//! interpreted.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Size of a shared chunk on ordinary pages.
pub const CHUNK_SIZE: usize = 256 * 1024;

/// Size (and alignment) of a shared chunk on a transparent huge page: x86-64's PMD size.
pub const HUGE_CHUNK_SIZE: usize = 2 * 1024 * 1024;

/// New shared chunks go on huge pages once the process has had this much code mapped at once
/// (a high-water mark): a program that compiles little keeps 4 KiB pages and pays no 2 MiB of
/// resident memory for a few functions.
const HUGE_AFTER_BYTES: usize = 512 * 1024;

/// Below this cap on executable memory (`CPJIT_MAX_CODE_MB`), chunks stay on ordinary pages:
/// a small cap says memory matters more than compile time.
const HUGE_MIN_CAP: usize = 16 * 1024 * 1024;

/// Whether shared chunks may go on transparent huge pages (`CPJIT_HUGE_PAGES`, default on).
static HUGE_PAGES: AtomicBool = AtomicBool::new(true);

/// Allow (the default) or forbid huge-page chunks for chunks made from now on.
pub fn set_huge_pages(on: bool) {
    HUGE_PAGES.store(on, Ordering::Relaxed);
}

/// Whether chunks go on huge pages: allowed, and the kernel gives transparent huge pages to
/// memory that asks (`/sys/kernel/mm/transparent_hugepage/enabled` is `always` or `madvise`,
/// read once). Elsewhere a 2 MiB chunk would only be a larger ordinary one.
pub fn huge_pages() -> bool {
    static KERNEL_GIVES_THEM: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    HUGE_PAGES.load(Ordering::Relaxed)
        && *KERNEL_GIVES_THEM.get_or_init(|| {
            std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
                .is_ok_and(|mode| mode.contains("[always]") || mode.contains("[madvise]"))
        })
}

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
    /// Per page: part of a live region (counted in `mapped_bytes`).
    committed: Vec<bool>,
    /// Per page: sealed, read-execute (or read-only: the symbol table), whether a live region is
    /// on it or a freed one left it; otherwise read-write and not executable.
    sealed: Vec<bool>,
    /// Regions allocated and not yet freed (the symbol table counts as one).
    regions: usize,
    /// The chunk's symbol table (see [`WritableCode::new_near`]): its address, its length and
    /// the generation of [`Heap::symbols`] it holds.
    got: Option<(usize, usize, u32)>,
    /// Shared chunks take many regions; a large region's own mapping takes one.
    shared: bool,
    /// Mapped 2 MiB-aligned with `MADV_HUGEPAGE` (see [`HUGE_CHUNK_SIZE`]).
    huge: bool,
    /// A huge chunk whose live pages once came under 1/THIN_SHARE of it: its long free
    /// stretches are discarded (see `Heap::thin_out`).
    thinned: bool,
    /// Pages of live regions (the `committed` ones), and the most there have been.
    live_pages: usize,
    peak_live_pages: usize,
}

impl Chunk {
    /// Free pages still sealed (a freed region left them read-execute): reusing one costs making
    /// it writable again.
    fn dead_pages(&self) -> usize {
        self.committed
            .iter()
            .zip(&self.sealed)
            .filter(|(m, s)| !**m && **s)
            .count()
    }
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
    /// `symbols` came from (or was found equal to) the registered static table
    /// ([`register_static_symbols`]): a caller passing that table again needs no comparison.
    symbols_static: bool,
    /// Advances by START_STRIDE per allocation: where in its pages the next region starts.
    rotor: usize,
    /// Every free range of the shared chunks as (length, address): best fit is one lookup.
    by_size: BTreeSet<(usize, usize)>,
    mapped_bytes: usize,
    live_bytes: usize,
    reserved_bytes: usize,
    /// The most `mapped_bytes` has been: past HUGE_AFTER_BYTES, new chunks are huge.
    peak_mapped_bytes: usize,
    /// The chunks' dead pages ([`Chunk::dead_pages`]), summed: kept as pages change, since
    /// `Heap::grow_rather_than_reuse` asks at every allocation.
    dead_pages: usize,
    /// An empty huge chunk kept for the next region instead of being unmapped (at most one):
    /// a program that compiles and frees code in turns does not map and clear 2 MiB each time.
    spare: Option<usize>,
}

static HEAP: Mutex<Heap> = Mutex::new(Heap::empty());

/// Set when the kernel refused to make written pages executable (`EACCES` or `EPERM` from
/// `mprotect`): a policy of the process, so no region can be sealed from then on.
static EXEC_REFUSED: AtomicBool = AtomicBool::new(false);

/// Whether the kernel refused to make memory executable in this process (see the module doc);
/// every allocation fails from then on.
pub fn executable_memory_refused() -> bool {
    EXEC_REFUSED.load(Ordering::Relaxed)
}

/// The error allocations fail with once the kernel refused executable memory.
fn exec_refused_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        "the kernel refuses to make memory executable in this process",
    )
}

/// The symbol table the runtime passes to every [`WritableCode::new_near`] (registered once).
static STATIC_SYMBOLS: std::sync::OnceLock<&'static [u64]> = std::sync::OnceLock::new();

/// Register the table a process passes to [`WritableCode::new_near`] for every compile: being
/// `'static`, it cannot change, so an allocation passing it again skips comparing it with the
/// table the chunks hold. A second registration is ignored.
pub fn register_static_symbols(table: &'static [u64]) {
    let _ = STATIC_SYMBOLS.set(table);
}

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
    /// Chunks mapped now on transparent huge pages (see [`HUGE_CHUNK_SIZE`]).
    pub huge_chunks: usize,
}

pub fn stats() -> MemoryStats {
    let h = lock(&HEAP);
    MemoryStats {
        mapped_bytes: h.mapped_bytes,
        live_bytes: h.live_bytes,
        reserved_bytes: h.reserved_bytes,
        cap_refusals: CAP_REFUSALS.load(Ordering::Relaxed),
        huge_chunks: h.chunks.values().filter(|c| c.huge).count(),
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
const RW: libc::c_int = libc::PROT_READ | libc::PROT_WRITE;

/// Alignment of a region's start.
const REGION_ALIGN: usize = 64;

/// Cache lines between the starting offsets (within a page) of consecutive regions, before
/// they wrap in the room a region leaves: odd, so that starts cover every line.
const START_STRIDE: usize = 23;

/// Pages of a free stretch (freed regions coalesced) from which it is made non-executable (see
/// `Heap::free`).
const DEAD_RUN_PAGES: usize = 16;

/// A huge chunk whose live pages come under 1/THIN_SHARE of it gives back the memory of its long
/// free stretches (see `Heap::thin_out`).
const THIN_SHARE: usize = 8;

/// Dead pages are reused once they come to 1/DEAD_SHARE of the live ones (see
/// `Heap::grow_rather_than_reuse`).
const DEAD_SHARE: usize = 4;

/// Free ranges `Heap::place` looks at for one without sealed pages, smallest first (beside the
/// largest).
const FIT_CANDIDATES: usize = 8;

/// A fresh read-write, not executable mapping of `size` bytes where the kernel picks: untouched
/// pages cost nothing; sealing makes a region's pages read-execute (module doc).
fn map_pages(size: usize) -> io::Result<usize> {
    // SAFETY: a fresh anonymous private mapping at an address the kernel picks; it overlaps
    // nothing. Its chunk unmaps it on drop.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            RW,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(base as usize)
}

/// [`map_pages`] at a HUGE_CHUNK_SIZE-aligned address, asking the kernel to back it with
/// transparent huge pages: the first write then faults in 2 MiB at once, cleared in one go,
/// instead of one fault per 4 KiB page as regions are filled (on this project's machines a 4 KiB
/// fault costs about 1.4 us, a 2 MiB one about 0.34 us per 4 KiB it brings; benches/README.md,
/// session 37). Sealing a region later splits the huge page's single mapping into 4 KiB ones;
/// the memory stays. Only called where [`huge_pages`] found the kernel giving them; should the
/// advice still fail, the chunk is an ordinary one.
fn map_huge(size: usize) -> io::Result<usize> {
    let raw = map_pages(size + HUGE_CHUNK_SIZE)?;
    let base = raw.next_multiple_of(HUGE_CHUNK_SIZE);
    let (head, tail) = (base - raw, HUGE_CHUNK_SIZE - (base - raw));
    // SAFETY: [raw, raw + head) and [base + size, base + size + tail) are the two ends of the
    // mapping just made, outside the aligned part the chunk keeps; nothing refers to them.
    unsafe {
        if head > 0 {
            libc::munmap(raw as *mut libc::c_void, head);
        }
        if tail > 0 {
            libc::munmap((base + size) as *mut libc::c_void, tail);
        }
        // SAFETY (same block): advice on the chunk's own fresh pages; failure leaves them
        // ordinary pages.
        libc::madvise(base as *mut libc::c_void, size, libc::MADV_HUGEPAGE);
    }
    Ok(base)
}

/// Mark pages read-write in a chunk's `sealed` flags; returns how many were sealed.
fn unseal(sealed: &mut [bool]) -> usize {
    let n = sealed.iter().filter(|s| **s).count();
    sealed.fill(false);
    n
}

/// A place for a region in a free range ([`Heap::place`]).
struct Place {
    /// The chunk's base.
    base: usize,
    /// The free range's index in the chunk's free list.
    index: usize,
    /// At the free range's end rather than its start.
    at_end: bool,
    /// On fresh pages, not dead ones.
    fresh: bool,
}

/// Round `len` up to whole pages: the granule of every region.
fn whole_pages(len: usize) -> usize {
    len.div_ceil(page_size()) * page_size()
}

impl Heap {
    /// A heap with no chunk: the process's, and the tests' own.
    const fn empty() -> Heap {
        Heap {
            chunks: BTreeMap::new(),
            symbols: Vec::new(),
            symbols_generation: 0,
            symbols_static: false,
            rotor: 0,
            by_size: BTreeSet::new(),
            mapped_bytes: 0,
            live_bytes: 0,
            reserved_bytes: 0,
            peak_mapped_bytes: 0,
            dead_pages: 0,
            spare: None,
        }
    }

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

    fn map_chunk(&mut self, size: usize, shared: bool, huge: bool) -> io::Result<usize> {
        let base = if huge {
            map_huge(size)?
        } else {
            map_pages(size)?
        };
        let pages = size / page_size();
        self.chunks.insert(
            base,
            Chunk {
                base,
                size,
                free: vec![(0, size)],
                committed: vec![false; pages],
                sealed: vec![false; pages],
                regions: 0,
                got: None,
                shared,
                huge,
                thinned: false,
                live_pages: 0,
                peak_live_pages: 0,
            },
        );
        self.reserved_bytes += size;
        if shared {
            self.by_size.insert((size, base));
        }
        Ok(base)
    }

    /// Where a region of `len` bytes (whole pages) can go among the shared chunks' free ranges.
    ///
    /// Best fit (the smallest range that holds it, lowest address first), except that fresh
    /// pages (no region was sealed on them since they were last writable) come first: reusing
    /// dead ones, which a freed region left read-execute, costs an `mprotect` to make them
    /// writable again (see `grow_rather_than_reuse`). So among the first FIT_CANDIDATES ranges
    /// that hold it and the largest one (usually a chunk's untouched tail), the first whose
    /// start or end is fresh is taken; failing that, the best fit, on dead pages.
    fn place(&mut self, len: usize) -> Option<Place> {
        let first = self.by_size.range((len, 0)..).take(FIT_CANDIDATES);
        let largest = self
            .by_size
            .last()
            .filter(|&&(flen, _)| flen >= len)
            .into_iter();
        let mut best = None;
        for &(flen, addr) in first.chain(largest) {
            let chunk = chunk_in(&mut self.chunks, addr);
            let off = addr - chunk.base;
            let fresh = |o: usize| {
                let (a, b) = Self::pages(o, len);
                !chunk.sealed[a..b].iter().any(|s| *s)
            };
            let at_end = if fresh(off) {
                Some(false)
            } else if fresh(off + flen - len) {
                Some(true)
            } else {
                None
            };
            let i = || {
                chunk
                    .free
                    .binary_search_by_key(&off, |&(o, _)| o)
                    .expect("indexed range is in its chunk's free list")
            };
            if let Some(at_end) = at_end {
                return Some(Place {
                    base: chunk.base,
                    index: i(),
                    at_end,
                    fresh: true,
                });
            }
            if best.is_none() {
                best = Some(Place {
                    base: chunk.base,
                    index: i(),
                    at_end: false,
                    fresh: false,
                });
            }
        }
        best
    }

    /// Reserve `len` bytes on read-write pages no other region touches, starting 64-byte
    /// aligned at an offset within the room its pages leave that moves by START_STRIDE lines
    /// from one region to the next. The level-one instruction cache is indexed by the address
    /// bits inside a page: regions all at a page's start would compete for the same few sets
    /// (and the branch predictors' entries), and regions all ending at a page's end put every
    /// small function in the upper half of the sets (callgrind: networkx 3.5% more I1 misses
    /// than packed regions); spread starts use the sets about as evenly as packing did
    /// (benches/README.md, session 35). Returns the region's address and,
    /// when `symbols` is given, the address of a copy of it in the region's chunk (0: none
    /// there).
    fn allocate(&mut self, len: usize, symbols: Option<&[u64]>) -> io::Result<(usize, usize)> {
        if executable_memory_refused() {
            return Err(exec_refused_error());
        }
        // Where in its pages the region starts: a 64-byte step from a rotor, within the room
        // its pages leave (see the doc above).
        let room = whole_pages(len) - len.div_ceil(REGION_ALIGN) * REGION_ALIGN;
        self.rotor = self.rotor.wrapping_add(START_STRIDE);
        let start_gap = (self.rotor % (room / REGION_ALIGN + 1)) * REGION_ALIGN;
        let len = whole_pages(len);
        if let Some(table) = symbols {
            // The registered table never changes ('static): passed again, it is the table the
            // chunks already hold, and comparing its few thousand bytes (cold, in a process
            // that compiles once in a while) is skipped.
            let is_static = STATIC_SYMBOLS
                .get()
                .is_some_and(|t| std::ptr::eq(*t, table));
            if !(is_static && self.symbols_static) {
                if self.symbols[..] != *table {
                    self.symbols = table.to_vec();
                    self.symbols_generation = self.symbols_generation.wrapping_add(1);
                }
                self.symbols_static = is_static;
            }
        }
        let got_len = symbols.map_or(0, |t| whole_pages(8 * t.len()));
        let huge = self.next_chunk_is_huge();
        let chunk_size = if huge { HUGE_CHUNK_SIZE } else { CHUNK_SIZE };
        let (base, index, at_end) = if len > chunk_size / 4 {
            let size = len + got_len;
            self.check_cap(size)?;
            (self.new_chunk(size, false, false, got_len)?, 0, false)
        } else {
            match self.place(len) {
                Some(p) if p.fresh || !self.grow_rather_than_reuse() => (p.base, p.index, p.at_end),
                None => {
                    self.check_cap(len + got_len)?;
                    (self.new_chunk(chunk_size, true, huge, got_len)?, 0, false)
                }
                Some(dead) => {
                    // A new chunk rather than dead pages, unless the cap or the system says no
                    // (then the dead pages, and no refusal counted: the region has a place).
                    let within_cap = self.within_cap(len + got_len);
                    match within_cap.then(|| self.new_chunk(chunk_size, true, huge, got_len)) {
                        Some(Ok(new)) => (new, 0, false),
                        _ => (dead.base, dead.index, dead.at_end),
                    }
                }
            }
        };
        if self.spare == Some(base) {
            self.spare = None;
        }
        let chunk = self.chunks.get_mut(&base).expect("chunk just chosen");
        let (free_off, flen) = chunk.free[index];
        let off = if at_end {
            free_off + flen - len
        } else {
            free_off
        };
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
        if chunk.sealed[a..b].iter().any(|s| *s) {
            // Pages a freed region left read-execute (see `free`): writable again, not
            // executable, for the new code. On failure nothing has changed.
            let p = page_size();
            protect(chunk.base + a * p, (b - a) * p, RW)?;
            self.dead_pages -= unseal(&mut chunk.sealed[a..b]);
        }
        for m in &mut chunk.committed[a..b] {
            *m = true;
        }
        chunk.live_pages += new / page_size();
        chunk.peak_live_pages = chunk.peak_live_pages.max(chunk.live_pages);
        // What is left of the free range: the part before the region or the part after it.
        let rest = if at_end { free_off } else { off + len };
        if flen == len {
            chunk.free.remove(index);
        } else {
            chunk.free[index] = (rest, flen - len);
        }
        if shared {
            self.by_size.remove(&(flen, base + free_off));
            if flen > len {
                self.by_size.insert((flen - len, base + rest));
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
        self.peak_mapped_bytes = self.peak_mapped_bytes.max(self.mapped_bytes);
        self.live_bytes += len;
        Ok((base + off + start_gap, got))
    }

    /// Whether a region that fits only on dead pages (free, still sealed) gets a new chunk
    /// instead: while the dead pages come to less than a quarter of the live ones. Reusing a
    /// dead page takes two `mprotect` calls that split and rejoin the chunk's mapping (about
    /// 4.8 us against 1.3 us for a fresh page's seal, benches/README.md session 38); a chunk's
    /// fresh pages cost nothing until written, except on a huge chunk, which brings its 2 MiB at
    /// once. So code that is compiled and freed while the process grows leaves its holes for
    /// later, and a process whose code keeps dying reuses them once they are a quarter of what
    /// lives: the address space and memory they hold stay bounded by that share.
    fn grow_rather_than_reuse(&self) -> bool {
        self.dead_pages * page_size() * DEAD_SHARE < self.mapped_bytes
    }

    /// Whether a shared chunk made now goes on a huge page: allowed, a process that has had
    /// HUGE_AFTER_BYTES of code, and no small cap (see the constants).
    fn next_chunk_is_huge(&self) -> bool {
        let cap = max_executable_bytes();
        huge_pages()
            && self.peak_mapped_bytes >= HUGE_AFTER_BYTES
            && (cap == 0 || cap >= HUGE_MIN_CAP)
    }

    /// Map a chunk and put the current symbol table at its start (`got_len` bytes, 0: none);
    /// a chunk whose table could not be sealed is unmapped again.
    fn new_chunk(
        &mut self,
        size: usize,
        shared: bool,
        huge: bool,
        got_len: usize,
    ) -> io::Result<usize> {
        let base = self.map_chunk(size, shared, huge)?;
        if let Err(e) = self.install_got(base, got_len) {
            self.unmap(base);
            return Err(e);
        }
        Ok(base)
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
        chunk.live_pages = pages;
        chunk.peak_live_pages = pages;
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
        // SAFETY: [base, base + got_len) are the fresh chunk's first pages, read-write, and no
        // other region is on them; the table fits (got_len rounds its size up).
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), base as *mut u8, bytes.len()) };
        self.symbols = table;
        protect(base, got_len, libc::PROT_READ)?;
        let chunk = self.chunks.get_mut(&base).expect("chunk just made");
        for s in &mut chunk.sealed[..pages] {
            *s = true;
        }
        Ok(())
    }

    /// Whether `bytes` more mapped code stay within the cap (`CPJIT_MAX_CODE_MB`; 0: none).
    fn within_cap(&self, bytes: usize) -> bool {
        let cap = max_executable_bytes();
        cap == 0 || self.mapped_bytes + bytes <= cap
    }

    fn check_cap(&self, bytes: usize) -> io::Result<()> {
        if !self.within_cap(bytes) {
            CAP_REFUSALS.fetch_add(1, Ordering::Relaxed);
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                CapReached {
                    cap: max_executable_bytes(),
                },
            ));
        }
        Ok(())
    }

    fn chunk_of(&mut self, addr: usize) -> &mut Chunk {
        chunk_in(&mut self.chunks, addr)
    }

    /// Make a filled region's pages read-execute (the region is live, so its pages are its own).
    fn seal(&mut self, addr: usize, len: usize) -> io::Result<()> {
        let chunk = self.chunk_of(addr);
        let (a, b) = Self::pages(addr - chunk.base, len);
        let p = page_size();
        if let Err(e) = protect(chunk.base + a * p, (b - a) * p, RX) {
            if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) {
                EXEC_REFUSED.store(true, Ordering::Relaxed);
            }
            return Err(e);
        }
        for s in &mut chunk.sealed[a..b] {
            *s = true;
        }
        Ok(())
    }

    /// Give a region back: discard its pages and make them writable again, coalesce, unmap an
    /// empty chunk.
    fn free(&mut self, addr: usize, len: usize) {
        let addr = addr & !(page_size() - 1);
        let len = whole_pages(len);
        let chunk = chunk_in(&mut self.chunks, addr);
        let base = chunk.base;
        let huge = chunk.huge;
        if chunk.regions == 1 + chunk.got.is_some() as usize {
            if huge && self.spare.is_none() {
                // Kept as the spare (see `Heap::spare`); freed below like any region, so its
                // dead code stops being executable with the rest of the free stretch.
                self.spare = Some(base);
            } else {
                self.live_bytes -= len;
                chunk.regions -= 1;
                self.unmap(base);
                return;
            }
        }
        // The region's pages are its own: discard them (they read as zeros from now on, and
        // cost nothing). Their protection stays as it is (read-execute once sealed) until a
        // later region lands on them (`allocate` makes them writable then) or they become part
        // of a long free stretch (below): changing it for each freed region would split the
        // chunk's mapping there, and a program keeping every other one of many small functions
        // would use up the process's mappings (`vm.max_map_count`, 65,530; session 35's probe
        // round reached it).
        let off = addr - base;
        let p = page_size();
        let (a, b) = Self::pages(off, len);
        let (start, bytes) = (base + a * p, (b - a) * p);
        // On a huge chunk they stay: discarding them would free them 4 KiB at a time and the
        // next region there would fault them back in one by one; the chunk's 2 MiB are resident
        // anyway. (Until the chunk is nearly empty: `thin_out`, below.)
        if !huge {
            // SAFETY: these pages belong to this chunk and no live region overlaps them; their
            // contents are garbage from now on.
            unsafe { libc::madvise(start as *mut libc::c_void, bytes, libc::MADV_DONTNEED) };
        }
        chunk.live_pages -= chunk.committed[a..b].iter().filter(|m| **m).count();
        for m in &mut chunk.committed[a..b] {
            *m = false;
        }
        self.dead_pages += chunk.sealed[a..b].iter().filter(|s| **s).count();
        self.mapped_bytes -= bytes;
        self.live_bytes -= len;
        chunk.regions -= 1;
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
        // A free stretch of at least DEAD_RUN_PAGES pages stops being executable (one split
        // of the mapping per such stretch, not one per freed region): dead code is not left
        // executable in bulk, and the address space marked executable stays close to live code.
        // So does one at either end of the chunk (after its symbol table, or up to its end):
        // that adds at most one split at each end.
        let (fa, fb) = Self::pages(foff, flen);
        let got_end = chunk.got.map_or(0, |(_, got_len, _)| got_len);
        let at_an_end = foff <= got_end || foff + flen == chunk.size;
        if (fb - fa >= DEAD_RUN_PAGES || at_an_end)
            && chunk.sealed[fa..fb].iter().any(|s| *s)
            && protect(base + fa * p, (fb - fa) * p, RW).is_ok()
        {
            self.dead_pages -= unseal(&mut chunk.sealed[fa..fb]);
        }
        if huge && self.spare != Some(base) && fb - fa >= DEAD_RUN_PAGES {
            Self::thin_out(chunk, fa, fb);
        }
    }

    /// A huge chunk keeps its freed pages resident (see `free`), which pays while regions come
    /// and go in it; once its live pages are under 1/THIN_SHARE of it, after it was at least
    /// half full, its free stretches of
    /// DEAD_RUN_PAGES pages or more are discarded (all of them the first time, then each one as
    /// it forms, here [fa, fb)), so a few surviving regions do not hold 2 MiB of memory each
    /// (a probe round saw 96 KB of live code holding 8.7 MB). The chunk's mapping stays; a
    /// region placed there later faults its pages in 4 KiB at a time.
    fn thin_out(chunk: &mut Chunk, fa: usize, fb: usize) {
        let p = page_size();
        let discard = |first: usize, end: usize| {
            // SAFETY: whole pages of this chunk inside one of its free ranges: no live region is
            // on them, and a region placed there later writes or clears every byte it reads.
            unsafe {
                libc::madvise(
                    (chunk.base + first * p) as *mut libc::c_void,
                    (end - first) * p,
                    libc::MADV_DONTNEED,
                )
            };
        };
        if chunk.thinned {
            discard(fa, fb);
            return;
        }
        // Only a chunk that was half full: one being filled for the first time (a few live
        // regions, then its untouched rest) keeps its huge page.
        let pages = chunk.committed.len();
        if chunk.peak_live_pages * 2 < pages || chunk.live_pages * THIN_SHARE >= pages {
            return;
        }
        chunk.thinned = true;
        for &(off, len) in &chunk.free {
            let (a, b) = Self::pages(off, len);
            if b - a >= DEAD_RUN_PAGES {
                discard(a, b);
            }
        }
    }

    /// The allocator's invariants (tests).
    #[cfg(test)]
    fn check(&self) {
        let mut indexed = 0;
        let mut mapped = 0;
        let mut dead_pages = 0;
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
                c.regions > c.got.is_some() as usize || self.spare == Some(c.base),
                "an empty chunk is unmapped unless it is the spare"
            );
            mapped += c.committed.iter().filter(|m| **m).count() * page_size();
            let live = c.committed.iter().filter(|m| **m).count();
            assert_eq!(live, c.live_pages, "live pages: the committed ones");
            assert!(c.peak_live_pages >= c.live_pages);
            dead_pages += c.dead_pages();
        }
        assert_eq!(indexed, self.by_size.len());
        assert_eq!(mapped, self.mapped_bytes);
        assert_eq!(dead_pages, self.dead_pages);
    }

    fn unmap(&mut self, base: usize) {
        if self.spare == Some(base) {
            self.spare = None;
        }
        let chunk = self.chunks.remove(&base).expect("chunk to unmap");
        if chunk.shared {
            for &(off, len) in &chunk.free {
                self.by_size.remove(&(len, base + off));
            }
        }
        self.mapped_bytes -= chunk.live_pages * page_size();
        self.dead_pages -= chunk.dead_pages();
        self.reserved_bytes -= chunk.size;
        if let Some((_, got_len, _)) = chunk.got {
            self.live_bytes -= got_len;
        }
        // The chunk holds no live region and nothing refers to its memory any more: dropping it
        // unmaps it.
        drop(chunk);
    }
}

/// Unmap the empty huge chunk kept for reuse, if there is one (see `Heap::spare`): its memory
/// goes back to the system, and the next huge chunk is made from fresh pages.
pub fn release_spare_chunk() {
    let mut heap = lock(&HEAP);
    if let Some(base) = heap.spare {
        heap.unmap(base);
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

/// A reserved region on read-write pages of its own, which the compiler fills in place; sealing
/// makes them read-execute.
pub struct WritableCode {
    address: usize,
    len: usize,
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
    /// Reserve `len` bytes to fill. They read as zeros on fresh or discarded pages, but on a
    /// huge chunk (whose freed pages are kept) they may hold an earlier region's bytes: write
    /// every byte that is read.
    pub fn new(len: usize) -> io::Result<WritableCode> {
        Self::new_in(len, None)
    }

    fn new_in(len: usize, symbols: Option<&[u64]>) -> io::Result<WritableCode> {
        let len = len.max(1);
        let (address, table) = lock(&HEAP).allocate(len, symbols)?;
        Ok(WritableCode {
            address,
            len,
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
        Self::new_in(len, Some(symbols))
    }

    /// The address of the shared symbol table [`WritableCode::new_near`] found (0: none).
    pub fn symbols_address(&self) -> u64 {
        self.symbols
    }

    /// Address of the first byte: where the code will execute from once sealed.
    pub fn address(&self) -> u64 {
        self.address as u64
    }

    /// The region's bytes, to fill (not necessarily zeros: see [`WritableCode::new`]).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: [address, address + len) is this live, unsealed region's: mapped read-write,
        // on pages no other region touches, and borrowed mutably through `self` alone.
        unsafe { std::slice::from_raw_parts_mut(self.address as *mut u8, self.len) }
    }

    /// Make the region read-execute, never writable again. The address does not change.
    pub fn seal(mut self) -> io::Result<ExecutableCode> {
        lock(&HEAP).seal(self.address, self.len)?;
        self.sealed = true;
        Ok(ExecutableCode {
            address: self.address as u64,
            len: self.len,
        })
    }
}

impl Drop for WritableCode {
    fn drop(&mut self) {
        // An abandoned fill (compile error, or sealing refused): give the region back.
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
        // SAFETY: the region's pages stay mapped, readable and unwritten while this
        // ExecutableCode lives (they are its own; a page is discarded only when its region is
        // freed).
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
    fn dead_pages_wait_until_they_are_a_quarter_of_the_live_ones() {
        // A heap of its own (the shared one serves the other tests at the same time): one
        // ordinary chunk filled with 64 sealed one-page regions.
        let mut heap = Heap::empty();
        let chunk_of = |heap: &Heap, a: usize| *heap.chunks.range(..=a).next_back().unwrap().0;
        let mut regions = Vec::new();
        for _ in 0..CHUNK_SIZE / page_size() {
            let (a, _) = heap.allocate(100, None).unwrap();
            heap.seal(a, 100).unwrap();
            regions.push(a);
        }
        let first = chunk_of(&heap, regions[0]);
        assert!(regions.iter().all(|&a| chunk_of(&heap, a) == first));
        // Four one-page holes between live regions: dead, fewer than a quarter of the 60 live.
        for &a in regions[2..10].iter().step_by(2) {
            heap.free(a, 100);
        }
        heap.check();
        assert_eq!(heap.dead_pages, 4);
        let (a, _) = heap.allocate(100, None).unwrap();
        assert_ne!(
            chunk_of(&heap, a),
            first,
            "a new chunk rather than a dead page"
        );
        assert_eq!(heap.dead_pages, 4);
        heap.seal(a, 100).unwrap();
        // 27 more holes: 31 dead pages. The new chunk's fresh pages still come first; once they
        // are used up, the 31 dead are more than a quarter of the 97 live, and are reused.
        for &a in regions[10..64].iter().step_by(2) {
            heap.free(a, 100);
        }
        heap.check();
        assert_eq!(heap.dead_pages, 31);
        let mut placed = Vec::new();
        while heap.dead_pages == 31 {
            let (a, _) = heap.allocate(100, None).unwrap();
            heap.seal(a, 100).unwrap();
            placed.push(a);
        }
        let last = *placed.last().unwrap();
        assert_eq!(
            chunk_of(&heap, last),
            first,
            "reused: {} fresh first",
            placed.len()
        );
        assert_eq!(placed.len(), CHUNK_SIZE / page_size());
        assert_eq!(heap.dead_pages, 30);
        assert_eq!(heap.chunks.len(), 2);
        heap.check();
        // The reused page was made writable, then sealed again: it holds what was written.
        let (a, _) = heap.allocate(100, None).unwrap();
        // SAFETY: a fresh, unsealed region of this heap's, 100 bytes from `a`.
        unsafe { std::ptr::write_bytes(a as *mut u8, 0xc3, 100) };
        heap.seal(a, 100).unwrap();
        // SAFETY: sealed read-execute, still mapped (the heap lives).
        assert_eq!(unsafe { *(a as *const u8) }, 0xc3);
    }

    /// Whether each page of [addr, addr + len) is resident (mincore).
    fn resident(addr: usize, len: usize) -> Vec<bool> {
        let p = page_size();
        let (start, end) = (addr & !(p - 1), (addr + len).div_ceil(p) * p);
        let mut v = vec![0u8; (end - start) / p];
        // SAFETY: [start, end) is mapped (a live chunk's); `v` has a byte per page.
        let r = unsafe { libc::mincore(start as *mut libc::c_void, end - start, v.as_mut_ptr()) };
        assert_eq!(r, 0);
        v.iter().map(|b| b & 1 != 0).collect()
    }

    #[test]
    fn a_nearly_empty_chunk_gives_back_the_memory_of_its_freed_code() {
        // A heap of its own, past the mark where chunks become huge (where the kernel gives
        // huge pages; ordinary chunks discard freed pages at once). Regions of 4 pages, written
        // and sealed.
        let mut heap = Heap::empty();
        heap.peak_mapped_bytes = HUGE_AFTER_BYTES;
        let len = 4 * page_size() - 64;
        let mut place = |heap: &mut Heap, byte: u8| {
            let (a, _) = heap.allocate(len, None).unwrap();
            // SAFETY: a fresh, unsealed region of this heap's, `len` bytes from `a`.
            unsafe { std::ptr::write_bytes(a as *mut u8, byte, len) };
            heap.seal(a, len).unwrap();
            a
        };
        // A huge chunk being filled for the first time keeps a freed region's pages.
        let first = place(&mut heap, 0);
        let gone = place(&mut heap, 1);
        let huge = heap.chunks.values().any(|c| c.huge);
        assert_eq!(huge, huge_pages());
        heap.free(gone, len);
        assert!(resident(gone, len).iter().all(|r| *r == huge));
        // Filled past half, then all but two regions freed: nothing freed stays resident.
        let mut regions = vec![first];
        regions.extend((2..120u8).map(|i| place(&mut heap, i)));
        for &a in &regions[1..regions.len() - 1] {
            heap.free(a, len);
        }
        heap.check();
        for &a in &regions[1..regions.len() - 1] {
            assert!(
                resident(a, len).iter().all(|r| !r),
                "freed pages resident (huge chunk: {huge})"
            );
        }
        for (&a, byte) in [(&regions[0], 0u8), (regions.last().unwrap(), 119)] {
            assert!(resident(a, len).iter().all(|r| *r));
            // SAFETY: a live, sealed region of this heap's (readable).
            assert_eq!(unsafe { *(a as *const u8) }, byte);
        }
    }

    #[test]
    fn regions_start_64_byte_aligned_at_offsets_that_vary_within_their_pages() {
        let p = page_size();
        let mut starts = std::collections::BTreeSet::new();
        for len in [1, 100, 1000, 4095, 4096, 5000, 70_000, 64, 200, 3000] {
            let w = WritableCode::new(len).unwrap();
            let a = w.address() as usize;
            assert_eq!(a % REGION_ALIGN, 0, "{len}");
            // Inside its own whole pages.
            assert!(a % p + len <= whole_pages(len), "{len} at {}", a % p);
            starts.insert(a % p);
            let x = w.seal().unwrap();
            assert_eq!(x.len(), len);
        }
        assert!(starts.len() >= 5, "start offsets vary: {starts:?}");
    }

    #[test]
    fn large_code_gets_its_own_mapping() {
        let mut w = WritableCode::new(CHUNK_SIZE + 5).unwrap();
        w.bytes_mut()[CHUNK_SIZE + 4] = 7;
        let x = w.seal().unwrap();
        assert_eq!(x.bytes()[CHUNK_SIZE + 4], 7);
    }

    #[test]
    fn a_process_with_much_code_gets_aligned_huge_chunks_and_keeps_one_spare() {
        // Past HUGE_AFTER_BYTES of mapped code (a high-water mark), new shared chunks are huge:
        // 2 MiB, 2 MiB-aligned. Filled regions there run, and freeing them all keeps at most
        // one empty huge chunk, which the next region reuses or release_spare_chunk unmaps.
        let mut live = Vec::new();
        for i in 0..64u8 {
            let mut w = WritableCode::new(60_000).unwrap();
            // mov eax, i; ret
            w.bytes_mut()[..6].copy_from_slice(&[0xb8, i, 0, 0, 0, 0xc3]);
            live.push((w.seal().unwrap(), i));
        }
        let in_huge: Vec<usize> = {
            let heap = lock(&HEAP);
            assert!(heap.peak_mapped_bytes >= HUGE_AFTER_BYTES);
            heap.check();
            live.iter()
                .filter_map(|(x, _)| {
                    let c = heap
                        .chunks
                        .range(..=x.address() as usize)
                        .next_back()
                        .map(|(_, c)| c)
                        .unwrap();
                    c.huge.then_some(c.base)
                })
                .collect()
        };
        // (Where the kernel has no transparent huge pages to give, chunks stay ordinary.)
        assert_eq!(
            !in_huge.is_empty(),
            huge_pages(),
            "3.8 MB of regions past the mark: some in huge chunks"
        );
        assert!(in_huge.iter().all(|b| b % HUGE_CHUNK_SIZE == 0));
        for (x, i) in &live {
            // SAFETY: each region holds a complete C-ABI function (mov eax, imm32; ret) in
            // executable memory that stays mapped while `x` lives.
            let f: extern "C" fn() -> i32 = unsafe { std::mem::transmute(x.address() as usize) };
            assert_eq!(f(), *i as i32);
        }
        drop(live);
        {
            let heap = lock(&HEAP);
            heap.check();
            let empty_huge = heap
                .chunks
                .values()
                .filter(|c| c.huge && c.regions == c.got.is_some() as usize)
                .count();
            assert!(empty_huge <= 1, "one spare at most");
        }
        release_spare_chunk();
        let heap = lock(&HEAP);
        heap.check();
        assert!(heap.spare.is_none());
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
        assert_eq!(f(), 42);
    }
}
