//! The stencil tables build.rs generated from stencils/*.c, and lookup by name.
//!
//! A stencil is machine code for one instruction (or one variant of it) with holes. Its code is
//! copied once per instruction; its read-only data (constant pools) is copied beside it. The code
//! is two parts (hot/cold splitting at build time, src/split.rs): the hot part, which falls
//! through into the next instruction's, and the cold part (error exits, hand-overs, deallocation
//! calls), which the compiler places after the hot parts of all instructions. The two reach each
//! other through `_JIT_HOT`/`_JIT_COLD` holes.

use crate::holes::HoleValue;
use crate::patch::PatchKind;
use std::mem::offset_of;

/// What a hole's relocation points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// One of the `_JIT_*` holes.
    Hole(HoleValue),
    /// An external symbol: its index (see [`symbol_name`]).
    Symbol(u16),
    /// An offset into this stencil's own data.
    Data(u64),
}

/// One relocation of a stencil.
#[derive(Clone, Copy, Debug)]
pub struct Hole {
    /// Offset of the patched bytes in the stencil's code.
    pub offset: u32,
    pub kind: PatchKind,
    pub target: Target,
    pub addend: i64,
}

/// One hole of the common kinds, ready to patch (build.rs resolves everything it can): at
/// `offset` in part `part` (0 hot, 1 cold), the compiler's value `value` plus `addend`. `value`
/// is a [`HoleValue`] as u8, or [`GOT_BASE`] (the address of the chunk's symbol table; the
/// symbol's slot offset is in the addend), or [`SYMBOL_DIRECT`] plus a [`GotForm`](crate::patch::GotForm)'s index (a
/// reference to a symbol build.rs made direct; the addend is the symbol's index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Patch {
    pub offset: u16,
    pub part: u8,
    pub value: u8,
    pub addend: i32,
}

/// [`Patch::value`] of a symbol reached through the chunk's symbol table: its address, plus
/// `8 * symbol` (folded into the addend at build time).
pub const GOT_BASE: u8 = HoleValue::ALL.len() as u8;

/// [`Patch::value`] of a reference to a symbol that build.rs turned from `call`/`jmp`/`mov` through
/// a GOT slot into the direct form, plus the form's index in
/// [`GotForm::ALL`](crate::patch::GotForm::ALL); the
/// patch's offset is the slot displacement's in the original instruction and its addend the
/// symbol's index.
pub const SYMBOL_DIRECT: u8 = GOT_BASE + 1;

/// A compiled opcode template.
///
/// Holds no pointers, so that loading the extension has nothing of the tables to relocate: its
/// slices are offsets and lengths (`*_at`, `*_len`) into statics build.rs generates, which the
/// accessors ([`Stencil::code`], [`Stencil::patches`], ...) turn into `&'static` slices: the
/// code, patch program and PC-relative symbols into the one static holding every stencil's
/// [`StencilBody`], the rest into one array per element type (all data, all holes, ...).
///
/// `repr(C)`, 64 bytes, aligned to a cache line: the fields every compile reads for every
/// instruction first (where the code, the patch program, the data and the PC-relative symbols
/// are, the lengths and flags), then the ones only rare paths and tools read.
#[repr(C, align(64))]
pub struct Stencil {
    code_at: u32,
    patches_at: u32,
    pc32_symbols_at: u32,
    data_at: u32,
    pub hot_len: u32,
    /// Bit `h` set when a hole is `HoleValue` number `h` (see [`Stencil::uses`]).
    pub hole_mask: u32,
    code_len: u16,
    patches_len: u16,
    pc32_symbols_len: u16,
    data_len: u16,
    /// GOT references to per-instruction values (each gets a slot of its own).
    pub private_got: u16,
    /// `_JIT_CACHE` slots (CACHE_BYTES each) the stencil's instruction takes: 0 without the
    /// hole, 2 for a stencil that passes it to cpjit_call (build.rs: WIDE_CACHE_HELPER),
    /// else 1.
    pub cache_slots: u8,
    pub n_abs64: u8,
    pub n_abs32: u8,
    /// Whether it has data or holes in `other`: the compiler's one test for both.
    pub extras: bool,
    name_at: u32,
    holes_at: u32,
    got_symbols_at: u32,
    other_at: u32,
    name_len: u16,
    holes_len: u16,
    got_symbols_len: u16,
    other_len: u16,
}

