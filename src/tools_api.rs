//! The `cpjit._cpjit` functions behind the perf map and `cpjit.dis()`: `set_perf`, `get_perf`
//! and `machine_code`. Kept apart from api.rs (enable/compile/stats).

// pyo3 0.22's #[pyfunction] expands to an `.into()` on PyErr that newer clippy flags.
#![allow(clippy::useless_conversion)]

use crate::compiler::CompiledCode;
use crate::disasm::{self, Note};
use crate::holes::HoleValue;
use crate::perfmap::{self, Mode};
use crate::runtime;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

/// Switch the perf map: False/0/"off", True/1/"code" (one entry per code object) or
/// "instructions" (one per bytecode instruction). Affects code compiled from now on.
#[pyfunction]
fn set_perf(mode: &Bound<'_, PyAny>) -> PyResult<()> {
    let text = if let Ok(b) = mode.extract::<bool>() {
        (if b { "1" } else { "0" }).to_string()
    } else {
        mode.str()?.to_string()
    };
    let m = Mode::parse(&text).ok_or_else(|| {
        PyValueError::new_err(format!(
            "perf must be False, True, 'code' or 'instructions', not {text:?}"
        ))
    })?;
    perfmap::set_mode(m);
    Ok(())
}

/// "off", "code" or "instructions".
#[pyfunction]
fn get_perf() -> &'static str {
    perfmap::mode().name()
}

/// The path of this process's perf map.
#[pyfunction]
fn perf_map_path() -> String {
    perfmap::path_for(std::process::id())
}

fn short_repr(obj: &Bound<'_, PyAny>) -> String {
    let r = obj
        .repr()
        .map(|s| s.to_string())
        .unwrap_or_else(|_| "<repr failed>".into());
    if r.chars().count() > 48 {
        format!("{}...", r.chars().take(45).collect::<String>())
    } else {
        r
    }
}

/// The item of `items` at address `value`, as a short repr.
fn find(items: &Bound<'_, PyTuple>, value: u64) -> Option<String> {
    items
        .iter()
        .find(|o| o.as_ptr() as u64 == value)
        .map(|o| short_repr(&o))
}

/// Where `co_code_adaptive` starts, from any `_JIT_INSTR` hole (it holds the address of its
/// instruction's code unit).
fn units_base(blocks: &[disasm::Block]) -> Option<u64> {
    blocks.iter().find_map(|b| {
        b.lines.iter().flat_map(|l| &l.notes).find_map(|n| match n {
            Note::Value(HoleValue::Instr, v) => Some(v.wrapping_sub(2 * b.unit as u64)),
            _ => None,
        })
    })
}

/// The oparg of the instruction at code unit `unit` of `co_code` (the unquickened bytecode, whose
/// inline cache entries are CACHE, opcode 0), EXTENDED_ARG prefixes folded in.
fn oparg_at(co_code: &[u8], unit: u32) -> Option<u64> {
    const EXTENDED_ARG: u8 = 144;
    let at = |u: usize| co_code.get(2 * u..2 * u + 2);
    let unit = unit as usize;
    let mut oparg = at(unit)?[1] as u64;
    let mut shift = 8;
    let mut u = unit;
    while u > 0 && at(u - 1).is_some_and(|w| w[0] == EXTENDED_ARG) {
        u -= 1;
        oparg |= (at(u)?[1] as u64) << shift;
        shift += 8;
    }
    Some(oparg)
}

/// The co_names index an oparg stands for in the stencils whose out-of-line path reads a name.
fn oparg_name_index(stencil: &str, oparg: u64) -> Option<usize> {
    let op = stencil.split("__").next().unwrap_or(stencil);
    match op {
        "LOAD_ATTR" | "STORE_ATTR" | "LOAD_METHOD" | "STORE_NAME" => Some(oparg as usize),
        "LOAD_GLOBAL" => Some((oparg >> 1) as usize),
        _ => None,
    }
}

