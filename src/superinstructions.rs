//! 3.11's superinstructions as the quickened interpreter runs them: which instructions it runs
//! as the second half of a fused pair, so native code can report what the second half raises
//! (or frees) at the first half's `prev_instr`, as plain CPython does (stencils/fused.c).
//!
//! `_PyCode_Quicken` rewrites the first of two adjacent instructions into a superinstruction
//! (LOAD_FAST__LOAD_FAST, STORE_FAST__LOAD_FAST, LOAD_CONST__LOAD_FAST, STORE_FAST__STORE_FAST,
//! LOAD_FAST__LOAD_CONST) and leaves the second as it was. Running the first runs both, so the
//! second runs fused only when control reaches the first as an instruction of its own: in a
//! chain of such pairs, fused and lone instructions alternate from wherever control entered.
//! A jump into the middle of a chain therefore sees the other parity than falling through does.
//! The compiler lays the chain out in fall-through parity and, for each jump target where the
//! parity differs, an out-of-line copy of the rest of the chain in the jump's parity.
//!
//! It also says which instruction groups one stencil runs whole (`group`: UNPACK_SEQUENCE n and
//! the n STORE_FASTs after it, with the LOAD_FAST before it or not), whose stores keep the
//! parity above.

use crate::analysis::Instruction;
use crate::opcodes;

/// How the quickened interpreter runs an instruction when control gets there one way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// As an instruction of its own (`prev_instr` points at it).
    Alone,
    /// As the second half of the superinstruction the previous instruction became.
    Tail,
}

struct Ops {
    load_fast: u8,
    store_fast: u8,
    load_const: u8,
}

/// The opcodes superinstructions are made of (build-time constants: no lookup per compile).
const fn ops() -> &'static Ops {
    &Ops {
        load_fast: opcodes::op::LOAD_FAST,
        store_fast: opcodes::op::STORE_FAST,
        load_const: opcodes::op::LOAD_CONST,
    }
}

/// Whether the second half of a pair behaves differently from the instruction alone: what it
/// raises or frees is seen at the first half (LOAD_FAST, STORE_FAST; a LOAD_CONST cannot).
pub fn tail_differs(opcode: u8) -> bool {
    let o = ops();
    opcode == o.load_fast || opcode == o.store_fast
}

/// Whether quickening turns `a` into the first half of a superinstruction with `b`, the
/// instruction after it. Mirrors `_PyCode_Quicken`: an instruction with inline caches, or an
/// EXTENDED_ARG prefix, breaks a pair.
#[inline(always)]
pub fn fuses(a: &Instruction, b: &Instruction) -> bool {
    // `start != unit`: the quickener saw EXTENDED_ARG just before the second opcode.
    let pair = 4 * CLASS[a.opcode as usize] + CLASS[b.opcode as usize];
    b.start == b.unit && FUSING_PAIRS >> pair & 1 != 0
}

/// Per opcode: 1 LOAD_FAST, 2 STORE_FAST, 3 LOAD_CONST, 0 any other (no superinstruction).
const CLASS: [u8; 256] = {
    let o = ops();
    let mut class = [0u8; 256];
    class[o.load_fast as usize] = 1;
    class[o.store_fast as usize] = 2;
    class[o.load_const as usize] = 3;
    class
};

/// Bit `4 * CLASS[a] + CLASS[b]` set when quickening fuses `a` followed by `b`: LOAD_FAST,
/// STORE_FAST or LOAD_CONST then LOAD_FAST; STORE_FAST then STORE_FAST; LOAD_FAST then
/// LOAD_CONST.
const FUSING_PAIRS: u16 = 1 << (4 + 1) | 1 << (8 + 1) | 1 << (12 + 1) | 1 << (8 + 2) | 1 << (4 + 3);

/// Whether quickening turns instruction `i` into the first half of a superinstruction (with
/// the instruction after it).
#[inline(always)]
pub fn is_head(instructions: &[Instruction], i: usize) -> bool {
    instructions
        .get(i + 1)
        .is_some_and(|b| fuses(&instructions[i], b))
}

/// The mode of the instruction after one run in `mode`, falling through (`head`: that one is
/// a head, [`is_head`]): a head run alone makes its successor a tail.
#[inline(always)]
pub fn next_mode(mode: Mode, head: bool) -> Mode {
    if head && mode == Mode::Alone {
        Mode::Tail
    } else {
        Mode::Alone
    }
}

/// `heads[i]`: [`is_head`] for every instruction (the tests' reference).
#[cfg(test)]
fn heads(instructions: &[Instruction], heads: &mut Vec<bool>) {
    heads.clear();
    heads.extend((0..instructions.len()).map(|i| is_head(instructions, i)));
}

