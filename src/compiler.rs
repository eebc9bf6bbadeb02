//! The compiler: instruction plan -> laid-out, patched, sealed machine code for one code object.
//!
//! Layout of one compiled code object (a single mapping):
//!
//! ```text
//! [stencil of instruction 0][stencil 1]...[trap][EXIT_ERROR] [stencil data...] [GOT] [veneers]
//! ```
//!
//! Each instruction gets the stencil named after its base opcode, or a variant named
//! `<OPCODE>__<oparg>` when one exists; an opcode without a stencil gets `UNSUPPORTED`, which
//! hands the frame to the interpreter before that instruction. A *pair* stencil
//! `<OPCODE>__<oparg>__<NEXT_OPCODE>` replaces an instruction's stencil when the next
//! instruction is NEXT_OPCODE: it may do the work of both and continue at `_JIT_SKIP` (after the
//! pair) or at the second instruction's jump target, or fall into the second instruction's own
//! stencil, which is still laid out after it (so jumps and entries to it are unchanged). Calls to CPython go through GOT
//! slots in the same mapping; a PC-relative reference to an external symbol out of 32-bit range
//! goes through a veneer (`jmp *[rip]`). Inputs are plain addresses, so this module is tested
//! without an interpreter; reading them off a code object is the runtime's job.

use crate::analysis::{self, AnalysisError, Plan};
use crate::holes::HoleValue;
use crate::memory::{ExecutableCode, WritableCode};
use crate::opcodes;
use crate::patch::{self, PatchError, PatchKind};
use crate::stencils::{self, Stencil, Target};
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

/// Bytes of private writable cache per instruction that asks for `_JIT_CACHE`.
pub const CACHE_BYTES: usize = 64;
/// Entry value for a code unit where native code cannot be entered (inline caches).
pub const NO_ENTRY: u32 = u32::MAX;
/// The largest code object cpjit compiles (code units); larger ones stay interpreted.
pub const MAX_UNITS: usize = 1 << 20;

/// What the compiler needs of a code object, as addresses.
pub struct CodeInput<'a> {
    /// The words of `co_code_adaptive`.
    pub units: &'a [u16],
    /// Run-time address of `units[0]` (instruction pointers point into it).
    pub units_address: u64,
    /// Addresses of `co_consts` items.
    pub consts: &'a [u64],
    /// Addresses of `co_names` items.
    pub names: &'a [u64],
    /// Address of the code object.
    pub code_address: u64,
    /// Address of the code object's `CpjitCodeState`.
    pub state_address: u64,
    /// Address of each external symbol in [`stencils::SYMBOLS`] order.
    pub symbols: &'a [u64],
}

/// A compiled code object: sealed code plus what must live as long as it.
pub struct CompiledCode {
    pub code: ExecutableCode,
    /// Per code unit: offset of the native code to enter there, or [`NO_ENTRY`].
    pub entries: Box<[u32]>,
    /// Per-instruction writable caches the code points into.
    pub caches: Box<[u8]>,
    pub instructions: usize,
    /// Instructions that got the UNSUPPORTED stencil (their names).
    pub unsupported: Vec<&'static str>,
    /// Per instruction: its code unit, the stencil used and where its code starts.
    pub layout: Vec<(u32, &'static str, u32)>,
    /// Where the machine code ends (stencil data, GOT and veneers follow).
    pub code_end: u32,
}

impl CompiledCode {
    pub fn native_bytes(&self) -> usize {
        self.code.len()
    }
}

/// Why a code object was not compiled.
#[derive(Debug)]
pub enum CompileError {
    Analysis(AnalysisError),
    Patch {
        stencil: &'static str,
        error: PatchError,
    },
    TooLarge {
        units: usize,
    },
    MissingStencil(&'static str),
    Memory(std::io::Error),
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::Analysis(e) => write!(f, "bytecode analysis failed: {e}"),
            CompileError::Patch { stencil, error } => write!(f, "patching {stencil}: {error}"),
            CompileError::TooLarge { units } => {
                write!(
                    f,
                    "code object has {units} code units, more than cpjit compiles ({MAX_UNITS})"
                )
            }
            CompileError::MissingStencil(n) => write!(f, "stencil {n} is missing from this build"),
            CompileError::Memory(e) => write!(f, "cannot map executable memory: {e}"),
        }
    }
}

