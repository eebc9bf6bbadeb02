//! The bridge between the C runtime (csrc/) and the compiler: compiling on demand from the
//! frame-eval hook, releasing code when its code object dies, and the statistics.
//!
//! Mirrors `CpjitCodeState`, `CpjitCodeInfo` and `CpjitStats` from csrc/cpjit_rt.h.

use crate::compiler::{self, CodeInput, CompiledCode};
use crate::opt::float_runs;
use crate::stencils;
use std::ffi::c_void;
use std::os::raw::c_int;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// `CpjitCodeState` (cpjit_rt.h).
#[repr(C)]
pub struct CodeState {
    pub calls: u32,
    pub state: u32,
    pub base: *const u8,
    pub entries: *const u32,
    pub n_units: u32,
    pub warmup: i32,
    pub native: *mut c_void,
    /// C-owned (csrc/callsite.c); never touched from Rust.
    pub call_sites: *mut c_void,
    pub tier: u32,
    /// C-owned (csrc/exc.c); never touched from Rust.
    pub exc_table: *mut c_void,
    pub warm_since_ns: u64,
    pub interpreted_ns: u64,
    /// C-owned (csrc/cold_regions.c): the sampler's counts.
    pub samples: u32,
    pub sample_window: u32,
    pub root_samples: u32,
    pub root_compiled_samples: u32,
    pub hooked_callees: u32,
    /// C-owned (csrc/calls.c); never touched from Rust.
    pub kw_defaults: *mut c_void,
    /// C-owned (csrc/tier_trials.c): a root's calls from C while it is judged, and their
    /// timing; never touched from Rust.
    pub root_calls: u32,
    pub root_timed: u32,
    pub root_timed_ns: u64,
    pub root_compiles: u64,
    pub root_active: u16,
    pub root_unquiet: u16,
    /// C-owned (csrc/hub_probe.c): the probe's counts; never touched from Rust.
    pub probe_left: u16,
    pub probe_cold: u16,
    pub hub_level: u16,
    pub hub_windows: u16,
}

/// `CPJIT_TIER_KEEPS_HOOK` (cpjit_rt.h): a cold region of this code had hot code beneath it.
pub const TIER_KEEPS_HOOK: u32 = 8;
/// `CPJIT_TIER_ROOT_DONE` and `CPJIT_TIER_ROOT_COLD` (cpjit_rt.h): the calls from C of this
/// compiled code run natively for good, or interpreted for good (csrc/tier_trials.c).
pub const TIER_ROOT_DONE: u32 = 256;
pub const TIER_ROOT_COLD: u32 = 512;
/// `CPJIT_TIER_HUB` (cpjit_rt.h): a warm function left interpreted because its calls mostly
/// lead into code that stays interpreted (csrc/hub_probe.c).
pub const TIER_HUB: u32 = 2048;

/// `CpjitCodeInfo` (cpjit_rt.h).
#[repr(C)]
struct CodeInfo {
    units: *const u16,
    n_units: isize,
    consts: *const *mut c_void,
    n_consts: isize,
    names: *const *mut c_void,
    n_names: isize,
    flags: c_int,
}

/// Hand-over reasons, in `enum cpjit_reason` order.
pub const REASONS: [&str; 12] = [
    "cold",
    "compile_failed",
    "tracing",
    "throw",
    "no_entry",
    "exception",
    "tracing_midframe",
    "unsupported",
    "deep_recursion",
    "quickening",
    "import",
    "tier_down",
];

/// `CpjitStats` (cpjit_rt.h).
#[repr(C)]
pub struct CStats {
    pub frames_native: u64,
    pub handovers: [u64; REASONS.len()],
    pub exceptions_native: u64,
    pub attr_table_filed: u64,
    pub attr_table_adopted: u64,
    pub frames_from_c: u64,
    pub stack_segment_switches: u64,
    pub stack_segments_mapped: u64,
    pub run_fallbacks: [u64; RUN_CHECKS.len()],
    pub operator_methods: u64,
    pub calls_older_callee: u64,
}

