"""Shrink a program on which cpjit and the interpreter differ, keeping the difference.

Greedy reduction of the program text at positions its AST gives: each round builds candidates
(drop a whole block, halves, quarters ... single statements of any block; replace a compound
statement by one of its blocks, i.e. body, else, finally, a handler or a case; replace a
one-line expression by one of its operands or by 0), runs up to 60 of them in one batch per
mode (worker.py, so one process start per round and mode), keeps the smallest candidate that
still differs, and repeats until no candidate does or the time is up. Unneeded `pass` lines and
blank runs are then tidied away if that keeps the difference.

"Still differs" means the same kind of difference (crash, exit status, output) as the original
when `kind` is given, any difference otherwise.

Statements that keep a loop bounded (`_wN -= 1` in the generated while loops) are never dropped.
"""
from __future__ import annotations

import ast
import time
import warnings

from . import runner

STMT_LISTS = ("body", "orelse", "finalbody")
COMPOUND = (ast.If, ast.With, ast.Try, ast.While, ast.For, ast.TryStar)


def _stmt_lists(tree):
    """Every non-empty statement list in the tree, outermost first."""
    for node in ast.walk(tree):
        for field in STMT_LISTS:
            lst = getattr(node, field, None)
            if isinstance(lst, list) and lst and isinstance(lst[0], ast.stmt):
                yield lst
        if isinstance(node, ast.Try) or isinstance(node, ast.TryStar):
            for h in node.handlers:
                yield h.body
        if isinstance(node, ast.Match):
            for c in node.cases:
                yield c.body


def _protected(stmt):
    return (isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name)
            and stmt.target.id.startswith("_w"))


def _size(src: str) -> int:
    return len(src)


class Candidates:
    """Reduced variants of a program, made by editing its text at the positions the AST gives
    (much faster than copying and unparsing trees)."""

    def __init__(self, src: str):
        self.src = src
        self.lines = src.splitlines(keepends=True)
        self.tree = ast.parse(src)

    def _check(self, lines) -> str | None:
        out = "".join(lines)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                compile(out, "<shrink>", "exec")
        except (SyntaxError, ValueError):
            return None
        return out

    def _without(self, first, last, indent):
        """Lines first..last (1-based, inclusive) replaced by `pass`."""
        return lambda: self._check(self.lines[:first - 1] + [" " * indent + "pass\n"] + self.lines[last:])

    def _replace_by(self, first, last, keep_first, keep_last, dedent):
        """Lines first..last replaced by lines keep_first..keep_last, dedented."""
        def make():
            kept = []
            for line in self.lines[keep_first - 1:keep_last]:
                kept.append(line[dedent:] if line[:dedent].strip() == "" else line)
            return self._check(self.lines[:first - 1] + kept + self.lines[last:])
        return make

    def all(self):
        lists = list(_stmt_lists(self.tree))
        # 1. drop runs of statements: whole lists, halves, quarters, ... single statements
        for lst in lists:
            n = len(lst)
            chunk = n
            while chunk >= 1:
                for start in range(0, n, chunk):
                    part = lst[start:start + chunk]
                    if any(_protected(st) for st in part):
                        continue
                    if part[0].lineno == part[-1].end_lineno and isinstance(part[0], ast.Pass):
                        continue
                    yield self._without(part[0].lineno, part[-1].end_lineno, part[0].col_offset)
                chunk //= 2
        # 2. replace compound statements by one of their blocks
        for lst in lists:
            for st in lst:
                if isinstance(st, COMPOUND) or isinstance(st, ast.Match):
                    blocks = [st.body] if not isinstance(st, ast.Match) else [c.body for c in st.cases]
                    blocks += [getattr(st, "orelse", None), getattr(st, "finalbody", None)]
                    blocks += [h.body for h in getattr(st, "handlers", [])]
                    for b in blocks:
                        if b:
                            yield self._replace_by(st.lineno, st.end_lineno, b[0].lineno, b[-1].end_lineno,
                                                   b[0].col_offset - st.col_offset)
        # 3. simplify expressions on a single line
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.expr) or node.lineno != node.end_lineno:
                continue
            if not isinstance(getattr(node, "ctx", ast.Load()), ast.Load):
                continue
            for repl in self._expr_replacements(node):
                yield self._replace_expr(node, repl)

    @staticmethod
    def _expr_replacements(n):
        if isinstance(n, ast.BinOp):
            yield n.left
            yield n.right
        elif isinstance(n, ast.BoolOp):
            yield n.values[0]
        elif isinstance(n, ast.UnaryOp):
            yield n.operand
        elif isinstance(n, ast.IfExp):
            yield n.body
            yield n.orelse
        elif isinstance(n, ast.Compare):
            yield n.left
        elif isinstance(n, ast.Call) and n.args and not isinstance(n.args[0], ast.Starred):
            yield n.args[0]
        if not isinstance(n, (ast.Constant, ast.Name)):
            yield "0"

    def _replace_expr(self, node, repl):
        def make():
            line = self.lines[node.lineno - 1].encode("utf-8")
            if isinstance(repl, str):
                text = repl.encode()
            else:
                if repl.lineno != repl.end_lineno:
                    return None
                text = b"(" + line[repl.col_offset:repl.end_col_offset] + b")"
            new = line[:node.col_offset] + text + line[node.end_col_offset:]
            return self._check(self.lines[:node.lineno - 1] + [new.decode("utf-8")] + self.lines[node.lineno:])
        return make


def shrink(src: str, env: runner.Env, mode: str, mode_env: dict, kind: str | None = None,
           seconds: float = 300, batch: int = 60, log=None) -> str:
    """The smallest program found that still differs (of kind `kind`) between the interpreter
    and `mode`."""
    deadline = time.monotonic() + seconds
    best = src
    rounds = 0

    def interesting(results_plain, results_jit, pid):
        d = runner.differs(results_plain.get(pid), results_jit.get(pid))
        return d is not None and (kind is None or d == kind)

    tried = {src}
    while time.monotonic() < deadline:
        rounds += 1
        cands = []
        for make in Candidates(best).all():
            out = make()
            if out is None or out in tried or _size(out) >= _size(best):
                continue
            tried.add(out)
            cands.append(out)
            if len(cands) >= batch:
                break
        if not cands:
            break
        progs = [runner.program_file(env, i, c, "shrink") for i, c in enumerate(cands)]
        plain = runner.run_worker(env, progs, None, "shrink-plain")
        jit = runner.run_worker(env, progs, mode_env, "shrink-" + mode)
        good = [c for i, c in enumerate(cands) if interesting(plain, jit, i)]
        if not good:
            if len(cands) < batch:
                break
            continue
        best = min(good, key=_size)
        if log:
            log(f"  shrink round {rounds}: {len(cands)} candidates, {len(good)} still differ, {len(best)} chars")
    tidy = _tidy(best)
    if tidy != best:
        progs = [runner.program_file(env, 0, tidy, "shrink")]
        if interesting(runner.run_worker(env, progs, None, "shrink-plain"),
                       runner.run_worker(env, progs, mode_env, "shrink-" + mode), 0):
            best = tidy
    return best


def _tidy(src: str) -> str:
    """Drop `pass` statements that are not needed and runs of blank lines."""
    lines = src.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        if lines[i].strip() == "pass":
            trial = lines[:i] + lines[i + 1:]
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    compile("".join(trial), "<tidy>", "exec")
                lines = trial
                continue
            except SyntaxError:
                pass
        i += 1
    out = []
    for line in lines:
        if line.strip() == "" and (not out or out[-1].strip() == ""):
            continue
        out.append(line)
    return "".join(out)
