//! Bytecode analysis: from a code object's code units to the instruction plan the compiler lays
//! out. Pure: works on a `&[u16]` copy of `co_code_adaptive`, so it is tested without Python.
//!
//! Reads every opcode through the deopt table (the interpreter keeps specialising in place),
//! folds EXTENDED_ARG prefixes into the oparg, skips inline CACHE entries, and resolves jump
//! targets to instruction indices.
//!
//! Entering an instruction after its first EXTENDED_ARG prefix makes the interpreter read a
//! shorter oparg (it folds only the prefixes it executes). Native code has one oparg per
//! instruction, so only an instruction's first code unit is an entry: a jump to any other unit
//! of it refuses the code object ([`AnalysisError::JumpIntoPrefix`]), and exception handlers or
//! resume points there find no native entry and hand the frame to the interpreter.

use crate::opcodes::{self, Jump};
use std::fmt;

/// One instruction, EXTENDED_ARG prefixes folded in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instruction {
    /// Code unit of the first EXTENDED_ARG prefix, or of the instruction itself.
    pub start: usize,
    /// Code unit of the opcode.
    pub unit: usize,
    /// Base (deoptimised) opcode.
    pub opcode: u8,
    pub oparg: u32,
    /// Code unit after the instruction and its inline caches.
    pub next: usize,
    /// Index (into the instruction list) of the jump target, for jumps.
    pub jump_target: Option<usize>,
}

impl Instruction {
    pub fn name(&self) -> &'static str {
        opcodes::name(self.opcode)
    }
}

/// Why a code object cannot be analysed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnalysisError {
    /// A jump lands outside the code or inside an inline cache.
    BadJump { unit: usize, target: i64 },
    /// The code ends inside an instruction's caches or after a dangling EXTENDED_ARG.
    Truncated,
    /// An opcode that is not a CPython 3.11 instruction.
    UnknownOpcode { unit: usize, opcode: u8 },
    /// A jump lands after the first EXTENDED_ARG prefix of the instruction at code unit
    /// `instruction` (hand-made bytecode): the interpreter would run it with a shorter oparg.
    JumpIntoPrefix {
        unit: usize,
        target: usize,
        instruction: usize,
    },
}

impl fmt::Display for AnalysisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnalysisError::BadJump { unit, target } => {
                write!(
                    f,
                    "jump at code unit {unit} to {target} does not land on an instruction"
                )
            }
            AnalysisError::Truncated => write!(f, "bytecode ends in the middle of an instruction"),
            AnalysisError::UnknownOpcode { unit, opcode } => {
                write!(f, "unknown opcode {opcode} at code unit {unit}")
            }
            AnalysisError::JumpIntoPrefix {
                unit,
                target,
                instruction,
            } => write!(
                f,
                "jump at code unit {unit} to {target} skips EXTENDED_ARG prefixes of the \
                 instruction at {instruction} (the interpreter would read a shorter oparg)"
            ),
        }
    }
}

impl std::error::Error for AnalysisError {}

impl AnalysisError {
    /// A short name for the stats (`cpjit.stats()["compile_failed_reasons"]`).
    pub fn reason(&self) -> &'static str {
        match self {
            AnalysisError::BadJump { .. } => "bad_jump",
            AnalysisError::Truncated => "truncated_code",
            AnalysisError::UnknownOpcode { .. } => "unknown_opcode",
            AnalysisError::JumpIntoPrefix { .. } => "jump_into_extended_arg",
        }
    }
}

/// Per code unit, in [`Plan::unit_to_instruction`]: no instruction starts here.
pub const NO_INSTRUCTION: u32 = u32::MAX;

/// The instructions of a code object and, per code unit, which instruction starts there.
#[derive(Debug, Default)]
pub struct Plan {
    pub instructions: Vec<Instruction>,
    /// For each code unit: the index of the instruction that starts there, or
    /// [`NO_INSTRUCTION`] for caches and for the units of an instruction after its first (they
    /// are not native entries: see module doc).
    pub unit_to_instruction: Vec<u32>,
    /// Per instruction: whether some instruction jumps to it.
    pub is_target: Vec<bool>,
    /// The last instruction that jumps backward, if any.
    pub last_backward_jump: Option<usize>,
    /// How many BINARY_OPs and UNARY_NEGATIVEs there are (a float run needs two:
    /// src/opt/float_runs.rs).
    pub operators: usize,
    /// The instructions that jump, in order (scratch of [`analyse_into`]).
    jumps: Vec<u32>,
}

