//! The compiler: instruction plan -> laid-out, patched, sealed machine code for one code object.
//!
//! Layout of one compiled code object (a single mapping):
//!
//! ```text
//! [hot 0][hot 1]...[trap][EXIT_ERROR hot][copies][aside hot...] [cold 0][cold 1]... [stencil data...] [GOT] [veneers]
//! ```
//!
//! Every stencil is a hot part and a cold part (hot/cold splitting at build time, src/split.rs):
//! the hot parts of all instructions come first and fall through into each other, the cold parts
//! (error exits, hand-overs, deallocation calls) follow all of them in the same order, so the
//! code a loop runs is dense in the instruction cache. Blocks the interpreter's warm-up shows
//! have not run (src/profile.rs) leave the main line: their hot parts follow the copies, in
//! order, and a `jmp` joins the two lines wherever the code passes from one to the other.
//! Entries, jumps and the perf map point at hot parts; a hot part reaches its own cold part (and
//! back) by rel32.
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

use crate::analysis::{self, AnalysisError};
use crate::holes::HoleValue;
use crate::memory::{ExecutableCode, WritableCode};
use crate::opcodes;
use crate::opt::{self, float_runs};
use crate::patch::{self, PatchError, PatchKind};
use crate::profile;
use crate::stencils::{self, Stencil, Target};
use crate::superinstructions::{self, Mode};
use analysis::Plan;
use std::fmt;
use std::sync::OnceLock;

/// Bytes of private writable cache per slot of an instruction that asks for `_JIT_CACHE` (one
/// slot, CALL two: `Stencil::cache_slots`).
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
    /// Address of each external symbol in [`stencils::symbol_name`] order.
    pub symbols: &'a [u64],
    /// Reads a constant of `consts` as a number for float runs (src/opt/float_runs.rs); None when
    /// the addresses are not objects (the compile bench's): no constant is a number.
    pub numbers: Option<float_runs::ReadNumber>,
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
    /// Every stencil placed, in address order of the hot parts (the main line, the error exit,
    /// out-of-line superinstruction copies, then the code laid aside).
    pub placed: Vec<Placed>,
    /// Where the hot parts end and the cold parts start.
    pub hot_end: u32,
    /// Where the machine code ends (stencil data, GOT and veneers follow).
    pub code_end: u32,
    /// PRECALLs that got the stencil of their specialised form (a C call made in line).
    pub c_calls_in_line: u32,
    /// The interpreter had quickened the code (its RESUME was RESUME_QUICK): the native RESUMEs
    /// no longer count the warm-up down, so the caller must set the code's count to done.
    pub quickened: bool,
    /// Float runs compiled unboxed (src/opt/float_runs.rs).
    pub float_runs: u32,
}

/// One stencil's place in a compiled code object.
#[derive(Clone, Copy, Debug)]
pub struct Placed {
    pub stencil: &'static Stencil,
    /// The code unit of the instruction it runs (the code's length for the error exit).
    pub unit: u32,
    /// Offset of its hot part; of its cold part from `hot_end`.
    pub hot: u32,
    pub cold: u32,
    /// Laid aside with the code that had not run when it compiled (src/profile.rs).
    pub aside: bool,
}

impl CompiledCode {
    pub fn native_bytes(&self) -> usize {
        self.code.len()
    }

    /// Per instruction: its code unit, the stencil used and where its hot part starts, in
    /// address order (the main line, the error exit, out-of-line superinstruction copies, then
    /// the code laid aside).
    pub fn layout(&self) -> Vec<(u32, &'static str, u32)> {
        self.placed
            .iter()
            .map(|p| (p.unit, p.stencil.name(), p.hot))
            .collect()
    }

    /// The code units of the instructions laid aside (src/profile.rs), in address order.
    pub fn aside_units(&self) -> Vec<u32> {
        self.placed
            .iter()
            .filter(|p| p.aside)
            .map(|p| p.unit)
            .collect()
    }

    /// How many instructions were laid aside (those a group covers, with no code of their own,
    /// not counted): `aside_units().len()`.
    pub fn instructions_aside(&self) -> usize {
        self.placed.iter().filter(|p| p.aside).count()
    }

    /// The same for the non-empty cold parts, which start at `hot_end`, in address order.
    pub fn cold_layout(&self) -> Vec<(u32, &'static str, u32)> {
        let mut cold: Vec<_> = self
            .placed
            .iter()
            .filter(|p| !p.stencil.cold_code().is_empty())
            .map(|p| (p.unit, p.stencil.name(), self.hot_end + p.cold))
            .collect();
        cold.sort_by_key(|c| c.2);
        cold
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
    /// The compiler's own working memory or its results could not be allocated (the process is
    /// out of memory, or at its RLIMIT_AS): the code stays interpreted, as when mapping fails.
    OutOfMemory,
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
            CompileError::OutOfMemory => write!(f, "out of memory for the compiler's tables"),
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
            CompileError::Memory(_) | CompileError::OutOfMemory => "memory",
        }
    }
}

impl From<AnalysisError> for CompileError {
    fn from(e: AnalysisError) -> Self {
        CompileError::Analysis(e)
    }
}

