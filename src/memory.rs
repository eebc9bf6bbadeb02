//! Executable memory, W^X as a type, packed into shared chunks.
//!
//! [`WritableCode`] is read-write memory the compiler fills; [`WritableCode::seal`] consumes it
//! and returns [`ExecutableCode`], read-execute. No page is ever writable and executable at once.
//!
//! Small code objects share 256 KiB chunks so that thousands of little functions do not cost a
//! page (and a mapping) each. A chunk is read-execute at rest; to add code, the chunk is made
//! read-write (memmap2's `make_mut`), written, and made read-execute again (`make_exec`) before
//! the compiler returns. That is safe because native code only runs with the GIL held and the
//! compiler holds it: no thread executes in the chunk while it is writable. A chunk is unmapped
//! when every code object in it has died and no new code goes into it. Code larger than a chunk
//! gets a mapping of its own. Chunks keep a stencil's data within ±2 GiB of its code because code
//! and data of one compiled object always live in one region.

use memmap2::{Mmap, MmapMut};
use std::io;
use std::sync::{Arc, Mutex};

/// Size of a shared chunk.
pub const CHUNK_SIZE: usize = 256 * 1024;
/// Alignment of each region inside a chunk.
const REGION_ALIGN: usize = 64;

/// One mapping, executable at rest. `None` only while it is being written.
struct Chunk {
    map: Mutex<ChunkState>,
}

struct ChunkState {
    exec: Option<Mmap>,
    used: usize,
    live: usize,
    /// Still taking new regions.
    open: bool,
}

impl Chunk {
    fn new(len: usize) -> io::Result<Arc<Chunk>> {
        let exec = MmapMut::map_anon(len)?.make_exec()?;
        Ok(Arc::new(Chunk {
            map: Mutex::new(ChunkState {
                exec: Some(exec),
                used: 0,
                live: 0,
                open: true,
            }),
        }))
    }
}

fn current_chunk() -> &'static Mutex<Option<Arc<Chunk>>> {
    static CURRENT: Mutex<Option<Arc<Chunk>>> = Mutex::new(None);
    &CURRENT
}

/// Serialises fills: a chunk is writable for one fill at a time. In the extension the GIL
/// already does (compiles run no Python code), but the API must not depend on it.
static FILL: Mutex<()> = Mutex::new(());

/// A reserved region being filled: readable and writable, never executable.
pub struct WritableCode {
    chunk: Arc<Chunk>,
    offset: usize,
    len: usize,
    /// The chunk made writable for the duration of the fill.
    map: Option<MmapMut>,
    /// Held from reservation to sealing (declared last: released after `map` is given back).
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
            (Chunk::new(len)?, 0)
        } else {
            let mut current = lock(current_chunk());
            let fits = current.as_ref().map(|c| {
                let st = lock(&c.map);
                st.used.div_ceil(REGION_ALIGN) * REGION_ALIGN + len <= CHUNK_SIZE
            });
            if fits != Some(true) {
                if let Some(old) = current.take() {
                    lock(&old.map).open = false;
                }
                *current = Some(Chunk::new(CHUNK_SIZE)?);
            }
            let chunk = current.as_ref().expect("a current chunk").clone();
            let offset = {
                let mut st = lock(&chunk.map);
                let off = st.used.div_ceil(REGION_ALIGN) * REGION_ALIGN;
                st.used = off + len;
                off
            };
            (chunk, offset)
        };
        let map = {
            let mut st = lock(&chunk.map);
            st.live += 1;
            let exec = st.exec.take().expect("chunk is not being written");
            match exec.make_mut() {
                Ok(m) => m,
                Err(e) => {
                    st.live -= 1;
                    return Err(e);
                }
            }
        };
        Ok(WritableCode {
            chunk,
            offset,
            len,
            map: Some(map),
            _fill: fill,
        })
    }

    /// Address of the first byte: where the code will execute from once sealed.
    pub fn address(&self) -> u64 {
        self.map.as_ref().expect("mapped").as_ptr() as u64 + self.offset as u64
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        let (off, len) = (self.offset, self.len);
        &mut self.map.as_mut().expect("mapped")[off..off + len]
    }

    /// Make the chunk executable and read-only again. The address does not change.
    pub fn seal(mut self) -> io::Result<ExecutableCode> {
        let address = self.address();
        let map = self.map.take().expect("mapped");
        let exec = map.make_exec()?;
        lock(&self.chunk.map).exec = Some(exec);
        Ok(ExecutableCode {
            chunk: self.chunk.clone(),
            address,
            len: self.len,
        })
    }
}

impl Drop for WritableCode {
    fn drop(&mut self) {
        // An abandoned fill (compile error): give the region back, restore execute permission.
        if let Some(map) = self.map.take() {
            let mut st = lock(&self.chunk.map);
            st.live -= 1;
            if let Ok(exec) = map.make_exec() {
                st.exec = Some(exec);
            }
        }
    }
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
        let mut st = lock(&self.chunk.map);
        st.live -= 1;
        if st.live == 0 && !st.open {
            st.exec = None; // unmap
        }
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
