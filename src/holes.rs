//! Holes: the values a stencil leaves open, named once.
//!
//! Each variant stands for one `_JIT_*` symbol that stencils reference (see stencils/stencil.h).
//! build.rs includes this file to classify relocations, and the compiler uses it to compute what
//! goes into each hole. Anything a stencil references that is neither a hole nor an exported
//! function or data symbol fails the build.

/// A value the compiler patches into a copied stencil.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HoleValue {
    /// `_JIT_OPARG`: the oparg, EXTENDED_ARG prefixes folded in.
    Oparg,
    /// `_JIT_INSTR`: address of the instruction's code unit in `co_code_adaptive`.
    Instr,
    /// `_JIT_REDO`: the `prev_instr` that makes the interpreter execute this instruction.
    Redo,
    /// `_JIT_DONE`: the `prev_instr` that makes the interpreter resume after this instruction.
    Done,
    /// `_JIT_CONST`: `co_consts[oparg]`, or 0 when oparg is not a valid index.
    Const,
    /// `_JIT_NAME`: `co_names[oparg]`, or 0 when oparg is not a valid index.
    Name,
    /// `_JIT_NAME_HALF`: `co_names[oparg >> 1]` (LOAD_GLOBAL), or 0.
    NameHalf,
    /// `_JIT_CACHE`: 64 bytes of zeroed, writable memory private to this instruction.
    Cache,
    /// `_JIT_CODE`: the code object being compiled.
    Code,
    /// `_JIT_KWNAMES`: the keyword-names tuple set by a preceding KW_NAMES, or 0 (CALL only).
    KwNames,
    /// `_JIT_STATE`: the code object's `CpjitCodeState` (csrc/cpjit_rt.h).
    State,
    /// `_JIT_OPERAND`: a 64-bit value the compiler worked out for this instruction's stencil
    /// (the float runs' constants: the bits of the double, src/opt/float_runs.rs).
    Operand,
    /// `_JIT_CONTINUE`: the code of the next instruction.
    Continue,
    /// `_JIT_JUMP_TARGET`: the code of the instruction this one jumps to (for a pair stencil:
    /// the one the second instruction of the pair jumps to).
    JumpTarget,
    /// `_JIT_SKIP`: for a pair stencil, the code of the instruction after the pair.
    Skip,
    /// `_JIT_ERROR`: the code object's error exit.
    Error,
    /// `_JIT_HOT`: where this stencil's hot part was placed. Never written in a stencil: build.rs
    /// makes a branch from the cold part back into the hot part (hot-cold splitting, src/split.rs)
    /// a rel32 to this, the offset in the hot part in its addend.
    Hot,
    /// `_JIT_COLD`: where this stencil's cold part was placed (branches from the hot part out to
    /// its cold blocks; the offset in the cold part in the addend).
    Cold,
}

impl HoleValue {
    /// Every hole, in a fixed order.
    pub const ALL: [HoleValue; 18] = [
        HoleValue::Oparg,
        HoleValue::Instr,
        HoleValue::Redo,
        HoleValue::Done,
        HoleValue::Const,
        HoleValue::Name,
        HoleValue::NameHalf,
        HoleValue::Cache,
        HoleValue::Code,
        HoleValue::KwNames,
        HoleValue::State,
        HoleValue::Operand,
        HoleValue::Continue,
        HoleValue::JumpTarget,
        HoleValue::Skip,
        HoleValue::Error,
        HoleValue::Hot,
        HoleValue::Cold,
    ];

    /// The symbol stencils use for this hole.
    pub const fn symbol(self) -> &'static str {
        match self {
            HoleValue::Oparg => "_JIT_OPARG",
            HoleValue::Instr => "_JIT_INSTR",
            HoleValue::Redo => "_JIT_REDO",
            HoleValue::Done => "_JIT_DONE",
            HoleValue::Const => "_JIT_CONST",
            HoleValue::Name => "_JIT_NAME",
            HoleValue::NameHalf => "_JIT_NAME_HALF",
            HoleValue::Cache => "_JIT_CACHE",
            HoleValue::Code => "_JIT_CODE",
            HoleValue::KwNames => "_JIT_KWNAMES",
            HoleValue::State => "_JIT_STATE",
            HoleValue::Operand => "_JIT_OPERAND",
            HoleValue::Continue => "_JIT_CONTINUE",
            HoleValue::JumpTarget => "_JIT_JUMP_TARGET",
            HoleValue::Skip => "_JIT_SKIP",
            HoleValue::Error => "_JIT_ERROR",
            HoleValue::Hot => "_JIT_HOT",
            HoleValue::Cold => "_JIT_COLD",
        }
    }

    /// The hole a symbol names, if it is one.
    pub fn from_symbol(name: &str) -> Option<HoleValue> {
        HoleValue::ALL.into_iter().find(|h| h.symbol() == name)
    }

    /// The Rust path of this variant, for generated code.
    pub fn rust_path(self) -> String {
        format!("HoleValue::{self:?}")
    }

    /// Whether the hole is a code address inside the compiled blob (reached PC-relative).
    pub const fn is_code_target(self) -> bool {
        matches!(
            self,
            HoleValue::Continue
                | HoleValue::JumpTarget
                | HoleValue::Skip
                | HoleValue::Error
                | HoleValue::Hot
                | HoleValue::Cold
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_discriminant_order() {
        // The compiler indexes per-instruction value tables by `hole as usize`.
        for (i, h) in HoleValue::ALL.iter().enumerate() {
            assert_eq!(*h as usize, i, "{h:?}");
        }
    }
}
