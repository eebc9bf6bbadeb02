//! The `cpjit._cpjit` extension module: enable/disable, compile, stats. Errors become Python
//! exceptions here and nowhere else.

// pyo3 0.22's #[pyfunction] expands to an `.into()` on PyErr that newer clippy flags.
#![allow(clippy::useless_conversion)]

use crate::runtime::{self, COMPILE_STATS, REASONS};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::sync::atomic::Ordering;

fn init_runtime() -> PyResult<()> {
    // SAFETY: GIL held (we are called from Python).
    if unsafe { runtime::cpjit_rt_init() } < 0 {
        return Err(PyRuntimeError::new_err(
            "cpjit: cannot reserve a co_extra slot",
        ));
    }
    Ok(())
}

/// Install the JIT as this interpreter's frame evaluator. `threshold` is the number of calls a
/// code object runs in the interpreter before it is compiled (0: compile at the first call).
#[pyfunction]
#[pyo3(signature = (threshold=None))]
fn enable(py: Python<'_>, threshold: Option<i64>) -> PyResult<()> {
    init_runtime()?;
    if let Some(t) = threshold {
        let t = u32_setting(t, "threshold")?;
        // SAFETY: GIL held.
        unsafe { runtime::cpjit_rt_set_threshold(t) };
    }
    // SAFETY: GIL held.
    if unsafe { runtime::cpjit_rt_install() } < 0 {
        // Installed; a signal handler raised while the runtime measured its calls (Ctrl-C).
        return Err(PyErr::fetch(py));
    }
    Ok(())
}

/// Restore the frame evaluator that was installed before `enable()`.
#[pyfunction]
fn disable() {
    // SAFETY: GIL held.
    unsafe { runtime::cpjit_rt_uninstall() };
}

#[pyfunction]
fn is_enabled() -> bool {
    // SAFETY: GIL held.
    unsafe { runtime::cpjit_rt_is_installed() != 0 }
}

#[pyfunction]
fn get_threshold() -> u32 {
    // SAFETY: GIL held.
    unsafe { runtime::cpjit_rt_get_threshold() }
}

/// Set how long (interpreted nanoseconds per code unit) a function with a loop, defined outside
/// `__main__`, runs in the interpreter before it compiles (0: at its first call).
#[pyfunction]
fn set_loop_budget_ns(ns_per_unit: i64) -> PyResult<()> {
    let ns = u32_setting(ns_per_unit, "loop budget")?;
    // SAFETY: GIL held.
    unsafe { runtime::cpjit_rt_set_loop_budget_ns(ns) };
    Ok(())
}

#[pyfunction]
fn get_loop_budget_ns() -> u32 {
    // SAFETY: GIL held.
    unsafe { runtime::cpjit_rt_get_loop_budget_ns() }
}

/// Set the window (milliseconds) within which a loopless code object's `threshold` interpreted
/// calls must fall for it to compile (0: no window, the count alone decides).
#[pyfunction]
fn set_warm_window_ms(ms: i64) -> PyResult<()> {
    let ms = u32_setting(ms, "warm window")?;
    // SAFETY: GIL held.
    unsafe { runtime::cpjit_rt_set_warm_window_ms(ms) };
    Ok(())
}

#[pyfunction]
fn get_warm_window_ms() -> u32 {
    // SAFETY: GIL held.
    unsafe { runtime::cpjit_rt_get_warm_window_ms() }
}

/// Set the sampling period (microseconds) of cold regions: loopless cold functions run with the
/// hook taken out while a sampler looks for hot code beneath them (0: no cold regions).
#[pyfunction]
fn set_sample_us(us: i64) -> PyResult<()> {
    let us = u32_setting(us, "sample period")?;
    // SAFETY: GIL held.
    unsafe { runtime::cpjit_cold_regions_set_period_us(us) };
    Ok(())
}

#[pyfunction]
fn get_sample_us() -> u32 {
    // SAFETY: GIL held.
    unsafe { runtime::cpjit_cold_regions_get_period_us() }
}

/// How long, in ms, a script's top level runs as a cold region at most before the hook goes
/// back in (0: it runs under the hook).
#[pyfunction]
fn set_top_level_ms(ms: i64) -> PyResult<()> {
    let ms = u32_setting(ms, "top-level grace")?;
    // SAFETY: GIL held.
    unsafe { runtime::cpjit_cold_regions_set_top_level_ms(ms) };
    Ok(())
}

