//! Patching: writing a resolved value into a hole of copied stencil bytes.
//!
//! Pure functions over `&mut [u8]`; no executable memory is involved, so every case (including
//! out-of-range values) is unit-tested. The x86-64 relocation kinds build.rs accepts map onto the
//! few patch kinds here; any other kind fails the build.

use std::fmt;

/// How a hole is filled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchKind {
    /// 64-bit absolute value (`R_X86_64_64`).
    Abs64,
    /// 32-bit zero-extended absolute value (`R_X86_64_32`): small hole values such as the oparg.
    Abs32,
    /// 32-bit PC-relative displacement (`R_X86_64_PC32`, `R_X86_64_PLT32`).
    Pc32,
    /// 32-bit PC-relative displacement to a GOT slot holding the value
    /// (`R_X86_64_GOTPCREL`, `R_X86_64_GOTPCRELX`, `R_X86_64_REX_GOTPCRELX`).
    GotPc32,
}

impl PatchKind {
    /// The patch kind for an ELF x86-64 relocation type, or None if cpjit does not handle it.
    pub const fn from_elf_x86_64(r_type: u32) -> Option<PatchKind> {
        match r_type {
            1 => Some(PatchKind::Abs64),             // R_X86_64_64
            10 => Some(PatchKind::Abs32),            // R_X86_64_32
            2 | 4 => Some(PatchKind::Pc32),          // R_X86_64_PC32, R_X86_64_PLT32
            9 | 41 | 42 => Some(PatchKind::GotPc32), // GOTPCREL, GOTPCRELX, REX_GOTPCRELX
            _ => None,
        }
    }

    /// Bytes the patch writes.
    pub const fn width(self) -> usize {
        match self {
            PatchKind::Abs64 => 8,
            PatchKind::Abs32 | PatchKind::Pc32 | PatchKind::GotPc32 => 4,
        }
    }
}

/// A patch that could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchError {
    /// The hole lies (partly) outside the buffer.
    OutOfBounds {
        offset: usize,
        width: usize,
        len: usize,
    },
    /// A PC-relative displacement does not fit in 32 bits.
    OutOfRange { offset: usize, displacement: i64 },
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatchError::OutOfBounds { offset, width, len } => {
                write!(
                    f,
                    "patch of {width} bytes at offset {offset} is outside a buffer of {len} bytes"
                )
            }
            PatchError::OutOfRange {
                offset,
                displacement,
            } => {
                write!(
                    f,
                    "displacement {displacement:#x} at offset {offset} does not fit in 32 bits"
                )
            }
        }
    }
}

impl std::error::Error for PatchError {}

fn slot(buf: &mut [u8], offset: usize, width: usize) -> Result<&mut [u8], PatchError> {
    let len = buf.len();
    offset
        .checked_add(width)
        .filter(|end| *end <= len)
        .map(|end| &mut buf[offset..end])
        .ok_or(PatchError::OutOfBounds { offset, width, len })
}

/// Write a 64-bit absolute value at `offset`.
pub fn patch_abs64(buf: &mut [u8], offset: usize, value: u64) -> Result<(), PatchError> {
    slot(buf, offset, 8)?.copy_from_slice(&value.to_le_bytes());
    Ok(())
}

/// Write `target + addend - place` as a signed 32-bit displacement at `offset`, where `place` is
/// the run-time address of byte `offset`.
/// Write `value` as a 32-bit zero-extended immediate; values that do not fit are refused.
pub fn patch_abs32(buf: &mut [u8], offset: usize, value: u64) -> Result<(), PatchError> {
    let v = u32::try_from(value).map_err(|_| PatchError::OutOfRange {
        offset,
        displacement: value as i64,
    })?;
    slot(buf, offset, 4)?.copy_from_slice(&v.to_le_bytes());
    Ok(())
}

