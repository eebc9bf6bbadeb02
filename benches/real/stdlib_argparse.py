"""Real program (standard library): build 3,000 argparse parsers (options, positionals,
sub-commands), parse a command line with each, format some help texts, and log each result
through logging's formatter. Prints a digest."""
import argparse
import hashlib
import io
import logging
import sys

N = int(sys.argv[1]) if len(sys.argv) > 1 else 3000

digest = hashlib.sha256()
stream = io.StringIO()
handler = logging.StreamHandler(stream)
handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
log = logging.getLogger("parsed")
log.addHandler(handler)
log.setLevel(logging.DEBUG)
log.propagate = False
for i in range(N):
    parser = argparse.ArgumentParser(prog=f"p{i}")
    parser.add_argument("--n", type=int, default=3)
    parser.add_argument("files", nargs="*")
    commands = parser.add_subparsers(dest="cmd")
    run = commands.add_parser("run")
    run.add_argument("-v", action="count", default=0)
    ns = parser.parse_args([f"--n={i}", "a", "b", "run", "-vv"])
    digest.update(repr(sorted(vars(ns).items())).encode())
    if i % 10 == 0:
        digest.update(parser.format_help().encode())
    log.info("parsed %d %s", i, ns.cmd)
    log.debug("files=%r", ns.files)
digest.update(stream.getvalue().encode())
print(digest.hexdigest())
