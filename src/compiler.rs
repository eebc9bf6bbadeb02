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
    /// `CodeInput::symbols` is shorter than the stencils' symbol table.
    SymbolTable {
        have: usize,
        need: usize,
    },
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
            CompileError::SymbolTable { have, need } => {
                write!(f, "{have} symbol addresses given, the stencils use {need}")
            }
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
            CompileError::SymbolTable { .. } => "symbol_table",
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

/// Pair stencils of one opcode: (oparg, next opcode, stencil).
type Pairs = Box<[(u32, u8, &'static Stencil)]>;

/// Stencil choice per opcode, computed once. Plain arrays: the compiler looks a stencil up per
/// instruction, so no hashing.
struct Selection {
    generic: [Option<&'static Stencil>; 256],
    /// Per opcode, indexed by oparg: the `<OPCODE>__<oparg>` variants (empty: none).
    variants: [Box<[Option<&'static Stencil>]>; 256],
    /// Per opcode: the pair stencils `<OPCODE>__<oparg>__<NEXT>` as (oparg, next, stencil).
    pairs: [Pairs; 256],
    unsupported: &'static Stencil,
    exit_error: &'static Stencil,
    /// JUMP_BACKWARD of a code object's last loop when it is a `for` loop (stencils/jumps.c).
    last_for_jump: Option<&'static Stencil>,
}

impl Selection {
    fn variant(&self, op: u8, oparg: u32) -> Option<&'static Stencil> {
        self.variants[op as usize]
            .get(oparg as usize)
            .copied()
            .flatten()
    }

    fn pair(&self, op: u8, oparg: u32, next: u8) -> Option<&'static Stencil> {
        self.pairs[op as usize]
            .iter()
            .find(|(a, n, _)| *a == oparg && *n == next)
            .map(|(_, _, s)| *s)
    }
}

fn selection() -> Result<&'static Selection, CompileError> {
    static SELECTION: OnceLock<Option<Selection>> = OnceLock::new();
    SELECTION
        .get_or_init(|| {
            let mut generic = [None; 256];
            let mut variants: Vec<Vec<Option<&'static Stencil>>> = vec![Vec::new(); 256];
            let mut pairs: Vec<Vec<(u32, u8, &'static Stencil)>> = vec![Vec::new(); 256];
            for s in stencils::STENCILS {
                let parts: Vec<&str> = s.name.split("__").collect();
                if let [first, arg, second] = parts[..] {
                    if let (Some(op), Ok(arg), Some(next)) = (
                        opcodes::by_name(first),
                        arg.parse::<u32>(),
                        opcodes::by_name(second),
                    ) {
                        pairs[op as usize].push((arg, next, s));
                    }
                } else if let Some((base, arg)) = s.name.split_once("__") {
                    if let (Some(op), Ok(arg)) = (opcodes::by_name(base), arg.parse::<usize>()) {
                        let v = &mut variants[op as usize];
                        if v.len() <= arg {
                            v.resize(arg + 1, None);
                        }
                        v[arg] = Some(s);
                    }
                } else if let Some(op) = opcodes::by_name(s.name) {
                    generic[op as usize] = Some(s);
                }
            }
            let mut variants = variants.into_iter().map(Vec::into_boxed_slice);
            let mut pairs = pairs.into_iter().map(Vec::into_boxed_slice);
            Some(Selection {
                generic,
                variants: std::array::from_fn(|_| variants.next().unwrap_or_default()),
                pairs: std::array::from_fn(|_| pairs.next().unwrap_or_default()),
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

/// Per-compile working memory, kept between compiles (no allocation churn). Symbol-indexed
/// tables are valid where their stamp equals the current compile's, so they are never cleared.
#[derive(Default)]
struct Scratch {
    chosen: Vec<&'static Stencil>,
    code_offset: Vec<u32>,
    data_offset: Vec<u32>,
    paired: Vec<bool>,
    cache_slot: Vec<u32>,
    kwnames_for: Vec<u64>,
    /// GOT slot values, in slot order.
    got: Vec<u64>,
    /// Per symbol: its GOT slot, or its veneer, when the stamp matches.
    got_slot: Vec<u32>,
    got_stamp: Vec<u32>,
    veneers: Vec<u64>,
    veneer_slot: Vec<u32>,
    veneer_stamp: Vec<u32>,
    stamp: u32,
}

impl Scratch {
    fn start(&mut self, symbols: usize) {
        self.chosen.clear();
        self.code_offset.clear();
        self.data_offset.clear();
        self.paired.clear();
        self.cache_slot.clear();
        self.kwnames_for.clear();
        self.got.clear();
        self.veneers.clear();
        for v in [&mut self.got_stamp, &mut self.veneer_stamp] {
            if v.len() < symbols {
                v.resize(symbols, 0);
            }
        }
        for v in [&mut self.got_slot, &mut self.veneer_slot] {
            if v.len() < symbols {
                v.resize(symbols, 0);
            }
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.got_stamp.fill(0);
            self.veneer_stamp.fill(0);
            self.stamp = 1;
        }
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

fn compile_plan(input: &CodeInput, plan: &Plan) -> Result<CompiledCode, CompileError> {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => compile_with(input, plan, &mut scratch),
        Err(_) => compile_with(input, plan, &mut Scratch::default()),
    })
}

fn compile_with(
    input: &CodeInput,
    plan: &Plan,
    sc: &mut Scratch,
) -> Result<CompiledCode, CompileError> {
    let sel = selection()?;
    let n = plan.instructions.len();
    let n_symbols = input.symbols.len();
    if n_symbols < stencils::SYMBOLS.len() {
        return Err(CompileError::SymbolTable {
            have: n_symbols,
            need: stencils::SYMBOLS.len(),
        });
    }
    sc.start(n_symbols);
    let stamp = sc.stamp;
    let mut unsupported = Vec::new();

    // Choose stencils and lay out code.
    let mut at = 0usize;
    let last_for_jump = last_for_loop_jump(plan);
    let instructions = &plan.instructions;
    for (i, ins) in instructions.iter().enumerate() {
        // A pair is the interpreter's superinstruction (COMPARE_OP + conditional jump, which
        // its specialised forms fuse); it fuses nothing when EXTENDED_ARG comes between, so
        // neither does cpjit (the two count recursion levels differently: stencils/binary.c).
        let pair = match instructions.get(i + 1) {
            Some(next) if !sel.pairs[ins.opcode as usize].is_empty() && next.start == next.unit => {
                sel.pair(ins.opcode, ins.oparg, next.opcode)
            }
            _ => None,
        };
        sc.paired.push(pair.is_some());
        let s = match pair {
            Some(s) => s,
            None => match (Some(i) == last_for_jump, sel.last_for_jump) {
                (true, Some(s)) => s,
                _ => match sel.variant(ins.opcode, ins.oparg) {
                    Some(s) => s,
                    None => match sel.generic[ins.opcode as usize] {
                        Some(s) => s,
                        None => {
                            unsupported.push(ins.name());
                            sel.unsupported
                        }
                    },
                },
            },
        };
        sc.code_offset.push(at as u32);
        at += s.code.len();
        sc.chosen.push(s);
    }
    let trap_offset = at;
    at += TRAP.len();
    let error_offset = at;
    at += sel.exit_error.code.len();
    sc.chosen.push(sel.exit_error);
    sc.code_offset.push(error_offset as u32);

    // Stencil data, caches, GOT slots and veneers (values known before placement).
    at = align(at, 16);
    let mut caches_used = 0u32;
    let mut private_got = 0usize;
    for s in &sc.chosen {
        sc.data_offset.push(at as u32);
        if !s.data.is_empty() {
            at = align(at + s.data.len(), 16);
        }
        sc.cache_slot.push(caches_used);
        caches_used += s.uses_cache as u32;
        for &i in s.got_symbols {
            let i = i as usize;
            if sc.got_stamp[i] != stamp {
                sc.got_stamp[i] = stamp;
                sc.got_slot[i] = sc.got.len() as u32;
                sc.got.push(input.symbols[i]);
            }
        }
        for &i in s.pc32_symbols {
            let i = i as usize;
            if sc.veneer_stamp[i] != stamp {
                sc.veneer_stamp[i] = stamp;
                sc.veneer_slot[i] = sc.veneers.len() as u32;
                sc.veneers.push(input.symbols[i]);
            }
        }
        private_got += s.private_got as usize;
    }
    let caches = vec![0u8; caches_used as usize * CACHE_BYTES].into_boxed_slice();
    let caches_address = caches.as_ptr() as u64;

    let mut pending_kwnames = 0u64;
    let kw_names = opcodes::by_name("KW_NAMES");
    let call = opcodes::by_name("CALL");
    for ins in instructions {
        let mut v = 0;
        if Some(ins.opcode) == kw_names {
            pending_kwnames = input.consts.get(ins.oparg as usize).copied().unwrap_or(0);
        } else if Some(ins.opcode) == call {
            v = pending_kwnames;
            pending_kwnames = 0;
        }
        sc.kwnames_for.push(v);
    }

    let got_offset = align(at, 8);
    at = got_offset + 8 * (sc.got.len() + private_got);
    let veneer_offset = align(at, 16);
    at = veneer_offset + VENEER_SIZE * sc.veneers.len();
    let total = at;

    let mut mem = WritableCode::new(total).map_err(CompileError::Memory)?;
    let base = mem.address();
    let buf = mem.bytes_mut();

    // Copy.
    for (i, s) in sc.chosen.iter().enumerate() {
        let c = sc.code_offset[i] as usize;
        buf[c..c + s.code.len()].copy_from_slice(s.code);
        if !s.data.is_empty() {
            let d = sc.data_offset[i] as usize;
            buf[d..d + s.data.len()].copy_from_slice(s.data);
        }
    }
    buf[trap_offset..trap_offset + TRAP.len()].copy_from_slice(&TRAP);
    for (idx, v) in sc.got.iter().enumerate() {
        let o = got_offset + 8 * idx;
        buf[o..o + 8].copy_from_slice(&v.to_le_bytes());
    }
    for (idx, v) in sc.veneers.iter().enumerate() {
        let o = veneer_offset + VENEER_SIZE * idx;
        buf[o..o + 6].copy_from_slice(&[0xff, 0x25, 0, 0, 0, 0]);
        buf[o + 6..o + 14].copy_from_slice(&v.to_le_bytes());
        buf[o + 14..o + 16].copy_from_slice(&TRAP);
    }

    // Patch.
    let mut next_private_got = sc.got.len();
    let symbol = |i: u16| input.symbols.get(i as usize).copied().unwrap_or(0);
    let unit_addr = |u: usize| input.units_address.wrapping_add(2 * u as u64);
    let code_address = |i: usize| base + sc.code_offset[i] as u64;
    let trap = base + trap_offset as u64;
    for (i, s) in sc.chosen.iter().enumerate() {
        let code_at = sc.code_offset[i] as usize;
        // Every hole value of this instruction, indexed by `HoleValue as usize`: computed once,
        // so patching a hole is a load, not a dispatch on its kind.
        let vals: [u64; HoleValue::ALL.len()] = match instructions.get(i) {
            None => [0; HoleValue::ALL.len()],
            Some(ins) => {
                let jumper = if sc.paired[i] {
                    &instructions[i + 1]
                } else {
                    ins
                };
                let mut v = [0u64; HoleValue::ALL.len()];
                v[HoleValue::Oparg as usize] = ins.oparg as u64;
                v[HoleValue::Instr as usize] = unit_addr(ins.unit);
                v[HoleValue::Redo as usize] = unit_addr(ins.start).wrapping_sub(2);
                v[HoleValue::Done as usize] = unit_addr(ins.next - 1);
                v[HoleValue::Const as usize] =
                    input.consts.get(ins.oparg as usize).copied().unwrap_or(0);
                v[HoleValue::Name as usize] =
                    input.names.get(ins.oparg as usize).copied().unwrap_or(0);
                v[HoleValue::NameHalf as usize] = input
                    .names
                    .get((ins.oparg >> 1) as usize)
                    .copied()
                    .unwrap_or(0);
                v[HoleValue::Cache as usize] =
                    caches_address + sc.cache_slot[i] as u64 * CACHE_BYTES as u64;
                v[HoleValue::Code as usize] = input.code_address;
                v[HoleValue::KwNames as usize] = sc.kwnames_for[i];
                v[HoleValue::State as usize] = input.state_address;
                v[HoleValue::Continue as usize] =
                    if i + 1 < n { code_address(i + 1) } else { trap };
                v[HoleValue::JumpTarget as usize] = match jumper.jump_target {
                    Some(t) => code_address(t),
                    None => trap,
                };
                v[HoleValue::Skip as usize] = if i + 2 < n { code_address(i + 2) } else { trap };
                v[HoleValue::Error as usize] = base + error_offset as u64;
                v
            }
        };
        let has_instruction = i < n;
        for h in s.holes {
            let value = match h.target {
                Target::Hole(hole) => {
                    if !has_instruction {
                        // The error exit uses no per-instruction holes.
                        return Err(CompileError::Patch {
                            stencil: s.name,
                            error: PatchError::OutOfBounds {
                                offset: h.offset as usize,
                                width: 0,
                                len: 0,
                            },
                        });
                    }
                    vals[hole as usize]
                }
                Target::Symbol(idx) => symbol(idx),
                Target::Data(off) => base + sc.data_offset[i] as u64 + off,
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
                (PatchKind::Pc32, Target::Symbol(idx)) => {
                    let direct = patch::patch_pc32(buf, offset, place, value, h.addend);
                    if direct.is_ok() {
                        direct
                    } else {
                        let v = veneer_offset + VENEER_SIZE * sc.veneer_slot[idx as usize] as usize;
                        patch::patch_pc32(buf, offset, place, base + v as u64, h.addend)
                    }
                }
                (PatchKind::Pc32, _) => patch::patch_pc32(buf, offset, place, value, h.addend),
                (PatchKind::GotPc32, Target::Symbol(idx)) => {
                    let slot = got_offset + 8 * sc.got_slot[idx as usize] as usize;
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
            entries[unit] = sc.code_offset[*i];
        }
    }
    let layout = instructions
        .iter()
        .enumerate()
        .map(|(i, ins)| (ins.unit as u32, sc.chosen[i].name, sc.code_offset[i]))
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
                "LOAD_FAST__0",
                "LOAD_FAST__1",
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