/// What a run's failed check found (`CPJIT_RUN_*`, cpjit_rt.h, same order): the keys of
/// `stats()["run_fallbacks_by"]`.
pub const RUN_CHECKS: [&str; 7] = [
    "type",
    "unbound",
    "attribute",
    "index",
    "range",
    "arithmetic",
    "allocation",
];

extern "C" {
    pub fn cpjit_rt_init() -> c_int;
    pub fn cpjit_rt_install() -> c_int;
    pub fn cpjit_rt_uninstall();
    pub fn cpjit_rt_is_installed() -> c_int;
    pub fn cpjit_rt_set_threshold(threshold: u32);
    pub fn cpjit_rt_get_threshold() -> u32;
    pub fn cpjit_rt_set_loop_budget_ns(ns_per_unit: u32);
    pub fn cpjit_rt_get_loop_budget_ns() -> u32;
    pub fn cpjit_rt_set_warm_window_ms(ms: u32);
    pub fn cpjit_rt_get_warm_window_ms() -> u32;
    pub fn cpjit_rt_state_for(code: *mut c_void, create: c_int) -> *mut CodeState;
    fn cpjit_rt_code_info(code: *mut c_void, out: *mut CodeInfo);
    static cpjit_symbol_addresses: [*const c_void; 0];
    pub static mut cpjit_stats: CStats;
    pub fn cpjit_cold_regions_set_period_us(us: u32);
    pub fn cpjit_cold_regions_get_period_us() -> u32;
    pub fn cpjit_cold_regions_set_top_level_ms(ms: u32);
    pub fn cpjit_cold_regions_get_top_level_ms() -> u32;
    pub static mut cpjit_cold_region_stats: ColdRegionStats;
    pub fn cpjit_tier_trials_set_min_us(us: u32);
    pub fn cpjit_tier_trials_get_min_us() -> u32;
    pub fn cpjit_tier_trials_set_way(state: *mut CodeState, way: u32);
    pub fn cpjit_tier_trial_verdict(ns: *const u64, blocks: u32) -> i32;
    pub static mut cpjit_tier_trial_stats: TierTrialStats;
    pub static mut cpjit_osr_stats: OsrStats;
    /// log2 of the shared attribute table's sets (csrc/attr_table.h).
    pub static cpjit_attr_set_bits: u32;
    pub static mut cpjit_hub_probe_stats: HubProbeStats;
}

/// `CpjitHubProbeStats` (csrc/hub_probe.h).
#[repr(C)]
pub struct HubProbeStats {
    pub probes: u64,
    pub hubs: u64,
}

/// `CpjitOsrStats` (csrc/osr.h).
#[repr(C)]
pub struct OsrStats {
    pub armed: u64,
    pub entered: u64,
    pub given_up: u64,
}

/// `CpjitTierTrialStats` (csrc/tier_trials.h).
#[repr(C)]
pub struct TierTrialStats {
    pub trials: u64,
    pub tiered_down: u64,
    pub decided_early: u64,
    pub kept_native: u64,
    pub abandoned: u64,
    pub blocks_void: u64,
}

/// `CpjitColdRegionStats` (csrc/cold_regions.h).
#[repr(C)]
pub struct ColdRegionStats {
    pub regions: u64,
    pub samples: u64,
    pub hot_found: u64,
    pub stalled: u64,
    pub late: u64,
    pub long_unsampled: u64,
    pub top_level: u64,
    pub top_level_grace_ended: u64,
}

/// Compiler-side counters (the C side counts frames).
pub struct CompileStats {
    pub compiled: AtomicU64,
    pub failed: AtomicU64,
    pub native_bytes: AtomicU64,
    pub compile_ns: AtomicU64,
    pub instructions: AtomicU64,
    /// Instructions laid aside (not run since quickening when they compiled: src/profile.rs).
    pub instructions_aside: AtomicU64,
    pub c_calls_in_line: AtomicU64,
    /// Float runs compiled unboxed (src/opt/float_runs.rs).
    pub float_runs: AtomicU64,
}