const _: () = assert!(std::mem::size_of::<Stencil>() == 64);

impl Stencil {
    /// The hot part (`code()[..hot_len]`), then the cold part.
    #[inline(always)]
    pub fn code(&self) -> &'static [u8] {
        // SAFETY: build.rs made `code_at` the offset of a StencilBody's `code` in BODIES
        // (`offset_of!`) and `code_len` that array's length: the range lies inside the static,
        // which is never written.
        unsafe { body_slice(self.code_at, self.code_len) }
    }

    /// The patch program: the common holes again (hole values; symbols through the chunk's
    /// symbol table), `n_abs64` 64-bit absolute ones first, then `n_abs32` 32-bit absolute ones,
    /// then PC-relative ones.
    #[inline(always)]
    pub fn patches(&self) -> &'static [Patch] {
        // SAFETY: build.rs made `patches_at` the offset of a StencilBody's `patches`, a
        // `[Patch; patches_len]`, in BODIES (`offset_of!`, so aligned for Patch).
        unsafe { body_slice(self.patches_at, self.patches_len) }
    }

    /// External symbols this stencil reaches PC-relative (a veneer if out of range).
    #[inline(always)]
    pub fn pc32_symbols(&self) -> &'static [u16] {
        // SAFETY: build.rs made `pc32_symbols_at` the offset of a StencilBody's
        // `pc32_symbols`, a `[u16; pc32_symbols_len]`, in BODIES (`offset_of!`, so aligned).
        unsafe { body_slice(self.pc32_symbols_at, self.pc32_symbols_len) }
    }

    /// Read-only data, copied beside the code.
    #[inline(always)]
    pub fn data(&self) -> &'static [u8] {
        let (at, len) = (self.data_at as usize, self.data_len as usize);
        debug_assert!(at + len <= DATA.len());
        // SAFETY: build.rs laid every stencil's data end to end in DATA and made (`data_at`,
        // `data_len`) this one's place there (the test spans_lie_inside_their_tables checks it).
        unsafe { DATA.get_unchecked(at..at + len) }
    }

    /// `LOAD_FAST`, `BINARY_OP__0` (a variant for oparg 0), `EXIT_ERROR`, ...
    #[inline]
    pub fn name(&self) -> &'static str {
        let at = self.name_at as usize;
        let bytes = &STENCIL_NAMES[at..at + self.name_len as usize];
        // SAFETY: build.rs checked that every name is ASCII.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    /// Every relocation, offsets into `code()`.
    #[inline]
    pub fn holes(&self) -> &'static [Hole] {
        let at = self.holes_at as usize;
        &HOLES[at..at + self.holes_len as usize]
    }

    /// External symbols this stencil reaches through a GOT slot (each once, build-time order).
    #[inline]
    pub fn got_symbols(&self) -> &'static [u16] {
        let at = self.got_symbols_at as usize;
        &LISTS[at..at + self.got_symbols_len as usize]
    }

    /// Indices into `holes()` of the rest (data, direct symbol references, private GOT slots).
    #[inline]
    pub fn other(&self) -> &'static [u16] {
        let at = self.other_at as usize;
        &LISTS[at..at + self.other_len as usize]
    }

    /// The hot part's code.
    pub fn hot_code(&self) -> &'static [u8] {
        &self.code()[..self.hot_len as usize]
    }

    /// The cold part's code.
    pub fn cold_code(&self) -> &'static [u8] {
        &self.code()[self.hot_len as usize..]
    }

    /// Whether any relocation of this stencil reads the given hole (from the mask build.rs
    /// made: the compiler asks for every instruction, to compute only the values a stencil's
    /// patch program reads).
    #[inline(always)]
    pub fn uses(&self, hole: HoleValue) -> bool {
        self.hole_mask & (1 << hole as u32) != 0
    }
}