/// The mode of each instruction when control falls through to it from the code's start
/// (instruction 0 is entered alone; a head reached alone makes its successor a tail). The
/// compiler keeps the same as it goes, with [`next_mode`].
#[cfg(test)]
fn fallthrough_modes(heads: &[bool], modes: &mut Vec<Mode>) {
    modes.clear();
    let mut mode = Mode::Alone;
    for &head in heads {
        modes.push(mode);
        mode = next_mode(mode, head);
    }
}

/// For an instruction `q` that falls-through code runs as a tail, the instructions to copy out
/// of line so that control arriving at `q` on its own (a jump, an exception handler) runs them
/// in the other parity: `q..=last`, after which both parities agree again. None when no
/// instruction in that range behaves differently (the fall-through code serves both).
pub fn alone_copy(instructions: &[Instruction], q: usize) -> Option<usize> {
    let mut end = q;
    while is_head(instructions, end) {
        end += 1;
    }
    // `end` is the chain's last instruction: not a head, so its successor is alone either way.
    let last = if end < instructions.len() && tail_differs(instructions[end].opcode) {
        end
    } else {
        end.checked_sub(1)?
    };
    (last >= q && (q..=last).any(|i| tail_differs(instructions[i].opcode))).then_some(last)
}

/// Instruction groups one stencil runs whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// UNPACK_SEQUENCE n and the n STORE_FASTs after it (`a, b, c = t`).
    Unpack,
    /// LOAD_FAST (run alone), UNPACK_SEQUENCE n and the n STORE_FASTs (`a, b, c = t`, t a
    /// local).
    LoadUnpack,
    /// LOAD_FAST (alone, or as a second half no jump lands on) and the LOAD_ATTR, STORE_ATTR or
    /// LOAD_METHOD after it (`x.name`, `x.name = v`, `x.name(...)`, x a local): the compiler
    /// opens it only where there is a stencil for the second instruction's form
    /// (stencils/attrs.c: LOAD_FAST_ATTR[_*], LOAD_FAST_METHOD[_*], LOAD_FAST_STORE_ATTR[_*],
    /// a specialised form's own or the generic one).
    LocalOwner,
}

/// Whether instruction `i` heads a group, and how many instructions after it the group covers:
/// the stencil for the group (stencils/unpack.c: every case, errors included, with the stores
/// in the interpreter's order and superinstruction parity) is the only code laid out for them,
/// and the code after them follows it directly. The covered instructions must be reachable
/// only by falling through from `i`: no jump targets them, and none has an EXTENDED_ARG (the
/// stencil reads their opargs from the bytecode; an EXTENDED_ARG would also change the
/// quickener's pairs). They get no native entry of their own. A LOAD_FAST is included when
/// falling through runs it alone (`modes`; as a second half, what it raises is reported
/// elsewhere) and no jump lands in the chain of superinstruction heads just before it: such a
/// jump would get an out-of-line copy of the chain in the other parity, ending at the LOAD_FAST
/// and rejoining the main line after it, where the covered instructions have no code.
/// Only an instruction for which [`opens_group`] holds can open one (the compiler tests that
/// first, for every instruction, and calls this for those). `mode` is the mode falling through
/// runs instruction `i` in.
pub fn group(
    instructions: &[Instruction],
    is_target: &[bool],
    mode: Mode,
    i: usize,
) -> Option<(Group, usize)> {
    let ins = &instructions[i];
    if ins.opcode == opcodes::op::UNPACK_SEQUENCE {
        return unpack_group(instructions, is_target, i).map(|n| (Group::Unpack, n));
    }
    if ins.opcode != ops().load_fast || ins.start != ins.unit || *is_target.get(i + 1)? {
        return None;
    }
    let next = &instructions[i + 1];
    let (kind, n) = if takes_local_owner(next.opcode) {
        // The stencil finds the second instruction's code unit right after the LOAD_FAST's.
        (next.start == next.unit).then_some((Group::LocalOwner, 1))?
    } else {
        (
            Group::LoadUnpack,
            unpack_group(instructions, is_target, i + 1)? + 1,
        )
    };
    // A second half may open a LocalOwner group (its stencil reports an unbound local as the
    // pair does) unless a jump lands on it: arriving alone there would take an out-of-line copy
    // that rejoins the main line at the covered instruction.
    let mode_fits = match (mode, kind) {
        (Mode::Alone, _) => true,
        (Mode::Tail, Group::LocalOwner) => !is_target[i],
        (Mode::Tail, _) => false,
    };
    (mode_fits
        && !(0..i)
            .rev()
            .take_while(|&j| is_head(instructions, j))
            .any(|j| is_target[j]))
    .then_some((kind, n))
}

