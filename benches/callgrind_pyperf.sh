#!/bin/bash
# Noise-free instruction and instruction-cache-miss counts of one pyperformance benchmark, plain or
# under cpjit (the figures the issue notes quote; wall time on a shared machine is too noisy).
#
#   benches/callgrind_pyperf.sh chaos 4 cpjit        # cpjit, 4 loops
#   benches/callgrind_pyperf.sh chaos 1              # plain, 1 loop
#   CGX="--cache-sim=yes" benches/callgrind_pyperf.sh chaos 4 cpjit   # + I1/D1 misses
#
# Steady state per loop = (count at loops 4 - count at loops 1) / 3. The "Collected" line lists
# Ir [Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw with --cache-sim=yes]. Environment: PYTHON (default:
# the real 3.11 binary behind `python3`, not a pyenv shim), CPJIT_PY (directory holding the cpjit
# package; default: this checkout's python/), PYPERF_PATH (where pyperf is importable from),
# CGOUT (callgrind output file). The warm window is time: valgrind runs code about 50x slower, so
# it is scaled to match (CPJIT_WARM_WINDOW_MS, default here 1000 instead of 20), or functions that
# compile at full speed would stay interpreted under callgrind.
set -e
B=$1; L=${2:-1}; M=$3
HERE=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}
BMDIR=$(PYTHONPATH=${PYPERF_PATH:-} "$PY" -c 'import pyperformance, os; print(os.path.join(os.path.dirname(pyperformance.__file__), "data-files", "benchmarks"))')
BM=$BMDIR/bm_$B/run_benchmark.py
EXTRA=""
[ "$M" = cpjit ] && EXTRA="-m cpjit"
OUT=${CGOUT:-/tmp/callgrind.$B.$L.${M:-plain}.$$.out}
cd /tmp
PYTHONHASHSEED=0 PYTHONPATH=${CPJIT_PY:-$HERE/python}${PYPERF_PATH:+:$PYPERF_PATH} \
    CPJIT_WARM_WINDOW_MS=${CPJIT_WARM_WINDOW_MS:-1000} valgrind --tool=callgrind $CGX --callgrind-out-file="$OUT" "$PY" $EXTRA "$BM" \
    --worker --loops "$L" -n 1 -w 0 -p 1 2>&1 >/dev/null | grep Collected
echo "callgrind output: $OUT (callgrind_annotate it; JIT code shows as ???:0x...)"
