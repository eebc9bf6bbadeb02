/* toplevel.c: run a program's main code at the top of the thread's frame stack, for
 * `python -m cpjit` (python/cpjit/_runner.py).
 *
 * Owns: hiding the runner's own frames from the program it runs. Plain `python` runs a script's
 * module code (or runpy's _run_module_as_main for -m) with no Python frame below it; a runner
 * written in Python has several. While the program runs, the frame chain starts afresh (the
 * program's first frame has no f_back, so sys._getframe, tracebacks, inspect.stack and
 * warnings' stacklevel see only the program) and the recursion budget is the full limit, as at
 * the top of plain python. Both are restored when the program returns or raises.
 */
#include "cpjit_rt.h"

#include "internal/pycore_pystate.h"

/* `target` is a source file name (parsed from the file and run with `arg` as globals and
 * locals, as pymain_run_file does: same tokenizer, same errors), None for the program on stdin,
 * a code object (run with `arg` as globals and locals, as run_pyc_file does) or a callable
 * (called with the tuple `arg`, as pymain_run_module calls runpy). */
PyObject *cpjit_run_toplevel(PyObject *target, PyObject *arg)
{
    PyThreadState *tstate = PyThreadState_Get();
    _PyCFrame *cframe = tstate->cframe;
    _PyInterpreterFrame *below = cframe->current_frame;
    int depth = tstate->recursion_limit - tstate->recursion_remaining;

    cframe->current_frame = NULL;
    tstate->recursion_remaining = tstate->recursion_limit;
    PyObject *result = NULL;
    PyCompilerFlags cf = _PyCompilerFlags_INIT;
    if (PyCode_Check(target)) {
        result = PyEval_EvalCode(target, arg, arg);
    }
    else if (target == Py_None) {
        result = PyRun_FileExFlags(stdin, "<stdin>", Py_file_input, arg, arg, 0, &cf);
    }
    else if (PyUnicode_Check(target)) {
        PyObject *name = PyUnicode_EncodeFSDefault(target);
        FILE *fp = name != NULL ? _Py_fopen_obj(target, "rb") : NULL;
        if (fp != NULL) {
            /* closeit=1: closed before the code runs, as python does */
            result = PyRun_FileExFlags(fp, PyBytes_AS_STRING(name), Py_file_input, arg, arg, 1,
                                       &cf);
        }
        Py_XDECREF(name);
    }
    else {
        result = PyObject_Call(target, arg, NULL);
    }
    /* The program may have changed the limit: keep the runner's depth, not its budget. */
    tstate->cframe->current_frame = below;
    tstate->recursion_remaining = tstate->recursion_limit - depth;
    return result;
}
