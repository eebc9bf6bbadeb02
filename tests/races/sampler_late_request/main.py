import sys

import racelib

racelib.root(2.0, sys.argv[1]).join()
print("done")
