"""The differential fuzzer's command line (see README.md; `.ci/fuzz` runs this).

    python3 -m fuzz --programs N [--seed S]      # from tests/, with PYTHONPATH=tests
    python3 -m fuzz --seconds T [--seed S]
"""
from __future__ import annotations

import argparse
import os
import resource
import signal
import sys
import time

from . import gen, runner, shrink


def log(msg):
    print(msg, flush=True)


class Fuzz:
    def __init__(self, args):
        self.args = args
        self.env = runner.Env(args.workdir, args.gc_stress, args.as_library)
        self.modes = dict(runner.DEFAULT_MODES) if not args.mode else dict(map(runner.parse_mode, args.mode))
        self.out = os.path.abspath(args.out)
        self.progdir = os.path.join(self.env.dir, "progs")
        os.makedirs(self.progdir, exist_ok=True)
        os.makedirs(self.out, exist_ok=True)
        self.ran = 0
        self.timeouts = 0
        self.gen_errors = 0
        self.standalone = 0
        self.mismatches = []   # dicts: seed, index, mode, kind, where, files
        self.shrunk = 0
        self.next_id = args.start
        self.finished = {}     # mode -> [programs that did not crash, of them with a native frame]
        self.native = {}       # mode -> programs with at least one native frame
        self.regions = {}      # mode -> programs that opened a cold region
        self.osr = {}          # mode -> programs in which a call went on natively mid-way (osr.c)
        self.probes = {}       # mode -> programs in which a warm function's calls were probed (hub_probe.c)
        self.runs = {}         # mode -> programs that compiled a float or int run (src/opt/float_runs.rs)

    def generate(self, i):
        src = gen.generate(self.args.seed, i, self.args.size,
                           tuple(self.args.feature or ()) + tuple(f"focus:{f}" for f in self.args.focus or ()))
        # a real file, so that tracebacks show the source line with the ^^^ of the instruction
        path = os.path.join(self.progdir, f"p{i % 1000}.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(src)
        try:
            return runner.make_program(i, src, path)
        except SyntaxError as exc:
            self.gen_errors += 1
            if self.gen_errors <= 5:
                log(f"generator produced invalid program {self.args.seed}:{i}: {exc}")
            return None

    def run_batch(self, start, count):
        progs = [p for p in (self.generate(i) for i in range(start, start + count)) if p]
        plain = runner.run_worker(self.env, progs, None, "plain")
        results = {m: runner.run_worker(self.env, progs, e, m) for m, e in self.modes.items()}
        for m, res in results.items():
            native = [r.get("native", 0) for r in res.values()]
            self.native[m] = self.native.get(m, 0) + sum(1 for n in native if n > 0)
            self.regions[m] = self.regions.get(m, 0) + sum(1 for r in res.values() if r.get("regions", 0) > 0)
            self.osr[m] = self.osr.get(m, 0) + sum(1 for r in res.values() if r.get("osr", 0) > 0)
            self.probes[m] = self.probes.get(m, 0) + sum(1 for r in res.values() if r.get("probes", 0) > 0)
            self.runs[m] = self.runs.get(m, 0) + sum(1 for r in res.values() if r.get("runs", 0) > 0)
            # Programs that crashed say nothing about whether cpjit ran: the crashes are compared
            # with the reference run below like any other outcome.
            finished = [r for r in res.values() if r.get("crash") is None]
            counts = self.finished.setdefault(m, [0, 0])
            counts[0] += len(finished)
            counts[1] += sum(1 for r in finished if r.get("native", 0))
        for p in progs:
            self.ran += 1
            ref = plain.get(p["id"])
            if ref and ref.get("timeout"):
                self.timeouts += 1
                continue
            for m, res in results.items():
                kind = runner.differs(ref, res.get(p["id"]))
                if kind:
                    self.mismatch(p, m, kind, ref, res.get(p["id"]), progs)
                    break
            else:
                if self.args.standalone_every and p["id"] % self.args.standalone_every == 0:
                    self.check_standalone(p)

    def check_standalone(self, p):
        self.standalone += 1
        ref = runner.run_standalone(self.env, p["src"], None, "standalone")
        for m, e in self.modes.items():
            got = runner.run_standalone(self.env, p["src"], e, "standalone")
            kind = runner.standalone_differs(ref, got)
            if kind:
                self.record(p, m, "standalone-" + kind, "standalone (batch agreed)", p["src"],
                            self.standalone_report(ref, got))
                return

    @staticmethod
    def standalone_report(ref, got):
        parts = []
        for k in ("status", "stdout", "stderr"):
            if ref[k] != got[k]:
                parts.append(f"{k}: plain {ref[k]!r:.200} / cpjit {got[k]!r:.200}" if k == "status" else
                             f"{k}:\n" + runner.diff_text(ref[k], got[k]))
        return "\n".join(parts)

    def mismatch(self, p, mode, kind, ref, got, batch):
        mode_env = self.modes[mode]
        # confirm on its own, as a whole process, and in a batch of one
        ref_s = runner.run_standalone(self.env, p["src"], None, "confirm")
        got_s = runner.run_standalone(self.env, p["src"], mode_env, "confirm")
        skind = runner.standalone_differs(ref_s, got_s)
        alone = runner.run_worker(self.env, [p], None, "alone-plain"), runner.run_worker(self.env, [p], mode_env, "alone")
        akind = runner.differs(alone[0].get(p["id"]), alone[1].get(p["id"]))
        if skind or akind:
            where = "standalone" if skind else "batch of one"
        else:
            where = "only in its batch (depends on earlier programs: " + ", ".join(
                f"{self.args.seed}:{q['id']}" for q in batch if q["id"] < p["id"]) + ")"
        report = f"batch difference ({kind}):\n" + runner.diff_text(ref.get("out", ""), got.get("out", ""))
        if got.get("crash") is not None:
            report += f"\ncpjit worker died with status {got['crash']}"
        if skind:
            report += "\nstandalone difference:\n" + self.standalone_report(ref_s, got_s)
        minimised = None
        if (skind or akind) and not self.args.no_shrink and self.shrunk < self.args.max_shrink:
            self.shrunk += 1
            log(f"shrinking {self.args.seed}:{p['id']} ({mode}, {kind})")
            minimised = shrink.shrink(p["src"], self.env, mode, mode_env, kind if akind else None,
                                      seconds=self.args.shrink_seconds, log=log)
            mp = runner.program_file(self.env, 0, minimised, "min")
            a = runner.run_worker(self.env, [mp], None, "min-plain")[0]
            b = runner.run_worker(self.env, [mp], mode_env, "min")[0]
            report += f"\n\nminimised ({runner.differs(a, b)}):\n" + runner.diff_text(a["out"], b["out"])
            if b.get("crash") is not None:
                report += f"\ncpjit worker died with status {b['crash']}"
        self.record(p, mode, kind, where, p["src"], report, minimised)

    def record(self, p, mode, kind, where, src, report, minimised=None):
        base = os.path.join(self.out, f"s{self.args.seed}-p{p['id']}-{mode}")
        with open(base + ".py", "w", encoding="utf-8") as f:
            f.write(src)
        files = [base + ".py"]
        if minimised:
            with open(base + ".min.py", "w", encoding="utf-8") as f:
                f.write(minimised)
            files.append(base + ".min.py")
        env_text = " ".join(f"{k}={v}" for k, v in self.modes.get(mode, {}).items())
        with open(base + ".txt", "w", encoding="utf-8") as f:
            f.write(f"program {self.args.seed}:{p['id']} mode {mode} ({env_text}) kind {kind}, seen {where}\n")
            f.write(f"reproduce: PYTHONHASHSEED=0 CPJIT=1 {env_text} PYTHONPATH=<site with sitecustomize>:python "
                    f"python3 {files[-1]}  (vs CPJIT=0)\n\n{report}\n")
        files.append(base + ".txt")
        self.mismatches.append({"id": p["id"], "mode": mode, "kind": kind, "where": where, "files": files})
        log(f"MISMATCH {self.args.seed}:{p['id']} {mode} {kind} ({where}): {files[-1]}")

    def run(self):
        a = self.args
        t0 = self.t0 = time.monotonic()
        c0 = self.c0 = time.process_time()
        i = a.start
        while True:
            if a.programs is not None and i >= a.start + a.programs:
                break
            if a.seconds is not None and time.monotonic() - t0 >= a.seconds:
                break
            count = a.batch if a.programs is None else min(a.batch, a.start + a.programs - i)
            self.run_batch(i, count)
            i += count
            self.next_id = i
            if a.progress and (i - a.start) % a.progress < count:
                self.summary(t0, c0, final=False)
        return self.summary(t0, c0)

    def summary(self, t0, c0, final=True):
        wall = time.monotonic() - t0
        ch = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = time.process_time() - c0 + ch.ru_utime + ch.ru_stime
        line = (f"fuzz seed {self.args.seed}: {self.ran} programs (ids {self.args.start}..{self.next_id - 1}) "
                f"x modes plain,{','.join(self.modes)}: {len(self.mismatches)} mismatches, {self.timeouts} timed out, "
                f"{self.gen_errors} generator errors, {self.standalone} also run standalone; "
                f"ran native frames: {', '.join(f'{m} {100 * n / max(self.ran, 1):.0f}%' for m, n in self.native.items())}; "
                f"opened cold regions: {', '.join(f'{m} {100 * n / max(self.ran, 1):.0f}%' for m, n in self.regions.items())}; "
                f"went on natively mid-call (osr.c): {', '.join(f'{m} {100 * n / max(self.ran, 1):.0f}%' for m, n in self.osr.items())}; "
                f"had a warm function's calls probed (hub_probe.c): {', '.join(f'{m} {100 * n / max(self.ran, 1):.0f}%' for m, n in self.probes.items())}; "
                f"compiled a float or int run: {', '.join(f'{m} {100 * n / max(self.ran, 1):.0f}%' for m, n in self.runs.items())}; "
                f"{wall:.0f} s wall, {cpu:.0f} s CPU, {self.ran / max(cpu, 1e-9):.1f} programs per CPU second")
        log(("" if final else "progress: ") + line)
        if final:
            # Judged over the whole run, not per batch: in a mode with a threshold and cold
            # regions (jit12s) only a few percent of the programs get warm enough to run a frame
            # natively, so a batch of 200 can rightly have none (session 45: 3-12% per run).
            for m, (n, native) in self.finished.items():
                if n and not native:
                    raise SystemExit(f"fuzz: no frame ran natively in mode {m} in {n} programs: cpjit is not running (build it: .ci/dev-build)")
            if self.mismatches:
                log(f"mismatching programs (original .py, minimised .min.py, report .txt) in {self.out}:")
                for m in self.mismatches:
                    log(f"  {self.args.seed}:{m['id']} {m['mode']} {m['kind']} ({m['where'][:60]}): {m['files'][-1]}")
                if self.args.show:
                    first = self.mismatches[0]
                    for path in first["files"][1:]:
                        with open(path, encoding="utf-8") as f:
                            log(f"---- {path}\n{f.read()[:6000]}")
            else:
                log(f"no mismatches (reports would be written to {self.out})")
        return 1 if self.mismatches else 0


def _positive(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text}")
    return value


def parse(argv):
    p = argparse.ArgumentParser(prog="fuzz", description="Differential fuzzer: interpreter vs cpjit")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--programs", type=int, help="run this many programs")
    g.add_argument("--seconds", type=float, help="run for this long")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--start", type=int, default=0, help="index of the first program")
    p.add_argument("--batch", type=int, default=200, help="programs per worker process")
    p.add_argument("--size", type=int, default=6, help="statements per function body (roughly)")
    p.add_argument("--mode", action="append", help="JIT mode NAME:VAR=VALUE,... (repeatable; "
                   "default jit0:CPJIT_THRESHOLD=0, jit2:CPJIT_THRESHOLD=2, jit12:CPJIT_THRESHOLD=12)")
    p.add_argument("--feature", action="append", choices=sorted(gen.FEATURES),
                   help="also generate constructs that hit known differences: " +
                   "; ".join(f"{k}: {v}" for k, v in gen.FEATURES.items()))
    p.add_argument("--focus", action="append", choices=sorted(n for n, _ in gen.Gen.STATEMENTS),
                   help="make this statement ten times as frequent (repeatable)")
    p.add_argument("--gc-stress", type=_positive, default=0, metavar="N",
                   help="keep the collector on while programs run (threshold N for generation 0) "
                        "and run Python code at every collection (worker.py)")
    p.add_argument("--as-library", metavar="NAME", default=None,
                   help="run each program in a module namespace named NAME instead of __main__ "
                        "(every mode, the reference included), so that its functions are library "
                        "code: cold ones open cold regions (csrc/cold_regions.c)")
    p.add_argument("--out", default=os.path.join(runner.ROOT, "target", "fuzz"))
    p.add_argument("--workdir", default=None, help="scratch directory (default: a new temporary one)")
    p.add_argument("--standalone-every", type=int, default=500,
                   help="also run every Nth program as whole processes (0: never)")
    p.add_argument("--no-shrink", action="store_true")
    p.add_argument("--max-shrink", type=int, default=10, help="shrink at most this many mismatches")
    p.add_argument("--shrink-seconds", type=float, default=300)
    p.add_argument("--show", action="store_true", help="print the first mismatch's minimised program and report")
    p.add_argument("--progress", type=int, default=0, help="print a progress line every N programs")
    args = p.parse_args(argv)
    if args.programs is None and args.seconds is None:
        args.programs = 1000
    return args


def main(argv=None):
    fuzz = Fuzz(parse(sys.argv[1:] if argv is None else argv))

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        return fuzz.run()
    except KeyboardInterrupt:
        log("interrupted: the counts below are of completed batches")
        return fuzz.summary(fuzz.t0, fuzz.c0)


if __name__ == "__main__":
    sys.exit(main())
