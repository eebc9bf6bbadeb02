"""Run a Python script and write cpjit.stats() as JSON when it exits (used by run_all.py).

    python -m cpjit benches/with_stats.py OUT.json script.py [args...]
"""
import atexit
import json
import os
import runpy
import sys


def main():
    out, script = sys.argv[1], sys.argv[2]
    sys.argv = sys.argv[2:]
    sys.path[0] = os.path.dirname(os.path.abspath(script))

    def dump():
        import cpjit

        with open(out, "w", encoding="utf-8") as f:
            json.dump(cpjit.stats(), f, default=repr)

    atexit.register(dump)
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
