//! Executable memory, W^X as a type, packed into shared chunks.
//!
//! [`WritableCode`] is read-write memory the compiler fills; [`WritableCode::seal`] consumes it
//! and returns [`ExecutableCode`], read-execute. No page is ever writable and executable at once.
//!
//! Small code objects share 256 KiB chunks so that thousands of little functions do not cost a
//! page (and a mapping) each. A chunk is mapped read-write and populated up front (one
//! `MAP_POPULATE` instead of a page fault per page). Its *sealed* part, the pages holding code,
//! is read-execute; its tail, never yet used, stays read-write (it holds no code). A fill
//! changes the protection of its own pages only: the one page it shares with sealed code, if
//! any, goes read-write for the fill, and sealing makes the fill's pages read-execute (at most
//! two `mprotect` calls of a page or two, never the whole chunk). That is safe because native
//! code only runs with the GIL held and the compiler holds it: no thread executes in the chunk
//! while one of its pages is writable. A chunk whose code objects have all died (and that takes
//! no new code) goes to a small pool and is reused, pages already populated; beyond the pool it
//! is unmapped. Code larger than a quarter chunk gets a mapping of its own. Code and data of one
//! compiled object always live in one region, so a stencil's data is within ±2 GiB of its code.

use memmap2::{MmapMut, MmapOptions};
use std::io;
use std::sync::{Arc, Mutex};

/// Size of a shared chunk.
pub const CHUNK_SIZE: usize = 256 * 1024;
/// Alignment of each region inside a chunk.
const REGION_ALIGN: usize = 64;
/// The protection unit.
const PAGE: usize = 4096;
/// Empty chunks kept for reuse.
const POOL: usize = 16;

struct Chunk {
    map: Mutex<ChunkState>,
}

struct ChunkState {
    /// The mapping (its protection is managed here, page by page, with mprotect).
    mem: Option<MmapMut>,
    /// Bytes handed out.
    used: usize,
    /// Pages below this offset are read-execute; from it on, read-write and unused.
    sealed: usize,
    /// Bytes below this offset may hold old code (a reused chunk): zeroed before a fill.
    dirty: usize,
    /// Regions alive.
    live: usize,
    /// Still taking new regions.
    open: bool,
    /// A chunk of its own for one large region (never pooled).
    single: bool,
}

fn page_down(n: usize) -> usize {
    n & !(PAGE - 1)
}

fn page_up(n: usize) -> usize {
    n.div_ceil(PAGE) * PAGE
}

/// Set the protection of `len` bytes from `offset` in `mem` (page-aligned).
fn protect(mem: &MmapMut, offset: usize, len: usize, exec: bool) -> io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    let prot = if exec {
        libc::PROT_READ | libc::PROT_EXEC
    } else {
        libc::PROT_READ | libc::PROT_WRITE
    };
    debug_assert!(offset.is_multiple_of(PAGE) && offset + len <= mem.len());
    // SAFETY: the range lies inside this mapping (page-aligned, checked above in debug builds;
    // callers pass page_down/page_up of offsets within it); only its permissions change, and no
    // Rust reference into it is used against the new permission (writes happen only between
    // the read-write flip and the seal, by the one WritableCode filling that range).
    let rc = unsafe { libc::mprotect(mem.as_ptr().add(offset) as *mut libc::c_void, len, prot) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

impl Chunk {
    fn new(len: usize, single: bool) -> io::Result<Arc<Chunk>> {
        let mem = MmapOptions::new().len(len).populate().map_anon()?;
        Ok(Arc::new(Chunk {
            map: Mutex::new(ChunkState {
                mem: Some(mem),
                used: 0,
                sealed: 0,
                dirty: 0,
                live: 0,
                open: true,
                single,
            }),
        }))
    }

    /// A shared chunk: from the pool when one is there, else a new mapping.
    fn shared() -> io::Result<Arc<Chunk>> {
        let pooled = lock(pool()).pop();
        if let Some(chunk) = pooled {
            let mut guard = lock(&chunk.map);
            let st = &mut *guard;
            let mem = st.mem.as_ref().expect("pooled chunks are mapped");
            protect(mem, 0, page_up(st.sealed), false)?;
            st.dirty = st.used.max(st.dirty);
            st.used = 0;
            st.sealed = 0;
            st.open = true;
            drop(guard);
            return Ok(chunk);
        }
        Chunk::new(CHUNK_SIZE, false)
    }
}

fn current_chunk() -> &'static Mutex<Option<Arc<Chunk>>> {
    static CURRENT: Mutex<Option<Arc<Chunk>>> = Mutex::new(None);
    &CURRENT
}

