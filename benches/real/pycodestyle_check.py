"""Real program: run pycodestyle (every check, max line length 100) over standard-library
modules of this interpreter. Prints the number of problems per module."""
import os
import sys
import sysconfig

import pycodestyle

MODULES = "argparse inspect typing dataclasses ast tarfile subprocess".split()
MODULES = MODULES[: int(sys.argv[1])] if len(sys.argv) > 1 else MODULES

stdlib = sysconfig.get_paths()["stdlib"]
style = pycodestyle.StyleGuide(quiet=True, max_line_length=100, select=["E", "W", "C"])
for name in MODULES:
    path = os.path.join(stdlib, name + ".py")
    report = style.check_files([path])
    print(name, report.total_errors)
