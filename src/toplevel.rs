//! `cpjit._cpjit.run_toplevel`: the Python face of csrc/toplevel.c, which runs a program's main
//! code with the runner's frames hidden (see there). Used only by `python -m cpjit`.

// pyo3 0.22's #[pyfunction] expands to an `.into()` on PyErr that newer clippy flags.
#![allow(clippy::useless_conversion)]

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyCode, PyDict, PyString, PyTuple};

extern "C" {
    fn cpjit_run_toplevel(
        target: *mut ffi::PyObject,
        arg: *mut ffi::PyObject,
    ) -> *mut ffi::PyObject;
}

/// Run `target` at the top of the frame stack: a source file name (str), None (the program on
/// stdin) or a code object, with `arg` (a dict) as its globals; or a callable with `arg` (a
/// tuple) as its arguments. Returns what it returns.
#[pyfunction]
pub fn run_toplevel<'py>(
    py: Python<'py>,
    target: &Bound<'py, PyAny>,
    arg: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    if target.is_instance_of::<PyCode>() || target.is_instance_of::<PyString>() || target.is_none()
    {
        arg.downcast::<PyDict>()?;
    } else {
        arg.downcast::<PyTuple>()?;
    }
    // SAFETY: GIL held; both objects are live references we hold for the duration of the call,
    // and the argument kinds are the ones cpjit_run_toplevel expects (checked above).
    let result = unsafe { cpjit_run_toplevel(target.as_ptr(), arg.as_ptr()) };
    // SAFETY: the C function returns a new reference, or NULL with an exception set.
    let outcome = unsafe { Bound::from_owned_ptr_or_err(py, result) };
    leave_room_for_the_epilogue(py);
    outcome
}

/// The recursion limit the runner's epilogue needs: after the program, `python -m cpjit` flushes
/// the streams and reports an exception in Python frames a few levels below the program's own
/// (plain python does that in C, at no depth).
const EPILOGUE_LIMIT: i32 = 64;

/// When the program left a recursion limit too low for the runner's epilogue (say
/// `sys.setrecursionlimit(5)`), raise it for the epilogue and give the program's limit back at
/// exit: the atexit callback registered here runs before any the program registered, so those see
/// the program's limit, as in plain python.
fn leave_room_for_the_epilogue(py: Python<'_>) {
    // SAFETY: GIL held.
    let limit = unsafe { ffi::Py_GetRecursionLimit() };
    if limit >= EPILOGUE_LIMIT {
        return;
    }
    // SAFETY: GIL held. Py_SetRecursionLimit does not compare the limit with the current depth
    // (sys.setrecursionlimit does, and could not even be called at this depth).
    unsafe { ffi::Py_SetRecursionLimit(EPILOGUE_LIMIT) };
    let restore = || -> PyResult<()> {
        let setter = py.import_bound("sys")?.getattr("setrecursionlimit")?;
        py.import_bound("atexit")?
            .call_method1("register", (setter, limit))?;
        Ok(())
    };
    // Without the callback the limit stays raised: a program that lowered it sees more room at
    // exit, never less.
    let _ = restore();
}