/// Empty shared chunks waiting for reuse.
fn pool() -> &'static Mutex<Vec<Arc<Chunk>>> {
    static POOLED: Mutex<Vec<Arc<Chunk>>> = Mutex::new(Vec::new());
    &POOLED
}

/// Serialises fills: a chunk is writable for one fill at a time. In the extension the GIL
/// already does (compiles run no Python code), but the API must not depend on it.
static FILL: Mutex<()> = Mutex::new(());

/// A reserved region being filled: readable and writable, never executable.
pub struct WritableCode {
    chunk: Arc<Chunk>,
    offset: usize,
    len: usize,
    /// Address of the region's first byte.
    address: u64,
    /// Whether the region is still writable (not sealed, not given back).
    filling: bool,
    /// Held from reservation to sealing (declared last: released after the region is sealed).
    _fill: std::sync::MutexGuard<'static, ()>,
}

/// Sealed machine code: readable and executable, never writable. Dropping it releases the region.
pub struct ExecutableCode {
    chunk: Arc<Chunk>,
    address: u64,
    len: usize,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl WritableCode {
    /// Reserve `len` bytes (zero-filled) and make them writable.
    pub fn new(len: usize) -> io::Result<WritableCode> {
        let fill = lock(&FILL);
        let len = len.max(1);
        let (chunk, offset) = if len > CHUNK_SIZE / 4 {
            (Chunk::new(page_up(len), true)?, 0)
        } else {
            let mut current = lock(current_chunk());
            let fits = current.as_ref().map(|c| {
                let st = lock(&c.map);
                st.used.div_ceil(REGION_ALIGN) * REGION_ALIGN + len <= CHUNK_SIZE
            });
            if fits != Some(true) {
                if let Some(old) = current.take() {
                    close(&old);
                }
                *current = Some(Chunk::shared()?);
            }
            let chunk = current.as_ref().expect("a current chunk").clone();
            let offset = lock(&chunk.map).used.div_ceil(REGION_ALIGN) * REGION_ALIGN;
            (chunk, offset)
        };
        let address = {
            let mut guard = lock(&chunk.map);
            let st = &mut *guard;
            let mem = st.mem.as_ref().expect("chunk is mapped");
            // The page shared with sealed code (at most one: regions follow each other).
            if offset < st.sealed {
                protect(mem, page_down(offset), PAGE, false)?;
                st.sealed = page_down(offset);
            }
            let address = mem.as_ptr() as u64 + offset as u64;
            if offset < st.dirty {
                let end = (offset + len).min(st.dirty);
                // SAFETY: [offset, end) lies inside the mapping and is read-write now (its
                // pages are at or past `sealed`); no other reference to it exists (FILL held,
                // the region is not handed out yet).
                unsafe { std::ptr::write_bytes(address as *mut u8, 0, end - offset) };
            }
            st.used = offset + len;
            if st.single {
                st.open = false;
            }
            st.live += 1;
            address
        };
        Ok(WritableCode {
            chunk,
            offset,
            len,
            address,
            filling: true,
            _fill: fill,
        })
    }

    /// Address of the first byte: where the code will execute from once sealed.
    pub fn address(&self) -> u64 {
        self.address
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: the region [address, address + len) lies inside the chunk's mapping, which the
        // Arc keeps mapped; its pages are read-write until `seal` (only this WritableCode
        // changes them back, and FILL keeps other fills out); `&mut self` makes the slice the
        // only reference.
        unsafe { std::slice::from_raw_parts_mut(self.address as *mut u8, self.len) }
    }

    /// Make the region's pages read-execute. The address does not change.
    pub fn seal(mut self) -> io::Result<ExecutableCode> {
        let end = page_up(self.offset + self.len);
        {
            let mut guard = lock(&self.chunk.map);
            let st = &mut *guard;
            let mem = st.mem.as_ref().expect("chunk is mapped");
            let from = page_down(self.offset);
            protect(mem, from, end - from, true)?;
            st.sealed = st.sealed.max(end);
        }
        self.filling = false;
        Ok(ExecutableCode {
            chunk: self.chunk.clone(),
            address: self.address,
            len: self.len,
        })
    }
}

impl Drop for WritableCode {
    fn drop(&mut self) {
        // An abandoned fill (compile error): seal its pages as if it had succeeded (the first
        // one may hold older code that must stay executable), and give the region back.
        if self.filling {
            let mut guard = lock(&self.chunk.map);
            let st = &mut *guard;
            if let Some(mem) = st.mem.as_ref() {
                let from = page_down(self.offset);
                let end = page_up(self.offset + self.len);
                if protect(mem, from, end - from, true).is_ok() {
                    st.sealed = st.sealed.max(end);
                }
            }
            release(&self.chunk, guard);
        }
    }
}

/// One region of `chunk` died.
fn release(chunk: &Arc<Chunk>, mut st: std::sync::MutexGuard<'_, ChunkState>) {
    st.live -= 1;
    if st.live == 0 && !st.open {
        retire(chunk, st);
    }
}

/// The chunk takes no new regions.
fn close(chunk: &Arc<Chunk>) {
    let mut st = lock(&chunk.map);
    st.open = false;
    if st.live == 0 {
        retire(chunk, st);
    }
}

/// An empty, closed chunk: into the pool, or unmapped.
fn retire(chunk: &Arc<Chunk>, mut st: std::sync::MutexGuard<'_, ChunkState>) {
    if !st.single {
        let mut pooled = lock(pool());
        if pooled.len() < POOL {
            drop(st);
            pooled.push(chunk.clone());
            return;
        }
    }
    st.mem = None; // unmap
}

impl ExecutableCode {
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
        // SAFETY: the region lies inside the chunk's mapping, which stays mapped while this
        // ExecutableCode holds the chunk; it is readable, and only written while a WritableCode
        // of another region fills the chunk, which happens with the GIL held by the writer.
        unsafe { std::slice::from_raw_parts(self.address as *const u8, self.len) }
    }
}

