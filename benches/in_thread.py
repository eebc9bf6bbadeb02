#!/usr/bin/env python3
"""Run a script on a worker thread while the main thread waits for it, and print the process's
CPU time to stderr: how a program whose work runs on a thread other than the main one fares
(the main thread's cold regions are sampled; other threads' are not: csrc/cold_regions.c).

    python3 benches/in_thread.py benches/real/stdlib_email.py
    CPJIT=1 python3 benches/in_thread.py benches/real/stdlib_email.py   # cpjit installed (.pth)

The script runs as __main__ (runpy.run_path) with the arguments after it.
"""
import runpy
import sys
import threading
import time


def main():
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    failure = []

    def target():
        try:
            runpy.run_path(script, run_name="__main__")
        except BaseException as exc:  # re-raised on the main thread
            failure.append(exc)

    started = time.process_time()
    worker = threading.Thread(target=target)
    worker.start()
    worker.join()
    print(f"cpu {time.process_time() - started:.3f}", file=sys.stderr)
    if failure:
        raise failure[0]


if __name__ == "__main__":
    main()
