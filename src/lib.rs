//! cpjit: a copy-and-patch JIT compiler for stock CPython 3.11.
//!
//! Module map:
//! - [`holes`], [`patch`], [`stencils`]: stencil tables from build.rs and how holes are filled.
//! - [`opcodes`], [`analysis`]: reading CPython 3.11 bytecode.
//! - [`memory`], [`compiler`]: laying out, patching and sealing machine code.
//! - [`runtime`]: the bridge to the C runtime in csrc/ (frame-eval hook, entry, hand-over).
//! - [`api`]: the `cpjit._cpjit` Python module; [`toplevel`]: running `python -m cpjit`'s program;
//!   [`tools_api`]: its perf-map and machine-code functions.
//! - [`perfmap`], [`disasm`]: `/tmp/perf-<pid>.map` entries and annotated machine code.

pub mod analysis;
pub mod api;
pub mod compiler;
pub mod disasm;
pub mod holes;
pub mod memory;
pub mod opcodes;
pub mod opt;
pub mod patch;
pub mod perfmap;
pub mod profile;
pub mod runtime;
#[cfg(test)]
mod split;
pub mod stencils;
pub mod superinstructions;
pub mod tools_api;
pub mod toplevel;
