//! Annotated machine code of a compiled code object, for `cpjit.dis()`.
//!
//! Nothing is recorded at compile time: the layout (instruction -> stencil -> offset) the
//! compiler keeps anyway names each instruction's stencil, the stencil table says where its holes
//! are and what fills them, and the patched bytes themselves give each hole's value (for a
//! PC-relative hole, its target; through a GOT slot, the slot's contents). The x86-64 text comes
//! from iced-x86's decoder and Intel-syntax formatter. Pure Rust over [`CompiledCode`], tested
//! without an interpreter; naming constants and names is the caller's job ([`Note::Value`]).

use crate::compiler::CompiledCode;
use crate::holes::HoleValue;
use crate::patch::PatchKind;
use crate::stencils::{self, Target};
use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter};

/// What a patched hole inside one machine instruction holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// A value hole (oparg, constant, name, cache, ...) and the value patched in.
    Value(HoleValue, u64),
    /// A code hole (next instruction, jump target, pair skip, error exit) and the offset in the
    /// machine code it reaches.
    Code(HoleValue, u64),
    /// A CPython function or data symbol (direct, through a GOT slot or a veneer); true when
    /// the hole holds its address as a value (`movabs`) rather than calling or jumping to it.
    Symbol(&'static str, bool),
    /// An offset in the stencil's own read-only data.
    Data(u64),
}

/// One machine instruction.
#[derive(Clone, Debug)]
pub struct Line {
    /// Run-time address.
    pub address: u64,
    pub bytes: Vec<u8>,
    /// Intel syntax.
    pub text: String,
    /// The holes patched inside this instruction's bytes.
    pub notes: Vec<Note>,
}