impl std::fmt::Debug for Stencil {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stencil")
            .field("name", &self.name())
            .field("code", &self.code())
            .field("hot_len", &self.hot_len)
            .field("patches", &self.patches())
            .field("data", &self.data())
            .field("pc32_symbols", &self.pc32_symbols())
            .field("hole_mask", &self.hole_mask)
            .field("private_got", &self.private_got)
            .field("cache_slots", &self.cache_slots)
            .field("n_abs64", &self.n_abs64)
            .field("n_abs32", &self.n_abs32)
            .field("extras", &self.extras)
            .field("holes", &self.holes())
            .field("got_symbols", &self.got_symbols())
            .field("other", &self.other())
            .finish()
    }
}

/// A stencil's code, patch program and PC-relative symbols, which a compile reads together
/// for every instruction, side by side aligned to a cache line (build.rs makes one per stencil,
/// each a field of one static, BODIES; [`Stencil`]'s offsets point into it): they take two or
/// three lines, where the three separate arrays took three or four.
#[repr(C, align(64))]
pub struct StencilBody<const CODE: usize, const PATCHES: usize, const SYMBOLS: usize> {
    pub code: [u8; CODE],
    pub patches: [Patch; PATCHES],
    pub pc32_symbols: [u16; SYMBOLS],
}

/// The `len` elements of type `T` at byte offset `at` in BODIES.
///
/// # Safety
///
/// They must lie inside BODIES, at an offset aligned for `T`, and be initialised `T`s: a field
/// of one of its StencilBody fields, as `offset_of!` gives it.
#[inline(always)]
unsafe fn body_slice<T>(at: u32, len: u16) -> &'static [T] {
    let base = std::ptr::addr_of!(BODIES).cast::<u8>();
    // SAFETY: the caller's contract: the range is inside BODIES, aligned and initialised, and
    // BODIES is a static, never written, so the slice lives and stays unchanged for 'static.
    unsafe { std::slice::from_raw_parts(base.add(at as usize).cast::<T>(), len as usize) }
}

// Offsets into BODIES are u32.
const _: () = assert!(std::mem::size_of::<Bodies>() <= u32::MAX as usize);

/// No stencil, in the opcode tables (GENERIC, TAILS, VARIANT_LIST).
const NO_STENCIL: u16 = u16::MAX;

include!(concat!(env!("OUT_DIR"), "/stencils.rs"));

/// The stencil of this index in STENCILS, or none for [`NO_STENCIL`].
#[inline(always)]
fn stencil(i: u16) -> Option<&'static Stencil> {
    STENCILS.get(i as usize)
}

/// The generic stencil of an opcode (named after it).
#[inline(always)]
pub fn generic(op: u8) -> Option<&'static Stencil> {
    stencil(GENERIC[op as usize])
}

/// The stencil of the second half of a superinstruction of this opcode (`<OPCODE>_TAIL`).
#[inline(always)]
pub fn tail(op: u8) -> Option<&'static Stencil> {
    stencil(TAILS[op as usize])
}

/// An opcode's variant for this oparg (`<OPCODE>__<oparg>`).
#[inline(always)]
pub fn variant(op: u8, oparg: u32) -> Option<&'static Stencil> {
    let (at, n) = VARIANTS[op as usize];
    if oparg >= n as u32 {
        return None;
    }
    stencil(VARIANT_LIST[at as usize + oparg as usize])
}