#[pyfunction]
fn get_top_level_ms() -> u32 {
    // SAFETY: GIL held.
    unsafe { runtime::cpjit_cold_regions_get_top_level_ms() }
}

/// Set the least mean time per call (microseconds) of a compiled root entered from C that gets
/// a trial, native against interpreted (0: no trials; roots already decided stay decided).
#[pyfunction]
fn set_tier_down_us(us: i64) -> PyResult<()> {
    let us = u32_setting(us, "tier-down threshold")?;
    // SAFETY: GIL held.
    unsafe { runtime::cpjit_tier_trials_set_min_us(us) };
    Ok(())
}

#[pyfunction]
fn get_tier_down_us() -> u32 {
    // SAFETY: GIL held.
    unsafe { runtime::cpjit_tier_trials_get_min_us() }
}

/// The verdict tier-down trials (csrc/tier_trials.c) reach from the times of a trial's blocks
/// measured so far, in the order they ran (at most 16: eight pairs of one native and one
/// interpreted block, the native block first in even pairs and second in odd ones):
/// -1 still open, 0 interpreted, 1 native. For tests of the rule itself.
#[pyfunction]
fn _tier_trial_verdict(ns: Vec<u64>) -> PyResult<i32> {
    let blocks = u32::try_from(ns.len())
        .ok()
        .filter(|&b| b <= 16)
        .ok_or_else(|| PyValueError::new_err("a trial has at most 16 blocks"))?;
    // SAFETY: the function reads the first `blocks` elements of `ns`, which it has.
    Ok(unsafe { runtime::cpjit_tier_trial_verdict(ns.as_ptr(), blocks) })
}

/// Whether a panic inside the extension unwinds to its `catch_unwind` (a compiler panic becomes
/// a failed compile, runtime.rs, instead of aborting the process): the test of the unwinder
/// build.rs links in statically. The panic message is not printed.
#[pyfunction]
fn _panic_is_caught() -> bool {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let caught = std::panic::catch_unwind(|| panic!("cpjit: unwinder check")).is_err();
    std::panic::set_hook(hook);
    caught
}

/// A setting the C runtime holds as a u32; a ValueError naming it when out of range.
fn u32_setting(value: i64, what: &str) -> PyResult<u32> {
    u32::try_from(value)
        .map_err(|_| PyValueError::new_err(format!("{what} must be between 0 and 2**32-1")))
}

/// The code object of `obj`, a function (anything with `__code__`) or a code object; else a
/// TypeError naming `cpjit.<api>()`.
fn code_of<'py>(obj: &Bound<'py, PyAny>, api: &str) -> PyResult<Bound<'py, PyAny>> {
    let code = if obj.hasattr("__code__")? {
        obj.getattr("__code__")?
    } else {
        obj.clone()
    };
    if code.get_type().name()? != "code" {
        return Err(PyTypeError::new_err(format!(
            "cpjit.{api}() takes a function or a code object"
        )));
    }
    Ok(code)
}

/// Set how the calls C code makes to a function (or code object) run, in place of what its trial
/// would decide (csrc/tier_trials.c): "interpreted" (as plain python runs them, everything
/// beneath included), "native", or None (undecided: measured when worth a trial).
#[pyfunction]
#[pyo3(signature = (obj, way))]
fn set_calls_from_c(obj: &Bound<'_, PyAny>, way: Option<&str>) -> PyResult<()> {
    init_runtime()?;
    let code = code_of(obj, "set_calls_from_c")?;
    let bits = match way {
        Some("interpreted") => runtime::TIER_ROOT_COLD,
        Some("native") => runtime::TIER_ROOT_DONE,
        None => 0,
        Some(other) => {
            let message = format!("way must be 'interpreted', 'native' or None, not {other:?}");
            return Err(PyValueError::new_err(format!(
                "cpjit.set_calls_from_c(): {message}"
            )));
        }
    };
    // SAFETY: GIL held, the code object is live (we hold a reference).
    let state = unsafe { runtime::cpjit_rt_state_for(code.as_ptr() as *mut std::ffi::c_void, 1) };
    if state.is_null() {
        return Err(PyRuntimeError::new_err(
            "cpjit: cannot attach state to the code object",
        ));
    }
    // SAFETY: the state belongs to the live code object; GIL held (the C side reads and writes
    // its tier bits and trial state only under it).
    unsafe { runtime::cpjit_tier_trials_set_way(state, bits) };
    Ok(())
}

