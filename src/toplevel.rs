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
    unsafe { Bound::from_owned_ptr_or_err(py, result) }
}