/// The pair stencil of an opcode with this oparg followed by opcode `next`
/// (`<OPCODE>__<oparg>__<NEXT>`).
#[inline(always)]
pub fn pair(op: u8, oparg: u32, next: u8) -> Option<&'static Stencil> {
    let (at, n) = PAIRS[op as usize];
    PAIR_LIST[at as usize..at as usize + n as usize]
        .iter()
        .find(|&&(a, b, _)| a == oparg && b == next)
        .and_then(|&(_, _, i)| stencil(i))
}

/// Whether the opcode has any pair stencil.
#[inline(always)]
pub fn has_pairs(op: u8) -> bool {
    PAIRS[op as usize].1 != 0
}

/// How many external symbols the stencils use (the symbol table's length).
#[inline]
pub fn symbol_count() -> usize {
    SYMBOL_NAME_AT.len() - 1
}

/// The name of external symbol `i` (a [`Target::Symbol`]'s index).
pub fn symbol_name(i: usize) -> &'static str {
    let bytes = &SYMBOL_NAMES[SYMBOL_NAME_AT[i] as usize..SYMBOL_NAME_AT[i + 1] as usize];
    // SAFETY: build.rs checked that every symbol name is ASCII.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

/// Every external symbol's name, in symbol order.
pub fn symbol_names() -> impl ExactSizeIterator<Item = &'static str> {
    (0..symbol_count()).map(symbol_name)
}