/// The stencils the compiler looks up by name, once. The per-opcode choice is in the tables
/// build.rs made (stencils::generic, variant, pair, tail): plain arrays, so no hashing per
/// instruction and nothing to build at the first compile.
struct Selection {
    unsupported: &'static Stencil,
    exit_error: &'static Stencil,
    /// JUMP_BACKWARD of a code object's last loop when it is a `for` loop (stencils/jumps.c).
    last_for_jump: Option<&'static Stencil>,
    /// FOR_ITER without the range iterator's path in line, for loops over a value no call just
    /// made ([`iterates_a_value`], stencils/iter.c).
    for_iter_sequence: Option<&'static Stencil>,
    /// LOAD_GLOBAL by its oparg's low bit (push a NULL first or not): LOAD_GLOBAL__VALUE,
    /// LOAD_GLOBAL__NULL_VALUE (stencils/globals.c), so the stencil does not test it.
    load_global: [Option<&'static Stencil>; 2],
    /// LOAD_GLOBAL the interpreter specialised, by form (LOAD_GLOBAL_MODULE, _BUILTIN) and by
    /// the oparg's low bit: LOAD_GLOBAL_<FORM>__VALUE, __NULL_VALUE (stencils/globals.c).
    load_global_hinted: [[Option<&'static Stencil>; 2]; 2],
    /// CALL after a KW_NAMES (its names patched in): CALL__KWNAMES (stencils/calls.c); plain
    /// CALL passes none.
    call_kwnames: Option<&'static Stencil>,
    /// Per `superinstructions::Group`: its stencil (UNPACK_SEQUENCE n with its n STORE_FASTs,
    /// and with the LOAD_FAST before them); and the empty stencil of the instructions a group
    /// covers.
    groups: [Option<&'static Stencil>; 2],
    /// LOAD_FAST + an attribute instruction (`superinstructions::Group::LocalOwner`,
    /// stencils/attrs.c), `[0]` for a LOAD_FAST run alone and `[1]` for one run as a second
    /// half (TAIL_*), then by the second instruction's form: LOAD_ATTR_INSTANCE_VALUE, _SLOT,
    /// _WITH_HINT, STORE_ATTR_INSTANCE_VALUE, _SLOT, LOAD_METHOD_NO_DICT, _WITH_VALUES, and
    /// the generic LOAD_FAST_ATTR, LOAD_FAST_METHOD and LOAD_FAST_STORE_ATTR for every other
    /// form (not quickened, adaptive, or a form without a stencil of its own).
    local_owner: [[Option<&'static Stencil>; 10]; 2],
    covered: Option<&'static Stencil>,
    /// Whether the error exit's patch program uses only per-compile values (it runs for no
    /// instruction).
    exit_error_sound: bool,
}

fn selection() -> Result<&'static Selection, CompileError> {
    static SELECTION: OnceLock<Option<Selection>> = OnceLock::new();
    SELECTION
        .get_or_init(|| {
            // build.rs checked every patch program (the rule patches_are_sound states; a test
            // checks it again) and classified the stencils by name into these tables.
            debug_assert!(stencils::STENCILS.iter().all(patches_are_sound));
            Some(Selection {
                unsupported: stencils::by_name("UNSUPPORTED")?,
                exit_error: stencils::by_name("EXIT_ERROR")?,
                last_for_jump: stencils::by_name("JUMP_BACKWARD_LAST_FOR"),
                for_iter_sequence: stencils::by_name("FOR_ITER_SEQUENCE"),
                exit_error_sound: stencils::by_name("EXIT_ERROR")?.patches().iter().all(|p| {
                    p.value >= stencils::GOT_BASE
                        || matches!(
                            HoleValue::ALL[p.value as usize],
                            HoleValue::Code
                                | HoleValue::State
                                | HoleValue::Error
                                | HoleValue::Hot
                                | HoleValue::Cold
                        )
                }),
                load_global: [
                    stencils::by_name("LOAD_GLOBAL__VALUE"),
                    stencils::by_name("LOAD_GLOBAL__NULL_VALUE"),
                ],
                load_global_hinted: [
                    [
                        stencils::by_name("LOAD_GLOBAL_MODULE__VALUE"),
                        stencils::by_name("LOAD_GLOBAL_MODULE__NULL_VALUE"),
                    ],
                    [
                        stencils::by_name("LOAD_GLOBAL_BUILTIN__VALUE"),
                        stencils::by_name("LOAD_GLOBAL_BUILTIN__NULL_VALUE"),
                    ],
                ],
                call_kwnames: Some(stencils::by_name("CALL__KWNAMES")?),
                groups: [
                    stencils::by_name("UNPACK_SEQUENCE_INTO_LOCALS"),
                    stencils::by_name("LOAD_FAST_UNPACK_INTO_LOCALS"),
                ],
                local_owner: ["", "TAIL_"].map(|prefix| {
                    [
                        "ATTR_INSTANCE_VALUE",
                        "ATTR_SLOT",
                        "ATTR_WITH_HINT",
                        "STORE_ATTR_INSTANCE_VALUE",
                        "STORE_ATTR_SLOT",
                        "METHOD_NO_DICT",
                        "METHOD_WITH_VALUES",
                        "ATTR",
                        "METHOD",
                        "STORE_ATTR",
                    ]
                    .map(|form| stencils::by_name(&format!("{prefix}LOAD_FAST_{form}")))
                }),
                covered: stencils::by_name("COVERED")
                    .filter(|s| s.hot_len == 0 && s.code().is_empty()),
            })
        })
        .as_ref()
        .ok_or(CompileError::MissingStencil(
            "UNSUPPORTED, EXIT_ERROR or CALL__KWNAMES",
        ))
}

/// The stencil of the group instruction `i` opens (src/superinstructions.rs), when this build
/// has it, and how many instructions after `i` it covers.
#[inline(always)]
fn group_stencil(
    sel: &Selection,
    units: &[u16],
    instructions: &[analysis::Instruction],
    is_target: &[bool],
    mode: Mode,
    i: usize,
) -> Option<(&'static Stencil, usize)> {
    if !superinstructions::opens_group(instructions, i) || sel.covered.is_none() {
        return None;
    }
    let (kind, k) = superinstructions::group(instructions, is_target, mode, i)?;
    match kind {
        superinstructions::Group::LocalOwner => {
            use opcodes::op;
            let next = &instructions[i + 1];
            let form = match (units[next.unit] & 0xff) as u8 {
                op::LOAD_ATTR_INSTANCE_VALUE => 0,
                op::LOAD_ATTR_SLOT => 1,
                op::LOAD_ATTR_WITH_HINT => 2,
                op::STORE_ATTR_INSTANCE_VALUE => 3,
                op::STORE_ATTR_SLOT => 4,
                op::LOAD_METHOD_NO_DICT => 5,
                op::LOAD_METHOD_WITH_VALUES => 6,
                _ if next.opcode == op::LOAD_ATTR => 7,
                _ if next.opcode == op::LOAD_METHOD => 8,
                _ if next.opcode == op::STORE_ATTR => 9,
                _ => return None,
            };
            Some((sel.local_owner[(mode == Mode::Tail) as usize][form]?, k))
        }
        _ => Some((sel.groups[kind as usize]?, k)),
    }
}

/// The stencil of the second half of a superinstruction for instruction `i` run in `mode`, if
/// it is one and has a stencil of its own (`<OPCODE>_TAIL`).
#[inline(always)]
fn tail_stencil(
    instructions: &[analysis::Instruction],
    i: usize,
    mode: Mode,
) -> Option<&'static Stencil> {
    match mode {
        Mode::Tail => stencils::tail(instructions[i].opcode),
        Mode::Alone => None,
    }
}

/// The stencil of an instruction on its own: its variant for its oparg, LOAD_GLOBAL's by the
/// oparg's low bit, its generic stencil, or UNSUPPORTED (noted in `unsupported`).
#[inline(always)]
fn lone_stencil(
    sel: &Selection,
    ins: &analysis::Instruction,
    unsupported: &mut Vec<&'static str>,
) -> &'static Stencil {
    let variant = stencils::variant(ins.opcode, ins.oparg).or_else(|| {
        (ins.opcode == opcodes::op::LOAD_GLOBAL)
            .then(|| sel.load_global[(ins.oparg & 1) as usize])
            .flatten()
    });
    match variant.or(stencils::generic(ins.opcode)) {
        Some(s) => s,
        None => {
            unsupported.push(ins.name());
            sel.unsupported
        }
    }
}

/// What choosing the main line's stencils instruction by instruction carries from one to the
/// next, and what it finds.
#[derive(Default)]
struct OwnStencils {
    /// A KW_NAMES since the last CALL: the next CALL passes its names (as patching does).
    kwnames_pending: bool,
    /// PRECALLs that got the stencil of their specialised form ([`CompiledCode::c_calls_in_line`]).
    c_calls_in_line: u32,
    /// Any RESUME the interpreter quickened ([`CompiledCode::quickened`]).
    quickened: bool,
    /// Instructions that got the UNSUPPORTED stencil.
    unsupported: Vec<&'static str>,
}

impl OwnStencils {
    /// The stencil of instruction `i` (falling through runs it and the next in `modes`) where
    /// no group covers or opens at it, and whether it is a pair stencil.
    #[inline(always)]
    fn choose(
        &mut self,
        sel: &Selection,
        units: &[u16],
        instructions: &[analysis::Instruction],
        i: usize,
        (mode, next_mode): (Mode, Mode),
        last_for_jump: Option<usize>,
    ) -> (&'static Stencil, bool) {
        let ins = &instructions[i];
        // A pair is the interpreter's superinstruction (COMPARE_OP + conditional jump, which its
        // specialised forms fuse); it fuses nothing when EXTENDED_ARG comes between, so neither
        // does cpjit (the two count recursion levels differently: stencils/binary.c). A second
        // half of a superinstruction never has its work done by a pair stencil.
        let tail = tail_stencil(instructions, i, mode);
        let pair = match instructions.get(i + 1) {
            Some(next)
                if stencils::has_pairs(ins.opcode)
                    && next.start == next.unit
                    && tail.is_none()
                    && tail_stencil(instructions, i + 1, next_mode).is_none() =>
            {
                hinted_pair(units, ins, next.opcode)
                    .or_else(|| stencils::pair(ins.opcode, ins.oparg, next.opcode))
            }
            _ => None,
        };
        let s = match (tail, pair) {
            (Some(s), _) | (None, Some(s)) => s,
            (None, None) => match (Some(i) == last_for_jump, sel.last_for_jump) {
                (true, Some(s)) => s,
                _ => match sel
                    .for_iter_sequence
                    .filter(|_| iterates_a_value(ins, instructions, i))
                {
                    Some(s) => s,
                    None => match hinted(sel, units, instructions, i, self.kwnames_pending) {
                        Some(s) => {
                            self.c_calls_in_line += (ins.opcode == opcodes::op::PRECALL) as u32;
                            s
                        }
                        None => lone_stencil(sel, ins, &mut self.unsupported),
                    },
                },
            },
        };
        let s = match ins.opcode {
            opcodes::op::KW_NAMES => {
                self.kwnames_pending = true;
                s
            }
            opcodes::op::RESUME => {
                self.quickened |= (units[ins.unit] & 0xff) as u8 == opcodes::op::RESUME_QUICK;
                s
            }
            opcodes::op::CALL if std::mem::take(&mut self.kwnames_pending) => {
                sel.call_kwnames.unwrap_or(s)
            }
            _ => s,
        };
        (s, pair.is_some())
    }
}

/// The JUMP_BACKWARD that closes the code object's last loop, if no backward jump of any kind
/// follows it and it jumps back to a FOR_ITER: the only jump where handing the rest of the frame
/// to the interpreter is bounded by the loop's iterator.
fn last_for_loop_jump(plan: &Plan) -> Option<usize> {
    let last_backward = plan.last_backward_jump?;
    let ins = &plan.instructions[last_backward];
    let target = &plan.instructions[ins.jump_target?];
    (ins.opcode == opcodes::op::JUMP_BACKWARD && target.opcode == opcodes::op::FOR_ITER)
        .then_some(last_backward)
}

/// Whether FOR_ITER `i` loops over a value that no call just made: its GET_ITER (the
/// instruction before it) follows something other than a CALL (`for x in self.items`,
/// `for k in d`, a constant tuple). Range iterators come from calls (`for i in range(n)`) or
/// arrive as a comprehension's argument (no GET_ITER before its FOR_ITER), so these loops get
/// the FOR_ITER without the range path in line; one that does meet a range iterator takes its
/// tp_iternext, as for any other iterator. A jump into the FOR_ITER from elsewhere is the
/// loop's own back edge: the iterator is still the one GET_ITER made. `ins` is instruction `i`
/// (the caller has it at hand: the opcode test comes first, for every instruction).
#[inline(always)]
fn iterates_a_value(
    ins: &analysis::Instruction,
    instructions: &[analysis::Instruction],
    i: usize,
) -> bool {
    use opcodes::op;
    ins.opcode == op::FOR_ITER
        && i >= 2
        && instructions[i - 1].opcode == op::GET_ITER
        && instructions[i - 2].opcode != op::CALL
}

/// The stencil of the form the interpreter specialised instruction `i` to, if it has one: one
/// test for the common case (an instruction left in its base form), then one dispatch on the
/// base opcode.
#[inline(always)]
fn hinted(
    sel: &Selection,
    units: &[u16],
    instructions: &[analysis::Instruction],
    i: usize,
    kwnames_pending: bool,
) -> Option<&'static Stencil> {
    use opcodes::op;
    let ins = &instructions[i];
    if (units[ins.unit] & 0xff) as u8 == ins.opcode {
        return None;
    }
    match ins.opcode {
        op::PRECALL => hinted_c_call(units, instructions, i, kwnames_pending),
        op::LOAD_ATTR | op::LOAD_METHOD | op::STORE_ATTR => hinted_attribute(units, ins),
        op::LOAD_GLOBAL => hinted_global(sel, units, ins),
        op::BINARY_SUBSCR | op::STORE_SUBSCR => hinted_subscript(units, ins),
        op::RESUME => hinted_resume(units, ins),
        _ => None,
    }
}

/// The pair stencil of the form the interpreter specialised a COMPARE_OP + conditional jump to,
/// when stencils/binary.c tests that form's comparison in line: COMPARE_OP_INT_JUMP and
/// COMPARE_OP_FLOAT_JUMP (filed in the pair table under the specialised opcode). A site that sees
/// other types takes the pair stencil's own way, as COMPARE_OP's does.
fn hinted_pair(units: &[u16], ins: &analysis::Instruction, next: u8) -> Option<&'static Stencil> {
    use opcodes::op;
    match (units[ins.unit] & 0xff) as u8 {
        form @ (op::COMPARE_OP_INT_JUMP | op::COMPARE_OP_FLOAT_JUMP) => {
            stencils::pair(form, ins.oparg, next)
        }
        _ => None,
    }
}

/// RESUME of code the interpreter has quickened (RESUME_QUICK): its warm-up countdown is over
/// for good, so the stencil tests only the eval breaker (stencils/frame.c); the runtime brings
/// cpjit's copy of the countdown to 0 for such code ([`CompiledCode::quickened`]).
fn hinted_resume(units: &[u16], ins: &analysis::Instruction) -> Option<&'static Stencil> {
    use opcodes::op;
    if (units[ins.unit] & 0xff) as u8 != op::RESUME_QUICK {
        return None;
    }
    stencils::variant(op::RESUME_QUICK, ins.oparg).or(stencils::generic(op::RESUME_QUICK))
}

/// The stencil of the form the interpreter specialised PRECALL `i` to, when it is a call of C
/// code that stencils/ccalls.c makes in line: named after the form, `<FORM>__<oparg>` for the
/// commonest argument counts (build.rs files them under the specialised opcode in its variant
/// and generic tables). Only where that form can run: no keyword names, no
/// EXTENDED_ARG before the PRECALL or its CALL (after one the interpreter runs the generic
/// form), and the CALL right after it (the stencil continues after the CALL, or falls into the
/// CALL's own code when a guard fails); `lst.append(x)` only as a statement, as the interpreter
/// specialises it (its stencil continues at the POP_TOP).
fn hinted_c_call(
    units: &[u16],
    instructions: &[analysis::Instruction],
    i: usize,
    kwnames_pending: bool,
) -> Option<&'static Stencil> {
    use opcodes::op;
    let ins = &instructions[i];
    if ins.opcode != op::PRECALL || kwnames_pending || ins.start != ins.unit {
        return None;
    }
    let call = instructions.get(i + 1)?;
    if call.opcode != op::CALL || call.start != call.unit {
        return None;
    }
    let form = (units[ins.unit] & 0xff) as u8;
    if form == op::PRECALL_NO_KW_LIST_APPEND
        && instructions.get(i + 2).map(|n| n.opcode) != Some(op::POP_TOP)
    {
        return None;
    }
    match form {
        op::PRECALL_NO_KW_BUILTIN_O
        | op::PRECALL_NO_KW_BUILTIN_FAST
        | op::PRECALL_BUILTIN_FAST_WITH_KEYWORDS
        | op::PRECALL_NO_KW_LEN
        | op::PRECALL_NO_KW_ISINSTANCE
        | op::PRECALL_NO_KW_LIST_APPEND
        | op::PRECALL_NO_KW_METHOD_DESCRIPTOR_O
        | op::PRECALL_NO_KW_METHOD_DESCRIPTOR_NOARGS
        | op::PRECALL_NO_KW_METHOD_DESCRIPTOR_FAST
        | op::PRECALL_METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS
        | op::PRECALL_BUILTIN_CLASS
        | op::PRECALL_NO_KW_TYPE_1
        | op::PRECALL_NO_KW_STR_1
        | op::PRECALL_NO_KW_TUPLE_1 => {
            stencils::variant(form, ins.oparg).or(stencils::generic(form))
        }
        _ => None,
    }
}

