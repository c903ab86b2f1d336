#!/usr/bin/env bash
# A long fuzzing run on a private snapshot of the tree, so that rebuilding or editing the
# work tree meanwhile cannot change (or crash, by rewriting its .so) the code under test.
#
#   fuzz/run_long.sh [SECONDS] [JOBS]          (defaults: 3600 s, 1 job)
#
# Environment: WSFRAME_FUZZ_DIR (default /tmp/wsframe-fuzz-long) holds the snapshot
# (tree/), the corpus grown so far (corpus/, kept between runs), crash artifacts and the
# logs; PYTHON (default: python3) must have Cython and atheris.
set -euo pipefail

SECONDS_TOTAL=${1:-3600}
JOBS=${2:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${WSFRAME_FUZZ_DIR:-/tmp/wsframe-fuzz-long}
PY=${PYTHON:-python3}

mkdir -p "$DIR/corpus" "$DIR/artifacts"
rm -rf "$DIR/tree"
mkdir -p "$DIR/tree"
cp -r "$ROOT/src" "$ROOT/csrc" "$ROOT/fuzz" "$ROOT/setup.py" "$ROOT/pyproject.toml" "$DIR/tree/"
find "$DIR/tree" \( -name '*.so' -o -name '__pycache__' \) -prune -exec rm -rf {} +
rm -rf "$DIR/tree/csrc/build" "$DIR/tree/fuzz/artifacts"
git -C "$ROOT" rev-parse HEAD > "$DIR/tree/REVISION" 2>/dev/null || true
git -C "$ROOT" status --short -- src csrc > "$DIR/tree/DIRTY" 2>/dev/null || true

echo "run_long: building the snapshot in $DIR/tree"
(cd "$DIR/tree" && WSFRAME_BUILD_EXTENSION=required "$PY" setup.py -q build_ext --inplace \
    > "$DIR/build.log" 2>&1) || { tail -20 "$DIR/build.log"; exit 2; }

cd "$DIR/tree"
rm -f "$DIR"/fuzz-*.log
echo "run_long: fuzzing for $SECONDS_TOTAL s with $JOBS job(s); log in $DIR/fuzz-*.log"
# N independent fuzzers sharing the corpus directory (each picks up what the others add
# when it reloads it); libFuzzer's own -jobs would re-run the script without this
# interpreter.
pids=()
for ((j = 0; j < JOBS; j++)); do
    "$PY" fuzz/fuzz_decoder.py -max_total_time="$SECONDS_TOTAL" -print_final_stats=1 \
        -reload=60 -artifact_prefix="$DIR/artifacts/" "$DIR/corpus" fuzz/corpus \
        > "$DIR/fuzz-$j.log" 2>&1 &
    pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null' EXIT INT TERM
failed=0
for pid in "${pids[@]}"; do
    wait "$pid" || failed=$((failed + 1))   # a finding, a crash or a harness error
done
trap - EXIT INT TERM
total=0
for log in "$DIR"/fuzz-*.log; do
    n=$(grep -a 'stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1)
    total=$((total + ${n:-0}))
done
echo "run_long: $total executions; artifacts:"
ls -1 "$DIR/artifacts"
if [ "$failed" -ne 0 ]; then
    echo "run_long: $failed worker(s) stopped on a finding or an error: see $DIR/fuzz-*.log" >&2
    exit 1
fi
