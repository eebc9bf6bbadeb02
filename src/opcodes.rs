//! CPython 3.11's opcode tables, generated at build time from the target interpreter's own `dis`
//! and `opcode` modules (never typed in by hand).

include!(concat!(env!("OUT_DIR"), "/opcodes.rs"));

/// The base opcode of a possibly specialised one (`LOAD_FAST__LOAD_FAST` -> `LOAD_FAST`).
pub fn deopt(op: u8) -> u8 {
    DEOPT[op as usize]
}

/// The opcode number of a base instruction name.
pub fn by_name(name: &str) -> Option<u8> {
    (0..=255).find(|&op| self::name(op) == name)
}

/// The name of an opcode (`<N>` for an unused number), as `dis` spells it.
pub fn name(op: u8) -> &'static str {
    let (at, end) = (OPNAME_AT[op as usize], OPNAME_AT[op as usize + 1]);
    // SAFETY: build.rs checked that every opcode name is ASCII.
    unsafe { std::str::from_utf8_unchecked(&OPNAMES[at as usize..end as usize]) }
}

/// Inline cache entries (code units) following a base instruction.
pub fn cache_entries(op: u8) -> usize {
    CACHE_ENTRIES[deopt(op) as usize] as usize
}

/// How an instruction's oparg turns into a jump target, if it jumps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jump {
    Forward,
    Backward,
}

/// How an instruction's oparg turns into a jump target, if it jumps (a table lookup: the
/// compiler asks once per instruction).
pub fn jump_kind(op: u8) -> Option<Jump> {
    jump_table()[op as usize]
}

/// [`jump_kind`] of every opcode (for loops: one lookup of the table, then indexing).
pub fn jump_table() -> &'static [Option<Jump>; 256] {
    static TABLE: std::sync::OnceLock<[Option<Jump>; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| std::array::from_fn(|op| jump_kind_of(op as u8)))
}

fn jump_kind_of(op: u8) -> Option<Jump> {
    let n = name(deopt(op));
    match n {
        "JUMP_BACKWARD"
        | "JUMP_BACKWARD_NO_INTERRUPT"
        | "POP_JUMP_BACKWARD_IF_FALSE"
        | "POP_JUMP_BACKWARD_IF_TRUE"
        | "POP_JUMP_BACKWARD_IF_NONE"
        | "POP_JUMP_BACKWARD_IF_NOT_NONE" => Some(Jump::Backward),
        "JUMP_FORWARD"
        | "POP_JUMP_FORWARD_IF_FALSE"
        | "POP_JUMP_FORWARD_IF_TRUE"
        | "POP_JUMP_FORWARD_IF_NONE"
        | "POP_JUMP_FORWARD_IF_NOT_NONE"
        | "JUMP_IF_FALSE_OR_POP"
        | "JUMP_IF_TRUE_OR_POP"
        | "FOR_ITER"
        | "SEND" => Some(Jump::Forward),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specialised_forms_deopt_to_their_base() {
        let lf = by_name("LOAD_FAST").unwrap();
        let lflf = by_name("LOAD_FAST__LOAD_FAST").unwrap();
        assert_eq!(deopt(lflf), lf);
        assert_eq!(deopt(lf), lf);
        let ext = by_name("EXTENDED_ARG").unwrap();
        assert_eq!(deopt(by_name("EXTENDED_ARG_QUICK").unwrap()), ext);
    }

    #[test]
    fn cache_sizes_match_3_11() {
        assert_eq!(cache_entries(by_name("LOAD_GLOBAL").unwrap()), 5);
        assert_eq!(cache_entries(by_name("BINARY_OP").unwrap()), 1);
        assert_eq!(cache_entries(by_name("LOAD_ATTR").unwrap()), 4);
        assert_eq!(cache_entries(by_name("CALL").unwrap()), 4);
        assert_eq!(cache_entries(by_name("LOAD_FAST").unwrap()), 0);
    }

    #[test]
    fn jumps_are_classified() {
        assert_eq!(
            jump_kind(by_name("JUMP_BACKWARD").unwrap()),
            Some(Jump::Backward)
        );
        assert_eq!(jump_kind(by_name("FOR_ITER").unwrap()), Some(Jump::Forward));
        assert_eq!(jump_kind(by_name("LOAD_FAST").unwrap()), None);
    }
}