/// The stencil of the form the interpreter specialised an attribute access to, for the forms whose
/// cache entry stencils/attrs.c tests in line (the entry itself is cpjit's own: the hint only
/// chooses what to test first, so it holds whatever the site sees later).
fn hinted_attribute(units: &[u16], ins: &analysis::Instruction) -> Option<&'static Stencil> {
    use opcodes::op;
    if !matches!(ins.opcode, op::LOAD_ATTR | op::LOAD_METHOD | op::STORE_ATTR) {
        return None;
    }
    let form = (units[ins.unit] & 0xff) as u8;
    match form {
        op::LOAD_ATTR_INSTANCE_VALUE
        | op::LOAD_ATTR_SLOT
        | op::LOAD_ATTR_WITH_HINT
        | op::LOAD_METHOD_NO_DICT
        | op::LOAD_METHOD_WITH_VALUES
        | op::STORE_ATTR_INSTANCE_VALUE
        | op::STORE_ATTR_SLOT => stencils::generic(form),
        _ => None,
    }
}

/// The stencil of the form the interpreter specialised a subscript (`c[i]`, `c[i] = v`) to
/// (stencils/subscr.c): the fast path of that form's container in line and nothing else, or no
/// path in line where the form is a call anyway (dicts, `__getitem__`) or where the site stayed
/// adaptive (it never ran since quickening, or saw none of those containers). Every stencil
/// handles every container: the hint only chooses what is in line.
fn hinted_subscript(units: &[u16], ins: &analysis::Instruction) -> Option<&'static Stencil> {
    use opcodes::op;
    let form = (units[ins.unit] & 0xff) as u8;
    match (ins.opcode, form) {
        (
            op::BINARY_SUBSCR,
            op::BINARY_SUBSCR_LIST_INT
            | op::BINARY_SUBSCR_TUPLE_INT
            | op::BINARY_SUBSCR_DICT
            | op::BINARY_SUBSCR_GETITEM
            | op::BINARY_SUBSCR_ADAPTIVE,
        )
        | (op::STORE_SUBSCR, op::STORE_SUBSCR_DICT | op::STORE_SUBSCR_ADAPTIVE) => {
            stencils::generic(form)
        }
        _ => None,
    }
}

/// The stencil of the form the interpreter specialised a LOAD_GLOBAL to (a global of the
/// module, or a builtin), for the oparg's low bit; its cache is the generic stencil's.
fn hinted_global(
    sel: &Selection,
    units: &[u16],
    ins: &analysis::Instruction,
) -> Option<&'static Stencil> {
    use opcodes::op;
    if ins.opcode != op::LOAD_GLOBAL {
        return None;
    }
    let form = match (units[ins.unit] & 0xff) as u8 {
        op::LOAD_GLOBAL_MODULE => 0,
        op::LOAD_GLOBAL_BUILTIN => 1,
        _ => return None,
    };
    sel.load_global_hinted[form][(ins.oparg & 1) as usize]
}

/// x86-64 `ud2`: what follows the last instruction, which never falls through.
const TRAP: [u8; 2] = [0x0f, 0x0b];
/// `jmp *[rip+0]` followed by the 8-byte target.
const VENEER_SIZE: usize = 16;
/// `jmp rel32`: how an out-of-line copy of a superinstruction chain rejoins the code.
const JMP_REL32_SIZE: usize = 5;

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
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => compile_with(input, &mut scratch),
        Err(_) => compile_with(input, &mut Scratch::default()),
    })
}

/// One instruction's (or the error exit's) place in the compiled code.
struct Slot {
    stencil: &'static Stencil,
    /// Offset of its hot part; of its cold part from the end of the hot parts; of its data from
    /// the start of the data (where the next data goes when it has none).
    code: u32,
    cold: u32,
    data: u32,
    /// Its `_JIT_CACHE` slot number.
    cache: u32,
    /// A pair stencil: jumps are the next instruction's.
    paired: bool,
    /// The instruction it runs ([`NO_INSTRUCTION`] for the error exit), and its code unit
    /// (the code's length for the error exit).
    index: u32,
    unit: u32,
    /// Part of an out-of-line copy of a superinstruction chain (src/superinstructions.rs);
    /// the last stencil of a copy is followed by a `jmp` back to the main line.
    copy: Placement,
    /// In the main line, laid aside with the code that has not run (src/profile.rs).
    aside: bool,
    /// Followed by a `jmp` to the next instruction's code, which is in the other line.
    jmp_after: bool,
}

/// Where a stencil sits: in the main line, or in an out-of-line copy.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Placement {
    Main,
    Inside,
    Last,
}

const NO_INSTRUCTION: u32 = u32::MAX;

/// [`Scratch::alone_start`]: no copy, arriving alone runs the main line's code.
const NO_COPY: u32 = NO_ENTRY;
/// [`Scratch::alone_start`]: arriving alone would need a copy, and none was made.
const NOT_ENTERED: u32 = NO_ENTRY - 1;

/// Per-compile working memory, kept between compiles (no allocation churn). Symbol-indexed
/// tables are valid where their stamp equals the current compile's, so they are never cleared.
#[derive(Default)]
struct Scratch {
    plan: Plan,
    slots: Vec<Slot>,
    /// The instructions falling through runs as the second half of a superinstruction
    /// (src/superinstructions.rs), in order.
    tails: Vec<u32>,
    /// Per instruction: laid aside (not run since quickening), and the profile's scratch.
    aside: Vec<bool>,
    ways_in: Vec<u8>,
    /// Per instruction: where its alone-parity copy starts; [`NO_COPY`] when arriving alone
    /// runs the main line's code, [`NOT_ENTERED`] when it would need a copy but none was made
    /// (no jump lands there): no native entry.
    alone_start: Vec<u32>,
    /// The float runs (src/opt/float_runs.rs), their instructions' roles, and per run the mode
    /// falling through arrives in at its first instruction and the index in `slots` of its
    /// baseline copy's first slot.
    runs: Vec<float_runs::Run>,
    roles: Vec<float_runs::Role>,
    run_mode: Vec<Mode>,
    run_copy_slot: Vec<u32>,
    /// GOT slot values, in slot order.
    got: Vec<u64>,
    /// Per symbol: its GOT slot, or its veneer, when the stamp matches.
    got_slot: Vec<u32>,
    got_stamp: Vec<u32>,
    veneers: Veneers,
    stamp: u32,
}

impl Scratch {
    /// Room for a code object of `n` instructions in every per-instruction table, asked for
    /// without aborting: Rust's allocation failure would end the process, where a compile that
    /// finds no memory must only leave the code interpreted.
    fn reserve(&mut self, n: usize) -> Result<(), CompileError> {
        fn room<T>(v: &mut Vec<T>, n: usize) -> Result<(), CompileError> {
            v.try_reserve(n.saturating_sub(v.len()))
                .map_err(|_| CompileError::OutOfMemory)
        }
        room(&mut self.slots, n + 1)?;
        room(&mut self.tails, n)?;
        room(&mut self.aside, n)?;
        room(&mut self.ways_in, n)?;
        room(&mut self.alone_start, n)
    }

    fn start(&mut self, symbols: usize) {
        self.slots.clear();
        self.got.clear();
        self.veneers.values.clear();
        for v in [
            &mut self.got_stamp,
            &mut self.veneers.stamp,
            &mut self.got_slot,
            &mut self.veneers.slot,
        ] {
            if v.len() < symbols {
                v.resize(symbols, 0);
            }
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.got_stamp.fill(0);
            self.veneers.stamp.fill(0);
            self.stamp = 1;
        }
    }
}

/// The veneers of one compile: their targets in slot order, and per symbol its veneer when the
/// stamp matches the compile's.
#[derive(Default)]
struct Veneers {
    values: Vec<u64>,
    slot: Vec<u32>,
    stamp: Vec<u32>,
}

impl Veneers {
    /// Give every symbol `s` may reach by PC-relative reference a veneer (in case it is out of
    /// reach), the first time this compile sees it.
    #[inline(always)]
    fn note(&mut self, s: &Stencil, symbols: &[u64], stamp: u32) {
        for &i in s.pc32_symbols() {
            let i = i as usize;
            if self.stamp[i] != stamp {
                self.stamp[i] = stamp;
                self.slot[i] = self.values.len() as u32;
                self.values.push(symbols[i]);
            }
        }
    }
}

/// Running offsets while slots are laid out: the hot code's, and relative to the starts of their
/// sections, the code laid aside's, the cold code's and the data's; cache slots and private GOT
/// slots used so far.
#[derive(Default)]
struct Cursor {
    hot: usize,
    aside: usize,
    cold: usize,
    data: usize,
    caches: u32,
    private_got: usize,
}

