"""Cliff scan: small programs, each built around one pattern (string building, exceptions in a
loop, exec, class creation, sorting with a key, generators, threads, recursion, ...), run as
whole processes plainly and under `python -m cpjit`. It reports CPU time each way (median of
ROUNDS interleaved process pairs), the ratio, and whether the outputs match, and flags any program
cpjit makes more than 1.5x slower: what it exists to catch is a slowdown of a different order
(a loop building a str by `s += t` was quadratic under cpjit until the eleventh session: 194 s
against 0.39 s). Not a timed test: run it by hand after changing how an instruction works.

    PYTHONPATH=python python3 benches/cliffs.py [--rounds N] [name ...]
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile

PROGRAMS = {}
PROGRAMS['exc_loop'] = '''
def f(n):
    c = 0
    for i in range(n):
        try:
            if i % 2: raise ValueError(i)
            c += 1
        except ValueError:
            c -= 1
    return c
print(f(300000))
'''
PROGRAMS['recursion'] = '''
import sys
sys.setrecursionlimit(10000)
def r(n): return 0 if n == 0 else 1 + r(n - 1)
t = 0
for i in range(300): t += r(900)
print(t)
'''
PROGRAMS['exec_loop'] = '''
t = 0
for i in range(3000):
    d = {}
    exec(f"def g(x):\\n    return x + {i}\\nr = g(1)", d)
    t += d['r']
print(t)
'''
PROGRAMS['class_loop'] = '''
t = 0
for i in range(20000):
    class C:
        def __init__(self, v): self.v = v
        def get(self): return self.v
    t += C(i).get()
print(t)
'''
PROGRAMS['sort_key'] = '''
import random
random.seed(1)
l = [random.random() for i in range(200000)]
for k in range(3):
    s = sorted(l, key=lambda x: -x)
print(s[0])
'''
PROGRAMS['map_filter'] = '''
t = 0
for k in range(20):
    t += sum(map(lambda x: x * 2, filter(lambda x: x % 3, range(50000))))
print(t)
'''
PROGRAMS['fstring'] = '''
def f(n):
    out = []
    for i in range(n):
        out.append(f"{i}:{i*2:>5}|{i/3:.2f}")
    return len("".join(out))
print(f(300000))
'''
PROGRAMS['threads'] = '''
import threading
def work(n):
    s = 0
    for i in range(n): s += i
    return s
ts = [threading.Thread(target=work, args=(1000000,)) for i in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print('ok')
'''
PROGRAMS['gen_pipeline'] = '''
def gen(n):
    for i in range(n): yield i
def sq(it):
    for x in it: yield x * x
def ev(it):
    for x in it:
        if x % 2 == 0: yield x
print(sum(ev(sq(gen(500000)))))
'''
PROGRAMS['closures'] = '''
def make(k):
    def add(x): return x + k
    return add
t = 0
for i in range(300000):
    t = make(i)(t) % 1000003
print(t)
'''
PROGRAMS['big_function'] = '\n'.join(['def big(x):'] + [f'    x = (x * {i} + {i}) % 1000003' for i in range(3000)] + ['    return x', 'print(sum(big(i) for i in range(3)))'])
PROGRAMS['dict_counter'] = '''
def count(words):
    d = {}
    for w in words:
        d[w] = d.get(w, 0) + 1
    c = {}
    for w in words:
        if w in c: c[w] += 1
        else: c[w] = 1
    return len(d), len(c)
words = [str(i % 5000) for i in range(500000)]
print(count(words))
'''
PROGRAMS['with_lock'] = '''
import threading
lock = threading.Lock()
def f(n):
    c = 0
    for i in range(n):
        with lock:
            c += 1
    return c
print(f(500000))
'''
PROGRAMS['asyncio'] = '''
import asyncio
async def leaf(i):
    await asyncio.sleep(0)
    return i
async def main():
    t = 0
    for k in range(20):
        t += sum(await asyncio.gather(*(leaf(i) for i in range(1000))))
    return t
print(asyncio.run(main()))
'''
PROGRAMS['dataclass'] = '''
from dataclasses import dataclass
@dataclass
class Pt:
    x: float
    y: float
def f(n):
    s = 0.0
    for i in range(n):
        p = Pt(i, i * 2.0)
        s += p.x + p.y
    return s
print(f(300000))
'''
PROGRAMS['bytes_build'] = '''
def f(n):
    b = bytearray()
    for i in range(n):
        b += b"abcd"
    s = []
    for i in range(n):
        s.append("x")
    return len(b), len("".join(s))
print(f(500000))
'''
PROGRAMS['str_methods'] = '''
def f(n):
    t = 0
    for i in range(n):
        s = "Hello, World %d" % i
        t += len(s.lower().replace("world", "there").split(","))
    return t
print(f(300000))
'''
PROGRAMS['str_build'] = """
def build(n):
    s = ''
    for i in range(n):
        s += 'abcdefgh'
        s = s + 'ij'
    return len(s)
print(build(200000))
"""


# Much code, each piece called a few hundred times a second: 1,500 small classes and functions
# called round-robin. Compiled, their native code (megabytes) is fetched from L2 or L3 at every
# call; interpreted, each is a few hundred bytes of bytecode. (Seventeenth session: 1.5-4x slower
# under cpjit until loopless code had to be called within a time window to compile.)
PROGRAMS['round_robin'] = """
N = 1500
src = []
for i in range(N):
    src.append(f\"\"\"
class K{i}:
    def __init__(self, v):
        self.v = v
    def m(self, o):
        return self.v + o.v + {i}
def f{i}(a, b):
    x = K{i}(a)
    y = K{i}(b)
    if x.v > y.v:
        return x.m(y) * 2
    return y.m(x) - len(str(a))
\"\"\")
ns = {}
exec("".join(src), ns)
fs = [ns[f"f{i}"] for i in range(N)]
def run(fs):
    t = 0
    for f in fs:
        t += f(3, 4)
    return t
print(sum(run(fs) for _ in range(800)))
"""


def cpu_run(cmd, env):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, (out.returncode, out.stdout, out.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    names = args.names or sorted(PROGRAMS)
    env = dict(os.environ)
    worst = None
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            path = os.path.join(tmp, f"cliff_{name}.py")
            with open(path, "w") as f:
                f.write(PROGRAMS[name])
            plain, jit, same = [], [], True
            for _ in range(args.rounds):
                t, out_plain = cpu_run([sys.executable, path], env)
                plain.append(t)
                t, out_jit = cpu_run([sys.executable, "-m", "cpjit", path], env)
                jit.append(t)
                same = same and out_plain == out_jit
            p, j = statistics.median(plain), statistics.median(jit)
            ratio = p / j if j else float("inf")
            flag = "  <-- more than 1.5x slower" if ratio < 1 / 1.5 else ""
            print(f"{name:14s} plain {p * 1e3:8.0f} ms  cpjit {j * 1e3:8.0f} ms  {ratio:5.2f}x  "
                  f"{'same output' if same else 'OUTPUT DIFFERS'}{flag}", flush=True)
            worst = ratio if worst is None else min(worst, ratio)
            if not same:
                sys.exit(1)
    print(f"slowest: {worst:.2f}x")


if __name__ == "__main__":
    main()