/// Whether instruction `i` can open a group (see [`group`]): an UNPACK_SEQUENCE, or a
/// LOAD_FAST before one or before an attribute instruction ([`takes_local_owner`]). A test of
/// opcodes, for every instruction, before [`group`].
#[inline(always)]
pub fn opens_group(instructions: &[Instruction], i: usize) -> bool {
    let unpack = opcodes::op::UNPACK_SEQUENCE;
    match instructions[i].opcode {
        op if op == unpack => true,
        op if op == ops().load_fast => instructions
            .get(i + 1)
            .is_some_and(|n| n.opcode == unpack || takes_local_owner(n.opcode)),
        _ => false,
    }
}

/// The attribute instructions a LOAD_FAST before them can join (Group::LocalOwner).
#[inline(always)]
fn takes_local_owner(opcode: u8) -> bool {
    use opcodes::op;
    opcode == op::LOAD_ATTR || opcode == op::STORE_ATTR || opcode == op::LOAD_METHOD
}

/// UNPACK_SEQUENCE n at `i` followed by n STORE_FASTs, none a jump target and none with an
/// EXTENDED_ARG: n.
fn unpack_group(instructions: &[Instruction], is_target: &[bool], i: usize) -> Option<usize> {
    let ins = instructions.get(i)?;
    if ins.opcode != opcodes::op::UNPACK_SEQUENCE || ins.start != ins.unit || ins.oparg == 0 {
        return None;
    }
    let n = ins.oparg as usize;
    let stores = instructions.get(i + 1..i + 1 + n)?;
    let store = ops().store_fast;
    stores
        .iter()
        .zip(&is_target[i + 1..i + 1 + n])
        .all(|(s, &target)| s.opcode == store && s.start == s.unit && !target)
        .then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ins(name: &str, unit: usize) -> Instruction {
        Instruction {
            start: unit,
            unit,
            opcode: opcodes::by_name(name).unwrap(),
            oparg: 0,
            next: unit + 1,
            jump_target: None,
        }
    }

    fn plan(names: &[&str]) -> Vec<Instruction> {
        names.iter().enumerate().map(|(i, n)| ins(n, i)).collect()
    }

    fn modes_of(names: &[&str]) -> (Vec<bool>, Vec<Mode>) {
        let p = plan(names);
        let (mut h, mut m) = (Vec::new(), Vec::new());
        heads(&p, &mut h);
        fallthrough_modes(&h, &mut m);
        (h, m)
    }

    use Mode::{Alone as A, Tail as T};

    #[test]
    fn the_quickeners_pairs() {
        let (h, m) = modes_of(&["STORE_FAST", "LOAD_FAST", "RETURN_VALUE"]);
        assert_eq!(h, [true, false, false]);
        assert_eq!(m, [A, T, A]);
        let (h, _) = modes_of(&["LOAD_FAST", "STORE_FAST", "LOAD_CONST", "STORE_FAST"]);
        assert_eq!(h, [false, false, false, false]);
        let (h, m) = modes_of(&["STORE_FAST", "STORE_FAST", "LOAD_CONST", "LOAD_FAST"]);
        assert_eq!(h, [true, false, true, false]);
        assert_eq!(m, [A, T, A, T]);
    }

    #[test]
    fn chains_alternate() {
        // LF a; LF b; LF c; LF d: pairs (a,b) and (c,d) when entered at a.
        let (h, m) = modes_of(&[
            "LOAD_FAST",
            "LOAD_FAST",
            "LOAD_FAST",
            "LOAD_FAST",
            "POP_TOP",
        ]);
        assert_eq!(h, [true, true, true, false, false]);
        assert_eq!(m, [A, T, A, T, A]);
        // LF a; LC 1; LF b: LOAD_FAST__LOAD_CONST consumes the LOAD_CONST, so b runs alone.
        let (_, m) = modes_of(&["LOAD_FAST", "LOAD_CONST", "LOAD_FAST", "POP_TOP"]);
        assert_eq!(m, [A, T, A, A]);
    }

    #[test]
    fn extended_arg_breaks_a_pair() {
        let mut p = plan(&["STORE_FAST", "LOAD_FAST", "POP_TOP"]);
        p[1].start = 0; // pretend an EXTENDED_ARG sits between
        let mut h = Vec::new();
        heads(&p, &mut h);
        assert_eq!(h, [false, false, false]);
    }

    #[test]
    fn local_owner_groups() {
        let names = ["LOAD_FAST", "LOAD_ATTR", "RETURN_VALUE"];
        let mut p = plan(&names);
        let (_, m) = modes_of(&names);
        let t = [false; 3];
        assert!(opens_group(&p, 0));
        assert_eq!(group(&p, &t, m[0], 0), Some((Group::LocalOwner, 1)));
        // Not when the LOAD_ATTR is a jump target, or when an EXTENDED_ARG comes before
        // either.
        assert_eq!(group(&p, &[false, true, false], m[0], 0), None);
        // As a second half only when no jump lands on it.
        assert_eq!(group(&p, &t, Mode::Tail, 0), Some((Group::LocalOwner, 1)));
        assert_eq!(group(&p, &[true, false, false], Mode::Tail, 0), None);
        p[1].start = 0;
        assert_eq!(group(&p, &t, m[0], 0), None);
        let mut q = plan(&names);
        q[0].start = 0;
        q[0].unit = 1;
        assert_eq!(group(&q, &t, m[0], 0), None);
        // Stores and methods too; not a LOAD_FAST before anything else, nor at the end.
        assert!(opens_group(&plan(&["LOAD_FAST", "STORE_ATTR"]), 0));
        assert!(opens_group(&plan(&["LOAD_FAST", "LOAD_METHOD"]), 0));
        assert!(!opens_group(&plan(&["LOAD_FAST", "DELETE_ATTR"]), 0));
        assert!(!opens_group(&plan(&["LOAD_FAST"]), 0));
    }

    #[test]
    fn unpack_groups() {
        let names = [
            "LOAD_FAST",
            "UNPACK_SEQUENCE",
            "STORE_FAST",
            "STORE_FAST",
            "LOAD_FAST",
        ];
        let mut p = plan(&names);
        p[1].oparg = 2;
        let (_, m) = modes_of(&names);
        let t = vec![false; p.len()];
        assert_eq!(group(&p, &t, m[1], 1), Some((Group::Unpack, 2)));
        assert_eq!(group(&p, &t, m[0], 0), Some((Group::LoadUnpack, 3)));
        assert_eq!(group(&p, &t, m[2], 2), None);
        // The LOAD_FAST is left out when it runs as a second half, when a jump lands in the
        // chain before it, or when the UNPACK_SEQUENCE is a jump target.
        let names2 = [
            "STORE_FAST",
            "STORE_FAST",
            "LOAD_FAST",
            "UNPACK_SEQUENCE",
            "STORE_FAST",
        ];
        let mut p2 = plan(&names2);
        p2[3].oparg = 1;
        let (_, m2) = modes_of(&names2);
        assert_eq!(m2[2], Mode::Alone);
        assert_eq!(
            group(&p2, &[false; 5], m2[2], 2),
            Some((Group::LoadUnpack, 2))
        );
        let t3 = [false, true, false, false, false];
        assert_eq!(group(&p2, &t3, m2[2], 2), None);
        assert_eq!(group(&p2, &t3, m2[3], 3), Some((Group::Unpack, 1)));
        let mut m3 = m2.clone();
        m3[2] = Mode::Tail;
        assert_eq!(group(&p2, &[false; 5], m3[2], 2), None);
        let mut t1 = t.clone();
        t1[1] = true;
        assert_eq!(group(&p, &t1, m[0], 0), None);
        assert_eq!(group(&p, &t1, m[1], 1), Some((Group::Unpack, 2)));
        // Three items but only two stores: no group.
        p[1].oparg = 3;
        assert_eq!(group(&p, &t, m[1], 1), None);
        assert_eq!(group(&p, &t, m[0], 0), None);
        // A store that is a jump target, or has an EXTENDED_ARG, breaks it.
        p[1].oparg = 2;
        let mut t2 = t.clone();
        t2[3] = true;
        assert_eq!(group(&p, &t2, m[1], 1), None);
        p[2].start = 1;
        assert_eq!(group(&p, &t, m[1], 1), None);
        // Past the end of the code.
        let mut q = plan(&["UNPACK_SEQUENCE", "STORE_FAST"]);
        q[0].oparg = 2;
        assert_eq!(group(&q, &[false, false], Mode::Alone, 0), None);
    }

    #[test]
    fn jumps_into_a_chain_get_the_other_parity_copied() {
        let names = ["STORE_FAST", "LOAD_FAST", "LOAD_FAST", "BINARY_OP"];
        let p = plan(&names);
        let (_, m) = modes_of(&names);
        assert_eq!(m, [A, T, A, A]);
        // Entering at 1 alone: (1,2) fuse, so 2 is a tail there: copy 1..=2.
        assert_eq!(alone_copy(&p, 1), Some(2));
        // A tail LOAD_CONST that ends its chain behaves the same either way.
        let names = ["LOAD_FAST", "LOAD_CONST", "BINARY_OP"];
        assert_eq!(alone_copy(&plan(&names), 1), None);
        // The common case: a jump target LOAD_FAST after a STORE_FAST, then something else.
        let names = ["STORE_FAST", "LOAD_FAST", "POP_JUMP_FORWARD_IF_TRUE"];
        assert_eq!(alone_copy(&plan(&names), 1), Some(1));
    }
}