/// The machine code of one part of one bytecode instruction (or of the error exit).
#[derive(Clone, Debug)]
pub struct Block {
    /// Code unit of the bytecode instruction (for the error exit: the number of code units).
    pub unit: u32,
    pub stencil: &'static str,
    /// The stencil's cold part (placed after the hot parts of all instructions).
    pub cold: bool,
    /// Offsets of the block in the machine code.
    pub start: u32,
    pub end: u32,
    pub lines: Vec<Line>,
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    bytes
        .get(at..at + 8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
}

fn read_i32(bytes: &[u8], at: usize) -> Option<i32> {
    bytes
        .get(at..at + 4)
        .map(|b| i32::from_le_bytes(b.try_into().expect("4 bytes")))
}

/// What the hole at `place` (offset in the machine code) of the given kind and target holds.
fn note(
    c: &CompiledCode,
    bytes: &[u8],
    place: usize,
    kind: PatchKind,
    target: Target,
    addend: i64,
) -> Option<Note> {
    let base = c.code.address();
    let symbol = |i: u16| {
        if (i as usize) < stencils::symbol_count() {
            Note::Symbol(stencils::symbol_name(i as usize), kind == PatchKind::Abs64)
        } else {
            Note::Symbol("?", false)
        }
    };
    let value = match kind {
        PatchKind::Abs64 => read_u64(bytes, place)?.wrapping_sub(addend as u64),
        PatchKind::Abs32 => (read_i32(bytes, place)? as u32 as u64).wrapping_sub(addend as u64),
        PatchKind::Pc32 => (base + place as u64)
            .wrapping_add(read_i32(bytes, place)? as i64 as u64)
            .wrapping_sub(addend as u64),
        // A symbol's slot may be the shared table of the code's chunk (memory.rs), outside
        // these bytes: the symbol is known without reading it.
        PatchKind::GotPc32 if matches!(target, Target::Symbol(_)) => 0,
        PatchKind::GotPc32 => {
            let slot = (base + place as u64)
                .wrapping_add(read_i32(bytes, place)? as i64 as u64)
                .wrapping_sub(addend as u64);
            read_u64(bytes, slot.checked_sub(base)? as usize)?
        }
    };
    Some(match target {
        Target::Symbol(i) => symbol(i),
        Target::Data(off) => Note::Data(off),
        // A branch between the parts of a stencil: the hole is the part, the addend holds the
        // offset in it (less the 4 bytes of the displacement); name the branch's target.
        Target::Hole(h @ (HoleValue::Hot | HoleValue::Cold)) => Note::Code(
            h,
            value
                .wrapping_add(addend as u64)
                .wrapping_add(4)
                .wrapping_sub(base),
        ),
        Target::Hole(h) if h.is_code_target() => Note::Code(h, value.wrapping_sub(base)),
        Target::Hole(h) => Note::Value(h, value),
    })
}

/// The hot part (index into `c.placed`) whose machine code starts at `offset`, if any.
pub fn block_at(c: &CompiledCode, offset: u64) -> Option<usize> {
    c.placed
        .binary_search_by(|p| (p.hot as u64).cmp(&offset))
        .ok()
}

/// Whether a layout entry is the error exit's.
pub fn is_error_exit(c: &CompiledCode, unit: u32) -> bool {
    unit as usize == c.entries.len()
}

/// Decode and annotate the machine code of every instruction of `c`, in address order: the hot
/// parts, then the cold parts.
pub fn listing(c: &CompiledCode) -> Vec<Block> {
    let bytes = c.code.bytes();
    let base = c.code.address();
    let mut formatter = IntelFormatter::new();
    formatter
        .options_mut()
        .set_space_after_operand_separator(true);
    formatter.options_mut().set_hex_prefix("0x");
    formatter.options_mut().set_hex_suffix("");
    formatter.options_mut().set_uppercase_hex(false);
    formatter.options_mut().set_branch_leading_zeros(false);
    let (hot, cold) = (c.layout(), c.cold_layout());
    let mut blocks = Vec::with_capacity(hot.len() + cold.len());
    let parts = [(&hot, c.hot_end, false), (&cold, c.code_end, true)];
    for (layout, part_end, cold) in parts {
        for (i, (unit, name, start)) in layout.iter().enumerate() {
            let end = layout.get(i + 1).map_or(part_end, |next| next.2);
            let (s, e) = (*start as usize, (end as usize).min(bytes.len()));
            let holes: Vec<(usize, PatchKind, Target, i64)> = stencils::by_name(name)
                .map(|st| {
                    st.holes()
                        .iter()
                        .filter(|h| (h.offset >= st.hot_len) == cold)
                        .map(|h| {
                            let off = if cold {
                                h.offset - st.hot_len
                            } else {
                                h.offset
                            };
                            (s + off as usize, h.kind, h.target, h.addend)
                        })
                        .collect()
                })
                .unwrap_or_default();
            let mut lines = Vec::new();
            let mut decoder =
                Decoder::with_ip(64, &bytes[s..e], base + s as u64, DecoderOptions::NONE);
            let mut ins = Instruction::default();
            while decoder.can_decode() {
                decoder.decode_out(&mut ins);
                let at = (ins.ip() - base) as usize;
                let len = ins.len();
                let mut text = String::new();
                formatter.format(&ins, &mut text);
                let notes = holes
                    .iter()
                    .filter(|(place, ..)| (at..at + len).contains(place))
                    .filter_map(|&(place, kind, target, addend)| {
                        note(c, bytes, place, kind, target, addend)
                    })
                    .collect();
                lines.push(Line {
                    address: ins.ip(),
                    bytes: bytes[at..at + len].to_vec(),
                    text,
                    notes,
                });
            }
            blocks.push(Block {
                unit: *unit,
                stencil: name,
                cold,
                start: *start,
                end,
                lines,
            });
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compiler::{compile, CodeInput};
    use crate::opcodes;

    fn w(name: &str, arg: u16) -> u16 {
        opcodes::by_name(name).unwrap() as u16 | arg << 8
    }

    fn compiled(units: &[u16]) -> CompiledCode {
        let symbols = vec![0x7000_0000_0000u64; stencils::symbol_count()];
        compile(&CodeInput {
            units,
            units_address: 0x10_0000,
            consts: &[0x2000, 0x3000],
            names: &[0x4000],
            code_address: 0x5000,
            state_address: 0x6000,
            symbols: &symbols,
            numbers: None,
        })
        .unwrap()
    }

    #[test]
    fn every_byte_decodes_once_and_blocks_follow_the_layout() {
        // LOAD_FAST has a cold part (the unbound-local path).
        let c = compiled(&[w("RESUME", 0), w("LOAD_FAST", 0), w("RETURN_VALUE", 0)]);
        let blocks = listing(&c);
        assert_eq!(blocks.len(), c.layout().len() + c.cold_layout().len());
        assert!(!c.cold_layout().is_empty(), "stencils have cold parts");
        assert!(blocks.iter().all(|b| b.cold == (b.start >= c.hot_end)));
        let mut at = c.code.address();
        for b in &blocks {
            assert_eq!(b.lines[0].address, c.code.address() + b.start as u64);
            for l in &b.lines {
                assert_eq!(l.address, at, "{}", b.stencil);
                assert!(
                    !l.text.is_empty() && !l.text.contains("(bad)"),
                    "{}",
                    l.text
                );
                at += l.bytes.len() as u64;
            }
        }
        assert_eq!(at, c.code.address() + c.code_end as u64);
        let hot: Vec<&Block> = blocks.iter().filter(|b| !b.cold).collect();
        assert_eq!(hot.last().unwrap().stencil, "EXIT_ERROR");
        assert!(is_error_exit(&c, hot.last().unwrap().unit));
    }

    #[test]
    fn every_hole_is_found_with_the_value_the_compiler_patched() {
        let c = compiled(&[w("RESUME", 0), w("LOAD_CONST", 1), w("RETURN_VALUE", 0)]);
        let blocks = listing(&c);
        for b in &blocks {
            let st = stencils::by_name(b.stencil).unwrap();
            let n: usize = b.lines.iter().map(|l| l.notes.len()).sum();
            let in_part = st
                .holes()
                .iter()
                .filter(|h| (h.offset >= st.hot_len) == b.cold)
                .count();
            assert_eq!(
                n, in_part,
                "{}: each hole lies in one instruction",
                b.stencil
            );
        }
        let notes: Vec<&Note> = blocks[1].lines.iter().flat_map(|l| &l.notes).collect();
        if stencils::by_name("LOAD_CONST")
            .unwrap()
            .uses(HoleValue::Const)
        {
            assert!(
                notes.contains(&&Note::Value(HoleValue::Const, 0x3000)),
                "{notes:?}"
            );
        }
        // Every code hole lands on the start of a block (or the trap after the last one); a
        // branch between the parts of a stencil lands inside its other part.
        for b in &blocks {
            for n in b.lines.iter().flat_map(|l| &l.notes) {
                // The other part of the same instruction's stencil (a branch back may reach
                // the end of the hot part: the next instruction).
                let other = |cold: bool| {
                    blocks
                        .iter()
                        .find(|o| o.cold == cold && o.unit == b.unit && o.stencil == b.stencil)
                        .map(|o| (o.start as u64, o.end as u64))
                        .expect("the other part")
                };
                match n {
                    Note::Code(HoleValue::Cold, off) => {
                        let (start, end) = other(true);
                        assert!(!b.cold && start <= *off && *off < end, "{n:?}");
                    }
                    Note::Code(HoleValue::Hot, off) => {
                        let (start, end) = other(false);
                        assert!(b.cold && start <= *off && *off <= end, "{n:?}");
                    }
                    _ => {}
                }
            }
        }
        for n in blocks.iter().flat_map(|b| &b.lines).flat_map(|l| &l.notes) {
            if let Note::Code(HoleValue::Continue | HoleValue::JumpTarget | HoleValue::Skip, off) =
                n
            {
                assert!(
                    block_at(&c, *off).is_some() || *off < c.hot_end as u64,
                    "{n:?}"
                );
            }
        }
    }

    #[test]
    fn jump_targets_name_the_target_instruction() {
        // 0 LOAD_FAST, 1 POP_JUMP_FORWARD_IF_FALSE +1 (to 3), 2 LOAD_CONST, 3 RETURN_VALUE
        let c = compiled(&[
            w("LOAD_FAST", 0),
            w("POP_JUMP_FORWARD_IF_FALSE", 1),
            w("LOAD_CONST", 0),
            w("RETURN_VALUE", 0),
        ]);
        let blocks = listing(&c);
        let targets: Vec<u64> = blocks[1]
            .lines
            .iter()
            .flat_map(|l| &l.notes)
            .filter_map(|n| match n {
                Note::Code(HoleValue::JumpTarget, off) => Some(*off),
                _ => None,
            })
            .collect();
        assert!(!targets.is_empty());
        for t in targets {
            assert_eq!(block_at(&c, t).map(|i| c.placed[i].unit), Some(3));
        }
    }
}