/// The stencil with this name.
pub fn by_name(name: &str) -> Option<&'static Stencil> {
    STENCILS
        .binary_search_by(|s| s.name().cmp(name))
        .ok()
        .map(|i| &STENCILS[i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patch::GotForm;

    #[test]
    fn tables_are_sorted_and_unique() {
        assert!(!STENCILS.is_empty());
        for w in STENCILS.windows(2) {
            assert!(
                w[0].name() < w[1].name(),
                "{} / {}",
                w[0].name(),
                w[1].name()
            );
        }
    }

    #[test]
    fn spans_lie_inside_their_tables() {
        // What the unchecked accessors (code, patches, pc32_symbols, data) rely on.
        let bodies = std::mem::size_of::<Bodies>();
        let mut data = 0;
        for s in &STENCILS {
            let (code, patches) = (s.code_at as usize, s.patches_at as usize);
            let symbols = s.pc32_symbols_at as usize;
            assert_eq!(code % 64, 0, "{}", s.name());
            assert!(code + s.code_len as usize <= patches, "{}", s.name());
            assert_eq!(patches % std::mem::align_of::<Patch>(), 0, "{}", s.name());
            let patches_end = patches + s.patches_len as usize * std::mem::size_of::<Patch>();
            assert!(patches_end <= symbols, "{}", s.name());
            assert!(
                symbols + 2 * s.pc32_symbols_len as usize <= bodies,
                "{}",
                s.name()
            );
            // Laid end to end, in stencil order.
            assert_eq!(s.data_at as usize, data, "{}", s.name());
            data += s.data_len as usize;
            assert!(s.holes_at as usize + s.holes_len as usize <= HOLES.len());
            assert!(s.got_symbols_at as usize + s.got_symbols_len as usize <= LISTS.len());
            assert!(s.other_at as usize + s.other_len as usize <= LISTS.len());
        }
        assert_eq!(data, DATA.len());
        for w in STENCILS.windows(2) {
            let end = w[0].pc32_symbols_at as usize + 2 * w[0].pc32_symbols_len as usize;
            assert!(end <= w[1].code_at as usize, "{}", w[0].name());
        }
        assert!(std::str::from_utf8(&STENCIL_NAMES).is_ok());
        assert!(std::str::from_utf8(&SYMBOL_NAMES).is_ok());
        assert!(SYMBOL_NAME_AT.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(SYMBOL_NAME_AT[symbol_count()] as usize, SYMBOL_NAMES.len());
    }

    #[test]
    fn holes_lie_inside_their_stencils() {
        for s in &STENCILS {
            for h in s.holes() {
                assert!(
                    h.offset as usize + h.kind.width() <= s.code().len(),
                    "{}: hole at {} past {} bytes",
                    s.name(),
                    h.offset,
                    s.code().len()
                );
                assert!(
                    h.offset >= s.hot_len
                        || h.offset as usize + h.kind.width() <= s.hot_len as usize,
                    "{}: hole at {} straddles the end of the hot part ({})",
                    s.name(),
                    h.offset,
                    s.hot_len
                );
                match h.target {
                    Target::Symbol(i) => assert!((i as usize) < symbol_count()),
                    Target::Data(off) => assert!((off as usize) <= s.data().len(), "{}", s.name()),
                    Target::Hole(v) => {
                        if v.is_code_target() {
                            assert_eq!(h.kind, PatchKind::Pc32, "{}: {:?}", s.name(), v)
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn no_stencil_ends_in_a_jump_to_its_successor() {
        for s in &STENCILS {
            let n = s.hot_len as usize;
            let tail_jump = n >= 5
                && s.code()[n - 5] == 0xe9
                && s.holes().iter().any(|h| {
                    h.offset as usize == n - 4 && h.target == Target::Hole(HoleValue::Continue)
                });
            assert!(!tail_jump, "{} still ends in jmp _JIT_CONTINUE", s.name());
        }
    }

    #[test]
    fn precomputed_summaries_match_the_holes() {
        for s in &STENCILS {
            for hole in HoleValue::ALL {
                let read = s.holes().iter().any(|h| h.target == Target::Hole(hole));
                assert_eq!(s.uses(hole), read, "{} {hole:?}", s.name());
            }
            let mut got: Vec<u16> = Vec::new();
            let mut pc32: Vec<u16> = Vec::new();
            let mut private = 0;
            for h in s.holes() {
                match (h.kind, h.target) {
                    (PatchKind::GotPc32, Target::Symbol(i)) if !got.contains(&i) => got.push(i),
                    (PatchKind::Pc32, Target::Symbol(i)) if !pc32.contains(&i) => pc32.push(i),
                    (PatchKind::GotPc32, Target::Hole(_) | Target::Data(_)) => private += 1,
                    _ => {}
                }
            }
            assert_eq!(s.got_symbols(), &got[..], "{}", s.name());
            assert_eq!(s.pc32_symbols(), &pc32[..], "{}", s.name());
            assert_eq!(s.private_got as usize, private, "{}", s.name());
            let extras = !s.data().is_empty() || !s.other().is_empty();
            assert_eq!(s.extras, extras, "{}", s.name());
        }
    }

    #[test]
    fn direct_symbol_references_ship_in_their_direct_form() {
        let mut direct = 0;
        for s in &STENCILS {
            for p in s.patches().iter().filter(|p| p.value >= SYMBOL_DIRECT) {
                let form = GotForm::ALL[(p.value - SYMBOL_DIRECT) as usize];
                // The patch is at the direct form's displacement; the form is known by the
                // indirect one's.
                let at = form.disp_at(p.offset as usize)
                    + if p.part == 0 { 0 } else { s.hot_len as usize };
                let mut indirect = s.code().to_vec();
                form.unrelax(&mut indirect, at);
                assert_eq!(GotForm::of(&indirect, at), Some(form), "{}", s.name());
                assert_ne!(
                    GotForm::of(s.code(), at),
                    Some(form),
                    "{}: not relaxed",
                    s.name()
                );
                direct += 1;
            }
        }
        assert!(direct > 100, "only {direct} direct references");
    }

    /// The holes a patch program entry stands for (offset in `code`, kind, target, addend).
    fn patch_holes(s: &Stencil) -> Vec<(u32, PatchKind, Target, i64)> {
        let (n64, n32) = (s.n_abs64 as usize, s.n_abs32 as usize);
        s.patches()
            .iter()
            .enumerate()
            .map(|(k, p)| {
                let offset = p.offset as u32 + if p.part == 0 { 0 } else { s.hot_len };
                let kind = match k {
                    k if k < n64 => PatchKind::Abs64,
                    k if k < n64 + n32 => PatchKind::Abs32,
                    _ if p.value >= GOT_BASE => PatchKind::GotPc32,
                    _ => PatchKind::Pc32,
                };
                if p.value > GOT_BASE {
                    // Made direct: the symbol's index is the addend; the patch is at the direct
                    // form's displacement, the hole keeps the slot form's offset and addend.
                    let form = GotForm::ALL[(p.value - SYMBOL_DIRECT) as usize];
                    let offset = form.disp_at(offset as usize) as u32;
                    let h = s.holes().iter().find(|h| h.offset == offset).unwrap();
                    assert_eq!(h.target, Target::Symbol(p.addend as u16), "{}", s.name());
                    assert_eq!(h.addend, -4, "{}", s.name());
                    (offset, kind, h.target, h.addend)
                } else if p.value == GOT_BASE {
                    // The slot offset folded into the addend: symbol = (addend - a) / 8 for the
                    // hole's own addend a; recovered against the hole at that offset below.
                    let h = s.holes().iter().find(|h| h.offset == offset).unwrap();
                    let Target::Symbol(i) = h.target else {
                        panic!("{}: GOT patch at {offset} is not a symbol", s.name())
                    };
                    assert_eq!(p.addend as i64, h.addend + 8 * i as i64, "{}", s.name());
                    (offset, kind, h.target, h.addend)
                } else {
                    let target = Target::Hole(HoleValue::ALL[p.value as usize]);
                    (offset, kind, target, p.addend as i64)
                }
            })
            .collect()
    }

    #[test]
    fn patch_programs_hold_every_common_hole_once() {
        for s in &STENCILS {
            assert!(s.n_abs64 as usize + s.n_abs32 as usize <= s.patches().len());
            for p in s.patches() {
                let len = if p.part == 0 {
                    s.hot_len as usize
                } else {
                    s.code().len() - s.hot_len as usize
                };
                assert!(p.part < 2 && p.offset as usize + 4 <= len, "{}", s.name());
                assert!(
                    p.value < SYMBOL_DIRECT + GotForm::ALL.len() as u8,
                    "{}",
                    s.name()
                );
            }
            let mut seen = patch_holes(s);
            for &i in s.other() {
                let h = s.holes()[i as usize];
                seen.push((h.offset, h.kind, h.target, h.addend));
            }
            let mut all: Vec<_> = s
                .holes()
                .iter()
                .map(|h| (h.offset, h.kind, h.target, h.addend))
                .collect();
            let key = |x: &(u32, PatchKind, Target, i64)| x.0;
            seen.sort_by_key(key);
            all.sort_by_key(key);
            assert_eq!(seen.len(), all.len(), "{}", s.name());
            for (a, b) in seen.iter().zip(&all) {
                assert!(
                    a.0 == b.0 && a.1 == b.1 && a.2 == b.2 && a.3 == b.3,
                    "{}: {a:?} {b:?}",
                    s.name()
                );
            }
            // Only the rare kinds are left to the general path.
            for &i in s.other() {
                let h = s.holes()[i as usize];
                assert!(
                    !matches!(
                        (h.kind, h.target),
                        (
                            PatchKind::Abs64 | PatchKind::Abs32 | PatchKind::Pc32,
                            Target::Hole(_)
                        ) | (PatchKind::GotPc32, Target::Symbol(_))
                    ),
                    "{}: {h:?}",
                    s.name()
                );
            }
        }
    }

    #[test]
    fn the_frame_exits_exist() {
        for name in ["EXIT_ERROR", "RETURN_VALUE", "RESUME", "LOAD_FAST"] {
            assert!(by_name(name).is_some(), "missing stencil {name}");
        }
    }
}