/// Compile a function's (or a code object's) code now. Returns True when it has native code.
#[pyfunction]
fn compile(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    init_runtime()?;
    let code = code_of(obj, "compile")?;
    let ptr = code.as_ptr() as *mut std::ffi::c_void;
    // SAFETY: GIL held, `ptr` is a live code object we hold a reference to.
    let state = unsafe { runtime::cpjit_rt_state_for(ptr, 1) };
    if state.is_null() {
        return Err(PyRuntimeError::new_err(
            "cpjit: cannot attach state to the code object",
        ));
    }
    // SAFETY: `state` is the code object's state; GIL held.
    match unsafe { (*state).state } {
        runtime::STATE_COMPILED => Ok(true),
        runtime::STATE_FAILED => Ok(false),
        // SAFETY: as above.
        _ => match unsafe { runtime::compile_and_record(ptr, state) } {
            Ok(()) => Ok(true),
            Err(msg) => Err(PyRuntimeError::new_err(format!(
                "cpjit cannot compile this code: {msg}"
            ))),
        },
    }
}

/// What cpjit holds for one function or code object: None if it was never compiled, else a dict
/// with `native_bytes`, `instructions`, and `unsupported` (opcodes that hand over to the
/// interpreter for want of a stencil).
#[pyfunction]
fn code_info<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let code = code_of(obj, "code_info")?;
    // SAFETY: GIL held; `code` is a live code object.
    let state = unsafe { runtime::cpjit_rt_state_for(code.as_ptr() as *mut std::ffi::c_void, 0) };
    if state.is_null() {
        return Ok(None);
    }
    // SAFETY: the state belongs to the live code object; GIL held.
    let st = unsafe { &*state };
    let d = PyDict::new_bound(py);
    d.set_item(
        "state",
        ["counting", "compiled", "failed"]
            .get(st.state as usize)
            .copied()
            .unwrap_or("?"),
    )?;
    d.set_item("calls", st.calls)?;
    d.set_item("interpreted_ns", st.interpreted_ns)?;
    d.set_item("keeps_hook", st.tier & runtime::TIER_KEEPS_HOOK != 0)?;
    d.set_item("hub", st.tier & runtime::TIER_HUB != 0)?;
    // What the trials of csrc/tier_trials.c made of its calls from C: "interpreted" (found
    // faster so), "native" (found faster so, or too short for a trial), None (not decided).
    let root = if st.tier & runtime::TIER_ROOT_COLD != 0 {
        Some("interpreted")
    } else if st.tier & runtime::TIER_ROOT_DONE != 0 {
        Some("native")
    } else {
        None
    };
    d.set_item("calls_from_c", root)?;
    if !st.native.is_null() {
        // SAFETY: `native` is the CompiledCode box owned by this state until the code dies.
        let c = unsafe { &*(st.native as *const crate::compiler::CompiledCode) };
        d.set_item("native_bytes", c.native_bytes())?;
        d.set_item("instructions", c.instructions)?;
        // The optimising tier's runs in this code (src/opt/float_runs.rs): their stencils are
        // the FLOAT_* and INT_* entries of the layout.
        d.set_item("runs", c.float_runs)?;
        d.set_item(
            "unsupported",
            PyList::new_bound(py, c.unsupported.iter().copied()),
        )?;
        d.set_item("address", c.code.address())?;
        d.set_item("code_bytes", c.code_end)?;
        d.set_item("hot_bytes", c.hot_end)?;
        let layout: Vec<(u32, &str, u32)> = c.layout();
        d.set_item("layout", layout)?;
        let cold: Vec<(u32, &str, u32)> = c.cold_layout();
        d.set_item("cold_layout", cold)?;
        d.set_item("aside_units", c.aside_units())?;
    }
    Ok(Some(d))
}

