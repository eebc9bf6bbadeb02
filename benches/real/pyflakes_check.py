"""Real program: run pyflakes over large standard-library modules of this interpreter. Prints
the number of messages per module."""
import os
import sys
import sysconfig

from pyflakes import api, reporter

MODULES = ("argparse inspect typing dataclasses pathlib ast pydoc tarfile zipfile/__init__ "
           "subprocess logging/__init__ email/_header_value_parser").split()
MODULES = MODULES[: int(sys.argv[1])] if len(sys.argv) > 1 else MODULES


class Count(reporter.Reporter):
    def __init__(self):
        self.n = 0

    def unexpectedError(self, filename, msg):
        self.n += 1

    def syntaxError(self, *args):
        self.n += 1

    def flake(self, message):
        self.n += 1


stdlib = sysconfig.get_paths()["stdlib"]
for name in MODULES:
    path = os.path.join(stdlib, name + ".py")
    if not os.path.exists(path):
        continue
    r = Count()
    with open(path, encoding="utf-8") as f:
        api.check(f.read(), name, r)
    print(name, r.n)
