//! Every external symbol a stencil uses resolves when the crate links against libpython.

use cpjit::{runtime, stencils};

#[test]
fn every_stencil_symbol_resolves() {
    let addrs = runtime::symbol_addresses();
    assert_eq!(addrs.len(), stencils::symbol_count());
    for (name, addr) in stencils::symbol_names().zip(addrs) {
        assert_ne!(*addr, 0, "{name} did not resolve");
    }
}

#[test]
fn stencils_only_use_known_symbol_kinds() {
    // Holes for the error exit and per-instruction values are the only `_JIT_*` names; anything
    // else was rejected by build.rs, so here every symbol is a CPython or cpjit C function/data.
    for name in stencils::symbol_names() {
        assert!(
            !name.starts_with("_JIT_"),
            "{name} leaked into the symbol table"
        );
        assert!(
            name.starts_with("Py") || name.starts_with("_Py") || name.starts_with("cpjit_"),
            "unexpected external symbol {name}"
        );
    }
}
