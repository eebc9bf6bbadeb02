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