/// One note as text: what fills the hole, named.
fn describe(
    note: &Note,
    c: &CompiledCode,
    stencil: &str,
    oparg: Option<u64>,
    consts: &Bound<'_, PyTuple>,
    names: &Bound<'_, PyTuple>,
    units: Option<u64>,
) -> String {
    // A `prev_instr` value as the bytecode offset the interpreter resumes at (prev_instr + 1).
    let resume_at = |v: u64| match units {
        Some(base) => format!("{}", (v.wrapping_sub(base) as i64) + 2),
        None => format!("{v:#x}"),
    };
    let at_block = |off: u64| match disasm::block_at(c, off) {
        Some(i) if disasm::is_error_exit(c, c.placed[i].unit) => "error exit".to_string(),
        Some(i) => format!("{} {}", c.placed[i].unit * 2, c.placed[i].stencil.name()),
        None if off < c.hot_end as u64 => format!("+{off:#x} (trap)"),
        None => format!("+{off:#x}"),
    };
    match note {
        Note::Symbol(s, true) => format!("&{s}"),
        Note::Symbol(s, false) => format!("helper {s}"),
        Note::Data(off) => format!("stencil data +{off:#x}"),
        Note::Code(HoleValue::Continue, off) => format!("next: {}", at_block(*off)),
        Note::Code(HoleValue::JumpTarget, off) => format!("jump target: {}", at_block(*off)),
        Note::Code(HoleValue::Skip, off) => format!("after pair: {}", at_block(*off)),
        Note::Code(HoleValue::Error, _) => "error exit".into(),
        Note::Code(HoleValue::Cold, off) => format!("to the cold part: +{off:#x}"),
        Note::Code(HoleValue::Hot, off) => format!("back to the hot part: +{off:#x}"),
        Note::Code(h, off) => format!("{}: {}", h.symbol(), at_block(*off)),
        Note::Value(h, v) => match h {
            HoleValue::Oparg => format!("oparg {}", *v as i64),
            HoleValue::Const => match find(consts, *v) {
                Some(r) => format!("const {r}"),
                None => format!("const {v:#x}"),
            },
            HoleValue::KwNames => match find(consts, *v) {
                Some(r) => format!("kwnames {r}"),
                None if *v == 0 => "kwnames none".into(),
                None => format!("kwnames {v:#x}"),
            },
            HoleValue::Name | HoleValue::NameHalf => match find(names, *v) {
                Some(r) => format!("name {r}"),
                None => format!("name {v:#x}"),
            },
            HoleValue::Cache => format!("inline cache {v:#x}"),
            HoleValue::Code => "code object".into(),
            HoleValue::State => "cpjit code state".into(),
            HoleValue::Operand if stencil.starts_with("FLOAT_LOAD_ATTR") => format!(
                "attribute cache {:#x} of local {}",
                v & ((1 << 48) - 1),
                v >> 48
            ),
            HoleValue::Operand => format!("float {}", f64::from_bits(*v)),
            HoleValue::Instr => match units {
                Some(base) => format!("instruction address (@{})", v.wrapping_sub(base) as i64),
                None => "instruction address".into(),
            },
            // Stencils whose out-of-line path decodes the instruction (and the co_names index
            // in its oparg) from this value.
            HoleValue::Redo => match oparg
                .and_then(|a| oparg_name_index(stencil, a))
                .and_then(|i| names.get_item(i).ok())
            {
                Some(r) => format!(
                    "prev_instr: interpreter redoes it from {} (name {})",
                    resume_at(*v),
                    short_repr(&r)
                ),
                None => format!("prev_instr: interpreter redoes it from {}", resume_at(*v)),
            },
            HoleValue::Done => format!("prev_instr: interpreter resumes at {}", resume_at(*v)),
            other => format!("{} {v:#x}", other.symbol()),
        },
    }
}

/// The annotated machine code of a compiled function or code object: None if it has none, else
/// a list with one tuple per part of each bytecode instruction in address order (the hot parts,
/// the error exit's among them, then the cold parts):
/// `(bytecode offset or None for the error exit, stencil, start, size,
///   [(address, bytes, text, [notes])], cold)`.
#[pyfunction]
fn machine_code<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyList>>> {
    let code = if obj.hasattr("__code__")? {
        obj.getattr("__code__")?
    } else {
        obj.clone()
    };
    if code.get_type().name()? != "code" {
        return Err(PyTypeError::new_err(
            "cpjit.machine_code() takes a function or a code object",
        ));
    }
    // SAFETY: GIL held; `code` is a live code object.
    let state = unsafe { runtime::cpjit_rt_state_for(code.as_ptr() as *mut std::ffi::c_void, 0) };
    if state.is_null() {
        return Ok(None);
    }
    // SAFETY: the state belongs to the live code object; GIL held.
    let st = unsafe { &*state };
    if st.native.is_null() {
        return Ok(None);
    }
    // SAFETY: `native` is the CompiledCode box owned by this state until the code dies, which
    // it does not while we hold `code`.
    let c = unsafe { &*(st.native as *const CompiledCode) };
    let consts = code.getattr("co_consts")?.downcast_into::<PyTuple>()?;
    let names = code.getattr("co_names")?.downcast_into::<PyTuple>()?;
    let co_code: Vec<u8> = code.getattr("co_code")?.extract()?;
    let out = PyList::empty_bound(py);
    let blocks = disasm::listing(c);
    let units = units_base(&blocks);
    for b in blocks {
        let lines = PyList::empty_bound(py);
        for l in &b.lines {
            let notes: Vec<String> = l
                .notes
                .iter()
                .map(|nt| {
                    describe(
                        nt,
                        c,
                        b.stencil,
                        oparg_at(&co_code, b.unit),
                        &consts,
                        &names,
                        units,
                    )
                })
                .collect();
            let hex: Vec<String> = l.bytes.iter().map(|x| format!("{x:02x}")).collect();
            lines.append((l.address, hex.join(" "), l.text.as_str(), notes))?;
        }
        let offset = if disasm::is_error_exit(c, b.unit) {
            None
        } else {
            Some(b.unit * 2)
        };
        out.append((offset, b.stencil, b.start, b.end - b.start, lines, b.cold))?;
    }
    Ok(Some(out))
}

/// Add these functions to the extension module; read `CPJIT_PERF`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    perfmap::init_from_env();
    m.add_function(wrap_pyfunction!(set_perf, m)?)?;
    m.add_function(wrap_pyfunction!(get_perf, m)?)?;
    m.add_function(wrap_pyfunction!(perf_map_path, m)?)?;
    m.add_function(wrap_pyfunction!(machine_code, m)?)?;
    Ok(())
}