/// Counters since the module loaded.
#[pyfunction]
fn stats(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new_bound(py);
    let s = &COMPILE_STATS;
    d.set_item("compiled", s.compiled.load(Ordering::Relaxed))?;
    d.set_item("compile_failed", s.failed.load(Ordering::Relaxed))?;
    d.set_item("native_bytes", s.native_bytes.load(Ordering::Relaxed))?;
    d.set_item(
        "compile_seconds",
        s.compile_ns.load(Ordering::Relaxed) as f64 / 1e9,
    )?;
    d.set_item(
        "instructions_compiled",
        s.instructions.load(Ordering::Relaxed),
    )?;
    d.set_item(
        "instructions_aside",
        s.instructions_aside.load(Ordering::Relaxed),
    )?;
    d.set_item("c_calls_in_line", s.c_calls_in_line.load(Ordering::Relaxed))?;
    d.set_item("float_runs", s.float_runs.load(Ordering::Relaxed))?;
    // SAFETY: GIL held; the C side only writes these counters with the GIL held.
    let c = unsafe { &*std::ptr::addr_of!(runtime::cpjit_stats) };
    d.set_item("frames_native", c.frames_native)?;
    let h = PyDict::new_bound(py);
    for (name, n) in REASONS.iter().zip(c.handovers.iter()) {
        h.set_item(*name, *n)?;
    }
    d.set_item("frames_interpreted", h)?;
    d.set_item("exceptions_native", c.exceptions_native)?;
    d.set_item("attr_table_filed", c.attr_table_filed)?;
    d.set_item("attr_table_adopted", c.attr_table_adopted)?;
    // SAFETY: a u32 the C runtime writes under the GIL, which is held.
    d.set_item(
        "attr_table_sets",
        1u32 << unsafe { runtime::cpjit_attr_set_bits },
    )?;
    d.set_item("frames_from_c", c.frames_from_c)?;
    d.set_item("stack_segment_switches", c.stack_segment_switches)?;
    d.set_item("stack_segments_mapped", c.stack_segments_mapped)?;
    d.set_item("run_fallbacks", c.run_fallbacks.iter().sum::<u64>())?;
    let by = PyDict::new_bound(py);
    for (name, n) in runtime::RUN_CHECKS.iter().zip(c.run_fallbacks.iter()) {
        by.set_item(*name, *n)?;
    }
    d.set_item("run_fallbacks_by", by)?;
    d.set_item("operator_methods", c.operator_methods)?;
    d.set_item("calls_older_callee", c.calls_older_callee)?;
    // SAFETY: GIL held; the sampler thread writes only `stalled` and `long_unsampled`, counters
    // read here for stats.
    let r = unsafe { &*std::ptr::addr_of!(runtime::cpjit_cold_region_stats) };
    d.set_item("cold_regions", r.regions)?;
    d.set_item("cold_region_samples", r.samples)?;
    d.set_item("cold_region_hot_found", r.hot_found)?;
    d.set_item("cold_region_stalled", r.stalled)?;
    d.set_item("cold_region_late_samples", r.late)?;
    d.set_item("cold_region_long_unsampled", r.long_unsampled)?;
    d.set_item("cold_region_top_level", r.top_level)?;
    d.set_item("cold_region_top_level_grace_ended", r.top_level_grace_ended)?;
    // SAFETY: GIL held; the C side writes these counters only with the GIL held.
    let t = unsafe { &*std::ptr::addr_of!(runtime::cpjit_tier_trial_stats) };
    d.set_item("tier_trials", t.trials)?;
    d.set_item("tier_trials_tiered_down", t.tiered_down)?;
    d.set_item("tier_trials_decided_early", t.decided_early)?;
    d.set_item("tier_trials_kept_native", t.kept_native)?;
    d.set_item("tier_trials_abandoned", t.abandoned)?;
    d.set_item("tier_trial_blocks_void", t.blocks_void)?;
    // SAFETY: GIL held; the C side writes these counters only with the GIL held.
    let o = unsafe { &*std::ptr::addr_of!(runtime::cpjit_osr_stats) };
    d.set_item("osr_armed", o.armed)?;
    d.set_item("osr_entries", o.entered)?;
    d.set_item("osr_given_up", o.given_up)?;
    // SAFETY: GIL held; the C side writes these counters only with the GIL held.
    let h = unsafe { &*std::ptr::addr_of!(runtime::cpjit_hub_probe_stats) };
    d.set_item("hub_probes", h.probes)?;
    d.set_item("hubs_found", h.hubs)?;
    let mem = crate::memory::stats();
    d.set_item("code_mapped_bytes", mem.mapped_bytes)?;
    d.set_item("code_live_bytes", mem.live_bytes)?;
    d.set_item("code_reserved_bytes", mem.reserved_bytes)?;
    d.set_item("max_code_bytes", crate::memory::max_executable_bytes())?;
    d.set_item("code_cap_reached", mem.cap_refusals)?;
    d.set_item("code_huge_chunks", mem.huge_chunks)?;
    let reasons = PyDict::new_bound(py);
    for (name, n) in runtime::failure_reasons()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        reasons.set_item(*name, *n)?;
    }
    d.set_item("compile_failed_reasons", reasons)?;
    let u = PyDict::new_bound(py);
    for (name, n) in runtime::unsupported_opcodes()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        u.set_item(*name, *n)?;
    }
    d.set_item("unsupported_opcodes", u)?;
    let failures = runtime::recent_failures()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    d.set_item("recent_compile_errors", PyList::new_bound(py, failures))?;
    Ok(d)
}

