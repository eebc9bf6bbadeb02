//! Which instructions have not run since the interpreter quickened the code: read off the
//! specialisation state CPython 3.11 keeps in `co_code_adaptive`, so that the compiler can lay
//! the code of blocks that never ran away from the code that did (src/compiler.rs).
//!
//! Quickening turns every instruction that specialises into its `*_ADAPTIVE` form with a zero
//! counter in its first inline cache entry. Its first execution replaces it by a specialised
//! form, or (when specialisation fails) backs the counter off to a non-zero value; a specialised
//! form that keeps missing goes back to `*_ADAPTIVE` with a non-zero counter. So an
//! `*_ADAPTIVE` instruction with a zero counter has not run since quickening, and any other form
//! of a quickened instruction has. A tiered code object compiles after hundreds of interpreted
//! calls or loop iterations, and is quickened after the first few: a block whose adaptive
//! instructions never ran is rarely run code (an error branch, a first-call-only path, the code
//! after a long loop).
//!
//! The answer is a layout hint only: code laid aside runs exactly as it would in line, a jump
//! away. Code compiled before quickening (threshold 0) gives no evidence and is laid out whole.

use crate::analysis::Instruction;
use crate::opcodes::{self, op};
use std::sync::OnceLock;

/// What an instruction's specialisation state says about whether it ran since quickening.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Evidence {
    /// No evidence: it does not specialise, or the code is not quickened.
    Unknown,
    /// `*_ADAPTIVE` with a zero counter.
    NotRun,
    /// Specialised, or adaptive with a counter it only gets by running.
    Ran,
}

/// Per opcode: whether it is the `*_ADAPTIVE` form of a specialising instruction.
fn adaptive_table() -> &'static [bool; 256] {
    static TABLE: OnceLock<[bool; 256]> = OnceLock::new();
    TABLE.get_or_init(|| std::array::from_fn(|op| opcodes::name(op as u8).ends_with("_ADAPTIVE")))
}

fn evidence(units: &[u16], ins: &Instruction) -> Evidence {
    if opcodes::cache_entries(ins.opcode) == 0 {
        return Evidence::Unknown;
    }
    let word = units[ins.unit];
    let op = (word & 0xff) as u8;
    if adaptive_table()[op as usize] {
        // The counter is the first cache entry (analysis checked the caches are there).
        match units.get(ins.unit + 1) {
            Some(0) => Evidence::NotRun,
            _ => Evidence::Ran,
        }
    } else if op == ins.opcode {
        // The base form: not quickened yet.
        Evidence::Unknown
    } else {
        Evidence::Ran
    }
}

/// Whether the interpreter has quickened the code: its `RESUME` is `RESUME_QUICK` (most code
/// compiles before that, at its first call: the check spares it the pass).
fn quickened(units: &[u16], instructions: &[Instruction]) -> bool {
    instructions
        .iter()
        .find(|ins| ins.opcode == op::RESUME)
        .is_some_and(|ins| (units[ins.unit] & 0xff) as u8 == op::RESUME_QUICK)
}

/// Whether control can go from `ins` to the instruction after it.
fn falls_through(ins: &Instruction) -> bool {
    !matches!(
        ins.opcode,
        op::JUMP_FORWARD
            | op::JUMP_BACKWARD
            | op::JUMP_BACKWARD_NO_INTERRUPT
            | op::RETURN_VALUE
            | op::RAISE_VARARGS
            | op::RERAISE
    )
}

/// `ways_in` flags: a jump from an earlier instruction laid aside lands here.
const FROM_ASIDE: u8 = 1;
/// A jump from an earlier instruction kept in line, or from a later one, lands here.
const FROM_RUN: u8 = 2;