impl std::error::Error for CompileError {}

impl CompileError {
    /// A short name for the stats (`cpjit.stats()["compile_failed_reasons"]`).
    pub fn reason(&self) -> &'static str {
        match self {
            CompileError::Analysis(e) => e.reason(),
            CompileError::Patch { .. } => "patch",
            CompileError::TooLarge { .. } => "too_large",
            CompileError::MissingStencil(_) => "missing_stencil",
            CompileError::Memory(e) if crate::memory::is_cap_reached(e) => "code_cap_reached",
            CompileError::Memory(_) => "memory",
        }
    }
}

impl From<AnalysisError> for CompileError {
    fn from(e: AnalysisError) -> Self {
        CompileError::Analysis(e)
    }
}

/// Stencil choice per opcode, computed once.
struct Selection {
    generic: [Option<&'static Stencil>; 256],
    variants: HashMap<(u8, u32), &'static Stencil>,
    pairs: HashMap<(u8, u32, u8), &'static Stencil>,
    unsupported: &'static Stencil,
    exit_error: &'static Stencil,
    /// JUMP_BACKWARD of a code object's last loop when it is a `for` loop (stencils/jumps.c).
    last_for_jump: Option<&'static Stencil>,
}

fn selection() -> Result<&'static Selection, CompileError> {
    static SELECTION: OnceLock<Option<Selection>> = OnceLock::new();
    SELECTION
        .get_or_init(|| {
            let mut generic = [None; 256];
            let mut variants = HashMap::new();
            let mut pairs = HashMap::new();
            for s in stencils::STENCILS {
                let parts: Vec<&str> = s.name.split("__").collect();
                if let [first, arg, second] = parts[..] {
                    if let (Some(op), Ok(arg), Some(next)) = (
                        opcodes::by_name(first),
                        arg.parse::<u32>(),
                        opcodes::by_name(second),
                    ) {
                        pairs.insert((op, arg, next), s);
                    }
                } else if let Some((base, arg)) = s.name.split_once("__") {
                    if let (Some(op), Ok(arg)) = (opcodes::by_name(base), arg.parse::<u32>()) {
                        variants.insert((op, arg), s);
                    }
                } else if let Some(op) = opcodes::by_name(s.name) {
                    generic[op as usize] = Some(s);
                }
            }
            Some(Selection {
                generic,
                variants,
                pairs,
                unsupported: stencils::by_name("UNSUPPORTED")?,
                exit_error: stencils::by_name("EXIT_ERROR")?,
                last_for_jump: stencils::by_name("JUMP_BACKWARD_LAST_FOR"),
            })
        })
        .as_ref()
        .ok_or(CompileError::MissingStencil("UNSUPPORTED or EXIT_ERROR"))
}

/// The JUMP_BACKWARD that closes the code object's last loop, if no backward jump of any kind
/// follows it and it jumps back to a FOR_ITER: the only jump where handing the rest of the frame
/// to the interpreter is bounded by the loop's iterator.
fn last_for_loop_jump(plan: &Plan) -> Option<usize> {
    let last_backward = plan
        .instructions
        .iter()
        .rposition(|ins| opcodes::jump_kind(ins.opcode) == Some(opcodes::Jump::Backward))?;
    let ins = &plan.instructions[last_backward];
    let target = &plan.instructions[ins.jump_target?];
    let is = |op: u8, name: &str| opcodes::by_name(name) == Some(op);
    (is(ins.opcode, "JUMP_BACKWARD") && is(target.opcode, "FOR_ITER")).then_some(last_backward)
}

/// x86-64 `ud2`: what follows the last instruction, which never falls through.
const TRAP: [u8; 2] = [0x0f, 0x0b];
/// `jmp *[rip+0]` followed by the 8-byte target.
const VENEER_SIZE: usize = 16;

