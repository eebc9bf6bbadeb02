//! The perf map: `/tmp/perf-<pid>.map` entries for compiled code, so that `perf report` names
//! the Python functions (or the instructions) that native samples fall in.
//!
//! Off unless asked for (`CPJIT_PERF=1` or `instructions` when the extension loads,
//! `cpjit.enable(perf=...)` at run time): the compiler then pays one relaxed load per code object.
//! When on, each compiled code object appends its lines as it is compiled, in one `write` on an
//! unbuffered append-mode file (so a crash or `perf record` of a running process loses nothing):
//!
//! ```text
//! <start> <size> py::<qualname>:<filename>:<firstlineno>       (mode "code")
//! <start> <size> <STENCIL>@<qualname>:<bytecode offset>        (mode "instructions")
//! ```
//!
//! Start and size are hexadecimal without `0x`, as perf expects. In instruction mode the
//! stencil name is the opcode plus its variant suffix (`BINARY_OP__0`, a pair stencil's two
//! opcodes); the code object's error exit gets `EXIT_ERROR@<qualname>`. A forked child writes
//! its own `/tmp/perf-<child pid>.map`, starting with a copy of its parent's entries (the code
//! it inherited). Entries are never removed: when a dead code object's memory is reused the newer
//! entry follows the older one in the file.

use crate::compiler::CompiledCode;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

/// What the perf map records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Off = 0,
    /// One entry per compiled code object.
    Code = 1,
    /// One entry per bytecode instruction (plus the error exit).
    Instructions = 2,
}

impl Mode {
    /// `CPJIT_PERF` / `enable(perf=...)` spelling: "0"/""/"off", "1"/"code", "instructions".
    pub fn parse(text: &str) -> Option<Mode> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "0" | "off" | "false" | "no" => Some(Mode::Off),
            "1" | "code" | "on" | "true" | "yes" => Some(Mode::Code),
            "instructions" | "instruction" | "2" => Some(Mode::Instructions),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Code => "code",
            Mode::Instructions => "instructions",
        }
    }
}

static MODE: AtomicU8 = AtomicU8::new(Mode::Off as u8);

/// The open map file and the process it belongs to.
static FILE: Mutex<Option<(u32, File)>> = Mutex::new(None);

pub fn mode() -> Mode {
    match MODE.load(Ordering::Relaxed) {
        1 => Mode::Code,
        2 => Mode::Instructions,
        _ => Mode::Off,
    }
}

pub fn set_mode(mode: Mode) {
    MODE.store(mode as u8, Ordering::Relaxed);
}

/// The map file of process `pid`.
pub fn path_for(pid: u32) -> String {
    format!("/tmp/perf-{pid}.map")
}

/// The lines for one compiled code object (no I/O; tested without an interpreter).
pub fn entries(mode: Mode, c: &CompiledCode, qualname: &str, filename: &str, line: i64) -> String {
    let base = c.code.address();
    let mut out = String::new();
    match mode {
        Mode::Off => {}
        Mode::Code => {
            let _ = writeln!(
                out,
                "{base:x} {:x} py::{qualname}:{filename}:{line}",
                c.code_end
            );
        }
        Mode::Instructions => {
            // The hot parts, then the cold parts (named with " (cold)").
            let (hot, cold) = (c.layout(), c.cold_layout());
            let parts = [(&hot, c.hot_end, ""), (&cold, c.code_end, " (cold)")];
            for (layout, part_end, suffix) in parts {
                for (i, (unit, stencil, start)) in layout.iter().enumerate() {
                    let end = layout.get(i + 1).map_or(part_end, |next| next.2);
                    let size = end.saturating_sub(*start);
                    if size == 0 {
                        continue;
                    }
                    let at = base + *start as u64;
                    if crate::disasm::is_error_exit(c, *unit) {
                        let _ = writeln!(out, "{at:x} {size:x} {stencil}@{qualname}{suffix}");
                    } else {
                        let _ = writeln!(
                            out,
                            "{at:x} {size:x} {stencil}@{qualname}:{}{suffix}",
                            unit * 2
                        );
                    }
                }
            }
        }
    }
    out
}

/// Append `text` to this process's map, opening it (with the parent's entries after a fork)
/// when needed. Errors are reported once on stderr and switch the map off.
pub fn append(text: &str) {
    if text.is_empty() {
        return;
    }
    let pid = std::process::id();
    let mut guard = FILE.lock().unwrap_or_else(|p| p.into_inner());
    let result = (|| -> std::io::Result<()> {
        let inherited = match guard.as_ref() {
            Some((owner, _)) if *owner == pid => None,
            Some((owner, _)) => Some(*owner),
            None => None,
        };
        if guard.as_ref().map(|(owner, _)| *owner) != Some(pid) {
            let mut f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path_for(pid))?;
            if let Some(parent) = inherited {
                if let Ok(old) = std::fs::read(path_for(parent)) {
                    f.write_all(&old)?;
                }
            }
            *guard = Some((pid, f));
        }
        let (_, f) = guard.as_mut().expect("opened above");
        f.write_all(text.as_bytes())
    })();
    if let Err(e) = result {
        set_mode(Mode::Off);
        *guard = None;
        eprintln!("cpjit: cannot write {}: {e}; perf map off", path_for(pid));
    }
}