pub fn patch_pc32(
    buf: &mut [u8],
    offset: usize,
    place: u64,
    target: u64,
    addend: i64,
) -> Result<(), PatchError> {
    let displacement = (target as i128 + addend as i128 - place as i128) as i64;
    let value = i32::try_from(displacement).map_err(|_| PatchError::OutOfRange {
        offset,
        displacement,
    })?;
    slot(buf, offset, 4)?.copy_from_slice(&value.to_le_bytes());
    Ok(())
}

/// A reference through a GOT slot that can be made direct, as ld and lld relax
/// `R_X86_64_GOTPCRELX`/`R_X86_64_REX_GOTPCRELX`: `call [rip+slot]` becomes `addr32 call sym`,
/// `jmp [rip+slot]` becomes `jmp sym; nop`, `mov r64, [rip+slot]` becomes `lea r64, [rip+sym]`.
/// Same length, same effect, no load of the slot; a direct branch's target is known from its
/// bytes, so the front end follows it even when the branch predictor has forgotten the branch
/// (it does in programs with megabytes of native code), where an indirect one is mispredicted.
///
/// build.rs finds the forms in each stencil ([`GotForm::of`]) and ships the stencil's bytes in
/// the direct form ([`GotForm::relax`]); the compiler writes the displacement to the symbol where
/// it lies within ±2 GiB ([`GotForm::rel32_at`]) and otherwise puts the indirect form back
/// ([`GotForm::unrelax`]) and patches the displacement to the slot. Offsets below are those of
/// the slot displacement in the original instruction, which ends right after it (addend -4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GotForm {
    Call,
    Jmp,
    Lea,
}

impl GotForm {
    pub const ALL: [GotForm; 3] = [GotForm::Call, GotForm::Jmp, GotForm::Lea];

    /// The form of the instruction whose slot displacement is `code[disp_at..disp_at + 4]`, or
    /// None for every other instruction (those stay indirect).
    pub fn of(code: &[u8], disp_at: usize) -> Option<GotForm> {
        if disp_at < 2 || disp_at + 4 > code.len() {
            return None;
        }
        let (opcode, modrm) = (code[disp_at - 2], code[disp_at - 1]);
        let rex_w = disp_at >= 3 && code[disp_at - 3] & 0xf8 == 0x48;
        let two_byte_opcode = disp_at >= 3 && code[disp_at - 3] == 0x0f;
        match (opcode, modrm) {
            (0xff, 0x15) if !two_byte_opcode => Some(GotForm::Call),
            (0xff, 0x25) if !two_byte_opcode => Some(GotForm::Jmp),
            (0x8b, m) if rex_w && m & 0xc7 == 0x05 => Some(GotForm::Lea),
            _ => None,
        }
    }

    /// Rewrite the instruction into its direct form (the displacement is written later).
    pub fn relax(self, code: &mut [u8], disp_at: usize) {
        match self {
            GotForm::Call => {
                code[disp_at - 2] = 0x67; // addr32: the call keeps its 6 bytes
                code[disp_at - 1] = 0xe8;
            }
            GotForm::Jmp => {
                code[disp_at - 2] = 0xe9;
                code[disp_at + 3] = 0x90; // never reached: after the jump
            }
            GotForm::Lea => code[disp_at - 2] = 0x8d,
        }
    }

    /// Put the indirect form back (its displacement is written later).
    pub fn unrelax(self, code: &mut [u8], disp_at: usize) {
        match self {
            GotForm::Call => {
                code[disp_at - 2] = 0xff;
                code[disp_at - 1] = 0x15;
            }
            GotForm::Jmp => {
                code[disp_at - 2] = 0xff;
                code[disp_at - 1] = 0x25;
            }
            GotForm::Lea => code[disp_at - 2] = 0x8b,
        }
    }

    /// Where the direct form's 32-bit displacement starts; it is relative to its own end
    /// (`rel32_at + 4`) in every form.
    pub const fn rel32_at(self, disp_at: usize) -> usize {
        match self {
            GotForm::Jmp => disp_at - 1,
            GotForm::Call | GotForm::Lea => disp_at,
        }
    }