impl Plan {
    /// Room for a code object of `units` code units, asked for without aborting the process
    /// when memory is short (the compiler then leaves the code interpreted).
    pub fn reserve(&mut self, units: usize) -> Result<(), std::collections::TryReserveError> {
        let more = |len: usize| units.saturating_sub(len);
        self.instructions
            .try_reserve(more(self.instructions.len()))?;
        self.is_target.try_reserve(more(self.is_target.len()))?;
        self.jumps.try_reserve(more(self.jumps.len()))?;
        self.unit_to_instruction
            .try_reserve(more(self.unit_to_instruction.len()))
    }
}

/// Decode `units` (the 16-bit words of `co_code_adaptive`).
pub fn analyse(units: &[u16]) -> Result<Plan, AnalysisError> {
    let mut plan = Plan::default();
    analyse_into(units, &mut plan)?;
    Ok(plan)
}

/// [`analyse`] into a plan whose buffers are reused (the compiler keeps one per thread).
pub fn analyse_into(units: &[u16], plan: &mut Plan) -> Result<(), AnalysisError> {
    let instructions = &mut plan.instructions;
    let unit_to_instruction = &mut plan.unit_to_instruction;
    plan.last_backward_jump = None;
    let mut operators = 0usize;
    instructions.clear();
    instructions.reserve(units.len());
    unit_to_instruction.clear();
    unit_to_instruction.resize(units.len(), NO_INSTRUCTION);
    let jumps = opcodes::jump_table();
    // The instructions that jump (their targets are resolved once all starts are known).
    plan.jumps.clear();
    plan.jumps.reserve(units.len());
    let jump_list = plan.jumps.as_mut_ptr();
    let mut n_jumps = 0usize;
    // Written through raw pointers into the reserved capacity (at most one instruction per code
    // unit), the length kept in a local: the loop runs once per instruction of every compile.
    let out = instructions.as_mut_ptr();
    let map = unit_to_instruction.as_mut_ptr();
    let mut count = 0usize;
    let mut i = 0;
    while i < units.len() {
        let start = i;
        let mut oparg: u32 = 0;
        let (opcode, unit) = loop {
            let Some(&word) = units.get(i) else {
                // SAFETY: `count` instructions were written below.
                unsafe { instructions.set_len(count) };
                return Err(AnalysisError::Truncated);
            };
            let op = opcodes::deopt((word & 0xff) as u8);
            oparg = (oparg << 8) | (word >> 8) as u32;
            if op == 0 {
                // SAFETY: as above.
                unsafe { instructions.set_len(count) };
                return Err(AnalysisError::UnknownOpcode {
                    unit: i,
                    opcode: (word & 0xff) as u8,
                });
            }
            if op != opcodes::op::EXTENDED_ARG {
                break (op, i);
            }
            i += 1;
        };
        // `opcode` is a base opcode already: its cache entries directly.
        let next = unit + 1 + opcodes::CACHE_ENTRIES[opcode as usize] as usize;
        if next > units.len() {
            // SAFETY: as above.
            unsafe { instructions.set_len(count) };
            return Err(AnalysisError::Truncated);
        }
        // SAFETY: start < units.len() (the unit read above), the length of
        // `unit_to_instruction`; n_jumps <= count < units.len() <= the reserved capacities,
        // since every instruction takes at least one code unit. (The jump list is written for
        // every instruction and kept for jumps: no branch on the opcode's kind.)
        unsafe {
            *jump_list.add(n_jumps) = count as u32;
            n_jumps += jumps[opcode as usize].is_some() as usize;
            operators += OPERATORS[opcode as usize] as usize;
            *map.add(start) = count as u32;
            out.add(count).write(Instruction {
                start,
                unit,
                opcode,
                oparg,
                next,
                jump_target: None,
            });
        }
        count += 1;
        i = next;
    }
    // SAFETY: `count` instructions were written, within the capacity.
    unsafe { instructions.set_len(count) };
    plan.operators = operators;
    let is_target = &mut plan.is_target;
    is_target.clear();
    is_target.resize(count, false);
    // SAFETY: `n_jumps` entries were written, within the capacity.
    unsafe { plan.jumps.set_len(n_jumps) };
    for &k in &plan.jumps {
        let k = k as usize;
        let ins = &instructions[k];
        let Some(kind) = jumps[ins.opcode as usize] else {
            continue;
        };
        let target = match kind {
            Jump::Forward => ins.next as i64 + ins.oparg as i64,
            Jump::Backward => {
                plan.last_backward_jump = Some(k);
                ins.next as i64 - ins.oparg as i64
            }
        };
        let found = usize::try_from(target)
            .ok()
            .and_then(|t| unit_to_instruction.get(t))
            .filter(|&&idx| idx != NO_INSTRUCTION);
        if let Some(&idx) = found {
            instructions[k].jump_target = Some(idx as usize);
            is_target[idx as usize] = true;
            continue;
        }
        return Err(bad_jump(instructions, ins.unit, target));
    }
    Ok(())
}

