"""The developers' benchmark suite (pytest-benchmark); not part of the normal test run.

Run it with::

    pytest benchmarks/ --benchmark-group-by=group --benchmark-columns=min,median,ops

Its files are named ``bench_*.py`` so the normal test run (``tests/``) never collects
them; this conftest collects them when ``benchmarks/`` itself is the target. Every
implementation of wsframe ("c" with each CPU path, "python") and every installed peer is
measured in the same run, through the adapters of ``wsframe.bench`` (the same ones
``python -m wsframe bench`` uses, so both report the same operations).
"""

import os
import sys

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
_SRC = os.path.join(os.path.dirname(_HERE), "src")
try:
    import wsframe  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, _SRC)

try:
    import pytest_benchmark  # noqa: F401
except ImportError:  # pragma: no cover
    raise ImportError("benchmarks/ needs pytest-benchmark: pip install pytest-benchmark")


def pytest_collect_file(file_path, parent):
    # Collect bench_*.py under benchmarks/ (explicit file arguments are collected by
    # pytest itself, whatever their name).
    if (file_path.suffix == ".py" and file_path.name.startswith("bench_")
            and not parent.session.isinitpath(file_path)):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


@pytest.fixture(autouse=True)
def _reset_cpu_paths():
    """Give every benchmark the default CPU paths back after it forced one."""
    yield
    from wsframe.bench import _peers

    impls, _ = _peers.wsframe_implementations()
    for impl in impls.values():
        impl.reset_paths()


@pytest.fixture(scope="session", autouse=True)
def _close_bench_resources():
    yield
    from wsframe.bench import _peers

    _peers.close_resources()
