"""Library half of the reproducer (see run.sh): `root` is loopless and defined outside
__main__, so it opens a cold region; it starts a traced worker, spends a while in one C call
holding the GIL (where the sampler asks for a sample), then returns and the main thread joins
the worker."""
import os
import sys
import threading
import time


def tracer(frame, event, arg):
    return None


def leaf(i):
    return i + 1


def worker(go, seconds):
    sys.settrace(tracer)
    go.wait()
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        i = leaf(i)
    sys.settrace(None)


def root(seconds, marker):
    go = threading.Event()
    t = threading.Thread(target=worker, args=(go, seconds))
    t.start()
    open(marker, "w").close()  # run.sh's breakpoint freezes the sampler from here on
    sum(range(20_000_000))
    go.set()
    return t