extern "C" {
    fn cpjit_call_sites_list(
        code: *mut pyo3::ffi::PyObject,
        method: i32,
    ) -> *mut pyo3::ffi::PyObject;
}

/// The value-stack depth at each CALL of a code object, as csrc/callsite.c computes it for
/// interpreted callers: a list of (code unit, depth, oparg), None when the code cannot be
/// analysed. `method`: 0 as the runtime does, 1 the linear pass only ("needs_worklist" when it
/// cannot decide), 2 the worklist walk only. For tests.
#[pyfunction]
fn _call_sites(py: Python<'_>, obj: &Bound<'_, PyAny>, method: i32) -> PyResult<PyObject> {
    let code = code_of(obj, "_call_sites")?;
    if !(0..=2).contains(&method) {
        return Err(PyValueError::new_err("method must be 0, 1 or 2"));
    }
    // SAFETY: GIL held; `code` is a live code object; the C function returns a new reference
    // or NULL with an exception set.
    unsafe {
        let r = cpjit_call_sites_list(code.as_ptr(), method);
        Bound::from_owned_ptr_or_err(py, r).map(|b| b.unbind())
    }
}

/// Cap the executable memory cpjit maps (bytes, 0: no cap); past it, code stays interpreted.
#[pyfunction]
fn set_max_code_bytes(bytes: usize) {
    crate::memory::set_max_executable_bytes(bytes);
}

/// Turn the optimising specialisations on or off for code compiled from now on (CPJIT_OPT;
/// today the float runs of src/opt/float_runs.rs).
#[pyfunction]
fn set_opt(on: bool) {
    crate::opt::set_enabled(on);
}

/// Allow or forbid transparent huge pages for code chunks made from now on (src/memory.rs).
#[pyfunction]
fn set_huge_pages(on: bool) {
    crate::memory::set_huge_pages(on);
}

#[pymodule]
fn _cpjit(m: &Bound<'_, PyModule>) -> PyResult<()> {
    init_runtime()?;
    m.add_function(wrap_pyfunction!(enable, m)?)?;
    m.add_function(wrap_pyfunction!(disable, m)?)?;
    m.add_function(wrap_pyfunction!(is_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(get_threshold, m)?)?;
    m.add_function(wrap_pyfunction!(set_loop_budget_ns, m)?)?;
    m.add_function(wrap_pyfunction!(get_loop_budget_ns, m)?)?;
    m.add_function(wrap_pyfunction!(set_warm_window_ms, m)?)?;
    m.add_function(wrap_pyfunction!(get_warm_window_ms, m)?)?;
    m.add_function(wrap_pyfunction!(set_sample_us, m)?)?;
    m.add_function(wrap_pyfunction!(get_sample_us, m)?)?;
    m.add_function(wrap_pyfunction!(set_top_level_ms, m)?)?;
    m.add_function(wrap_pyfunction!(get_top_level_ms, m)?)?;
    m.add_function(wrap_pyfunction!(set_tier_down_us, m)?)?;
    m.add_function(wrap_pyfunction!(set_calls_from_c, m)?)?;
    m.add_function(wrap_pyfunction!(get_tier_down_us, m)?)?;
    m.add_function(wrap_pyfunction!(compile, m)?)?;
    m.add_function(wrap_pyfunction!(stats, m)?)?;
    m.add_function(wrap_pyfunction!(code_info, m)?)?;
    m.add_function(wrap_pyfunction!(set_max_code_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(set_huge_pages, m)?)?;
    m.add_function(wrap_pyfunction!(set_opt, m)?)?;
    m.add_function(wrap_pyfunction!(_call_sites, m)?)?;
    m.add_function(wrap_pyfunction!(_tier_trial_verdict, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_is_caught, m)?)?;
    m.add_function(wrap_pyfunction!(crate::toplevel::run_toplevel, m)?)?;
    m.add("STENCIL_COUNT", crate::stencils::STENCILS.len())?;
    crate::tools_api::register(m)?;
    Ok(())
}