/// Called after a code object compiled: append its entries when the map is on.
///
/// # Safety
/// GIL held; `code` is a live code object; `native` is its `CompiledCode` (or null).
pub unsafe fn on_compiled(code: *mut std::ffi::c_void, native: *mut std::ffi::c_void) {
    let mode = mode();
    if mode == Mode::Off || native.is_null() {
        return;
    }
    // SAFETY: `native` is the live CompiledCode box of the code object (caller's contract).
    let c = unsafe { &*(native as *const CompiledCode) };
    let text = pyo3::Python::with_gil(|py| {
        // A frame may be compiled while an exception is pending (generator.throw()): keep it out
        // of the attribute lookups below and put it back afterwards.
        let (mut ty, mut value, mut tb) = (
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        // SAFETY: GIL held; the three pointers receive owned references (or null).
        unsafe { pyo3::ffi::PyErr_Fetch(&mut ty, &mut value, &mut tb) };
        // SAFETY: `code` is a live code object and we hold the GIL; borrowing it adds a
        // reference for the lifetime of the Bound.
        let obj = unsafe { pyo3::Bound::from_borrowed_ptr(py, code as *mut pyo3::ffi::PyObject) };
        let get = |attr: &str| -> String {
            use pyo3::prelude::PyAnyMethods;
            obj.getattr(attr)
                .and_then(|v| v.str().map(|s| s.to_string()))
                .unwrap_or_else(|_| "?".into())
        };
        let line = get("co_firstlineno").parse::<i64>().unwrap_or(0);
        let text = entries(mode, c, &get("co_qualname"), &get("co_filename"), line);
        // SAFETY: GIL held; gives back the references PyErr_Fetch returned.
        unsafe { pyo3::ffi::PyErr_Restore(ty, value, tb) };
        text
    });
    append(&text);
}

/// Read `CPJIT_PERF` (at extension load).
pub fn init_from_env() {
    let Ok(raw) = std::env::var("CPJIT_PERF") else {
        return;
    };
    match Mode::parse(&raw) {
        Some(m) => set_mode(m),
        None => {
            eprintln!("cpjit: CPJIT_PERF={raw:?} is not one of 0, 1, instructions; perf map off")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compiler::{compile, CodeInput};
    use crate::opcodes;
    use crate::stencils;

    fn compiled() -> CompiledCode {
        let symbols = vec![0x7000_0000_0000u64; stencils::symbol_count()];
        let w = |name: &str, arg: u16| opcodes::by_name(name).unwrap() as u16 | arg << 8;
        // LOAD_FAST has a cold part (the unbound-local path).
        let units = [w("RESUME", 0), w("LOAD_FAST", 0), w("RETURN_VALUE", 0)];
        compile(&CodeInput {
            units: &units,
            units_address: 0x10_0000,
            consts: &[0x2000],
            names: &[],
            code_address: 0x5000,
            state_address: 0x6000,
            symbols: &symbols,
            numbers: None,
        })
        .unwrap()
    }

    #[test]
    fn modes_parse() {
        assert_eq!(Mode::parse("1"), Some(Mode::Code));
        assert_eq!(Mode::parse(" instructions "), Some(Mode::Instructions));
        assert_eq!(Mode::parse("0"), Some(Mode::Off));
        assert_eq!(Mode::parse("bogus"), None);
    }

    #[test]
    fn one_code_entry_covers_the_machine_code() {
        let c = compiled();
        let text = entries(Mode::Code, &c, "f", "/x.py", 3);
        let fields: Vec<&str> = text.trim_end().splitn(3, ' ').collect();
        assert_eq!(text.lines().count(), 1);
        assert_eq!(
            u64::from_str_radix(fields[0], 16).unwrap(),
            c.code.address()
        );
        assert_eq!(
            u64::from_str_radix(fields[1], 16).unwrap(),
            c.code_end as u64
        );
        assert_eq!(fields[2], "py::f:/x.py:3");
    }

    #[test]
    fn instruction_entries_tile_the_code_in_order() {
        let c = compiled();
        let text = entries(Mode::Instructions, &c, "f", "/x.py", 3);
        let mut expect = c.code.address();
        let mut names = Vec::new();
        for line in text.lines() {
            let f: Vec<&str> = line.splitn(3, ' ').collect();
            assert_eq!(u64::from_str_radix(f[0], 16).unwrap(), expect, "{line}");
            expect += u64::from_str_radix(f[1], 16).unwrap();
            names.push(f[2].to_string());
        }
        assert_eq!(expect, c.code.address() + c.code_end as u64);
        assert_eq!(names[0], "RESUME__0@f:0"); // RESUME 0: the function-entry variant
        assert_eq!(names[1], "LOAD_FAST__0@f:2");
        assert_eq!(names[2], "RETURN_VALUE@f:4");
        assert_eq!(names[3], "EXIT_ERROR@f");
        // Then the cold parts, after all the hot ones.
        assert!(names.len() > 4, "{names:?}");
        assert!(
            names[4..].iter().all(|n| n.ends_with(" (cold)")),
            "{names:?}"
        );
    }
}
