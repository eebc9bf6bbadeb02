//! Float and int runs: stretches of bytecode whose arithmetic runs unboxed (stencils/floats.c,
//! stencils/ints.c).
//!
//! A run is a stretch of one basic block that loads locals (fast locals, and the contents of
//! cell and free variables: LOAD_DEREF), their attributes and numeric constants and
//! combines them with `+ - * / **` (binary and in-place) and unary minus, down to one value,
//! with at least two operators (with one, nothing is saved: the baseline's BINARY_OP + STORE_FAST
//! pair already rebinds a local's float in place). It may end with the STORE_FAST of that value.
//! The run's stencils keep the values in xmm registers (a stack of four: deeper expressions are
//! not taken) and box only the result.
//!
//! Every check a run makes comes before anything visible happens, so a failed one (a local that
//! is not an exact float, a zero divisor, a power the interpreter would raise on) goes to the
//! baseline code of the same instructions, which the compiler lays out of line; it starts the
//! run again with the frame as it was.
//!
//! A run is taken only with evidence that its values are floats: an operator the interpreter
//! specialised to a float form (BINARY_OP_ADD_FLOAT, _SUBTRACT_FLOAT, _MULTIPLY_FLOAT), or a
//! float constant; and never where the interpreter specialised an operator to ints or strs. An
//! int constant is taken when it is below 2**30 (exactly a double) and meets a float; so is a
//! local holding a one-digit int (FLOAT_LOAD_NUM) where its operator's other operand is a float
//! whatever the locals hold (a float constant, an operator's result, an attribute leaf): `i *
//! 0.5`, `t / n`. Two int operands would be int arithmetic, so never both.
//!
//! Int runs (stencils/ints.c) are the same with ints in 64-bit registers, where the interpreter
//! specialised an operator to ints (BINARY_OP_ADD_INT, _SUBTRACT_INT, _MULTIPLY_INT): such an
//! operator reads its local operands as ints; one left generic is an int operator only when
//! both its operands surely are ints (an int operator's result and an int or a constant), with
//! `+ - * // % & | ^ << >>`. An int operator's result that a float operator takes is also put in
//! the double register by its operator (the `...F` stencils), so `1.0 / (i * j + 1)` is one run.
//! The stencils of both kinds share one calling convention (stencils/runs.h): four doubles and
//! four ints passed along.
//!
//! `CPJIT_OPT=0` turns runs off with the rest of the tier (src/opt/mod.rs).

use crate::analysis::Instruction;
use crate::opcodes::op;
use crate::stencils::{self, Stencil};
use std::sync::OnceLock;

/// A constant a run can use: its value as a double (exact), and whether it is a float.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Number {
    pub value: f64,
    pub is_float: bool,
}

/// Reads a constant (by its address in `co_consts`) as a [`Number`], or says it is none.
pub type ReadNumber = fn(u64) -> Option<Number>;

/// The deepest register stack the stencils have (xmm0-xmm3).
const DEPTH: usize = 4;

/// One run: instructions `start..=end` (`end` is the STORE_FAST when `stores`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub start: usize,
    pub end: usize,
    /// Index into the roles of the first instruction's role.
    pub roles: usize,
}

/// The stencil an instruction of a run gets, and its `_JIT_OPERAND`: a constant's bits, or for
/// an attribute leaf the local in the top 16 bits, the compiler adding the address of the
/// attribute cache of the instruction's baseline copy (`attribute`).
#[derive(Clone, Copy)]
pub struct Role {
    pub stencil: &'static Stencil,
    pub operand: u64,
    pub attribute: bool,
    /// A compare and jump ending the run: its `_JIT_JUMP_TARGET` is the jump's target, not
    /// the run's baseline copy (it checks nothing).
    pub branch: bool,
}

impl Role {
    fn new(stencil: &'static Stencil, operand: u64) -> Role {
        Role {
            stencil,
            operand,
            attribute: false,
            branch: false,
        }
    }
}