pub static COMPILE_STATS: CompileStats = CompileStats {
    compiled: AtomicU64::new(0),
    failed: AtomicU64::new(0),
    native_bytes: AtomicU64::new(0),
    compile_ns: AtomicU64::new(0),
    instructions: AtomicU64::new(0),
    instructions_aside: AtomicU64::new(0),
    c_calls_in_line: AtomicU64::new(0),
    float_runs: AtomicU64::new(0),
};

/// The last compile failures, newest last (at most 20), for `cpjit.stats()`.
pub fn recent_failures() -> &'static Mutex<Vec<String>> {
    static FAILURES: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    FAILURES.get_or_init(|| Mutex::new(Vec::new()))
}

/// Compile failures by reason ([`compiler::CompileError::reason`]), with counts.
pub fn failure_reasons() -> &'static Mutex<std::collections::BTreeMap<&'static str, u64>> {
    static REASONS: OnceLock<Mutex<std::collections::BTreeMap<&'static str, u64>>> =
        OnceLock::new();
    REASONS.get_or_init(|| Mutex::new(Default::default()))
}

fn count_failure_reason(reason: &'static str) {
    let mut map = failure_reasons().lock().unwrap_or_else(|p| p.into_inner());
    *map.entry(reason).or_default() += 1;
}

/// Opcodes that got the UNSUPPORTED stencil, with counts.
pub fn unsupported_opcodes() -> &'static Mutex<std::collections::BTreeMap<&'static str, u64>> {
    static UNSUPPORTED: OnceLock<Mutex<std::collections::BTreeMap<&'static str, u64>>> =
        OnceLock::new();
    UNSUPPORTED.get_or_init(|| Mutex::new(Default::default()))
}

/// The run-time address of every external symbol stencils use, in symbol order
/// (stencils::symbol_name).
pub fn symbol_addresses() -> &'static [u64] {
    static ADDRS: OnceLock<Vec<u64>> = OnceLock::new();
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    let table = ADDRS.get_or_init(|| {
        // SAFETY: symbols.c (generated with stencils.rs) defines cpjit_symbol_addresses with
        // exactly stencils::symbol_count() entries plus a terminator, in symbol order; the
        // dynamic linker filled them in when the extension loaded.
        let table = unsafe {
            std::slice::from_raw_parts(
                std::ptr::addr_of!(cpjit_symbol_addresses) as *const *const c_void,
                stencils::symbol_count(),
            )
        };
        table.iter().map(|p| *p as u64).collect()
    });
    // Registered with the executable-memory heap, which then compares it with its chunks'
    // copies only once (memory::register_static_symbols).
    REGISTERED.call_once(|| crate::memory::register_static_symbols(table));
    table
}

/// A constant of a code object being compiled as a number a float run can use
/// (src/opt/float_runs.rs): an exact float, or an exact int whose magnitude is below 2**30 (a double
/// holds it exactly). Bools and subclasses are not numbers here.
fn read_number(address: u64) -> Option<float_runs::Number> {
    let obj = address as *mut pyo3::ffi::PyObject;
    // SAFETY: `address` is an item of the co_consts of the code object being compiled, which
    // holds it alive for the compile (compile_code runs with the GIL held); only its type and,
    // for exact floats and ints, its value are read.
    unsafe {
        let ty = pyo3::ffi::Py_TYPE(obj);
        if ty == std::ptr::addr_of_mut!(pyo3::ffi::PyFloat_Type) {
            return Some(float_runs::Number {
                value: pyo3::ffi::PyFloat_AS_DOUBLE(obj),
                is_float: true,
            });
        }
        if ty == std::ptr::addr_of_mut!(pyo3::ffi::PyLong_Type) {
            let mut overflow = 0;
            let v = pyo3::ffi::PyLong_AsLongAndOverflow(obj, &mut overflow);
            if overflow == 0 && v.unsigned_abs() < 1 << 30 {
                return Some(float_runs::Number {
                    value: v as f64,
                    is_float: false,
                });
            }
        }
    }
    None
}