    /// Where the slot displacement of the indirect form starts, for the direct form's at
    /// `rel32_at` (the inverse of [`GotForm::rel32_at`]).
    pub const fn disp_at(self, rel32_at: usize) -> usize {
        match self {
            GotForm::Jmp => rel32_at + 1,
            GotForm::Call | GotForm::Lea => rel32_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abs64_writes_little_endian() {
        let mut buf = [0u8; 12];
        patch_abs64(&mut buf, 2, 0x1122_3344_5566_7788).unwrap();
        assert_eq!(
            &buf[2..10],
            &[0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]
        );
        assert_eq!(buf[0], 0);
        assert_eq!(buf[10], 0);
    }

    #[test]
    fn abs64_rejects_holes_past_the_end() {
        let mut buf = [0u8; 8];
        assert_eq!(
            patch_abs64(&mut buf, 1, 5),
            Err(PatchError::OutOfBounds {
                offset: 1,
                width: 8,
                len: 8
            })
        );
    }

    #[test]
    fn abs32_writes_small_values_and_refuses_large_ones() {
        let mut buf = [0u8; 6];
        patch_abs32(&mut buf, 1, 0x1234_5678).unwrap();
        assert_eq!(&buf, &[0, 0x78, 0x56, 0x34, 0x12, 0]);
        let err = patch_abs32(&mut buf, 1, 1 << 32).unwrap_err();
        assert!(matches!(err, PatchError::OutOfRange { .. }), "{err}");
        assert_eq!(
            &buf,
            &[0, 0x78, 0x56, 0x34, 0x12, 0],
            "a failed patch leaves the bytes alone"
        );
    }

    #[test]
    fn pc32_is_relative_to_the_place() {
        let mut buf = [0u8; 8];
        // A jmp rel32 at 0x1000 whose operand is at 0x1001: target 0x2000, addend -4.
        patch_pc32(&mut buf, 1, 0x1001, 0x2000, -4).unwrap();
        assert_eq!(
            i32::from_le_bytes(buf[1..5].try_into().unwrap()),
            0x2000 - 4 - 0x1001
        );
    }

    #[test]
    fn pc32_handles_backward_displacements() {
        let mut buf = [0u8; 4];
        patch_pc32(&mut buf, 0, 0x5000, 0x1000, -4).unwrap();
        assert_eq!(i32::from_le_bytes(buf), 0x1000 - 4 - 0x5000);
    }

    #[test]
    fn pc32_refuses_displacements_beyond_two_gib() {
        let mut buf = [0u8; 4];
        let err = patch_pc32(&mut buf, 0, 0x1000, 0x1000 + (1u64 << 31) + 4, -4).unwrap_err();
        assert!(
            matches!(err, PatchError::OutOfRange { offset: 0, .. }),
            "{err}"
        );
        assert_eq!(buf, [0; 4], "a failed patch leaves the bytes alone");
        let err = patch_pc32(&mut buf, 0, 1u64 << 40, 0, 0).unwrap_err();
        assert!(matches!(err, PatchError::OutOfRange { .. }));
    }

    #[test]
    fn pc32_accepts_the_extremes() {
        let mut buf = [0u8; 4];
        patch_pc32(&mut buf, 0, 0, i32::MAX as u64, 0).unwrap();
        assert_eq!(i32::from_le_bytes(buf), i32::MAX);
        patch_pc32(&mut buf, 0, 1u64 << 31, 0, 0).unwrap();
        assert_eq!(i32::from_le_bytes(buf), i32::MIN);
    }

    /// Relax `code` as build.rs does and patch the direct displacement to `target` as the
    /// compiler does, `place` being the run-time address of `code[disp_at]`.
    fn relaxed(mut code: Vec<u8>, disp_at: usize, place: u64, target: u64) -> Vec<u8> {
        let form = GotForm::of(&code, disp_at).expect("a relaxable form");
        form.relax(&mut code, disp_at);
        let at = form.rel32_at(disp_at);
        let rel = target as i64 - (place as i64 - disp_at as i64 + at as i64 + 4);
        code[at..at + 4].copy_from_slice(&(rel as i32).to_le_bytes());
        code
    }

    #[test]
    fn got_calls_jumps_and_loads_become_direct() {
        // call [rip+d] at 0x1000 (displacement at 0x1002), target 0x5000.
        let call = relaxed(vec![0x90, 0xff, 0x15, 1, 2, 3, 4], 3, 0x1002, 0x5000);
        assert_eq!(&call[..3], &[0x90, 0x67, 0xe8]);
        assert_eq!(
            i32::from_le_bytes(call[3..7].try_into().unwrap()),
            0x5000 - 0x1006
        );
        // jmp [rip+d] at 0x1000: jmp rel32 then a nop, same 6 bytes.
        let jmp = relaxed(vec![0xff, 0x25, 1, 2, 3, 4], 2, 0x1002, 0x800);
        assert_eq!(jmp[0], 0xe9);
        assert_eq!(
            i32::from_le_bytes(jmp[1..5].try_into().unwrap()),
            0x800 - 0x1005
        );
        assert_eq!(jmp[5], 0x90);
        // mov r9, [rip+d] (4c 8b 0d) becomes lea r9, [rip+target].
        let mov = relaxed(vec![0x4c, 0x8b, 0x0d, 1, 2, 3, 4], 3, 0x2003, 0x2000);
        assert_eq!(&mov[..3], &[0x4c, 0x8d, 0x0d]);
        assert_eq!(i32::from_le_bytes(mov[3..7].try_into().unwrap()), -7);
    }

    #[test]
    fn unrelax_puts_the_indirect_form_back() {
        for (bytes, at) in [
            (vec![0x90, 0xff, 0x15, 0, 0, 0, 0], 3),
            (vec![0xff, 0x25, 0, 0, 0, 0], 2),
            (vec![0x4c, 0x8b, 0x0d, 0, 0, 0, 0], 3),
        ] {
            let form = GotForm::of(&bytes, at).unwrap();
            let mut b = bytes.clone();
            form.relax(&mut b, at);
            assert_ne!(b, bytes);
            form.unrelax(&mut b, at);
            b[at..at + 4].fill(0);
            assert_eq!(b, bytes, "{form:?}");
        }
    }

    #[test]
    fn other_got_references_stay_indirect() {
        for (bytes, at) in [
            (vec![0x8b, 0x05, 1, 2, 3, 4], 2),       // 32-bit mov: no REX.W
            (vec![0x48, 0x3b, 0x05, 1, 2, 3, 4], 3), // cmp rax, [rip+d]
            (vec![0x48, 0x8b, 0x04, 0x25, 1, 2, 3, 4], 4), // mov rax, [abs32]: no RIP operand
            (vec![0x0f, 0xff, 0x15, 1, 2, 3, 4], 3), // a two-byte opcode
        ] {
            assert_eq!(GotForm::of(&bytes, at), None, "{bytes:x?}");
        }
        assert_eq!(GotForm::of(&[0x15, 1, 2, 3, 4], 1), None);
        assert_eq!(GotForm::of(&[0xff, 0x15, 1, 2, 3], 2), None);
    }

    #[test]
    fn relocation_kinds_map_to_patches() {
        assert_eq!(PatchKind::from_elf_x86_64(1), Some(PatchKind::Abs64));
        assert_eq!(PatchKind::from_elf_x86_64(4), Some(PatchKind::Pc32));
        assert_eq!(PatchKind::from_elf_x86_64(42), Some(PatchKind::GotPc32));
        assert_eq!(PatchKind::from_elf_x86_64(10), Some(PatchKind::Abs32));
        assert_eq!(
            PatchKind::from_elf_x86_64(11),
            None,
            "R_X86_64_32S is not accepted"
        );
    }
}
