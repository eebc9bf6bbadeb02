"""pyperformance's dulwich_log workload timed in one process: walk every commit of the asyncio
repository bm_dulwich_log ships, WALKS times (default 15), and print the median walk in ms. The
walker runs in a function of this script (`__main__` code, as in the benchmark), so the library
beneath it tiers as it does there. Needs dulwich 0.20.23 importable (benches/README.md, session
39, lists pyperformance's library benchmarks and their pins) and pyperformance's data files in
bench-deps/tools. For benches/ab_script.py:

    PYTHONPATH=/tmp/held python3 benches/ab_script.py 5 benches/dulwich_walk.py 15 -- plain default@python
"""
import os
import sys
import time

import dulwich.repo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.join(ROOT, "bench-deps", "tools", "pyperformance", "data-files", "benchmarks",
                    "bm_dulwich_log", "data", "asyncio.git")


def iter_all_commits(repo, head):
    for _entry in repo.get_walker(head):
        pass


def main(walks):
    repo = dulwich.repo.Repo(REPO)
    head = repo.head()
    times = []
    for _ in range(walks):
        start = time.perf_counter()
        iter_all_commits(repo, head)
        times.append(time.perf_counter() - start)
    times.sort()
    print(f"first {times[0] * 1e3:.1f} median {times[len(times) // 2] * 1e3:.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