/// 1 for the opcodes [`Plan::operators`] counts.
const OPERATORS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[opcodes::op::BINARY_OP as usize] = 1;
    t[opcodes::op::UNARY_NEGATIVE as usize] = 1;
    t
};

/// Why a jump from `unit` to `target` lands on no instruction start: inside an instruction (the
/// units after its first) or in caches or outside the code.
fn bad_jump(instructions: &[Instruction], unit: usize, target: i64) -> AnalysisError {
    let bad = AnalysisError::BadJump { unit, target };
    let Ok(t) = usize::try_from(target) else {
        return bad;
    };
    let inside = instructions
        .partition_point(|ins| ins.start <= t)
        .checked_sub(1)
        .map(|i| &instructions[i])
        .filter(|ins| ins.start < t && t <= ins.unit);
    match inside {
        Some(ins) => AnalysisError::JumpIntoPrefix {
            unit,
            target: t,
            instruction: ins.start,
        },
        None => bad,
    }
}

/// Whether `units` hold a backward jump (a loop). A quick scan for the tiering decision, not an
/// analysis: it stops quietly at anything it cannot decode.
pub fn has_backward_jump(units: &[u16]) -> bool {
    let mut i = 0;
    while let Some(&word) = units.get(i) {
        let op = opcodes::deopt((word & 0xff) as u8);
        if op == 0 {
            return false;
        }
        if opcodes::jump_kind(op) == Some(Jump::Backward) {
            return true;
        }
        i += 1 + opcodes::cache_entries(op);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(name: &str) -> u16 {
        opcodes::by_name(name).unwrap_or_else(|| panic!("{name}")) as u16
    }
    fn word(name: &str, arg: u8) -> u16 {
        op(name) | (arg as u16) << 8
    }

    #[test]
    fn caches_are_skipped_and_units_mapped() {
        // LOAD_FAST 0; BINARY_OP 0 (+1 cache); RETURN_VALUE
        let code = [
            word("LOAD_FAST", 0),
            word("BINARY_OP", 0),
            0,
            word("RETURN_VALUE", 0),
        ];
        let plan = analyse(&code).unwrap();
        let names: Vec<_> = plan.instructions.iter().map(|i| i.name()).collect();
        assert_eq!(names, ["LOAD_FAST", "BINARY_OP", "RETURN_VALUE"]);
        assert_eq!(plan.unit_to_instruction, [0, 1, NO_INSTRUCTION, 2]);
        assert_eq!(plan.instructions[1].next, 3);
    }

    #[test]
    fn extended_args_fold_into_the_oparg() {
        let code = [
            word("EXTENDED_ARG", 1),
            word("EXTENDED_ARG", 2),
            word("LOAD_CONST", 3),
            word("RETURN_VALUE", 0),
        ];
        let plan = analyse(&code).unwrap();
        assert_eq!(plan.instructions[0].oparg, 0x010203);
        assert_eq!(plan.instructions[0].start, 0);
        assert_eq!(plan.instructions[0].unit, 2);
        assert_eq!(
            plan.unit_to_instruction[..3],
            [0, NO_INSTRUCTION, NO_INSTRUCTION]
        );
    }

    #[test]
    fn jumps_past_extended_arg_prefixes_are_refused() {
        // 0 NOP; 1 JUMP_FORWARD -> 3 (the second prefix) or 4 (the opcode); 2 EXTENDED_ARG 1;
        // 3 EXTENDED_ARG 2; 4 LOAD_CONST 3; 5 RETURN_VALUE
        for skip in [1u8, 2] {
            let code = [
                word("NOP", 0),
                word("JUMP_FORWARD", skip),
                word("EXTENDED_ARG", 1),
                word("EXTENDED_ARG", 2),
                word("LOAD_CONST", 3),
                word("RETURN_VALUE", 0),
            ];
            assert_eq!(
                analyse(&code).unwrap_err(),
                AnalysisError::JumpIntoPrefix {
                    unit: 1,
                    target: 2 + skip as usize,
                    instruction: 2
                }
            );
        }
        // Backward, to the opcode after a single prefix.
        let code = [
            word("EXTENDED_ARG", 1),
            word("LOAD_CONST", 0),
            word("POP_TOP", 0),
            word("JUMP_BACKWARD", 3),
        ];
        assert!(matches!(
            analyse(&code),
            Err(AnalysisError::JumpIntoPrefix { target: 1, .. })
        ));
        // To the first prefix: fine.
        let code = [
            word("JUMP_FORWARD", 0),
            word("EXTENDED_ARG", 1),
            word("LOAD_CONST", 0),
            word("RETURN_VALUE", 0),
        ];
        assert_eq!(analyse(&code).unwrap().instructions[0].jump_target, Some(1));
    }

    #[test]
    fn specialised_opcodes_read_as_their_base() {
        let code = [
            word("LOAD_FAST__LOAD_FAST", 0),
            word("LOAD_FAST", 1),
            word("RETURN_VALUE", 0),
        ];
        let plan = analyse(&code).unwrap();
        assert_eq!(plan.instructions[0].name(), "LOAD_FAST");
    }

    #[test]
    fn jumps_resolve_to_instructions() {
        // 0 NOP; 1 JUMP_FORWARD 1 -> unit 3; 2 NOP; 3 JUMP_BACKWARD 4 -> unit 0
        let code = [
            word("NOP", 0),
            word("JUMP_FORWARD", 1),
            word("NOP", 0),
            word("JUMP_BACKWARD", 4),
        ];
        let plan = analyse(&code).unwrap();
        assert_eq!(plan.instructions[1].jump_target, Some(3));
        assert_eq!(plan.instructions[3].jump_target, Some(0));
        assert_eq!(plan.is_target, [true, false, false, true]);
        assert_eq!(plan.last_backward_jump, Some(3));
        let plan = analyse(&[word("NOP", 0), word("JUMP_FORWARD", 0), word("NOP", 0)]).unwrap();
        assert_eq!(plan.last_backward_jump, None);
        assert_eq!(plan.is_target, [false, false, true]);
    }

    #[test]
    fn jumps_into_caches_or_outside_are_refused() {
        let code = [word("JUMP_FORWARD", 1), word("BINARY_OP", 0), 0];
        assert_eq!(
            analyse(&code).unwrap_err(),
            AnalysisError::BadJump { unit: 0, target: 2 }
        );
        let code = [word("JUMP_BACKWARD", 5)];
        assert!(matches!(analyse(&code), Err(AnalysisError::BadJump { .. })));
    }

    #[test]
    fn backward_jumps_are_found_past_caches() {
        // A cache word that reads as JUMP_BACKWARD is not a loop.
        let cache = word("JUMP_BACKWARD", 0);
        assert!(!has_backward_jump(&[
            word("LOAD_FAST", 0),
            word("BINARY_OP", 0),
            cache,
            word("RETURN_VALUE", 0)
        ]));
        assert!(has_backward_jump(&[
            word("NOP", 0),
            word("JUMP_BACKWARD", 2)
        ]));
        assert!(has_backward_jump(&[
            word("NOP", 0),
            word("POP_JUMP_BACKWARD_IF_TRUE", 2)
        ]));
        assert!(!has_backward_jump(&[]));
    }

    #[test]
    fn truncated_code_is_refused() {
        assert_eq!(
            analyse(&[word("BINARY_OP", 0)]).unwrap_err(),
            AnalysisError::Truncated
        );
        assert_eq!(
            analyse(&[word("EXTENDED_ARG", 1)]).unwrap_err(),
            AnalysisError::Truncated
        );
    }
}
