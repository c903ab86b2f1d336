#!/usr/bin/env bash
# Run each accelerated library's own test suite (from its sdist, at the tested version)
# twice: as the library is, and with wsframe.integrations.install() applied. Every test
# that passes without must pass with. See scripts/library_suites/run.py for options:
#   scripts/run_library_suites.sh                 # all six libraries
#   scripts/run_library_suites.sh wsproto tornado # some
#   scripts/run_library_suites.sh --fallbacks     # each library on its pure-Python fallback
#   scripts/run_library_suites.sh --matrix [LIB ...]
#       # each library's oldest supported, a middle and the newest release (its
#       # integration's `tested`), each in its own virtualenv under
#       # $WSFRAME_MATRIX_VENVS (default /tmp/wsframe-matrix), identical outcomes
#       # required, then tests/integrations there; table in <work>/matrix.md
#       # (docs/integrations/matrix.md). Needs PyPI; not for CI.
#   scripts/run_library_suites.sh --websockets-tests DIR websockets
#       # websockets' own tests/ package, fetched separately (its sdist has none; never
#       # committed here); --websockets-deselect NODEID leaves out a test racy without us
# Environment: PYTHON (default: the active virtualenv's python, else /work/venv/bin/python
#   if present, else python3),
#   WSFRAME_SUITES_DIR (download/work dir, default .cache/library_suites),
#   WSFRAME_SUITE_TIMEOUT (seconds per suite run, default 900).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
  if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
    PYTHON="$VIRTUAL_ENV/bin/python"
  elif [ -x /work/venv/bin/python ]; then PYTHON=/work/venv/bin/python; else PYTHON=python3; fi
fi
cd "$root"
exec "$PYTHON" "$here/library_suites/run.py" "$@"
