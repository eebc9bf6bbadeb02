"""Run a Python script and write cpjit.stats() as JSON when it exits (used by run_all.py).

    python -m cpjit benches/with_stats.py OUT.json script.py [args...]

The script's code runs from this module's top level, in a namespace named __main__, as
`python -m cpjit script.py` runs it. Not through runpy.run_path: that is a loopless library
function, which cpjit runs as a cold region (the frame-evaluation hook out), so the statistics
would be those of a program started by a launcher, not by `python` (until session 51 the
runner's compile figures were: sympy 0-5 code objects compiled, pyflakes 11-66).
"""
import atexit
import json
import os
import sys

_out, _script = sys.argv[1], sys.argv[2]
sys.argv = sys.argv[2:]
sys.path[0] = os.path.dirname(os.path.abspath(_script))


def _dump(out=_out):
    import cpjit

    with open(out, "w", encoding="utf-8") as f:
        json.dump(cpjit.stats(), f, default=repr)


atexit.register(_dump)
with open(_script, "rb") as _f:
    _code = compile(_f.read(), _script, "exec")
_namespace = {"__name__": "__main__", "__file__": _script, "__builtins__": __builtins__,
              "__doc__": None, "__package__": None, "__spec__": None, "__loader__": None}
# The script sees itself as __main__ (pickle and `if __name__ == "__main__":` rely on it).
_module = type(sys)("__main__")
_module.__dict__.update(_namespace)
sys.modules["__main__"] = _module
exec(_code, _module.__dict__)