impl Cursor {
    /// The next slot, holding `s` (its `cold` and `data` relative to their sections; its code
    /// relative to the code laid aside when `aside`), `jmp_after` leaving room for a `jmp`.
    #[inline(always)]
    fn slot(
        &mut self,
        s: &'static Stencil,
        paired: bool,
        (index, unit): (u32, u32),
        copy: Placement,
        (aside, jmp_after): (bool, bool),
    ) -> Slot {
        let line = if aside {
            &mut self.aside
        } else {
            &mut self.hot
        };
        let code = *line as u32;
        *line += s.hot_len as usize + if jmp_after { JMP_REL32_SIZE } else { 0 };
        let slot = Slot {
            stencil: s,
            code,
            cold: self.cold as u32,
            data: self.data as u32,
            cache: self.caches,
            paired,
            index,
            unit,
            copy,
            aside,
            jmp_after,
        };
        self.cold += s.code().len() - s.hot_len as usize;
        if !s.data().is_empty() {
            self.data = align(self.data + s.data().len(), 16);
        }
        self.caches += s.cache_slots as u32;
        self.private_got += s.private_got as usize;
        slot
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

fn compile_with(input: &CodeInput, sc: &mut Scratch) -> Result<CompiledCode, CompileError> {
    let mut plan = std::mem::take(&mut sc.plan);
    let result = plan
        .reserve(input.units.len())
        .map_err(|_| CompileError::OutOfMemory)
        .and_then(|()| analysis::analyse_into(input.units, &mut plan).map_err(Into::into))
        .and_then(|()| compile_plan(input, &plan, sc, None, &mut None));
    sc.plan = plan;
    result
}

/// Size of the compiler's per-instruction value table: every [`HoleValue`], then
/// [`stencils::GOT_BASE`].
const VALUES: usize = stencils::GOT_BASE as usize + 1;

/// The hole values looked up in the code object's tables ([`looked_up`]).
const LOOKED_UP: u32 =
    1 << HoleValue::Const as u32 | 1 << HoleValue::Name as u32 | 1 << HoleValue::NameHalf as u32;
/// The hole values that are the code of other instructions.
const ELSEWHERE: u32 = 1 << HoleValue::Continue as u32
    | 1 << HoleValue::JumpTarget as u32
    | 1 << HoleValue::Skip as u32;

/// Into `vals`, the values stencil `s` reads from the code object's tables for an instruction
/// with this oparg (0 past the table's end), its name `co_names[named]`; the others are left as
/// they are, never read.
#[inline(always)]
fn looked_up(s: &Stencil, input: &CodeInput, oparg: usize, named: usize, vals: &mut [u64; VALUES]) {
    if s.uses(HoleValue::Const) {
        vals[HoleValue::Const as usize] = input.consts.get(oparg).copied().unwrap_or(0);
    }
    if s.uses(HoleValue::Name) {
        vals[HoleValue::Name as usize] = input.names.get(named).copied().unwrap_or(0);
    }
    if s.uses(HoleValue::NameHalf) {
        vals[HoleValue::NameHalf as usize] = input.names.get(oparg >> 1).copied().unwrap_or(0);
    }
}

/// Whether the patch program of `s` can be applied unchecked: every patch lies inside its part
/// (8 bytes for the 64-bit ones, 4 for the rest) and names an entry of the value table, or (a
/// PC-relative one) a direct reference to a symbol of [`stencils::symbol_name`] whose instruction
/// lies in its part in both forms. build.rs
/// refuses to build stencils that break it; tests (and debug builds, at the first compile)
/// check every stencil again.
fn patches_are_sound(s: &Stencil) -> bool {
    let (n64, n32) = (s.n_abs64 as usize, s.n_abs32 as usize);
    s.hot_len as usize <= s.code().len()
        && n64 + n32 <= s.patches().len()
        && s.patches().iter().enumerate().all(|(k, p)| {
            let len = match p.part {
                0 => s.hot_len as usize,
                1 => s.code().len() - s.hot_len as usize,
                _ => return false,
            };
            let width = if k < n64 { 8 } else { 4 };
            let direct = k >= n64 + n32
                && p.value >= stencils::SYMBOL_DIRECT
                && patch::GotForm::ALL
                    .get((p.value - stencils::SYMBOL_DIRECT) as usize)
                    .is_some_and(|form| {
                        let disp_at = form.disp_at(p.offset as usize);
                        disp_at >= 2 && disp_at + 4 <= len
                    })
                && (p.addend as usize) < stencils::symbol_count();
            p.offset as usize + width <= len && ((p.value as usize) < VALUES || direct)
        })
}

/// Apply the patch program of stencil `s`, whose hot part was copied to `buf[at[0]..]` and cold
/// part to `buf[at[1]..]`; `base` is the run-time address of `buf[0]`, `vals` the value table.
///
/// # Safety
/// `patches_are_sound(s)` holds, both copies lie inside `buf`, and `symbols` holds an address
/// (or 0: not known) for every symbol (see [`stencils::symbol_name`]).
#[inline(always)]
unsafe fn apply_patches(
    s: &'static Stencil,
    buf: &mut [u8],
    base: u64,
    at: [usize; 2],
    vals: &[u64; VALUES],
    symbols: &[u64],
) -> Result<(), CompileError> {
    let (n64, n32) = (s.n_abs64 as usize, s.n_abs32 as usize);
    // SAFETY: n64 + n32 <= patches.len() (patches_are_sound).
    let (abs64, rest) = unsafe {
        (
            s.patches().get_unchecked(..n64),
            s.patches().get_unchecked(n64..),
        )
    };
    // SAFETY: as above.
    let (abs32, rel32) = unsafe { (rest.get_unchecked(..n32), rest.get_unchecked(n32..)) };
    let buf = buf.as_mut_ptr();
    // Where a patch goes in `buf`, and the value it is computed from. SAFETY (of the unchecked
    // reads): part < 2 and value < VALUES (patches_are_sound).
    let place =
        |p: &stencils::Patch| unsafe { *at.get_unchecked(p.part as usize) } + p.offset as usize;
    let value = |p: &stencils::Patch| {
        (unsafe { *vals.get_unchecked(p.value as usize) }).wrapping_add(p.addend as i64 as u64)
    };
    for p in abs64 {
        // SAFETY: the 8 bytes lie inside the part's copy in `buf` (the caller's contract).
        unsafe { std::ptr::write_unaligned(buf.add(place(p)) as *mut u64, value(p).to_le()) };
    }
    for p in abs32 {
        let (at, v) = (place(p), value(p));
        if v >> 32 != 0 {
            return Err(patch_error(s, at, v as i64));
        }
        // SAFETY: the 4 bytes lie inside the part's copy in `buf` (the caller's contract).
        unsafe { std::ptr::write_unaligned(buf.add(at) as *mut u32, (v as u32).to_le()) };
    }
    // SAFETY (of the unchecked reads of `symbols`): every direct reference's symbol is below
    // stencils::symbol_count() (patches_are_sound), and so at most `symbols.len()` (the caller's
    // contract).
    let syms = symbols.as_ptr();
    for p in rel32 {
        let at = place(p);
        // A reference build.rs made direct (patch::GotForm), to symbol `p.addend`, whose
        // displacement is at `at`: the displacement to the symbol where it is in range and the
        // chunk has the symbol table (the symbol's address is not 0). The others: the value's.
        // Both read a table and add; everything else goes off this path.
        let direct = p.value >= stencils::SYMBOL_DIRECT;
        let (table, index, add) = if direct {
            (syms, p.addend as usize, -4i64)
        } else {
            (vals.as_ptr(), p.value as usize, p.addend as i64)
        };
        // SAFETY: index < VALUES for a hole value (patches_are_sound), or a symbol (above).
        let target = unsafe { *table.add(index) };
        let d = target
            .wrapping_add(add as u64)
            .wrapping_sub(base + at as u64) as i64;
        if d as i32 as i64 != d || (direct && target == 0) {
            // SAFETY: as for this function.
            unsafe { off_the_direct_path(s, buf, base, at, p, vals, d)? };
            continue;
        }
        // SAFETY: the 4 bytes lie inside the part's copy in `buf` (the caller's contract).
        unsafe { std::ptr::write_unaligned(buf.add(at) as *mut i32, (d as i32).to_le()) };
    }
    Ok(())
}

/// The PC-relative patch `p` of `s` at `buf[at..]` whose displacement `d` is out of range, or
/// (a direct symbol reference) whose symbol is not in the chunk's table: an error, or the
/// indirect form put back and its displacement to the symbol's slot (a private GOT is patched
/// again later, at the slot form's offset).
///
/// In line, not a cold call: where CPython is linked into the executable (a static build, as
/// Debian's, conda's and python.org's default are) and cpjit's helpers are in its extension
/// module, the two lie terabytes apart and about half of all symbol references come this way
/// in every compile. The compile bench's own process is laid out so (the helpers in its
/// executable, CPython in a shared library): 102 -> 97 ns per instruction (session 38).
///
/// # Safety
/// As [`apply_patches`]; `p` is one of the PC-relative patches of `s`.
#[inline(always)]
unsafe fn off_the_direct_path(
    s: &'static Stencil,
    buf: *mut u8,
    base: u64,
    at: usize,
    p: &stencils::Patch,
    vals: &[u64; VALUES],
    d: i64,
) -> Result<(), CompileError> {
    if p.value < stencils::SYMBOL_DIRECT {
        return Err(patch_error(s, at, d));
    }
    // SAFETY: value < SYMBOL_DIRECT + 3 (patches_are_sound).
    let form =
        unsafe { *patch::GotForm::ALL.get_unchecked((p.value - stencils::SYMBOL_DIRECT) as usize) };
    let at = form.disp_at(at);
    // SAFETY: the instruction's bytes from `at - 2` to `at + 4` lie inside the part's copy in
    // `buf` (patches_are_sound: its indirect form lies in its part).
    form.unrelax(unsafe { std::slice::from_raw_parts_mut(buf, at + 4) }, at);
    // Its displacement as a GOT_BASE patch has it: to the symbol's slot.
    let slot = vals[stencils::GOT_BASE as usize].wrapping_add(8 * p.addend as u64 - 4);
    let d = slot.wrapping_sub(base + at as u64) as i64;
    if d as i32 as i64 != d {
        return Err(patch_error(s, at, d));
    }
    // SAFETY: the 4 bytes lie inside the part's copy in `buf` (the caller's contract).
    unsafe { std::ptr::write_unaligned(buf.add(at) as *mut i32, (d as i32).to_le()) };
    Ok(())
}

/// A symbol table of zeros (no symbol's address known): what [`apply_patches`] reads direct
/// references' symbols from where the chunk has no symbol table (they all go through a slot).
fn no_symbols() -> &'static [u64] {
    static ZEROS: OnceLock<Box<[u64]>> = OnceLock::new();
    ZEROS.get_or_init(|| vec![0; stencils::symbol_count()].into_boxed_slice())
}

/// `copy_nonoverlapping` for the short copies of stencil parts (most are under 64 bytes): in
/// line, 32 bytes at a time (two 16-byte moves) with the last piece overlapping the one before
/// (or 16 at the ends of one under 32 bytes), instead of a call
/// into the C library's `memcpy` for each part (about 40 instructions per bytecode instruction
/// in the compile bench's profile, session 35).
///
/// # Safety
/// As `copy_nonoverlapping`: `src` readable and `dst` writable for `len` bytes, not overlapping.
#[inline(always)]
unsafe fn copy_small(src: *const u8, dst: *mut u8, len: usize) {
    // SAFETY (every access below): each load reads, and each store writes, bytes inside
    // [0, len) of its buffer (the caller's contract); unaligned accesses are allowed.
    unsafe {
        if len >= 16 {
            // 32 bytes a round while more than 32 are left, then the last 32 (or 16) bytes,
            // overlapping what was copied.
            let mut at = 0;
            while at + 32 < len {
                let a = std::ptr::read_unaligned(src.add(at) as *const u128);
                let b = std::ptr::read_unaligned(src.add(at + 16) as *const u128);
                std::ptr::write_unaligned(dst.add(at) as *mut u128, a);
                std::ptr::write_unaligned(dst.add(at + 16) as *mut u128, b);
                at += 32;
            }
            if len >= 32 {
                let a = std::ptr::read_unaligned(src.add(len - 32) as *const u128);
                let b = std::ptr::read_unaligned(src.add(len - 16) as *const u128);
                std::ptr::write_unaligned(dst.add(len - 32) as *mut u128, a);
                std::ptr::write_unaligned(dst.add(len - 16) as *mut u128, b);
            } else {
                copy_ends::<u128>(src, dst, len);
            }
        } else if len >= 8 {
            copy_ends::<u64>(src, dst, len);
        } else if len >= 4 {
            copy_ends::<u32>(src, dst, len);
        } else {
            for k in 0..len {
                *dst.add(k) = *src.add(k);
            }
        }
    }
}

/// Copy the first and the last `size_of::<T>()` bytes of `len` (which overlap when `len` is
/// under twice that): every byte, for `size_of::<T>() <= len <= 2 * size_of::<T>()`.
///
/// # Safety
/// As [`copy_small`], and `len >= size_of::<T>()`.
#[inline(always)]
unsafe fn copy_ends<T: Copy>(src: *const u8, dst: *mut u8, len: usize) {
    let last = len - std::mem::size_of::<T>();
    // SAFETY: both pieces lie inside [0, len) of their buffers (the caller's contract);
    // unaligned accesses are allowed.
    unsafe {
        let (a, b) = (
            std::ptr::read_unaligned(src as *const T),
            std::ptr::read_unaligned(src.add(last) as *const T),
        );
        std::ptr::write_unaligned(dst as *mut T, a);
        std::ptr::write_unaligned(dst.add(last) as *mut T, b);
    }
}

/// Where byte `offset` of stencil `s` (hot part, then cold part) went, its parts copied to
/// `code_at` and `cold_at`.
fn part_offset(s: &Stencil, offset: u32, code_at: usize, cold_at: usize) -> usize {
    if offset < s.hot_len {
        code_at + offset as usize
    } else {
        cold_at + (offset - s.hot_len) as usize
    }
}

#[cold]
#[inline(never)]
fn patch_error(stencil: &'static Stencil, offset: usize, displacement: i64) -> CompileError {
    CompileError::Patch {
        stencil: stencil.name(),
        error: PatchError::OutOfRange {
            offset,
            displacement,
        },
    }
}

/// Copy the data of stencil `s` to `buf[at..]`.
#[cold]
#[inline(never)]
fn copy_data(s: &Stencil, buf: &mut [u8], at: usize) {
    buf[at..at + s.data().len()].copy_from_slice(s.data());
}

/// The error exit's value table: it has no instruction, so its per-instruction values are 0
/// (selection checked that its patch program uses none of them).
#[cold]
#[inline(never)]
fn clear_per_instruction(vals: &mut [u64; VALUES]) {
    for (k, v) in vals.iter_mut().enumerate() {
        if !matches!(
            k,
            k if k == HoleValue::Code as usize
                || k == HoleValue::State as usize
                || k == HoleValue::Error as usize
                || k == stencils::GOT_BASE as usize
        ) {
            *v = 0;
        }
    }
}

/// Write a `jmp rel32` at `buf[at..]` (the end of the hot part of `s`, which is at run-time
/// address `base + at`) to `target`.
#[cold]
#[inline(never)]
fn jmp_to(
    s: &'static Stencil,
    buf: &mut [u8],
    base: u64,
    at: usize,
    target: u64,
) -> Result<(), CompileError> {
    let from = base + (at + JMP_REL32_SIZE) as u64;
    let rel = target.wrapping_sub(from) as i64;
    let Ok(rel) = i32::try_from(rel) else {
        return Err(patch_error(s, at, rel));
    };
    buf[at] = 0xe9;
    buf[at + 1..at + JMP_REL32_SIZE].copy_from_slice(&rel.to_le_bytes());
    Ok(())
}

/// What the holes outside the patch programs need (their rare kinds, and GOT references in a
/// code object with a GOT of its own): the compile's addresses and offsets.
struct RareHoles<'a> {
    symbols: &'a [u64],
    /// Run-time address of the code; offsets of the GOT and the veneers in it.
    base: u64,
    got_offset: usize,
    veneer_offset: usize,
    /// The chunk's symbol table (0: none, the code has its own GOT).
    shared_got: u64,
    /// Per symbol: its slot in the code's own GOT, and its veneer.
    got_slot: &'a [u32],
    veneer_slot: &'a [u32],
}

