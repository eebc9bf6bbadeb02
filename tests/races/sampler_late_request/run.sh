#!/bin/sh
# Reproducer of the sampler's late-request hang (fixed in session 34, csrc/cold_regions.c): a
# sample queued just after the region closed and the main thread blocked in join() was never
# taken back, and the traced worker then holding the GIL met the eval breaker for good.
# Needs gdb; not part of CI (the window is a few hundred nanoseconds without the breakpoint).
#
#   tests/races/sampler_late_request/run.sh [PYTHONPATH-with-cpjit]     # default: python/
#
# Prints "done" and exits 0 on a fixed build; on a build with the bug the program hangs and the
# script reports it after 20 s.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cpjit_path=${1:-$root/python}
python=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')
marker=$(mktemp -u /tmp/cpjit-race-XXXXXX)
out=$(mktemp)
(sleep 20) | RACE_MARKER=$marker PYTHONPATH="$here:$cpjit_path" timeout 22 \
    gdb -q -iex "set auto-load safe-path /" -x "$here/freeze.gdb" \
    --args "$python" -m cpjit "$here/main.py" "$marker" >"$out" 2>&1
rm -f "$marker"
if ! grep -q '^frozen' "$out"; then
    echo "inconclusive: the breakpoint never froze the sampler (gdb log: $out)"
    exit 2
fi
if grep -q '^done' "$out"; then
    echo "ok: the program ended"
    rm -f "$out"
    exit 0
fi
echo "HANG: no 'done' within 20 s (gdb log: $out)"
exit 1
