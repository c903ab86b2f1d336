#!/usr/bin/env bash
# The debug leg: the extension built with WSFRAME_DEBUG_BUILD=1 (-O0 -g, -UNDEBUG: the C
# asserts of csrc/ and of CPython's headers are on) in a copy of the tree, then the test
# suite run against it under Python's development mode (-X dev: the debug memory
# allocators, which catch buffer overruns and writes after free in PyMem blocks, and
# faulthandler).
#
#   scripts/debug_build.sh [pytest arguments...]      (default: tests -q)
#
# The copy (default build/debug/, ignored by git; WSFRAME_DEBUG_DIR overrides) has its own
# build directory, so the in-place build in src/ that everybody else uses is never touched.
# PYTHON (default: python3) must have Cython, pytest and the test dependencies.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${WSFRAME_DEBUG_DIR:-$ROOT/build/debug}
PY=${PYTHON:-python3}
TREE=$DIR/tree
LOG=$DIR/build.log

mkdir -p "$DIR"
rm -rf "$TREE"
mkdir -p "$TREE"
for item in src csrc tests examples setup.py pyproject.toml; do
    [ -e "$ROOT/$item" ] && cp -r "$ROOT/$item" "$TREE/"
done
# Nothing built elsewhere may leak into the copy: no extension, no object, no cache.
find "$TREE" \( -name '*.so' -o -name '*.pyd' -o -name '*.o' -o -name '__pycache__' \
    -o -name '_codec_py.c' -o -name '_primitives.c' \) -prune -exec rm -rf {} +
rm -rf "$TREE/csrc/build"

echo "debug_build: building the extension with WSFRAME_DEBUG_BUILD=1 in $TREE"
start=$(date +%s)
if ! (cd "$TREE" && WSFRAME_DEBUG_BUILD=1 WSFRAME_BUILD_EXTENSION=required \
        "$PY" setup.py build_ext --inplace > "$LOG" 2>&1); then
    tail -30 "$LOG"
    echo "debug_build: the debug build failed (log: $LOG)" >&2
    exit 2
fi
# The flags really are the debug ones, for the C core and for the Cython modules.
for source in csrc/dispatch.c src/wsframe/_codec_py.c src/wsframe/_primitives.c; do
    line=$(grep -E "^(gcc|cc|clang|x86_64-linux-gnu-gcc)\b.* -c $source " "$LOG" | head -1 || true)
    if [ -z "$line" ] || ! grep -q -- "-O0" <<<"$line" || ! grep -q -- "-UNDEBUG" <<<"$line"; then
        echo "debug_build: $source was not compiled with -O0 -UNDEBUG (log: $LOG)" >&2
        exit 2
    fi
done
echo "debug_build: built in $(( $(date +%s) - start )) s"

cd "$TREE"
export PYTHONPATH="$TREE/src${PYTHONPATH:+:$PYTHONPATH}"
unset WSFRAME_NO_EXTENSIONS
# The copy's extension is the one imported, and it is the compiled implementation.
"$PY" -X dev -c "
import sys, wsframe
from wsframe import _codec_c, _primitives
assert wsframe.implementation == 'c', wsframe.implementation
for m in (_codec_c, _primitives):
    assert m.__file__.startswith(sys.argv[1]), m.__file__
print('debug_build: testing', _codec_c.__file__, wsframe.cpu_paths())
" "$TREE/src"

if [ $# -eq 0 ]; then
    set -- tests -q
fi
"$PY" -X dev -m pytest -p no:cacheprovider "$@"
