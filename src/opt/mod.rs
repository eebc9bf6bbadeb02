//! The optimising tier: code specialised to the types the interpreter observed, with checks
//! that hand whatever they do not cover back to the baseline's code for the same instructions.
//!
//! Today it is one specialisation, made while the baseline compiles a code object: float runs
//! ([`float_runs`]), arithmetic on floats computed unboxed in registers. What it reads is the
//! interpreter's evidence (its quickened forms, the code's constants), and what it leaves is
//! the baseline's: every check that fails goes to a baseline copy of the same instructions.
//!
//! `CPJIT_OPT=0` ([`set_enabled`]) turns the tier off: the baseline compiles every instruction
//! on its own.
//!
//! What comes next, and why (benches/README.md, session 59): in richards the C side of
//! Python-to-Python calls (`cpjit_call`, `cpjit_frame_exit`, `cpjit_return_value`,
//! `cpjit_enter_callee`) runs about a third of all instructions, ~180 per call against ~60
//! that a call with everything known at the site would need, and deltablue, go, logging and
//! raytrace show the same shape; per-instruction work (attribute loads, local loads, stores) is
//! already within a few instructions of the interpreter's specialised forms. So the step that
//! moves the call-heavy benchmarks is inlining small callees at monomorphic sites: the callee
//! named by the site's cache (or by LOAD_METHOD's cached descriptor) compiled into the caller
//! under a guard on the function, its locals in data-stack space above the caller's frame, and
//! its frame made real (pushed, linked, `prev_instr` set) only on a path that needs one: an
//! error, a call out, a release that may run a finalizer, tracing. Such a path then hands the
//! callee's frame to the interpreter (or its baseline code) at that instruction and the caller
//! goes on natively after the call, the protocol `cpjit_frame_exit` already follows.

pub mod float_runs;

use std::sync::atomic::{AtomicBool, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turn the tier on or off for code compiled from now on.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether the tier is on for code compiled now.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}
