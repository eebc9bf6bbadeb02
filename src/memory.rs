//! Executable memory, W^X as a type.
//!
//! [`WritableCode`] is an anonymous read-write mapping the compiler fills; [`WritableCode::seal`]
//! consumes it and returns [`ExecutableCode`], read-execute, which nothing can write again. No
//! page is ever writable and executable at once. Dropping `ExecutableCode` unmaps it. One mapping
//! holds a code object's machine code and its read-only data, so data stays within reach of
//! 32-bit PC-relative references.

use memmap2::{Mmap, MmapMut};
use std::io;

/// Memory being filled with code: readable and writable, never executable.
pub struct WritableCode {
    map: MmapMut,
}

/// Sealed machine code: readable and executable, never writable.
pub struct ExecutableCode {
    map: Mmap,
}

impl WritableCode {
    /// A zero-filled mapping of at least `len` bytes (rounded up by the kernel to pages).
    pub fn new(len: usize) -> io::Result<WritableCode> {
        let map = MmapMut::map_anon(len.max(1))?;
        Ok(WritableCode { map })
    }

    /// Address of the first byte: where the code will execute from once sealed.
    pub fn address(&self) -> u64 {
        self.map.as_ptr() as u64
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.map[..]
    }

    /// Make the memory executable and read-only. The address does not change.
    pub fn seal(self) -> io::Result<ExecutableCode> {
        let map = self.map.make_exec()?;
        Ok(ExecutableCode { map })
    }
}

impl ExecutableCode {
    pub fn address(&self) -> u64 {
        self.map.as_ptr() as u64
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn bytes(&self) -> &[u8] {
        &self.map[..]
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
    fn sealed_code_runs() {
        // mov eax, 42; ret
        let mut w = WritableCode::new(16).unwrap();
        w.bytes_mut()[..6].copy_from_slice(&[0xb8, 42, 0, 0, 0, 0xc3]);
        let x = w.seal().unwrap();
        // SAFETY: the mapping holds a complete C-ABI function (mov eax, imm32; ret) and is
        // executable; it stays mapped while `x` lives.
        let f: extern "C" fn() -> i32 = unsafe { std::mem::transmute(x.address() as usize) };
        assert_eq!(f(), 42);
    }
}