/// Compile `code` (a `PyCodeObject*`) and record the result in `state`.
///
/// # Safety
/// Called with the GIL held; `code` is a live code object and `state` its co_extra state.
pub unsafe fn compile_code(code: *mut c_void, state: *mut CodeState) -> Result<(), String> {
    let started = Instant::now();
    let mut info = CodeInfo {
        units: std::ptr::null(),
        n_units: 0,
        consts: std::ptr::null(),
        n_consts: 0,
        names: std::ptr::null(),
        n_names: 0,
        flags: 0,
    };
    // SAFETY: `code` is a live code object (caller's contract); the function only reads it.
    unsafe { cpjit_rt_code_info(code, &mut info) };
    // SAFETY: the code object owns these arrays and outlives this call; lengths come from it.
    // The object pointer arrays are read as addresses (u64 has the size and alignment of a
    // pointer on x86-64), without a copy.
    let (units, consts, names) = unsafe {
        (
            std::slice::from_raw_parts(info.units, info.n_units as usize),
            std::slice::from_raw_parts(info.consts as *const u64, info.n_consts as usize),
            std::slice::from_raw_parts(info.names as *const u64, info.n_names as usize),
        )
    };
    let input = CodeInput {
        units,
        units_address: info.units as u64,
        consts,
        names,
        code_address: code as u64,
        state_address: state as u64,
        symbols: symbol_addresses(),
        numbers: Some(read_number),
    };
    let compiled: CompiledCode = compiler::compile(&input).map_err(|e| {
        count_failure_reason(e.reason());
        e.to_string()
    })?;
    let stats = &COMPILE_STATS;
    stats.compiled.fetch_add(1, Ordering::Relaxed);
    stats
        .native_bytes
        .fetch_add(compiled.native_bytes() as u64, Ordering::Relaxed);
    stats
        .instructions
        .fetch_add(compiled.instructions as u64, Ordering::Relaxed);
    stats
        .instructions_aside
        .fetch_add(compiled.instructions_aside() as u64, Ordering::Relaxed);
    stats
        .c_calls_in_line
        .fetch_add(compiled.c_calls_in_line as u64, Ordering::Relaxed);
    stats
        .float_runs
        .fetch_add(compiled.float_runs as u64, Ordering::Relaxed);
    if !compiled.unsupported.is_empty() {
        let mut map = unsupported_opcodes()
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for name in &compiled.unsupported {
            *map.entry(name).or_default() += 1;
        }
    }
    let quickened = compiled.quickened;
    let boxed = Box::new(compiled);
    // SAFETY: `state` is the code object's live co_extra state (caller's contract).
    let st = unsafe { &mut *state };
    if quickened && st.warmup < 0 {
        // The interpreter's countdown is over (it quickened the code) and the native RESUMEs
        // of such code no longer count (stencils/frame.c: RESUME_QUICK): cpjit's copy is done
        // too, as the hook sets it after a compile.
        st.warmup = 0;
    }
    st.base = boxed.code.address() as *const u8;
    st.entries = boxed.entries.as_ptr();
    st.n_units = boxed.entries.len() as u32;
    st.native = Box::into_raw(boxed) as *mut c_void;
    stats
        .compile_ns
        .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
    Ok(())
}

/// `CpjitCodeState.state` values (cpjit_rt.h).
pub const STATE_COUNTING: u32 = 0;
pub const STATE_COMPILED: u32 = 1;
pub const STATE_FAILED: u32 = 2;