impl RareHoles<'_> {
    /// Where the GOT slot of symbol `i` is.
    fn got_slot_address(&self, i: u16) -> u64 {
        if self.shared_got != 0 {
            self.shared_got + 8 * i as u64
        } else {
            self.base + self.got_offset as u64 + 8 * self.got_slot[i as usize] as u64
        }
    }

    /// No symbol table in this chunk: point the GOT references of `s` (its parts copied to
    /// `buf[at[0]..]` and `buf[at[1]..]`) at the slots of this code's own GOT.
    #[cold]
    #[inline(never)]
    fn own_got(
        &self,
        s: &'static Stencil,
        buf: &mut [u8],
        at: [usize; 2],
    ) -> Result<(), CompileError> {
        for h in s.holes() {
            if let (PatchKind::GotPc32, Target::Symbol(idx)) = (h.kind, h.target) {
                let offset = part_offset(s, h.offset, at[0], at[1]);
                let place = self.base + offset as u64;
                patch::patch_pc32(buf, offset, place, self.got_slot_address(idx), h.addend)
                    .map_err(|error| CompileError::Patch {
                        stencil: s.name(),
                        error,
                    })?;
            }
        }
        Ok(())
    }

    /// The rare kinds of holes of `s` (`Stencil::other`), by the general path: its parts copied
    /// as for [`RareHoles::own_got`], its data at `data`; `next_private_got` is the next free
    /// slot of the code's own GOT.
    #[cold]
    #[inline(never)]
    fn others(
        &self,
        s: &'static Stencil,
        buf: &mut [u8],
        at: [usize; 2],
        data: usize,
        vals: &[u64; VALUES],
        next_private_got: &mut usize,
    ) -> Result<(), CompileError> {
        let base = self.base;
        for &k in s.other() {
            let h = &s.holes()[k as usize];
            let value = match h.target {
                Target::Hole(hole) => vals[hole as usize],
                Target::Symbol(idx) => self.symbols.get(idx as usize).copied().unwrap_or(0),
                Target::Data(off) => base + data as u64 + off,
            };
            let offset = part_offset(s, h.offset, at[0], at[1]);
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
                        let v = self.veneer_offset
                            + VENEER_SIZE * self.veneer_slot[idx as usize] as usize;
                        patch::patch_pc32(buf, offset, place, base + v as u64, h.addend)
                    }
                }
                (PatchKind::Pc32, _) => patch::patch_pc32(buf, offset, place, value, h.addend),
                (PatchKind::GotPc32, Target::Symbol(idx)) => {
                    patch::patch_pc32(buf, offset, place, self.got_slot_address(idx), h.addend)
                }
                (PatchKind::GotPc32, _) => {
                    let slot = self.got_offset + 8 * *next_private_got;
                    *next_private_got += 1;
                    buf[slot..slot + 8].copy_from_slice(&value.to_le_bytes());
                    patch::patch_pc32(buf, offset, place, base + slot as u64, h.addend)
                }
            };
            result.map_err(|error| CompileError::Patch {
                stencil: s.name(),
                error,
            })?;
        }
        Ok(())
    }
}

/// Where compiled bytes go: a region that sealing makes executable, or (tests, the compile
/// bench's identity check) a plain buffer standing at made-up addresses.
enum Emit {
    Region(WritableCode),
    Detached(Vec<u8>, Detached),
}

impl Emit {
    fn symbols_address(&self) -> u64 {
        match self {
            Emit::Region(m) => m.symbols_address(),
            Emit::Detached(_, d) => d.symbols,
        }
    }
    fn address(&self) -> u64 {
        match self {
            Emit::Region(m) => m.address(),
            Emit::Detached(_, d) => d.base,
        }
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        match self {
            Emit::Region(m) => m.bytes_mut(),
            Emit::Detached(b, _) => b,
        }
    }
}

/// What a detached compile's buffer starts as: not zero, so that a byte the compiler forgot to
/// write changes the output (the compile bench's hash) instead of passing unseen.
const JUNK: u8 = 0xa5;

/// Made-up addresses for [`compile_detached`].
#[derive(Clone, Copy, Debug)]
pub struct Detached {
    /// Where the code would start.
    pub base: u64,
    /// Where the chunk's symbol table would be (0: none, the code gets a GOT of its own).
    pub symbols: u64,
    /// Where the per-instruction caches would be.
    pub caches: u64,
}

/// Compile `input` as [`compile`] does, but into a plain buffer as if it stood at `at.base`
/// (nothing is mapped or sealed): the machine code bytes, for comparing compilers' output
/// byte for byte independently of where memory lands.
pub fn compile_detached(input: &CodeInput, at: Detached) -> Result<Vec<u8>, CompileError> {
    let mut plan = Plan::default();
    analysis::analyse_into(input.units, &mut plan)?;
    let mut out = None;
    compile_plan(input, &plan, &mut Scratch::default(), Some(at), &mut out)?;
    Ok(out.expect("detached compile yields bytes").1)
}

/// What an out-of-line copy of instructions (a superinstruction chain in the other parity, a
/// float run's baseline) is laid out with.
struct OutOfLine<'a> {
    sel: &'a Selection,
    instructions: &'a [analysis::Instruction],
    symbols: &'a [u64],
    stamp: u32,
    unsupported: &'a mut Vec<&'static str>,
}

impl OutOfLine<'_> {
    /// Slots for `range` (the baseline's stencils, the first run in `mode`), after the hot code
    /// laid out so far, and room for the `jmp` back to the main line after the last.
    fn lay_out(
        &mut self,
        range: std::ops::RangeInclusive<usize>,
        mut mode: Mode,
        cur: &mut Cursor,
        slots: &mut Vec<Slot>,
        veneers: &mut Veneers,
    ) {
        let (instructions, last) = (self.instructions, *range.end());
        for j in range {
            let ins = &instructions[j];
            let s = tail_stencil(instructions, j, mode)
                .unwrap_or_else(|| lone_stencil(self.sel, ins, self.unsupported));
            let copy = if j == last {
                Placement::Last
            } else {
                Placement::Inside
            };
            slots.push(cur.slot(s, false, (j as u32, ins.unit as u32), copy, (false, false)));
            veneers.note(s, self.symbols, self.stamp);
            mode = superinstructions::next_mode(mode, superinstructions::is_head(instructions, j));
        }
        cur.hot += JMP_REL32_SIZE;
    }
}