impl Drop for ExecutableCode {
    fn drop(&mut self) {
        let st = lock(&self.chunk.map);
        release(&self.chunk, st);
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
    fn new_regions_are_zeroed_even_in_reused_chunks() {
        // Fill and free more than a chunk, so that later regions come from a pooled chunk.
        for round in 0..3u8 {
            let mut kept = Vec::new();
            for _ in 0..(CHUNK_SIZE / 4096 + 8) {
                let mut w = WritableCode::new(4000).unwrap();
                assert!(w.bytes_mut().iter().all(|b| *b == 0), "round {round}");
                w.bytes_mut().fill(0xcc);
                kept.push(w.seal().unwrap());
            }
        }
    }

    #[test]
    fn code_sharing_a_page_with_a_later_fill_still_runs() {
        // mov eax, imm32; ret
        let function = |v: u8| [0xb8, v, 0, 0, 0, 0xc3];
        let mut a = WritableCode::new(16).unwrap();
        a.bytes_mut()[..6].copy_from_slice(&function(7));
        let a = a.seal().unwrap();
        let mut b = WritableCode::new(16).unwrap();
        b.bytes_mut()[..6].copy_from_slice(&function(9));
        let b = b.seal().unwrap();
        let _no_fill = lock(&FILL);
        for (code, want) in [(&a, 7), (&b, 9)] {
            // SAFETY: each region holds a complete C-ABI function in sealed (read-execute)
            // memory that stays mapped while `code` lives; FILL keeps other fills out.
            let f: extern "C" fn() -> i32 = unsafe { std::mem::transmute(code.address() as usize) };
            assert_eq!(f(), want);
        }
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
        // Other test threads may be filling this chunk; the GIL excludes that in the extension,
        // here the fill lock does.
        let _no_fill = lock(&FILL);
        assert_eq!(f(), 42);
    }
}
