"""One suite over both implementations: the ``impl`` fixture is parametrized "c" and
"python" (``--no-c-extensions`` or WSFRAME_NO_EXTENSIONS=1 keeps only "python")."""

import os

import pytest

from wsframe import _impl


def pytest_addoption(parser):
    group = parser.getgroup("wsframe")
    group.addoption(
        "--no-c-extensions",
        action="store_true",
        default=False,
        help="test only the pure-Python implementation",
    )
    group.addoption(
        "--c-extensions",
        action="store_true",
        default=False,
        help="require the C implementation (the default when it is built)",
    )


def implementation_names(config):
    if config.getoption("--no-c-extensions") or _impl.extensions_disabled():
        return ["python"]
    return ["c", "python"]


def pytest_generate_tests(metafunc):
    if "impl" in metafunc.fixturenames:
        metafunc.parametrize(
            "impl", implementation_names(metafunc.config), indirect=True, scope="session"
        )


@pytest.fixture(scope="session")
def impl(request):
    """The implementation under test: a namespace with every public name of it."""
    try:
        return _impl.load(request.param)
    except ImportError as exc:
        pytest.fail(
            "the C extension is not importable (%s); build it (pip install .) or run "
            "with --no-c-extensions" % exc
        )


@pytest.fixture(scope="session")
def both(request):
    """Both implementations, for differential tests (skipped without the extension)."""
    if "c" not in implementation_names(request.config):
        pytest.skip("the C implementation is disabled")
    try:
        return _impl.load("c"), _impl.load("python")
    except ImportError as exc:
        pytest.fail("the C extension is not importable: %s" % exc)


def pytest_report_header(config):
    import wsframe

    return "wsframe %s: implementations under test %s; active %s; cpu paths %s" % (
        wsframe.__version__,
        implementation_names(config),
        wsframe.implementation,
        wsframe.cpu_paths(),
    )


# Make hypothesis reproducible in CI and quick enough for a 2-core machine.
try:
    from hypothesis import settings

    settings.register_profile("ci", max_examples=200, deadline=None, derandomize=True)
    settings.register_profile("dev", max_examples=100, deadline=None)
    settings.load_profile("ci" if os.environ.get("CI") else "dev")
except ImportError:  # pragma: no cover
    pass