fn compile_plan(
    input: &CodeInput,
    plan: &Plan,
    sc: &mut Scratch,
    detached: Option<Detached>,
    detached_out: &mut Option<(u64, Vec<u8>)>,
) -> Result<CompiledCode, CompileError> {
    let sel = selection()?;
    if !sel.exit_error_sound {
        // The error exit has no instruction: it may use no per-instruction hole.
        return Err(CompileError::Patch {
            stencil: sel.exit_error.name(),
            error: PatchError::OutOfBounds {
                offset: 0,
                width: 0,
                len: 0,
            },
        });
    }
    let instructions = &plan.instructions;
    let n = instructions.len();
    let n_symbols = input.symbols.len();
    if n_symbols < stencils::symbol_count() {
        return Err(CompileError::SymbolTable {
            have: n_symbols,
            need: stencils::symbol_count(),
        });
    }
    sc.start(n_symbols);
    sc.reserve(n)?;
    let stamp = sc.stamp;

    // Choose stencils and lay out code, data, caches and veneers, in one pass over the
    // instructions.
    let mut cur = Cursor::default();
    let last_for_jump = last_for_loop_jump(plan);
    // Which instructions are jump targets (unpack groups and out-of-line copies ask).
    let is_target = &plan.is_target;
    // Blocks that have not run since quickening go to a line of their own after the hot code
    // (src/profile.rs); where the main line passes between the two lines, a `jmp` follows.
    let any_aside = profile::not_run_since_quickening(
        input.units,
        instructions,
        is_target,
        &mut sc.aside,
        &mut sc.ways_in,
    );
    let line_of = |i: usize| -> (bool, bool) {
        if !any_aside {
            return (false, false);
        }
        let here = sc.aside[i];
        (here, here != sc.aside.get(i + 1).copied().unwrap_or(false))
    };
    // Float runs (src/opt/float_runs.rs): their instructions get the float stencils in the main line
    // and the baseline's in a copy out of line, where a failed check goes.
    sc.runs.clear();
    sc.roles.clear();
    sc.run_mode.clear();
    let floats = float_runs::stencils().filter(|_| plan.operators >= 2 && opt::enabled());
    if let Some(fs) = floats {
        let code = float_runs::Code {
            instructions,
            units: input.units,
            is_target,
            aside: any_aside.then_some(&sc.aside[..]),
            consts: input.consts,
            number: input.numbers.unwrap_or(|_| None),
        };
        float_runs::find(fs, &code, &mut sc.runs, &mut sc.roles);
    }
    // The run the main line is in or comes to next, and its first instruction (none: past the
    // end), so an instruction outside runs costs one compare.
    let mut run_at = 0;
    let mut next_run = sc.runs.first().map_or(usize::MAX, |r| r.start);
    // Instructions a group stencil runs (src/superinstructions.rs) get the empty stencil: the
    // group's code continues straight to the code after them.
    let mut covered_until = 0;
    let mut own = OwnStencils::default();
    // How falling through runs this instruction and the next (src/superinstructions.rs).
    let mut next_mode = Mode::Alone;
    sc.tails.clear();
    // One slot per instruction, written in place (the room was reserved).
    let room = &mut sc.slots.spare_capacity_mut()[..n];
    for (i, ins) in instructions.iter().enumerate() {
        let line = line_of(i);
        let mode = next_mode;
        next_mode = superinstructions::next_mode(mode, superinstructions::is_head(instructions, i));
        if mode == Mode::Tail {
            sc.tails.push(i as u32);
        }
        let (s, paired) = match sel.covered.filter(|_| i < covered_until) {
            Some(c) => (c, false),
            None if i >= next_run => {
                let r = sc.runs[run_at];
                if i == r.start {
                    sc.run_mode.push(mode);
                }
                if i == r.end {
                    run_at += 1;
                    next_run = sc.runs.get(run_at).map_or(usize::MAX, |r| r.start);
                }
                (sc.roles[r.roles + (i - r.start)].stencil, false)
            }
            // A group never covers the first instruction of a float run.
            None => match group_stencil(sel, input.units, instructions, is_target, mode, i)
                .filter(|&(_, k)| i + k < next_run)
            {
                Some((g, k)) => {
                    covered_until = i + 1 + k;
                    (g, false)
                }
                None => own.choose(
                    sel,
                    input.units,
                    instructions,
                    i,
                    (mode, next_mode),
                    last_for_jump,
                ),
            },
        };
        room[i].write(cur.slot(
            s,
            paired,
            (i as u32, ins.unit as u32),
            Placement::Main,
            line,
        ));
        sc.veneers.note(s, input.symbols, stamp);
    }
    // SAFETY: the loop wrote a slot for each of the `n` instructions, within the room reserved
    // (the slots were cleared first).
    unsafe { sc.slots.set_len(n) };
    let trap_offset = cur.hot;
    cur.hot += TRAP.len();
    let error_offset = cur.hot;
    sc.slots.push(cur.slot(
        sel.exit_error,
        false,
        (NO_INSTRUCTION, input.units.len() as u32),
        Placement::Main,
        (false, false),
    ));
    sc.veneers.note(sel.exit_error, input.symbols, stamp);

    // Out-of-line copies for jumps into superinstruction chains in the other parity: from the
    // target to where both parities agree again, then a jump back (src/superinstructions.rs).
    let mut copies = OutOfLine {
        sel,
        instructions,
        symbols: input.symbols,
        stamp,
        unsupported: &mut own.unsupported,
    };
    sc.alone_start.clear();
    sc.alone_start.resize(n, NO_COPY);
    for &q in &sc.tails {
        let q = q as usize;
        let Some(mut last) = superinstructions::alone_copy(instructions, q) else {
            continue;
        };
        // A copy may not end inside a float run: the run's code after its first instruction
        // expects the run's registers. Such a copy goes on to the run's end.
        if let Some(r) = sc.runs.iter().find(|r| r.start <= last && last < r.end) {
            last = r.end;
        }
        if !is_target[q] {
            sc.alone_start[q] = NOT_ENTERED;
            continue;
        }
        sc.alone_start[q] = cur.hot as u32;
        copies.lay_out(
            q..=last,
            Mode::Alone,
            &mut cur,
            &mut sc.slots,
            &mut sc.veneers,
        );
    }
    // The baseline copies of the float runs, each from its first instruction in the mode
    // falling through arrives in, then a jump back to the main line after the run (where the
    // copy's first slot starts is where a failed check goes).
    sc.run_copy_slot.clear();
    for (r, run) in sc.runs.iter().enumerate() {
        sc.run_copy_slot.push(sc.slots.len() as u32);
        let mode = sc.run_mode[r];
        copies.lay_out(
            run.start..=run.end,
            mode,
            &mut cur,
            &mut sc.slots,
            &mut sc.veneers,
        );
    }
    // The code laid aside follows the hot code.
    if any_aside {
        let aside_start = cur.hot as u32;
        for slot in sc.slots.iter_mut().filter(|slot| slot.aside) {
            slot.code += aside_start;
        }
        cur.hot += cur.aside;
    }
    // The cold parts follow the hot ones in the same order, then the stencil data (16-aligned),
    // GOT slots and veneers (values known before placement).
    let hot_end = cur.hot;
    let code_end = hot_end + cur.cold;
    let data_start = align(code_end, 16);
    let caches_used = cur.caches;
    let private_got = cur.private_got;
    let at = data_start + cur.data;
    // Each cache on a cache line of its own (the allocation has room to round its start up to
    // one): a cache straddling two lines costs a second miss in code that runs through many
    // sites once each.
    let slack = if caches_used == 0 { 0 } else { CACHE_BYTES - 1 };
    let caches = filled(caches_used as usize * CACHE_BYTES + slack, 0u8)?.into_boxed_slice();
    let caches_address = match detached {
        Some(d) => d.caches,
        None => (caches.as_ptr() as u64).next_multiple_of(CACHE_BYTES as u64),
    };

    // Symbols are reached through the table every chunk holds (memory.rs); only a region that
    // lands where that table is not ours gets a GOT of its own (the symbols its stencils use).
    let data_end = at;
    let layout_tail = |got_slots: usize| {
        let got_offset = align(data_end, 8);
        let veneer_offset = align(got_offset + 8 * got_slots, 16);
        (
            got_offset,
            veneer_offset,
            veneer_offset + VENEER_SIZE * sc.veneers.values.len(),
        )
    };
    let (mut got_offset, mut veneer_offset, total) = layout_tail(private_got);
    let mut mem = match detached {
        Some(d) => Emit::Detached(vec![JUNK; total.max(1)], d),
        None => Emit::Region(
            WritableCode::new_near(total, input.symbols).map_err(CompileError::Memory)?,
        ),
    };
    let shared_got = mem.symbols_address();
    if shared_got == 0 {
        drop(mem);
        for slot in &sc.slots {
            for &i in slot.stencil.got_symbols() {
                let i = i as usize;
                if sc.got_stamp[i] != stamp {
                    sc.got_stamp[i] = stamp;
                    sc.got_slot[i] = sc.got.len() as u32;
                    sc.got.push(input.symbols[i]);
                }
            }
        }
        let total;
        (got_offset, veneer_offset, total) = layout_tail(sc.got.len() + private_got);
        mem = match detached {
            Some(d) => Emit::Detached(vec![JUNK; total.max(1)], d),
            None => Emit::Region(WritableCode::new(total).map_err(CompileError::Memory)?),
        };
    }
    let base = mem.address();
    let buf = mem.bytes_mut();
    let rare = RareHoles {
        symbols: input.symbols,
        base,
        got_offset,
        veneer_offset,
        shared_got,
        got_slot: &sc.got_slot,
        veneer_slot: &sc.veneers.slot,
    };

    // The code is written whole below (hot parts, trap, copies' jumps, cold parts are
    // contiguous); past it, padding and private GOT slots are zero unless written. Cleared here
    // whatever the buffer: a detached one holds junk, and a region on a huge chunk may hold the
    // bytes of code freed there before (memory.rs keeps those pages; only fresh or discarded
    // ones read as zeros).
    buf[code_end..].fill(0);
    buf[trap_offset..trap_offset + TRAP.len()].copy_from_slice(&TRAP);
    for (idx, v) in sc.got.iter().enumerate() {
        let o = got_offset + 8 * idx;
        buf[o..o + 8].copy_from_slice(&v.to_le_bytes());
    }
    for (idx, v) in sc.veneers.values.iter().enumerate() {
        let o = veneer_offset + VENEER_SIZE * idx;
        buf[o..o + 6].copy_from_slice(&[0xff, 0x25, 0, 0, 0, 0]);
        buf[o + 6..o + 14].copy_from_slice(&v.to_le_bytes());
        buf[o + 14..o + 16].copy_from_slice(&TRAP);
    }

    // Copy and patch, one stencil at a time.
    let mut next_private_got = sc.got.len();
    let unit_addr = |u: usize| input.units_address.wrapping_add(2 * u as u64);
    let trap = base + trap_offset as u64;
    let error = base + error_offset as u64;
    let slots = &sc.slots;
    let code_address = |i: usize| base + slots[i].code as u64;
    // Where control arriving at instruction `i` on its own (a jump) goes.
    // (Only asked of jump targets, which always have their copy when they need one.)
    let alone_address = |i: usize| match sc.alone_start[i] {
        NO_COPY => code_address(i),
        off => base + off as u64,
    };
    // Main-line code of instruction `i`, or the trap past the end.
    let main_address = |i: usize| if i < n { code_address(i) } else { trap };
    let mut pending_kwnames = 0u64;
    // Every hole value of the instruction being patched, indexed by `HoleValue as usize` (then
    // GOT_BASE): so patching a hole is a load, not a dispatch on its kind. The per-compile ones
    // are set once; the rest are overwritten for each instruction.
    let mut vals = [0u64; VALUES];
    vals[HoleValue::Code as usize] = input.code_address;
    vals[HoleValue::State as usize] = input.state_address;
    vals[HoleValue::Error as usize] = error;
    // Without a symbol table in the chunk, GOT references are patched again below (to this
    // code's own GOT); `base` keeps the first, discarded displacement in range.
    vals[stencils::GOT_BASE as usize] = if shared_got != 0 { shared_got } else { base };
    // References through the chunk's symbol table made direct where in range (a private GOT is
    // patched again below, displacement by displacement: those stay indirect).
    let relax_symbols: &[u64] = if shared_got != 0 {
        input.symbols
    } else {
        no_symbols()
    };
    // Native entries (an instruction's first code unit: module doc of analysis.rs) and the
    // stencils placed, filled as the slots go by (the code laid aside, placed after the rest,
    // is listed after the loop).
    let mut entries = filled(input.units.len(), NO_ENTRY)?.into_boxed_slice();
    let mut placed = Vec::new();
    placed
        .try_reserve_exact(slots.len())
        .map_err(|_| CompileError::OutOfMemory)?;
    let room = placed.spare_capacity_mut();
    let mut n_placed = 0;
    assert!(code_end <= buf.len());
    // As in the layout loop: the run the main line's slots are in or come to next.
    let mut run_at = 0;
    let mut next_run = sc.runs.first().map_or(usize::MAX, |r| r.start);
    for (i, slot) in slots.iter().enumerate() {
        let s = slot.stencil;
        // An instruction a group covers has no code: no entry (the interpreter runs the
        // frame), and not placed.
        let covered = sel.covered.is_some_and(|c| std::ptr::eq(s, c));
        if let Some(ins) = instructions.get(i) {
            // Arriving here alone runs the main line (the second halves of superinstructions
            // that need an out-of-line copy are seen to after the loop).
            entries[ins.start] = if covered { NO_ENTRY } else { slot.code };
        }
        // A float stencil (only main-line slots, the first n, are in runs).
        let run = if i >= next_run {
            let (r, copy_slot) = (&sc.runs[run_at], sc.run_copy_slot[run_at] as usize);
            if i > r.start {
                // Its code expects the run's registers: no entry.
                entries[instructions[i].start] = NO_ENTRY;
            }
            if i == r.end {
                run_at += 1;
                next_run = sc.runs.get(run_at).map_or(usize::MAX, |r| r.start);
            }
            Some((r, copy_slot))
        } else {
            None
        };
        if !any_aside && !covered {
            // At most one per slot: within the room reserved.
            room[n_placed].write(placed_of(slot));
            n_placed += 1;
        }
        let code_at = slot.code as usize;
        let cold_at = hot_end + slot.cold as usize;
        let ix = slot.index as usize;
        if let Some(ins) = instructions.get(ix) {
            let jumper = if slot.paired {
                &instructions[ix + 1]
            } else {
                ins
            };
            let oparg = ins.oparg as usize;
            // The values that take lookups are computed only for a stencil whose patch program
            // reads them (Stencil::uses); a value left from an earlier stencil is never read.
            vals[HoleValue::Oparg as usize] = ins.oparg as u64;
            vals[HoleValue::Instr as usize] = unit_addr(ins.unit);
            vals[HoleValue::Redo as usize] = unit_addr(ins.start).wrapping_sub(2);
            vals[HoleValue::Done as usize] = unit_addr(ins.next - 1);
            if s.hole_mask & LOOKED_UP != 0 {
                // A LOAD_FAST's own stencils name nothing: one that does opens a group
                // (superinstructions::Group::LocalOwner) and names its attribute instruction's
                // name.
                let named = match instructions.get(ix + 1) {
                    Some(next) if ins.opcode == opcodes::op::LOAD_FAST => next.oparg as usize,
                    _ => oparg,
                };
                looked_up(s, input, oparg, named, &mut vals);
            }
            vals[HoleValue::Cache as usize] =
                caches_address + slot.cache as u64 * CACHE_BYTES as u64;
            // `_JIT_KWNAMES`: the tuple of the KW_NAMES before a CALL (instructions are patched
            // in order).
            vals[HoleValue::KwNames as usize] = 0;
            if ins.opcode == opcodes::op::KW_NAMES {
                pending_kwnames = input.consts.get(oparg).copied().unwrap_or(0);
            } else if ins.opcode == opcodes::op::CALL {
                vals[HoleValue::KwNames as usize] = pending_kwnames;
                pending_kwnames = 0;
            }
            if s.hole_mask & ELSEWHERE != 0 {
                if s.uses(HoleValue::Continue) {
                    vals[HoleValue::Continue as usize] = match slot.copy {
                        Placement::Inside => code_address(i + 1),
                        Placement::Main | Placement::Last => main_address(ix + 1),
                    };
                }
                if s.uses(HoleValue::JumpTarget) {
                    vals[HoleValue::JumpTarget as usize] = match jumper.jump_target {
                        Some(t) => alone_address(t),
                        None => trap,
                    };
                }
                if s.uses(HoleValue::Skip) {
                    vals[HoleValue::Skip as usize] = main_address(ix + 2);
                }
            }
            if let Some((r, copy_slot)) = run {
                let role = sc.roles[r.roles + (i - r.start)];
                // A failed check goes to the run's baseline copy; a compare and jump ending the
                // run (it checks nothing) jumps where the instruction does.
                if !role.branch {
                    vals[HoleValue::JumpTarget as usize] = code_address(copy_slot);
                }
                vals[HoleValue::Operand as usize] = if role.attribute {
                    // The cache of the copy's LOAD_ATTR, which the generic path fills.
                    let cache = slots[copy_slot + (i - r.start)].cache as u64;
                    role.operand | (caches_address + cache * CACHE_BYTES as u64)
                } else {
                    role.operand
                };
            }
        } else {
            clear_per_instruction(&mut vals);
        }
        if slot.copy == Placement::Last || slot.jmp_after {
            jmp_to(
                s,
                buf,
                base,
                code_at + s.hot_len as usize,
                main_address(ix + 1),
            )?;
        }
        vals[HoleValue::Hot as usize] = base + code_at as u64;
        vals[HoleValue::Cold as usize] = base + cold_at as u64;
        let hot_len = s.hot_len as usize;
        let cold_len = s.code().len() - hot_len;
        debug_assert!(cold_at + cold_len <= code_end && code_at + hot_len <= hot_end);
        // SAFETY: the layout put the hot part at [code_at, code_at + hot_len) below hot_end and
        // the cold part at [cold_at, cold_at + cold_len) below code_end: the cursor's hot and
        // cold offsets only grow, by each slot's part lengths (and the jumps after some), and
        // hot_end and code_end are where they ended (the code laid aside moved past the rest
        // whole, by where the rest ended); both inside `buf` (its length is past code_end,
        // checked before the loop); `hot_len <= code.len()` (patches_are_sound).
        unsafe {
            let (src, dst) = (s.code().as_ptr(), buf.as_mut_ptr());
            copy_small(src, dst.add(code_at), hot_len);
            copy_small(src.add(hot_len), dst.add(cold_at), cold_len);
        }
        // SAFETY: the two parts' copies were just written inside `buf`; `patches_are_sound`
        // holds for every stencil (build.rs made the programs so); `relax_symbols` is
        // `input.symbols`, which holds every symbol (checked at the start), or as many zeros.
        unsafe { apply_patches(s, buf, base, [code_at, cold_at], &vals, relax_symbols)? };
        if shared_got == 0 && !s.got_symbols().is_empty() {
            rare.own_got(s, buf, [code_at, cold_at])?;
        }
        if s.extras {
            // The stencil's data, and the holes that refer to it and the other rare ones.
            let data = data_start + slot.data as usize;
            copy_data(s, buf, data);
            rare.others(
                s,
                buf,
                [code_at, cold_at],
                data,
                &vals,
                &mut next_private_got,
            )?;
        }
    }

    // Arriving alone at an instruction that falling through runs as a second half that behaves
    // differently: its out-of-line copy, or no native entry at all.
    for &q in &sc.tails {
        let q = q as usize;
        match sc.alone_start[q] {
            NO_COPY => {}
            NOT_ENTERED => entries[instructions[q].start] = NO_ENTRY,
            start => entries[instructions[q].start] = start,
        }
    }
    // SAFETY: the first `n_placed` elements of the reserved room were written above.
    unsafe { placed.set_len(n_placed) };
    if any_aside {
        placed = placed_in_two_lines(slots, sel.covered)?;
    }
    let code = match mem {
        Emit::Region(mem) => mem.seal().map_err(CompileError::Memory)?,
        Emit::Detached(bytes, d) => {
            *detached_out = Some((d.base, bytes));
            ExecutableCode::empty()
        }
    };
    Ok(CompiledCode {
        code,
        entries,
        caches,
        instructions: n,
        unsupported: own.unsupported,
        placed,
        hot_end: hot_end as u32,
        code_end: code_end as u32,
        c_calls_in_line: own.c_calls_in_line,
        quickened: own.quickened,
        float_runs: sc.runs.len() as u32,
    })
}