/// Per instruction, into `aside` (cleared first): whether it lies in a basic block that has not
/// run since quickening. A block with a specialising instruction answers from its evidence; a
/// block without any is aside when it has a way in and every way in (falling in, jumps from
/// earlier blocks) comes from code laid aside; a jump from later code (a loop's back edge)
/// counts as run, and so does having no way in (an exception handler's entry). `ways_in` is
/// scratch. Returns whether any instruction is aside. Linear in the instructions.
pub fn not_run_since_quickening(
    units: &[u16],
    instructions: &[Instruction],
    is_target: &[bool],
    aside: &mut Vec<bool>,
    ways_in: &mut Vec<u8>,
) -> bool {
    let n = instructions.len();
    aside.clear();
    aside.resize(n, false);
    if !quickened(units, instructions) {
        return false;
    }
    ways_in.clear();
    ways_in.resize(n, 0);
    for (j, ins) in instructions.iter().enumerate() {
        if let Some(t) = ins.jump_target.filter(|&t| t <= j) {
            ways_in[t] |= FROM_RUN;
        }
    }
    let jumps = opcodes::jump_table();
    let mut any = false;
    let mut start = 0;
    while start < n {
        // The block [start, end): ends after a jump or an instruction that does not fall
        // through, or before a jump target.
        let mut end = start;
        let mut seen = Evidence::Unknown;
        loop {
            let ins = &instructions[end];
            match evidence(units, ins) {
                Evidence::Ran => seen = Evidence::Ran,
                Evidence::NotRun if seen == Evidence::Unknown => seen = Evidence::NotRun,
                _ => {}
            }
            end += 1;
            if end == n
                || is_target[end]
                || jumps[ins.opcode as usize].is_some()
                || !falls_through(ins)
            {
                break;
            }
        }
        let cold = match seen {
            Evidence::Ran => false,
            Evidence::NotRun => true,
            Evidence::Unknown => {
                let fall_in = start > 0 && falls_through(&instructions[start - 1]);
                let jumped_in = ways_in[start];
                (fall_in || jumped_in != 0)
                    && (!fall_in || aside[start - 1])
                    && jumped_in & FROM_RUN == 0
            }
        };
        if cold {
            aside[start..end].fill(true);
            any = true;
        }
        for (j, ins) in instructions.iter().enumerate().take(end).skip(start) {
            if let Some(t) = ins.jump_target.filter(|&t| t > j) {
                ways_in[t] |= if cold { FROM_ASIDE } else { FROM_RUN };
            }
        }
        start = end;
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyse;

    fn w(name: &str, arg: u16) -> u16 {
        opcodes::by_name(name).unwrap() as u16 | arg << 8
    }

    fn aside_of(units: &[u16]) -> Vec<bool> {
        let plan = analyse(units).unwrap();
        let mut is_target = vec![false; plan.instructions.len()];
        for ins in &plan.instructions {
            if let Some(t) = ins.jump_target {
                is_target[t] = true;
            }
        }
        let (mut aside, mut ways_in) = (Vec::new(), Vec::new());
        not_run_since_quickening(
            units,
            &plan.instructions,
            &is_target,
            &mut aside,
            &mut ways_in,
        );
        aside
    }

    /// `if x: return g.a` else `return y`, with the if-branch's LOAD_GLOBAL and LOAD_ATTR as
    /// quickening left them (`global`, `attr`: opcode and counter).
    fn branchy(global: (&str, u16), attr: (&str, u16)) -> Vec<u16> {
        vec![
            w("RESUME_QUICK", 0),
            w("LOAD_FAST", 0),
            w("POP_JUMP_FORWARD_IF_FALSE", 12),
            w(global.0, 1),
            global.1,
            0,
            0,
            0,
            0,
            w(attr.0, 0),
            attr.1,
            0,
            0,
            0,
            w("RETURN_VALUE", 0),
            w("LOAD_FAST", 1),
            w("RETURN_VALUE", 0),
        ]
    }

    #[test]
    fn a_block_whose_adaptive_instructions_never_ran_is_aside() {
        let units = branchy(("LOAD_GLOBAL_ADAPTIVE", 0), ("LOAD_ATTR_ADAPTIVE", 0));
        // RESUME LOAD_FAST POP_JUMP | LOAD_GLOBAL LOAD_ATTR RETURN | LOAD_FAST RETURN
        assert_eq!(
            aside_of(&units),
            [false, false, false, true, true, true, false, false]
        );
    }

    #[test]
    fn any_sign_of_running_keeps_a_block_in_line() {
        for (global, attr) in [
            (("LOAD_GLOBAL_MODULE", 53), ("LOAD_ATTR_ADAPTIVE", 0)),
            (
                ("LOAD_GLOBAL_ADAPTIVE", 0),
                ("LOAD_ATTR_ADAPTIVE", 31 << 4 | 5),
            ),
            (("LOAD_GLOBAL_ADAPTIVE", 0), ("LOAD_ATTR_INSTANCE_VALUE", 0)),
        ] {
            assert!(aside_of(&branchy(global, attr)).iter().all(|a| !a));
        }
    }

    #[test]
    fn code_not_quickened_gives_no_evidence() {
        let units = branchy(("LOAD_GLOBAL", 0), ("LOAD_ATTR", 0));
        assert!(aside_of(&units).iter().all(|a| !a));
        // A RESUME not quickened: the pass stops before looking at anything else.
        let mut units = branchy(("LOAD_GLOBAL_ADAPTIVE", 0), ("LOAD_ATTR_ADAPTIVE", 0));
        units[0] = w("RESUME", 0);
        assert!(aside_of(&units).iter().all(|a| !a));
    }

    #[test]
    fn a_block_without_evidence_follows_the_ways_into_it() {
        // 0 RESUME; 1 LOAD_FAST; 2 POP_JUMP_IF_FALSE -> L; 3 LOAD_GLOBAL (never ran);
        // 4 POP_JUMP_IF_FALSE -> M; 5 NOP; M: 6 NOP; L: 7 LOAD_FAST; 8 RETURN_VALUE.
        // 5 and M are reached only from code that never ran; L also from the jump that ran.
        let units = vec![
            w("RESUME_QUICK", 0),
            w("LOAD_FAST", 0),
            w("POP_JUMP_FORWARD_IF_FALSE", 9),
            w("LOAD_GLOBAL_ADAPTIVE", 0),
            0,
            0,
            0,
            0,
            0,
            w("POP_JUMP_FORWARD_IF_FALSE", 1),
            w("NOP", 0),
            w("NOP", 0),
            w("LOAD_FAST", 1),
            w("RETURN_VALUE", 0),
        ];
        assert_eq!(
            aside_of(&units),
            [false, false, false, true, true, true, true, false, false]
        );
    }

    #[test]
    fn a_jump_from_later_code_keeps_a_block_in_line() {
        // 0 RESUME; 1 JUMP_FORWARD -> L; H: 2 NOP; 3 RETURN_VALUE; L: 4 LOAD_GLOBAL (never
        // ran); 5 JUMP_BACKWARD -> H. H's only way in is a jump from later code: in line.
        let units = vec![
            w("RESUME_QUICK", 0),
            w("JUMP_FORWARD", 2),
            w("NOP", 0),
            w("RETURN_VALUE", 0),
            w("LOAD_GLOBAL_ADAPTIVE", 0),
            0,
            0,
            0,
            0,
            0,
            w("JUMP_BACKWARD", 9),
        ];
        assert_eq!(aside_of(&units), [false, false, false, false, true, true]);
    }
}
