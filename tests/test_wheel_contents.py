"""What a built wheel holds: no C/Cython sources or tests; py.typed, the .pxd files for
Cython users and the .pyi stubs (the public ones required, and every one of the source
tree); both compiled modules in a binary wheel, none in a pure one.

Skipped unless told what to check:
  WSFRAME_TEST_WHEEL=path/to/wsframe-*.whl   the wheel file itself (scripts/build_wheels_local.sh)
  WSFRAME_TEST_INSTALLED=1                   the installed distribution's RECORD (cibuildwheel's
                                             test-command, which installs the wheel it built)
WSFRAME_SOURCE_TREE (optional) names the unpacked sdist whose .pyi/.pxd files must all ship.
"""

import os
import pathlib
import zipfile

import pytest

WHEEL = os.environ.get("WSFRAME_TEST_WHEEL", "")
INSTALLED = os.environ.get("WSFRAME_TEST_INSTALLED", "") not in ("", "0")

pytestmark = pytest.mark.skipif(
    not (WHEEL or INSTALLED),
    reason="no wheel to check (set WSFRAME_TEST_WHEEL=path or WSFRAME_TEST_INSTALLED=1)",
)

REQUIRED = (
    "wsframe/py.typed",
    "wsframe/_primitives.pxd",
    "wsframe/_codec_c.pxd",
    # The stubs: without them a type checker sees none of the names __init__.py binds at
    # run time (issue 15).
    "wsframe/__init__.pyi",
    "wsframe/integrations/__init__.pyi",
    "wsframe/integrations/_base.pyi",
)
EXTENSIONS = ("wsframe._primitives", "wsframe._codec_c")
FORBIDDEN_SUFFIXES = (".c", ".h", ".pyx", ".o", ".obj", ".html")


def _members():
    """(file names in the wheel, WHEEL metadata text)."""
    if WHEEL:
        with zipfile.ZipFile(WHEEL) as whl:
            names = whl.namelist()
            wheel_meta = [n for n in names if n.endswith(".dist-info/WHEEL")]
            return names, whl.read(wheel_meta[0]).decode() if wheel_meta else ""
    from importlib import metadata

    dist = metadata.distribution("wsframe")
    names = [str(f).replace("\\", "/") for f in dist.files or ()]
    return names, dist.read_text("WHEEL") or ""


@pytest.fixture(scope="module")
def members():
    return _members()


def _package_files(names):
    return [n for n in names if n.startswith("wsframe/")]


def _is_binary(wheel_meta):
    return "Root-Is-Purelib: false" in wheel_meta


def test_no_sources_or_tests(members):
    names, _ = members
    bad = [
        n
        for n in _package_files(names)
        if n.endswith(FORBIDDEN_SUFFIXES)
        or "/tests/" in n
        or n.rsplit("/", 1)[-1].startswith(("test_", "conftest"))
    ]
    assert not bad, "the wheel ships sources or tests: %s" % bad
    assert not [n for n in names if n.split("/", 1)[0] in ("tests", "csrc", "benchmarks")]


def test_typing_and_cython_declarations(members):
    names, _ = members
    missing = [r for r in REQUIRED if r not in names]
    assert not missing, "missing from the wheel: %s" % missing


def test_every_stub_and_pxd_of_the_source(members):
    """Each .pyi/.pxd of the sources is in the wheel (sources: WSFRAME_SOURCE_TREE, an
    unpacked sdist or a checkout, or the tree holding these tests)."""
    names, _ = members
    tree = os.environ.get("WSFRAME_SOURCE_TREE") or pathlib.Path(__file__).resolve().parents[1]
    src = pathlib.Path(tree) / "src" / "wsframe"
    if not src.is_dir():
        pytest.skip("no source tree next to the tests")
    wanted = sorted(
        "wsframe/" + p.relative_to(src).as_posix()
        for pattern in ("*.pyi", "*.pxd")
        for p in src.rglob(pattern)
    )
    missing = [w for w in wanted if w not in names]
    assert not missing, "missing from the wheel: %s" % missing


def test_compiled_modules_match_the_tag(members):
    names, wheel_meta = members
    compiled = [n for n in _package_files(names) if n.endswith((".so", ".pyd"))]
    if _is_binary(wheel_meta):
        for ext in EXTENSIONS:
            stem = ext.replace(".", "/") + "."
            assert [n for n in compiled if n.startswith(stem)], "%s missing" % ext
        assert "Tag: py3-none-any" not in wheel_meta
    else:
        assert not compiled, "a pure wheel holds compiled modules: %s" % compiled
        assert "Tag: py3-none-any" in wheel_meta


def test_version_is_consistent(members):
    """The wheel's metadata version and wsframe.__version__ agree."""
    names, _ = members
    import wsframe

    dist_info = {n.split("/", 1)[0] for n in names if ".dist-info/" in n}
    assert len(dist_info) == 1, dist_info
    version = dist_info.pop()[: -len(".dist-info")].split("-", 1)[1]
    assert version == wsframe.__version__