/// What [`CompiledCode::placed`] says of a slot.
#[inline(always)]
fn placed_of(slot: &Slot) -> Placed {
    Placed {
        stencil: slot.stencil,
        unit: slot.unit,
        hot: slot.code,
        cold: slot.cold,
        aside: slot.aside,
    }
}

/// The stencils placed, in address order of their hot parts, when some code is laid aside: the
/// main line (with the error exit and the copies), then the code laid aside; each line in slot
/// order, so no sort is needed. The instructions a group covers have no code of their own: not
/// placed. (Without code laid aside, the copy-and-patch loop lists them in slot order.)
fn placed_in_two_lines(
    slots: &[Slot],
    covered: Option<&'static Stencil>,
) -> Result<Vec<Placed>, CompileError> {
    let mut placed = Vec::new();
    placed
        .try_reserve_exact(slots.len())
        .map_err(|_| CompileError::OutOfMemory)?;
    for aside in [false, true] {
        for slot in slots {
            if slot.aside == aside && !covered.is_some_and(|c| std::ptr::eq(slot.stencil, c)) {
                placed.push(placed_of(slot));
            }
        }
    }
    debug_assert!(placed.windows(2).all(|w| w[0].hot <= w[1].hot));
    Ok(placed)
}

/// `vec![value; n]`, or [`CompileError::OutOfMemory`] instead of ending the process.
fn filled<T: Clone>(n: usize, value: T) -> Result<Vec<T>, CompileError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| CompileError::OutOfMemory)?;
    v.resize(n, value);
    Ok(v)
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
            numbers: None,
        }
    }

    #[test]
    fn compiles_and_maps_entries() {
        let symbols = vec![0x7000_0000_0000u64; stencils::symbol_count()];
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
    fn blocks_not_run_go_after_the_hot_code_joined_by_jumps() {
        let symbols = vec![0x7000_0000_0000u64; stencils::symbol_count()];
        // Code units (quickened): 0 RESUME; 1 LOAD_FAST; 2 POP_JUMP_IF_FALSE -> 11; 3 LOAD_GLOBAL (quickened,
        // never ran) and its caches; 9 NOP; 10 RETURN_VALUE; 11 LOAD_FAST; 12 RETURN_VALUE.
        let mut units = vec![
            word("RESUME_QUICK", 0),
            word("LOAD_FAST", 0),
            word("POP_JUMP_FORWARD_IF_FALSE", 8),
            word("LOAD_GLOBAL_ADAPTIVE", 0),
        ];
        units.extend([0; 5]);
        units.extend([
            word("NOP", 0),
            word("RETURN_VALUE", 0),
            word("LOAD_FAST", 1),
            word("RETURN_VALUE", 0),
        ]);
        let c = compile(&input(&units, &symbols)).unwrap();
        assert_eq!(c.aside_units(), [3, 9, 10]);
        let layout = c.layout();
        let error_exit = layout.iter().find(|p| p.1 == "EXIT_ERROR").unwrap().2;
        // The main line runs on from the jump to what follows the block laid aside.
        assert!(c.entries[11] < error_exit && c.entries[2] < c.entries[11]);
        for unit in [3, 9, 10] {
            assert!(c.entries[unit] > error_exit, "unit {unit} not laid aside");
        }
        // The jump's fall-through reaches the block laid aside by a jmp right after it.
        let jump = layout.iter().find(|p| p.0 == 2).unwrap();
        let after = (jump.2 + stencils::by_name(jump.1).unwrap().hot_len) as usize;
        let bytes = c.code.bytes();
        assert_eq!(bytes[after], 0xe9);
        let rel = i32::from_le_bytes(bytes[after + 1..after + 5].try_into().unwrap());
        assert_eq!((after as i64 + 5 + rel as i64) as u32, c.entries[3]);
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
    fn a_specialised_c_call_gets_its_forms_stencil_where_the_form_can_run() {
        let symbols = vec![0x7000_0000_0000u64; stencils::symbol_count()];
        let site = |precall: &str, between: &[u16], after: &str| {
            let mut units = vec![
                word("PUSH_NULL", 0),
                word("LOAD_CONST", 0),
                word("LOAD_CONST", 1),
            ];
            units.extend([word(precall, 1), 0]);
            units.extend(between);
            units.extend([word("CALL", 1), 0, 0, 0, 0, word(after, 0)]);
            units.extend([word("LOAD_CONST", 0), word("RETURN_VALUE", 0)]);
            let c = compile(&input(&units, &symbols)).unwrap();
            let name = c.layout().iter().find(|p| p.0 == 3).unwrap().1;
            (name, c.c_calls_in_line)
        };
        assert_eq!(
            site("PRECALL_NO_KW_LEN", &[], "POP_TOP"),
            ("PRECALL_NO_KW_LEN__1", 1)
        );
        assert_eq!(
            site("PRECALL_NO_KW_LIST_APPEND", &[], "POP_TOP"),
            ("PRECALL_NO_KW_LIST_APPEND__1", 1)
        );
        // The interpreter's list.append form skips the POP_TOP: only as a statement.
        assert_eq!(
            site("PRECALL_NO_KW_LIST_APPEND", &[], "NOP"),
            ("PRECALL", 0)
        );
        // After an EXTENDED_ARG the interpreter runs the generic form.
        assert_eq!(
            site("PRECALL_NO_KW_LEN", &[word("EXTENDED_ARG", 0)], "POP_TOP"),
            ("PRECALL", 0)
        );
        // Not quickened, or a form that is not a C call.
        assert_eq!(site("PRECALL", &[], "POP_TOP"), ("PRECALL", 0));
        assert_eq!(site("PRECALL_PYFUNC", &[], "POP_TOP"), ("PRECALL", 0));
        // Keyword names: the forms without keywords never run.
        let mut units = vec![
            word("PUSH_NULL", 0),
            word("LOAD_CONST", 0),
            word("LOAD_CONST", 1),
        ];
        units.extend([
            word("KW_NAMES", 1),
            word("PRECALL_BUILTIN_FAST_WITH_KEYWORDS", 1),
            0,
        ]);
        units.extend([word("CALL", 1), 0, 0, 0, 0, word("RETURN_VALUE", 0)]);
        let c = compile(&input(&units, &symbols)).unwrap();
        assert_eq!(c.c_calls_in_line, 0);
        assert!(c.layout().iter().any(|p| p.1 == "CALL__KWNAMES"));
        // Other hinted stencils are not C calls.
        let units = [
            word("LOAD_GLOBAL_MODULE", 0),
            0,
            0,
            0,
            0,
            0,
            word("RETURN_VALUE", 0),
        ];
        let c = compile(&input(&units, &symbols)).unwrap();
        assert_eq!(c.layout()[0].1, "LOAD_GLOBAL_MODULE__VALUE");
        assert_eq!(c.c_calls_in_line, 0);
    }

    #[test]
    fn caches_have_no_entry() {
        let symbols = vec![0x7000_0000_0000u64; stencils::symbol_count()];
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
    fn a_jump_into_a_superinstruction_chain_enters_an_out_of_line_copy() {
        let symbols = vec![0x7000_0000_0000u64; stencils::symbol_count()];
        // 0 STORE_FAST; 1 LOAD_FAST (jump target); 2 LOAD_FAST; 3 POP_TOP; 4 POP_TOP;
        // 5 JUMP_BACKWARD to 1.
        let units = [
            word("STORE_FAST", 0),
            word("LOAD_FAST", 1),
            word("LOAD_FAST", 2),
            word("POP_TOP", 0),
            word("POP_TOP", 0),
            word("JUMP_BACKWARD", 5),
        ];
        let c = compile(&input(&units, &symbols)).unwrap();
        let names: Vec<(u32, &str)> = c.layout().iter().map(|(u, name, _)| (*u, *name)).collect();
        // Falling through: STORE_FAST__LOAD_FAST, then LOAD_FAST 2 alone. Jumping to 1:
        // LOAD_FAST__LOAD_FAST, so 2 is a second half there.
        assert_eq!(names[1], (1, "LOAD_FAST_TAIL"));
        assert_eq!(names[2], (2, "LOAD_FAST__2"));
        assert_eq!(
            names[names.len() - 2..],
            [(1, "LOAD_FAST__1"), (2, "LOAD_FAST_TAIL")]
        );
        let layout = c.layout();
        let copy_at = layout[layout.len() - 2].2;
        assert_eq!(c.entries[1], copy_at);
        assert_eq!(c.entries[2], layout[2].2);
    }

    #[test]
    fn bad_bytecode_is_an_error_not_a_crash() {
        let symbols = vec![0u64; stencils::symbol_count()];
        let units = [word("JUMP_FORWARD", 9)];
        assert!(matches!(
            compile(&input(&units, &symbols)),
            Err(CompileError::Analysis(_))
        ));
    }

    #[test]
    fn compare_then_branch_uses_a_pair_stencil_and_keeps_the_branch() {
        let symbols = vec![0x7000_0000_0000u64; stencils::symbol_count()];
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
        let names: Vec<&str> = c.layout().iter().map(|(_, name, _)| *name).collect();
        assert_eq!(
            names[..5],
            [
                "LOAD_FAST__0",
                "LOAD_FAST_TAIL", // the second half of LOAD_FAST__LOAD_FAST
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

    /// The symbol every GOT reference of `c` reaches, read through its slot.
    fn got_targets(c: &CompiledCode) -> Vec<(u16, u64)> {
        let bytes = c.code.bytes();
        let mut out = Vec::new();
        // Each part's GOT references: (where the part starts, the stencil, the part's range).
        let (layout, cold_layout) = (c.layout(), c.cold_layout());
        let hot = layout.iter().map(|&(_, name, start)| {
            let s = stencils::by_name(name).unwrap();
            (start, s, 0..s.hot_len)
        });
        let cold = cold_layout.iter().map(|&(_, name, start)| {
            let s = stencils::by_name(name).unwrap();
            (start, s, s.hot_len..s.code().len() as u32)
        });
        for (start, s, range) in hot.chain(cold) {
            for h in s.holes().iter().filter(|h| range.contains(&h.offset)) {
                let (PatchKind::GotPc32, Target::Symbol(symbol)) = (h.kind, h.target) else {
                    continue;
                };
                let offset = h.offset - range.start;
                let place = c.code.address() + start as u64 + offset as u64;
                let at = (start + offset) as usize;
                let d = i32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
                let slot = (place as i64 + d as i64 - h.addend) as usize;
                // SAFETY: the slot is in the code's own GOT or its chunk's symbol table, both
                // mapped readable while `c` lives.
                out.push((symbol, unsafe {
                    std::ptr::read_unaligned(slot as *const u64)
                }));
            }
        }
        out
    }

    #[test]
    fn symbols_are_reached_through_a_table_holding_this_compiles_symbols() {
        // Two symbol tables alternate: code compiled for the second lands in chunks made for
        // the first, where it needs a GOT of its own; every slot holds its own table's value.
        let tables: Vec<Vec<u64>> = (1..=2u64)
            .map(|t| {
                (0..stencils::symbol_count() as u64)
                    .map(|i| t << 40 | i << 4)
                    .collect()
            })
            .collect();
        let units = [
            word("RESUME", 0),
            word("LOAD_FAST", 0),
            word("RETURN_VALUE", 0),
        ];
        let mut kept = Vec::new();
        for round in 0..6 {
            let symbols = &tables[round % 2];
            let c = compile(&input(&units, symbols)).unwrap();
            let targets = got_targets(&c);
            assert!(!targets.is_empty());
            for (i, value) in targets {
                assert_eq!(value, symbols[i as usize], "round {round}, symbol {i}");
            }
            kept.push(c);
        }
    }

    #[test]
    fn every_patch_program_is_sound() {
        // What apply_patches relies on without checking (build.rs enforces it).
        for s in &stencils::STENCILS {
            assert!(patches_are_sound(s), "{}", s.name());
        }
    }

    #[test]
    fn build_time_stencil_classes_match_the_names() {
        let mut expected = Vec::new();
        for (index, s) in stencils::STENCILS.iter().enumerate() {
            let parts: Vec<&str> = s.name().split("__").collect();
            let row = if let [first, arg, second] = parts[..] {
                match (
                    opcodes::by_name(first),
                    arg.parse(),
                    opcodes::by_name(second),
                ) {
                    (Some(op), Ok(arg), Some(next)) => Some((2, op, arg, next)),
                    _ => None,
                }
            } else if let Some((base, arg)) = s.name().split_once("__") {
                match (opcodes::by_name(base), arg.parse()) {
                    (Some(op), Ok(arg)) => Some((1, op, arg, 0)),
                    _ => None,
                }
            } else if let Some(op) = s.name().strip_suffix("_TAIL").and_then(opcodes::by_name) {
                Some((3, op, 0, 0))
            } else {
                opcodes::by_name(s.name()).map(|op| (0, op, 0, 0))
            };
            if let Some((kind, op, arg, next)) = row {
                expected.push((index, kind, op, arg, next));
            }
        }
        // The per-opcode tables build.rs made say what the names say.
        let at = |s: Option<&Stencil>| s.map(|s| s as *const Stencil);
        let stencil = |i: usize| Some(&stencils::STENCILS[i]);
        for op in 0..=255u8 {
            let rows = || expected.iter().filter(move |r| r.2 == op);
            let of_kind = |k: u8| rows().filter(move |r| r.1 == k);
            assert_eq!(
                at(stencils::generic(op)),
                at(of_kind(0).last().and_then(|r| stencil(r.0)))
            );
            assert_eq!(
                at(stencils::tail(op)),
                at(of_kind(3).last().and_then(|r| stencil(r.0)))
            );
            // Every oparg a variant or pair is named for, and some past them.
            let max_arg = rows().map(|r| r.3).max().unwrap_or(0);
            for arg in (0..max_arg + 300).chain([u32::MAX]) {
                let want = of_kind(1).find(|r| r.3 == arg).and_then(|r| stencil(r.0));
                assert_eq!(
                    at(stencils::variant(op, arg)),
                    at(want),
                    "{op} variant {arg}"
                );
            }
            assert_eq!(stencils::has_pairs(op), of_kind(2).next().is_some(), "{op}");
            if stencils::has_pairs(op) {
                for arg in 0..max_arg + 2 {
                    for next in 0..=255u8 {
                        let want = of_kind(2)
                            .find(|r| r.3 == arg && r.4 == next)
                            .and_then(|r| stencil(r.0));
                        let got = stencils::pair(op, arg, next);
                        assert_eq!(at(got), at(want), "{op} pair {arg} {next}");
                    }
                }
            }
        }
        assert!(expected.iter().any(|r| r.1 == 2), "pair stencils exist");
        assert!(expected.iter().any(|r| r.1 == 3), "tail stencils exist");
    }

    #[test]
    fn oparg_is_patched_into_the_stencil() {
        let symbols = vec![0x7000_0000_0000u64; stencils::symbol_count()];
        let units = [word("LOAD_FAST", 0xab), word("RETURN_VALUE", 0)];
        let c = compile(&input(&units, &symbols)).unwrap();
        let s = stencils::by_name("LOAD_FAST").unwrap();
        let oparg_hole = s
            .holes()
            .iter()
            .find(|h| h.target == Target::Hole(HoleValue::Oparg));
        if let Some(h) = oparg_hole {
            let at = h.offset as usize;
            let bytes = &c.code.bytes()[at..at + h.kind.width()];
            assert_eq!(bytes[0] as i64, (0xab + h.addend) & 0xff);
        }
    }
}
