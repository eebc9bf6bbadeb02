"""Micro benchmark: programs whose time is in C, reached from a library's loopless function,
so that under cpjit they run inside a cold region (csrc/cold_regions.c), as pyperf's workers
run a benchmark. Prints `median <ms>` per timed call (for benches/ab_script.py).

    python3 c_under_region.py regex ROUNDS     # pyperformance's regex_dna workload (_sre)
    python3 c_under_region.py sqlite ROUNDS    # sqlite calling a small Python aggregate from C

`regex` needs pyperformance's benchmark scripts (bench-deps/tools, benches/requirements-bench.txt).
Session 53 (benches/README.md): with the other CPU busy, the sampler's 1 ms watch naps
preempted the program's thread (benches/thread_costs.py shows the switches); `sqlite` shows
what a cold loopless function called from C pays for a region per call until it compiles.
"""
import os
import runpy
import statistics
import sys
import tempfile
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# A library module of its own (a temporary directory on sys.path): its loopless `timed` calls
# the workload, and its functions are not __main__'s, so cpjit treats them as library code.
LIBRARY = textwrap.dedent("""
    import sqlite3, time

    def timed(f, *args):
        t = time.perf_counter()
        f(*args)
        return time.perf_counter() - t

    class AvgLength:
        def __init__(self):
            self.sum = 0
            self.count = 0
        def step(self, x):
            if x is not None:
                self.count += 1
                self.sum += len(x)
        def finalize(self):
            return self.sum / float(self.count)

    def sqlite_table(n):
        conn = sqlite3.connect(":memory:")
        conn.execute("create table t (x, y, z);")
        conn.executemany("insert into t values (?, ?, ?)", [(i, 0.5, str(i)) for i in range(n)])
        conn.create_aggregate("avglength", 1, AvgLength)
        return conn

    def sqlite_query(conn):
        return conn.execute("select avglength(z) from t;").fetchone()[0]
""")


def main():
    kind, rounds = sys.argv[1], int(sys.argv[2])
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "c_region_lib.py"), "w") as f:
            f.write(LIBRARY)
        sys.path.insert(0, tmp)
        import c_region_lib as lib
        if kind == "regex":
            sys.path.insert(0, os.path.join(ROOT, "bench-deps", "tools"))
            bm = runpy.run_path(os.path.join(
                ROOT, "bench-deps", "tools", "pyperformance", "data-files", "benchmarks",
                "bm_regex_dna", "run_benchmark.py"), run_name="bm_regex_dna")
            seq = bm["init_benchmarks"](bm["DEFAULT_INIT_LEN"], bm["DEFAULT_RNG_SEED"])
            times = [lib.timed(bm["bench_regex_dna"], 1, seq, None) for _ in range(rounds)]
        elif kind == "sqlite":
            conn = lib.sqlite_table(20000)
            times = [lib.timed(lib.sqlite_query, conn) for _ in range(rounds)]
        else:
            sys.exit("c_under_region.py: KIND is regex or sqlite")
    print("median", statistics.median(times[1:] if len(times) > 1 else times) * 1000)


if __name__ == "__main__":
    main()