/// Compile `code` and record the outcome: the state becomes compiled or failed (never tried
/// again), and a failure (or a compiler panic) lands in the stats with its message.
///
/// # Safety
/// GIL held; `code` live; `state` its co_extra state.
pub unsafe fn compile_and_record(code: *mut c_void, state: *mut CodeState) -> Result<(), String> {
    // SAFETY: forwarded caller contract.
    let result = std::panic::catch_unwind(|| unsafe { compile_code(code, state) })
        .unwrap_or_else(|_| Err("compiler panicked".into()));
    // SAFETY: `state` is the code object's live state (caller's contract).
    let st = unsafe { &mut *state };
    match &result {
        Ok(()) => {
            st.state = STATE_COMPILED;
            // SAFETY: GIL held, `code` live, `st.native` its CompiledCode (just set).
            unsafe { crate::perfmap::on_compiled(code, st.native) };
        }
        Err(msg) => {
            st.state = STATE_FAILED;
            record_failure(msg.clone());
            if crate::memory::executable_memory_refused() {
                switch_off_for_good(msg);
            }
        }
    }
    result
}

/// The kernel refused to make memory executable (memory.rs): nothing can compile in this
/// process, and the hook would only cost every call its overhead. Said once on stderr; cpjit
/// takes itself out as `cpjit.disable()` does, and the program runs on in the interpreter.
fn switch_off_for_good(msg: &str) {
    static SAID: AtomicBool = AtomicBool::new(false);
    if SAID.swap(true, Ordering::Relaxed) {
        return;
    }
    eprintln!(
        "cpjit: no native code in this process ({msg}: a policy such as PR_SET_MDWE, \
         systemd's MemoryDenyWriteExecute or an SELinux execmem rule); cpjit is switched off \
         and the program runs interpreted"
    );
    // SAFETY: called with the GIL held (compile_and_record's contract); uninstalling restores
    // the evaluator that was there before, as cpjit.disable() does.
    unsafe { cpjit_rt_uninstall() };
}

/// Called by the frame-eval hook when a code object reaches the threshold. 0 or -1.
///
/// # Safety
/// GIL held; `code` live; `state` its co_extra state.
#[no_mangle]
pub unsafe extern "C" fn cpjit_rust_compile(code: *mut c_void, state: *mut CodeState) -> c_int {
    // SAFETY: forwarded caller contract.
    match unsafe { compile_and_record(code, state) } {
        Ok(()) => 0,
        Err(_) => -1,
    }
}

/// Whether `units` (`n_units` code units of `co_code_adaptive`) contain a backward jump: the
/// tiering class of csrc/runtime.c's `tier_of`. Reads opcodes through the deopt table and skips
/// inline caches (whose words are not opcodes); stops at anything it cannot decode.
///
/// # Safety
/// `units` points to `n_units` readable code units (a live code object's bytecode).
#[no_mangle]
pub unsafe extern "C" fn cpjit_rust_has_backward_jump(units: *const u16, n_units: isize) -> c_int {
    if units.is_null() || n_units <= 0 {
        return 0;
    }
    // SAFETY: the caller's contract.
    let units = unsafe { std::slice::from_raw_parts(units, n_units as usize) };
    crate::analysis::has_backward_jump(units) as c_int
}

fn record_failure(msg: String) {
    COMPILE_STATS.failed.fetch_add(1, Ordering::Relaxed);
    let mut v = recent_failures().lock().unwrap_or_else(|p| p.into_inner());
    if v.len() >= 20 {
        v.remove(0);
    }
    v.push(msg);
}

/// Called from the code object's co_extra free function.
///
/// # Safety
/// `native` came from `Box::into_raw` in `compile_code` and is released once.
#[no_mangle]
pub unsafe extern "C" fn cpjit_rust_release(native: *mut c_void) {
    if native.is_null() {
        return;
    }
    // SAFETY: see the function's contract.
    let compiled = unsafe { Box::from_raw(native as *mut CompiledCode) };
    COMPILE_STATS
        .native_bytes
        .fetch_sub(compiled.native_bytes() as u64, Ordering::Relaxed);
    drop(compiled);
}