fn align(n: usize, a: usize) -> usize {
    n.div_ceil(a) * a
}

/// Compile one code object.
pub fn compile(input: &CodeInput) -> Result<CompiledCode, CompileError> {
    if input.units.len() > MAX_UNITS {
        return Err(CompileError::TooLarge {
            units: input.units.len(),
        });
    }
    let plan = analysis::analyse(input.units)?;
    compile_plan(input, &plan)
}

fn compile_plan(input: &CodeInput, plan: &Plan) -> Result<CompiledCode, CompileError> {
    let sel = selection()?;
    let n = plan.instructions.len();
    let mut unsupported = Vec::new();

    // Choose stencils and lay out code.
    let mut chosen: Vec<&'static Stencil> = Vec::with_capacity(n + 1);
    let mut code_offset: Vec<usize> = Vec::with_capacity(n + 2);
    let mut at = 0usize;
    let mut paired: Vec<bool> = vec![false; n];
    let last_for_jump = last_for_loop_jump(plan);
    for (i, ins) in plan.instructions.iter().enumerate() {
        let pair = plan
            .instructions
            .get(i + 1)
            .and_then(|next| sel.pairs.get(&(ins.opcode, ins.oparg, next.opcode)))
            .copied();
        paired[i] = pair.is_some();
        let s = pair
            .or(if Some(i) == last_for_jump {
                sel.last_for_jump
            } else {
                None
            })
            .or_else(|| sel.variants.get(&(ins.opcode, ins.oparg)).copied())
            .or(sel.generic[ins.opcode as usize])
            .unwrap_or_else(|| {
                unsupported.push(ins.name());
                sel.unsupported
            });
        code_offset.push(at);
        at += s.code.len();
        chosen.push(s);
    }
    let trap_offset = at;
    at += TRAP.len();
    let error_offset = at;
    at += sel.exit_error.code.len();
    chosen.push(sel.exit_error);
    code_offset.push(error_offset);

    // Stencil data, GOT, veneers.
    let mut data_offset = Vec::with_capacity(chosen.len());
    at = align(at, 16);
    for s in &chosen {
        data_offset.push(at);
        at = align(at + s.data.len(), 16);
    }
    let mut got: Vec<u64> = Vec::new();
    let mut got_index: HashMap<u64, usize> = HashMap::new();
    let mut veneer_index: HashMap<u64, usize> = HashMap::new();
    let cache_users: Vec<bool> = chosen.iter().map(|s| s.uses(HoleValue::Cache)).collect();
    let cache_slot: Vec<usize> = cache_users
        .iter()
        .scan(0usize, |next, used| {
            let slot = *next;
            if *used {
                *next += 1;
            }
            Some(slot)
        })
        .collect();
    let caches =
        vec![0u8; cache_users.iter().filter(|u| **u).count() * CACHE_BYTES].into_boxed_slice();
    let caches_address = caches.as_ptr() as u64;

    // First pass over holes: collect GOT slots and veneers (values known before placement).
    let mut kwnames_for: Vec<u64> = vec![0; n];
    {
        let kw_names = opcodes::by_name("KW_NAMES");
        let call = opcodes::by_name("CALL");
        let mut pending = 0u64;
        for (i, ins) in plan.instructions.iter().enumerate() {
            if Some(ins.opcode) == kw_names {
                pending = input.consts.get(ins.oparg as usize).copied().unwrap_or(0);
            } else if Some(ins.opcode) == call {
                kwnames_for[i] = pending;
                pending = 0;
            }
        }
    }
    let symbol = |i: u16| input.symbols.get(i as usize).copied().unwrap_or(0);
    for s in &chosen {
        for h in s.holes {
            match (h.kind, h.target) {
                (PatchKind::GotPc32, Target::Symbol(i)) => {
                    let v = symbol(i);
                    got_index.entry(v).or_insert_with(|| {
                        got.push(v);
                        got.len() - 1
                    });
                }
                (PatchKind::Pc32, Target::Symbol(i)) => {
                    let v = symbol(i);
                    let next = veneer_index.len();
                    veneer_index.entry(v).or_insert(next);
                }
                (PatchKind::GotPc32, Target::Hole(_)) | (PatchKind::GotPc32, Target::Data(_)) => {
                    // Values of these depend on the instruction; they get private slots below.
                }
                _ => {}
            }
        }
    }
    // GOT slots for instruction-dependent GOT references (rare; clang uses movabs for holes).
    let private_got: usize = chosen
        .iter()
        .map(|s| {
            s.holes
                .iter()
                .filter(|h| h.kind == PatchKind::GotPc32 && !matches!(h.target, Target::Symbol(_)))
                .count()
        })
        .sum();
    let got_offset = align(at, 8);
    at = got_offset + 8 * (got.len() + private_got);
    let veneer_offset = align(at, 16);
    at = veneer_offset + VENEER_SIZE * veneer_index.len();
    let total = at;

    let mut mem = WritableCode::new(total).map_err(CompileError::Memory)?;
    let base = mem.address();
    let buf = mem.bytes_mut();

    // Copy.
    for (i, s) in chosen.iter().enumerate() {
        buf[code_offset[i]..code_offset[i] + s.code.len()].copy_from_slice(s.code);
        buf[data_offset[i]..data_offset[i] + s.data.len()].copy_from_slice(s.data);
    }
    buf[trap_offset..trap_offset + TRAP.len()].copy_from_slice(&TRAP);
    for (v, idx) in &got_index {
        let o = got_offset + 8 * idx;
        buf[o..o + 8].copy_from_slice(&v.to_le_bytes());
    }
    for (v, idx) in &veneer_index {
        let o = veneer_offset + VENEER_SIZE * idx;
        buf[o..o + 6].copy_from_slice(&[0xff, 0x25, 0, 0, 0, 0]);
        buf[o + 6..o + 14].copy_from_slice(&v.to_le_bytes());
        buf[o + 14..o + 16].copy_from_slice(&TRAP);
    }

    // Patch.
    let mut next_private_got = got.len();
    for (i, s) in chosen.iter().enumerate() {
        let ins = plan.instructions.get(i);
        let code_at = code_offset[i];
        let next_code = if i + 1 < n {
            code_offset[i + 1]
        } else {
            trap_offset
        };
        for h in s.holes {
            let value = match h.target {
                Target::Symbol(idx) => symbol(idx),
                Target::Data(off) => base + (data_offset[i] as u64) + off,
                Target::Hole(hole) => {
                    let Some(ins) = ins else {
                        // The error exit uses no per-instruction holes.
                        return Err(CompileError::Patch {
                            stencil: s.name,
                            error: PatchError::OutOfBounds {
                                offset: h.offset as usize,
                                width: 0,
                                len: 0,
                            },
                        });
                    };
                    let unit_addr = |u: usize| input.units_address.wrapping_add(2 * u as u64);
                    match hole {
                        HoleValue::Oparg => ins.oparg as u64,
                        HoleValue::Instr => unit_addr(ins.unit),
                        HoleValue::Redo => unit_addr(ins.start).wrapping_sub(2),
                        HoleValue::Done => unit_addr(ins.next - 1),
                        HoleValue::Const => {
                            input.consts.get(ins.oparg as usize).copied().unwrap_or(0)
                        }
                        HoleValue::Name => {
                            input.names.get(ins.oparg as usize).copied().unwrap_or(0)
                        }
                        HoleValue::NameHalf => input
                            .names
                            .get((ins.oparg >> 1) as usize)
                            .copied()
                            .unwrap_or(0),
                        HoleValue::Cache => caches_address + (cache_slot[i] * CACHE_BYTES) as u64,
                        HoleValue::Code => input.code_address,
                        HoleValue::KwNames => kwnames_for[i],
                        HoleValue::State => input.state_address,
                        HoleValue::Continue => base + next_code as u64,
                        HoleValue::JumpTarget => {
                            let jumper = if paired[i] {
                                &plan.instructions[i + 1]
                            } else {
                                ins
                            };
                            match jumper.jump_target {
                                Some(t) => base + code_offset[t] as u64,
                                None => base + trap_offset as u64,
                            }
                        }
                        HoleValue::Skip => {
                            let after = if i + 2 < n {
                                code_offset[i + 2]
                            } else {
                                trap_offset
                            };
                            base + after as u64
                        }
                        HoleValue::Error => base + error_offset as u64,
                    }
                }
            };
            let offset = code_at + h.offset as usize;
            let place = base + offset as u64;
            let result = match (h.kind, h.target) {
                (PatchKind::Abs64, _) => {
                    patch::patch_abs64(buf, offset, value.wrapping_add(h.addend as u64))
                }
                (PatchKind::Abs32, _) => {
                    patch::patch_abs32(buf, offset, value.wrapping_add(h.addend as u64))
                }
                (PatchKind::Pc32, Target::Symbol(_)) => {
                    let direct = patch::patch_pc32(buf, offset, place, value, h.addend);
                    if direct.is_ok() {
                        direct
                    } else {
                        let v = veneer_offset + VENEER_SIZE * veneer_index[&value];
                        patch::patch_pc32(buf, offset, place, base + v as u64, h.addend)
                    }
                }
                (PatchKind::Pc32, _) => patch::patch_pc32(buf, offset, place, value, h.addend),
                (PatchKind::GotPc32, Target::Symbol(_)) => {
                    let slot = got_offset + 8 * got_index[&value];
                    patch::patch_pc32(buf, offset, place, base + slot as u64, h.addend)
                }
                (PatchKind::GotPc32, _) => {
                    let slot = got_offset + 8 * next_private_got;
                    next_private_got += 1;
                    buf[slot..slot + 8].copy_from_slice(&value.to_le_bytes());
                    patch::patch_pc32(buf, offset, place, base + slot as u64, h.addend)
                }
            };
            result.map_err(|error| CompileError::Patch {
                stencil: s.name,
                error,
            })?;
        }
    }

    let mut entries = vec![NO_ENTRY; input.units.len()].into_boxed_slice();
    for (unit, ins) in plan.unit_to_instruction.iter().enumerate() {
        if let Some(i) = ins {
            entries[unit] = code_offset[*i] as u32;
        }
    }
    let layout = plan
        .instructions
        .iter()
        .enumerate()
        .map(|(i, ins)| (ins.unit as u32, chosen[i].name, code_offset[i] as u32))
        .chain(std::iter::once((
            input.units.len() as u32,
            sel.exit_error.name,
            error_offset as u32,
        )))
        .collect();
    let code = mem.seal().map_err(CompileError::Memory)?;
    let code_end = (error_offset + sel.exit_error.code.len()) as u32;
    Ok(CompiledCode {
        code,
        entries,
        caches,
        instructions: n,
        unsupported,
        layout,
        code_end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(name: &str, arg: u8) -> u16 {
        opcodes::by_name(name).unwrap() as u16 | (arg as u16) << 8
    }

    fn input<'a>(units: &'a [u16], symbols: &'a [u64]) -> CodeInput<'a> {
        CodeInput {
            units,
            units_address: 0x10_0000,
            consts: &[0x2000, 0x3000],
            names: &[0x4000],
            code_address: 0x5000,
            state_address: 0x6000,
            symbols,
        }
    }

    #[test]
    fn compiles_and_maps_entries() {
        let symbols = vec![0x7000_0000_0000u64; stencils::SYMBOLS.len()];
        let units = [
            word("RESUME", 0),
            word("LOAD_CONST", 0),
            word("RETURN_VALUE", 0),
        ];
        let c = compile(&input(&units, &symbols)).unwrap();
        assert_eq!(c.instructions, 3);
        assert_eq!(c.entries[0], 0);
        assert!(c.entries[1] > 0 && c.entries[2] > c.entries[1]);
        assert!(c.native_bytes() >= c.entries[2] as usize);
    }

    #[test]
    fn only_a_last_for_loop_gets_the_quickening_jump() {
        let plan_of = |units: &[u16]| analysis::analyse(units).unwrap();
        let for_loop = [
            word("LOAD_FAST", 0),
            word("GET_ITER", 0),
            word("FOR_ITER", 2),
            word("STORE_FAST", 1),
            word("JUMP_BACKWARD", 3),
            word("LOAD_CONST", 0),
            word("RETURN_VALUE", 0),
        ];
        assert_eq!(last_for_loop_jump(&plan_of(&for_loop)), Some(4));
        // A loop follows it: the rest of the frame is not bounded by the iterator.
        let mut then_while = for_loop[..5].to_vec();
        then_while.extend([
            word("LOAD_CONST", 0),
            word("POP_JUMP_BACKWARD_IF_TRUE", 2),
            word("LOAD_CONST", 0),
            word("RETURN_VALUE", 0),
        ]);
        assert_eq!(last_for_loop_jump(&plan_of(&then_while)), None);
        // `while True:` jumps back to something else than FOR_ITER.
        let while_true = [word("NOP", 0), word("JUMP_BACKWARD", 2)];
        assert_eq!(last_for_loop_jump(&plan_of(&while_true)), None);
    }

    #[test]
    fn caches_have_no_entry() {
        let symbols = vec![0x7000_0000_0000u64; stencils::SYMBOLS.len()];
        let units = [
            word("LOAD_CONST", 0),
            word("LOAD_CONST", 1),
            word("BINARY_OP", 0),
            0,
            word("RETURN_VALUE", 0),
        ];
        let c = compile(&input(&units, &symbols)).unwrap();
        assert_eq!(c.entries[3], NO_ENTRY);
        assert_ne!(c.entries[2], NO_ENTRY);
    }

    #[test]
    fn bad_bytecode_is_an_error_not_a_crash() {
        let symbols = vec![0u64; stencils::SYMBOLS.len()];
        let units = [word("JUMP_FORWARD", 9)];
        assert!(matches!(
            compile(&input(&units, &symbols)),
            Err(CompileError::Analysis(_))
        ));
    }

    #[test]
    fn compare_then_branch_uses_a_pair_stencil_and_keeps_the_branch() {
        let symbols = vec![0x7000_0000_0000u64; stencils::SYMBOLS.len()];
        let caches = opcodes::cache_entries(opcodes::by_name("COMPARE_OP").unwrap());
        let mut units = vec![
            word("LOAD_FAST", 0),
            word("LOAD_FAST", 1),
            word("COMPARE_OP", 0),
        ];
        units.extend(std::iter::repeat_n(0, caches));
        let branch_unit = units.len();
        units.extend([
            word("POP_JUMP_FORWARD_IF_FALSE", 1),
            word("LOAD_CONST", 0),
            word("RETURN_VALUE", 0),
        ]);
        let c = compile(&input(&units, &symbols)).unwrap();
        let names: Vec<&str> = c.layout.iter().map(|(_, name, _)| *name).collect();
        assert_eq!(
            names[..5],
            [
                "LOAD_FAST",
                "LOAD_FAST",
                "COMPARE_OP__0__POP_JUMP_FORWARD_IF_FALSE",
                "POP_JUMP_FORWARD_IF_FALSE",
                "LOAD_CONST"
            ]
        );
        assert_ne!(
            c.entries[branch_unit], NO_ENTRY,
            "the branch keeps its own entry"
        );
    }

    #[test]
    fn oparg_is_patched_into_the_stencil() {
        let symbols = vec![0x7000_0000_0000u64; stencils::SYMBOLS.len()];
        let units = [word("LOAD_FAST", 0xab), word("RETURN_VALUE", 0)];
        let c = compile(&input(&units, &symbols)).unwrap();
        let s = stencils::by_name("LOAD_FAST").unwrap();
        let oparg_hole = s
            .holes
            .iter()
            .find(|h| h.target == Target::Hole(HoleValue::Oparg));
        if let Some(h) = oparg_hole {
            let at = h.offset as usize;
            let bytes = &c.code.bytes()[at..at + h.kind.width()];
            assert_eq!(bytes[0] as i64, (0xab + h.addend) & 0xff);
        }
    }
}