/// The float stencils, by depth (stencils/floats.c).
pub struct FloatStencils {
    /// Leaves by where the value is ([`FAST`]: the local, [`CELL`]: the cell it holds), then
    /// depth.
    load_fast: [[&'static Stencil; DEPTH]; 2],
    /// A local that may also hold a one-digit int (its operator's other operand is a float).
    load_num: [[&'static Stencil; DEPTH]; 2],
    load_const: [&'static Stencil; DEPTH],
    /// `local.name` (LOAD_FAST's code empty: `skip`).
    load_attr: [[&'static Stencil; DEPTH]; 2],
    /// The same where the attribute may also hold a one-digit int.
    load_attr_num: [[&'static Stencil; DEPTH]; 2],
    skip: &'static Stencil,
    /// By operator ([`Arith`]), then depth before the operator minus 2.
    arith: [[&'static Stencil; DEPTH - 1]; 5],
    /// Unary minus by depth minus 1.
    neg: [&'static Stencil; DEPTH],
    /// The last operator of a run whose value is pushed, by operator (unary minus last).
    boxed: [&'static Stencil; 6],
    store: &'static Stencil,
    /// The int stencils (stencils/ints.c), shaped as the float ones: loads by depth, operators
    /// by [`Arith::int_index`] then depth minus 2 (also into the double register: `to_float`),
    /// the last operator boxed (unary minus last), and the store.
    int_load_fast: [[&'static Stencil; DEPTH]; 2],
    int_load_attr: [[&'static Stencil; DEPTH]; 2],
    int_load_const: [&'static Stencil; DEPTH],
    int_arith: [[&'static Stencil; DEPTH - 1]; 10],
    int_to_float: [[&'static Stencil; DEPTH - 1]; INT_TO_FLOAT],
    int_neg: [&'static Stencil; DEPTH],
    int_boxed: [&'static Stencil; 11],
    int_store: &'static Stencil,
    /// `seq[i]` of a list (stencils/floats.c: ITEM_SLOT), the index a local or a constant.
    load_item: [[&'static Stencil; DEPTH]; 2],
    store_item: [&'static Stencil; 2],
    /// `local.name = ...` and `local.name op= ...` of a float result (its STORE_ATTR).
    store_attr: &'static Stencil,
    /// Compare and jump: by kind (0 floats, 1 ints), COMPARE_OP oparg, jump if true.
    compare: [[[&'static Stencil; 2]; 6]; 2],
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    FloorDiv,
    Mod,
    And,
    Or,
    Xor,
    LShift,
    RShift,
}

const ARITH_NAMES: [&str; 5] = ["ADD", "SUB", "MUL", "DIV", "POW"];
/// The int operators' stencil names, by [`Arith::int_index`]; the first [`INT_TO_FLOAT`] also
/// have a form that puts the result in the double register as well.
const INT_NAMES: [&str; 10] = [
    "ADD", "SUB", "MUL", "FLOORDIV", "MOD", "AND", "OR", "XOR", "LSHIFT", "RSHIFT",
];
const INT_TO_FLOAT: usize = 5;
/// COMPARE_OP's opargs in order (`<`, `<=`, `==`, `!=`, `>`, `>=`).
const COMPARE_NAMES: [&str; 6] = ["LT", "LE", "EQ", "NE", "GT", "GE"];

impl Arith {
    /// Whether floats have this operator (`+ - * / **`).
    fn is_float(self) -> bool {
        (self as usize) < ARITH_NAMES.len()
    }

    /// Its row in the int stencils, when ints have it (not `/` and `**`, whose int results are
    /// not ints or not always).
    fn int_index(self) -> Option<usize> {
        Some(match self {
            Arith::Add => 0,
            Arith::Sub => 1,
            Arith::Mul => 2,
            Arith::FloorDiv => 3,
            Arith::Mod => 4,
            Arith::And => 5,
            Arith::Or => 6,
            Arith::Xor => 7,
            Arith::LShift => 8,
            Arith::RShift => 9,
            Arith::Div | Arith::Pow => return None,
        })
    }
}

/// The operator a BINARY_OP oparg names, when runs take it (`NB_*`, binary and in-place).
fn arith_of(oparg: u32) -> Option<Arith> {
    Some(match oparg {
        0 | 13 => Arith::Add,
        10 | 23 => Arith::Sub,
        5 | 18 => Arith::Mul,
        11 | 24 => Arith::Div,
        8 | 21 => Arith::Pow,
        2 | 15 => Arith::FloorDiv,
        6 | 19 => Arith::Mod,
        1 | 14 => Arith::And,
        7 | 20 => Arith::Or,
        12 | 25 => Arith::Xor,
        3 | 16 => Arith::LShift,
        9 | 22 => Arith::RShift,
        _ => return None,
    })
}

/// The float stencils of this build, or None when one is missing.
pub fn stencils() -> Option<&'static FloatStencils> {
    static FLOATS: OnceLock<Option<FloatStencils>> = OnceLock::new();
    FLOATS
        .get_or_init(|| {
            let by = |name: String| stencils::by_name(&name);
            let depths = |kind: &str, from: usize| -> Option<[&'static Stencil; DEPTH]> {
                let mut out = [by(format!("{kind}__{from}"))?; DEPTH];
                for (k, slot) in out.iter_mut().enumerate() {
                    *slot = by(format!("{kind}__{}", k + from))?;
                }
                Some(out)
            };
            let row = |name: String| -> Option<[&'static Stencil; DEPTH - 1]> {
                let mut out = [by(format!("{name}__2"))?; DEPTH - 1];
                for (k, slot) in out.iter_mut().enumerate() {
                    *slot = by(format!("{name}__{}", k + 2))?;
                }
                Some(out)
            };
            // A leaf's stencils by where the value is ([`FAST`], [`CELL`]), then depth.
            let leaves = |fast: &str, cell: &str| Some([depths(fast, 0)?, depths(cell, 0)?]);
            let mut arith = Vec::new();
            let mut boxed = Vec::new();
            for name in ARITH_NAMES {
                arith.push(row(format!("FLOAT_{name}"))?);
                boxed.push(by(format!("FLOAT_{name}__BOX"))?);
            }
            boxed.push(by("FLOAT_NEG__BOX".into())?);
            let mut int_arith = Vec::new();
            let mut int_to_float = Vec::new();
            let mut int_boxed = Vec::new();
            for (k, name) in INT_NAMES.iter().enumerate() {
                int_arith.push(row(format!("INT_{name}"))?);
                if k < INT_TO_FLOAT {
                    let mut out = [by(format!("INT_{name}__2F"))?; DEPTH - 1];
                    for (d, slot) in out.iter_mut().enumerate() {
                        *slot = by(format!("INT_{name}__{}F", d + 2))?;
                    }
                    int_to_float.push(out);
                }
                int_boxed.push(by(format!("INT_{name}__BOX"))?);
            }
            int_boxed.push(by("INT_NEG__BOX".into())?);
            Some(FloatStencils {
                load_fast: leaves("FLOAT_LOAD_FAST", "FLOAT_LOAD_DEREF")?,
                load_num: leaves("FLOAT_LOAD_NUM", "FLOAT_LOAD_NUM_DEREF")?,
                load_const: depths("FLOAT_LOAD_CONST", 0)?,
                load_attr: leaves("FLOAT_LOAD_ATTR", "FLOAT_LOAD_ATTR_DEREF")?,
                load_attr_num: leaves("FLOAT_LOAD_ATTR_NUM", "FLOAT_LOAD_ATTR_NUM_DEREF")?,
                skip: by("FLOAT_SKIP".into())?,
                arith: arith.try_into().ok()?,
                neg: depths("FLOAT_NEG", 1)?,
                boxed: boxed.try_into().ok()?,
                store: by("FLOAT_STORE_FAST".into())?,
                int_load_fast: leaves("INT_LOAD_FAST", "INT_LOAD_DEREF")?,
                int_load_attr: leaves("INT_LOAD_ATTR", "INT_LOAD_ATTR_DEREF")?,
                int_load_const: depths("INT_LOAD_CONST", 0)?,
                int_arith: int_arith.try_into().ok()?,
                int_to_float: int_to_float.try_into().ok()?,
                int_neg: depths("INT_NEG", 1)?,
                int_boxed: int_boxed.try_into().ok()?,
                int_store: by("INT_STORE_FAST".into())?,
                load_item: [
                    depths("FLOAT_LOAD_ITEM_LOCAL", 0)?,
                    depths("FLOAT_LOAD_ITEM_CONST", 0)?,
                ],
                store_item: [
                    by("FLOAT_STORE_ITEM_LOCAL".into())?,
                    by("FLOAT_STORE_ITEM_CONST".into())?,
                ],
                store_attr: by("FLOAT_STORE_ATTR".into())?,
                compare: {
                    let mut out = [[[by("FLOAT_CMP_LT_IF_FALSE".into())?; 2]; 6]; 2];
                    for (kind, prefix) in ["FLOAT", "INT"].iter().enumerate() {
                        for (c, name) in COMPARE_NAMES.iter().enumerate() {
                            for (t, when) in ["IF_FALSE", "IF_TRUE"].iter().enumerate() {
                                out[kind][c][t] = by(format!("{prefix}_CMP_{name}_{when}"))?;
                            }
                        }
                    }
                    out
                },
            })
        })
        .as_ref()
}

/// What a register of the stack holds, as far as the compiler knows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A float (in the double register): an operator's float result, a float constant, an
    /// attribute leaf.
    Float,
    /// A local, its role (a float load until an operator says otherwise) and where its value is
    /// ([`FAST`] or [`CELL`]).
    Local(usize, usize),
    /// An attribute leaf, its role (a float load until an int operator says otherwise) and where
    /// its owner is.
    Attr(usize, usize),
    /// An int constant, its role and value (exact as a double: only ever an operand).
    IntConst(usize, i64),
    /// An int operator's result (in the int register): the operator's role, and its row in
    /// the int stencils when it is a binary operator (unary minus has none).
    Int(usize, Option<usize>),
}

/// A leaf's value is the local itself (LOAD_FAST).
const FAST: usize = 0;
/// A leaf's value is the contents of the cell the local holds (LOAD_DEREF of a cell or free
/// variable: 3.11's oparg indexes the frame's locals).
const CELL: usize = 1;

/// Whether runs take this instruction as a load.
#[inline(always)]
fn is_load(ins: &Instruction) -> bool {
    matches!(ins.opcode, op::LOAD_FAST | op::LOAD_CONST | op::LOAD_DEREF)
}

/// Whether runs take this instruction as an operator.
#[inline(always)]
fn is_operator(ins: &Instruction) -> bool {
    (ins.opcode == op::BINARY_OP && arith_of(ins.oparg).is_some())
        || ins.opcode == op::UNARY_NEGATIVE
}

/// What the search reads of the code object being compiled.
pub struct Code<'a> {
    pub instructions: &'a [Instruction],
    /// `co_code_adaptive`: its quickened forms are the evidence.
    pub units: &'a [u16],
    pub is_target: &'a [bool],
    /// Which instructions were laid aside (never in a run), when any were.
    pub aside: Option<&'a [bool]>,
    pub consts: &'a [u64],
    pub number: ReadNumber,
}

impl Code<'_> {
    /// Whether instruction `k` may not be in a run (laid aside).
    fn excluded(&self, k: usize) -> bool {
        self.aside.is_some_and(|a| a[k])
    }

    /// The form the interpreter quickened instruction `k` to.
    fn form(&self, k: usize) -> u8 {
        (self.units[self.instructions[k].unit] & 0xff) as u8
    }
}

/// Finds the runs of `code`. Fills `runs` and `roles` (cleared first).
///
/// One pass: a run starts with at most [`DEPTH`] leaves (a load; a load and a LOAD_ATTR; a list
/// item's loads, COPYs and BINARY_SUBSCR)
/// followed by an operator, so a stretch of loads followed by anything else is skipped whole;
/// only the rest are tried.
pub fn find(fs: &FloatStencils, code: &Code, runs: &mut Vec<Run>, roles: &mut Vec<Role>) {
    let instructions = code.instructions;
    runs.clear();
    roles.clear();
    let n = instructions.len();
    let mut i = 0;
    while i < n {
        if !is_load(&instructions[i]) {
            i += 1;
            continue;
        }
        let mut k = i + 1;
        while k < n
            && k - i < 2 * DEPTH
            && (is_load(&instructions[k])
                || matches!(
                    instructions[k].opcode,
                    op::LOAD_ATTR | op::BINARY_SUBSCR | op::COPY
                ))
        {
            k += 1;
        }
        if k == n || !is_operator(&instructions[k]) {
            i = k;
            continue;
        }
        let at = roles.len();
        match run_from(fs, code, i, roles) {
            Some(end) => {
                runs.push(Run {
                    start: i,
                    end,
                    roles: at,
                });
                i = end + 1;
            }
            None => {
                roles.truncate(at);
                i += 1;
            }
        }
    }
}

/// The LOAD_ATTR after the LOAD_FAST at `k` when the two make an attribute leaf: the
/// interpreter specialised it to an instance's inline values or a `__slots__` member (what
/// FLOAT_LOAD_ATTR reads), it falls through from the LOAD_FAST, and the local fits the
/// operand's 16 bits.
fn attribute_leaf(code: &Code, k: usize) -> Option<usize> {
    let next = code.instructions.get(k + 1)?;
    (next.opcode == op::LOAD_ATTR
        && matches!(
            code.form(k + 1),
            op::LOAD_ATTR_INSTANCE_VALUE | op::LOAD_ATTR_SLOT
        )
        && code.instructions[k].oparg < 1 << 16
        && !code.is_target[k + 1]
        && !code.excluded(k + 1))
    .then_some(k + 1)
}

/// A list item a run reads or writes: `seq[i]`, the index a local or a constant.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Item {
    /// The ITEM_SLOT operand (stencils/floats.c).
    operand: u64,
    /// 0: the index is a local; 1: a constant.
    kind: usize,
}

/// The item named by the LOAD_FAST at `k` and the index's load after it, when they fit the
/// operand (locals below 2**16, a constant index below 2**30).
fn item_at(code: &Code, k: usize) -> Option<Item> {
    let (seq, index) = (code.instructions.get(k)?, code.instructions.get(k + 1)?);
    if seq.opcode != op::LOAD_FAST || seq.oparg >= 1 << 16 || code.is_target[k + 1] {
        return None;
    }
    match index.opcode {
        op::LOAD_FAST if index.oparg < 1 << 16 => Some(Item {
            operand: seq.oparg as u64 | (index.oparg as u64) << 16,
            kind: 0,
        }),
        op::LOAD_CONST => {
            let num = code
                .consts
                .get(index.oparg as usize)
                .and_then(|&c| (code.number)(c))?;
            (!num.is_float && num.value >= 0.0).then_some(Item {
                operand: seq.oparg as u64 | (num.value as u64) << 32,
                kind: 1,
            })
        }
        _ => None,
    }
}

/// Whether instruction `k` has the opcode `opcode`, is no jump target and is not laid aside.
fn plain(code: &Code, k: usize, opcode: u8) -> bool {
    code.instructions
        .get(k)
        .is_some_and(|ins| ins.opcode == opcode)
        && !code.is_target[k]
        && !code.excluded(k)
}

/// `seq[i]` read at `k` (LOAD_FAST, the index, BINARY_SUBSCR the interpreter specialised to a
/// list and an int: BINARY_SUBSCR_LIST_INT).
fn item_leaf(code: &Code, k: usize) -> Option<Item> {
    let item = item_at(code, k)?;
    (plain(code, k + 1, code.instructions[k + 1].opcode)
        && plain(code, k + 2, op::BINARY_SUBSCR)
        && code.form(k + 2) == op::BINARY_SUBSCR_LIST_INT)
        .then_some(item)
}

/// `seq[i] op= ...` starting at `i`: LOAD_FAST, the index, COPY 2, COPY 2, BINARY_SUBSCR
/// (specialised to a list and an int). The run then reads the item and must end with the
/// in-place operator, SWAP 3, SWAP 2 and STORE_SUBSCR.
fn augmented_item(code: &Code, i: usize) -> Option<Item> {
    let item = item_at(code, i)?;
    let copies =
        (2..4).all(|d| plain(code, i + d, op::COPY) && code.instructions[i + d].oparg == 2);
    (copies
        && !code.excluded(i + 1)
        && plain(code, i + 4, op::BINARY_SUBSCR)
        && code.form(i + 4) == op::BINARY_SUBSCR_LIST_INT)
        .then_some(item)
}

/// The end of `seq[i] op= ...` after the in-place operator at `end`: SWAP 3, SWAP 2,
/// STORE_SUBSCR.
fn augmented_store(code: &Code, end: usize) -> bool {
    plain(code, end + 1, op::SWAP)
        && code.instructions[end + 1].oparg == 3
        && plain(code, end + 2, op::SWAP)
        && code.instructions[end + 2].oparg == 2
        && plain(code, end + 3, op::STORE_SUBSCR)
}

/// `seq[i] = value` after the value's last instruction `end`: LOAD_FAST, the index,
/// STORE_SUBSCR the interpreter specialised to a list and an int.
fn item_store(code: &Code, end: usize) -> Option<Item> {
    let item = item_at(code, end + 1)?;
    (plain(code, end + 1, op::LOAD_FAST)
        && !code.excluded(end + 2)
        && plain(code, end + 3, op::STORE_SUBSCR)
        && code.form(end + 3) == op::STORE_SUBSCR_LIST_INT)
        .then_some(item)
}

/// Whether STORE_ATTR `k` is one a run can do: the interpreter specialised it to an instance's
/// inline values or a `__slots__` member (what FLOAT_STORE_ATTR writes).
fn attr_store_at(code: &Code, k: usize) -> bool {
    plain(code, k, op::STORE_ATTR)
        && matches!(
            code.form(k),
            op::STORE_ATTR_INSTANCE_VALUE | op::STORE_ATTR_SLOT
        )
}

/// `local.name = value` after the value's last instruction `end`: the LOAD_FAST of a local that
/// fits the operand's 16 bits, and a STORE_ATTR a run can do. The store's operand (the local in
/// the top 16 bits; the compiler adds the cache's address).
fn attr_store(code: &Code, end: usize) -> Option<u64> {
    let owner = code.instructions.get(end + 1)?;
    (plain(code, end + 1, op::LOAD_FAST) && owner.oparg < 1 << 16 && attr_store_at(code, end + 2))
        .then_some((owner.oparg as u64) << 48)
}

/// `local.name op= ...` starting at `i`: LOAD_FAST, COPY 1, LOAD_ATTR (an attribute leaf's
/// LOAD_ATTR). The run then reads the attribute and must end with the in-place operator,
/// SWAP 2 and a STORE_ATTR a run can do. The local's operand, as [`attr_store`]'s.
fn augmented_attr(code: &Code, i: usize) -> Option<u64> {
    let owner = code.instructions.get(i)?;
    (owner.opcode == op::LOAD_FAST
        && owner.oparg < 1 << 16
        && plain(code, i + 1, op::COPY)
        && code.instructions[i + 1].oparg == 1
        && plain(code, i + 2, op::LOAD_ATTR)
        && matches!(
            code.form(i + 2),
            op::LOAD_ATTR_INSTANCE_VALUE | op::LOAD_ATTR_SLOT
        ))
    .then_some((owner.oparg as u64) << 48)
}

/// The end of `local.name op= ...` after the in-place operator at `end`: SWAP 2, STORE_ATTR.
fn augmented_attr_store(code: &Code, end: usize) -> bool {
    plain(code, end + 1, op::SWAP)
        && code.instructions[end + 1].oparg == 2
        && attr_store_at(code, end + 2)
}

/// How a BINARY_OP of a run computes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Float,
    Int,
}

/// The run starting at `i`, if there is one: its last instruction, its roles appended.
fn run_from(fs: &FloatStencils, code: &Code, i: usize, roles: &mut Vec<Role>) -> Option<usize> {
    let instructions = code.instructions;
    let mut stack = [Kind::Float; DEPTH];
    let mut depth = 0usize;
    let mut operators = 0;
    let mut evidence = false;
    // The longest prefix that ends with one value, enough operators and evidence: (its last
    // instruction, how many roles it has, whether the value is an int).
    let mut best: Option<(usize, usize, bool)> = None;
    let base = roles.len();
    if code.excluded(i) {
        return None;
    }
    let mut k = i;
    // `seq[i] op= ...`: the item is the first value, and the run can only end by storing it.
    let augmented = augmented_item(code, i);
    if let Some(item) = augmented {
        for _ in 0..4 {
            roles.push(Role::new(fs.skip, 0));
        }
        roles.push(Role::new(fs.load_item[item.kind][0], item.operand));
        stack[0] = Kind::Float;
        depth = 1;
        k = i + 5;
    }
    // `local.name op= ...`: the same with the attribute (read as an attribute leaf). Never
    // both: an item's index load follows its LOAD_FAST where an attribute's COPY does.
    let augmented_at = augmented_attr(code, i);
    if let Some(owner) = augmented_at {
        roles.push(Role::new(fs.skip, 0));
        roles.push(Role::new(fs.skip, 0));
        stack[0] = Kind::Attr(roles.len(), FAST);
        roles.push(Role {
            stencil: fs.load_attr[FAST][0],
            operand: owner,
            attribute: true,
            branch: false,
        });
        depth = 1;
        k = i + 3;
    }
    while k < instructions.len() {
        let ins = &instructions[k];
        if k > i && (code.is_target[k] || code.excluded(k)) {
            break;
        }
        match ins.opcode {
            op::LOAD_FAST | op::LOAD_DEREF => {
                if depth == DEPTH {
                    break;
                }
                let from = if ins.opcode == op::LOAD_DEREF {
                    CELL
                } else {
                    FAST
                };
                if let Some(item) = item_leaf(code, k).filter(|_| from == FAST) {
                    // `seq[i]`: the BINARY_SUBSCR reads both locals (or the constant).
                    roles.push(Role::new(fs.skip, 0));
                    roles.push(Role::new(fs.skip, 0));
                    roles.push(Role::new(fs.load_item[item.kind][depth], item.operand));
                    k += 2;
                    stack[depth] = Kind::Float;
                } else if let Some(attr) = attribute_leaf(code, k) {
                    // `local.name`: the LOAD_ATTR reads the local.
                    roles.push(Role::new(fs.skip, 0));
                    stack[depth] = Kind::Attr(roles.len(), from);
                    roles.push(Role {
                        stencil: fs.load_attr[from][depth],
                        operand: (ins.oparg as u64) << 48,
                        attribute: true,
                        branch: false,
                    });
                    k = attr;
                } else {
                    stack[depth] = Kind::Local(roles.len(), from);
                    roles.push(Role::new(fs.load_fast[from][depth], 0));
                }
                depth += 1;
            }
            op::LOAD_CONST => {
                let Some(num) = code
                    .consts
                    .get(ins.oparg as usize)
                    .and_then(|&c| (code.number)(c))
                else {
                    break;
                };
                if depth == DEPTH {
                    break;
                }
                stack[depth] = if num.is_float {
                    evidence = true;
                    Kind::Float
                } else {
                    Kind::IntConst(roles.len(), num.value as i64)
                };
                roles.push(Role::new(fs.load_const[depth], num.value.to_bits()));
                depth += 1;
            }
            op::BINARY_OP => {
                let Some(arith) = arith_of(ins.oparg) else {
                    break;
                };
                if depth < 2 {
                    break;
                }
                let (l, r) = (depth - 2, depth - 1);
                let mode = match code.form(k) {
                    op::BINARY_OP_ADD_FLOAT
                    | op::BINARY_OP_SUBTRACT_FLOAT
                    | op::BINARY_OP_MULTIPLY_FLOAT => {
                        evidence = true;
                        Mode::Float
                    }
                    // Both operands were ints when the interpreter specialised it.
                    op::BINARY_OP_ADD_INT
                    | op::BINARY_OP_SUBTRACT_INT
                    | op::BINARY_OP_MULTIPLY_INT => Mode::Int,
                    op::BINARY_OP_ADD_UNICODE | op::BINARY_OP_INPLACE_ADD_UNICODE => break,
                    // Not specialised: ints when both operands surely are (a true division's
                    // result is a float even then), else floats as far as the run knows.
                    _ if arith != Arith::Div && surely_ints(stack[l], stack[r]) => Mode::Int,
                    _ => Mode::Float,
                };
                match mode {
                    Mode::Int => {
                        let Some(row) = arith.int_index() else {
                            break;
                        };
                        if !int_operands(fs, roles, &stack, l, r) {
                            break;
                        }
                        stack[l] = Kind::Int(roles.len(), Some(row));
                        roles.push(Role::new(fs.int_arith[row][l], 0));
                    }
                    Mode::Float => {
                        if arith == Arith::Div {
                            // A true division's result is a float whatever its operands are,
                            // and for one-digit ints it is the double the interpreter computes
                            // (long_true_divide divides the two exact doubles): its locals and
                            // attributes may hold either. So it is evidence of floats when no
                            // operand is a float result of operators taken without evidence
                            // (`(a - x) / n` with an int `a` would fail at the `-` each time).
                            let unproven = |k: Kind| k == Kind::Float && !evidence;
                            if !unproven(stack[l]) && !unproven(stack[r]) {
                                evidence = true;
                            }
                            num_operands(fs, roles, &mut stack, l, r);
                        }
                        if !arith.is_float() || !float_operands(fs, roles, &mut stack, l, r) {
                            break;
                        }
                        roles.push(Role::new(fs.arith[arith as usize][l], 0));
                        stack[l] = Kind::Float;
                    }
                }
                depth -= 1;
                operators += 1;
            }
            op::COMPARE_OP => {
                // Only as the run's end, two values compared and the forward jump after it
                // taken or not, after one operator at least (else nothing is saved).
                let Some(if_true) = compare_jump(code, k) else {
                    break;
                };
                if depth != 2
                    || operators == 0
                    || augmented.is_some()
                    || augmented_at.is_some()
                    || ins.oparg > 5
                {
                    break;
                }
                let mode = match code.form(k) {
                    op::COMPARE_OP_FLOAT_JUMP => {
                        evidence = true;
                        Mode::Float
                    }
                    op::COMPARE_OP_INT_JUMP => Mode::Int,
                    op::COMPARE_OP_STR_JUMP => break,
                    _ if surely_ints(stack[0], stack[1]) => Mode::Int,
                    _ => Mode::Float,
                };
                let placed = match mode {
                    Mode::Int => int_operands(fs, roles, &stack, 0, 1),
                    Mode::Float => evidence && float_operands(fs, roles, &mut stack, 0, 1),
                };
                if !placed {
                    break;
                }
                let kind = usize::from(mode == Mode::Int);
                roles.push(Role::new(fs.skip, 0));
                roles.push(Role {
                    stencil: fs.compare[kind][ins.oparg as usize][usize::from(if_true)],
                    operand: 0,
                    attribute: false,
                    branch: true,
                });
                debug_assert!(roles.len() - base == k + 2 - i);
                return Some(k + 1);
            }
            op::UNARY_NEGATIVE => {
                if depth == 0 {
                    break;
                }
                let t = depth - 1;
                match stack[t] {
                    Kind::Float | Kind::Local(..) | Kind::Attr(..) => {
                        roles.push(Role::new(fs.neg[t], 0));
                        stack[t] = Kind::Float;
                    }
                    Kind::Int(..) => {
                        stack[t] = Kind::Int(roles.len(), None);
                        roles.push(Role::new(fs.int_neg[t], 0));
                    }
                    Kind::IntConst(..) => break,
                }
                operators += 1;
            }
            _ => break,
        }
        if augmented.is_some() {
            if depth == 1
                && operators >= 2
                && evidence
                && stack[0] == Kind::Float
                && ins.opcode == op::BINARY_OP
                && ins.oparg >= 13
                && augmented_store(code, k)
            {
                best = Some((k, roles.len(), false));
            }
        } else if augmented_at.is_some() {
            if depth == 1
                && evidence
                && stack[0] == Kind::Float
                && ins.opcode == op::BINARY_OP
                && ins.oparg >= 13
                && augmented_attr_store(code, k)
            {
                best = Some((k, roles.len(), false));
            }
        } else if depth == 1 && operators >= 2 {
            match stack[0] {
                Kind::Float if evidence => best = Some((k, roles.len(), false)),
                Kind::Int(..) => best = Some((k, roles.len(), true)),
                _ => {}
            }
        } else if depth == 1
            && operators == 1
            && evidence
            && stack[0] == Kind::Float
            && attr_store(code, k).is_some()
        {
            // One operator is enough where the result is stored as an attribute: the store
            // rebinds the attribute's float in place where the baseline allocates one.
            best = Some((k, roles.len(), false));
        }
        k += 1;
    }
    let (mut end, kept, int) = best?;
    roles.truncate(kept);
    if let Some(item) = augmented {
        roles.push(Role::new(fs.skip, 0));
        roles.push(Role::new(fs.skip, 0));
        roles.push(Role::new(fs.store_item[item.kind], item.operand));
        return Some(end + 3);
    }
    if let Some(owner) = augmented_at {
        roles.push(Role::new(fs.skip, 0));
        roles.push(Role {
            stencil: fs.store_attr,
            operand: owner,
            attribute: true,
            branch: false,
        });
        return Some(end + 2);
    }
    if let Some(owner) = attr_store(code, end).filter(|_| !int) {
        roles.push(Role::new(fs.skip, 0));
        roles.push(Role {
            stencil: fs.store_attr,
            operand: owner,
            attribute: true,
            branch: false,
        });
        return Some(end + 2);
    }
    if let Some(item) = item_store(code, end).filter(|_| !int) {
        roles.push(Role::new(fs.skip, 0));
        roles.push(Role::new(fs.skip, 0));
        roles.push(Role::new(fs.store_item[item.kind], item.operand));
        return Some(end + 3);
    }
    // The last operator boxes its result, unless a STORE_FAST takes it.
    let next = end + 1;
    if next < instructions.len()
        && instructions[next].opcode == op::STORE_FAST
        && !code.is_target[next]
        && !code.excluded(next)
    {
        roles.push(Role::new(if int { fs.int_store } else { fs.store }, 0));
        end = next;
    } else {
        let last = &instructions[end];
        let boxed = match (int, last.opcode == op::UNARY_NEGATIVE) {
            (false, true) => fs.boxed[5],
            (false, false) => fs.boxed[arith_of(last.oparg)? as usize],
            (true, true) => fs.int_boxed[10],
            (true, false) => fs.int_boxed[arith_of(last.oparg)?.int_index()?],
        };
        let r = roles.last_mut()?;
        r.stencil = boxed;
    }
    debug_assert!(roles.len() - base == end - i + 1);
    Some(end)
}

/// Puts the operands at depths `l` and `r` in their int registers: a local read as an int, a
/// constant's value; false when one is a float.
fn int_operands(
    fs: &FloatStencils,
    roles: &mut [Role],
    stack: &[Kind; DEPTH],
    l: usize,
    r: usize,
) -> bool {
    for p in [l, r] {
        match stack[p] {
            Kind::Local(role, from) => roles[role].stencil = fs.int_load_fast[from][p],
            Kind::Attr(role, from) => roles[role].stencil = fs.int_load_attr[from][p],
            Kind::IntConst(role, value) => {
                roles[role] = Role::new(fs.int_load_const[p], value as u64);
            }
            Kind::Int(..) => {}
            Kind::Float => return false,
        }
    }
    true
}

/// Puts the operands at depths `l` and `r` in their double registers for a float operator:
/// an int operator's result by its operator's form that converts it too; a local whose other
/// operand is a float whatever the locals hold (a float constant, an operator's result, an
/// attribute) may be a one-digit int, converted exactly as the float operators convert it
/// (never both operands: two ints would be int arithmetic). False when they cannot be (two
/// int constants, an int result without that form).
fn float_operands(
    fs: &FloatStencils,
    roles: &mut [Role],
    stack: &mut [Kind; DEPTH],
    l: usize,
    r: usize,
) -> bool {
    if matches!(stack[l], Kind::IntConst(..)) && matches!(stack[r], Kind::IntConst(..)) {
        return false;
    }
    for p in [l, r] {
        if let Kind::Int(role, row) = stack[p] {
            let Some(row) = row.filter(|&row| row < INT_TO_FLOAT) else {
                return false;
            };
            roles[role].stencil = fs.int_to_float[row][p];
            stack[p] = Kind::Float;
        }
    }
    // An attribute next to a float whatever happens (a constant, an operator's result) may be a
    // one-digit int, as a local may; any other attribute is read as an exact float, and so is
    // a sure float for a local beside it.
    if let Some((p, Kind::Attr(role, from))) = beside_float(stack, l, r) {
        roles[role].stencil = fs.load_attr_num[from][p];
    }
    for p in [l, r] {
        if let Kind::Attr(..) = stack[p] {
            stack[p] = Kind::Float;
        }
    }
    if let Some((p, Kind::Local(role, from))) = beside_float(stack, l, r) {
        roles[role].stencil = fs.load_num[from][p];
    }
    true
}

/// Reads the locals and attributes at depths `l` and `r` as floats or one-digit ints (the
/// NUM loads), for a true division; marks them floats.
fn num_operands(
    fs: &FloatStencils,
    roles: &mut [Role],
    stack: &mut [Kind; DEPTH],
    l: usize,
    r: usize,
) {
    for p in [l, r] {
        match stack[p] {
            Kind::Local(role, from) => roles[role].stencil = fs.load_num[from][p],
            Kind::Attr(role, from) => roles[role].stencil = fs.load_attr_num[from][p],
            _ => continue,
        }
        stack[p] = Kind::Float;
    }
}

/// The operand at `l` or `r` (its depth and kind) whose other operand is a float, if exactly
/// one of them is not a float.
fn beside_float(stack: &[Kind; DEPTH], l: usize, r: usize) -> Option<(usize, Kind)> {
    match (stack[l], stack[r]) {
        (Kind::Float, Kind::Float) => None,
        (other, Kind::Float) => Some((l, other)),
        (Kind::Float, other) => Some((r, other)),
        _ => None,
    }
}

/// Whether two operands are surely ints where the interpreter left the operator generic: an
/// int operator's result and an int or a constant (two constants the compiler would have
/// folded).
fn surely_ints(left: Kind, right: Kind) -> bool {
    let is_int = |kind| matches!(kind, Kind::Int(..) | Kind::IntConst(..));
    is_int(left)
        && is_int(right)
        && (matches!(left, Kind::Int(..)) || matches!(right, Kind::Int(..)))
}

/// Whether the COMPARE_OP at `k` is followed by a forward conditional jump a run can end
/// with: Some(true) for POP_JUMP_FORWARD_IF_TRUE, Some(false) for _IF_FALSE.
fn compare_jump(code: &Code, k: usize) -> Option<bool> {
    let next = code.instructions.get(k + 1)?;
    let if_true = match next.opcode {
        op::POP_JUMP_FORWARD_IF_TRUE => true,
        op::POP_JUMP_FORWARD_IF_FALSE => false,
        _ => return None,
    };
    (plain(code, k + 1, next.opcode) && next.jump_target.is_some()).then_some(if_true)
}
