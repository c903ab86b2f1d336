"""Fixtures for the integration tests: install a library's acceleration for one test."""

import warnings

import pytest

import wsframe.integrations as wi


def require(library):
    """Skip unless ``library`` (a wsframe.integrations name) is importable and known."""
    integ = wi.get(library)
    if not integ.available():
        pytest.skip("%s is not installed" % integ.dist)
    if not integ.known_version():
        pytest.skip("%s %s is not a version wsframe knows" % (integ.dist, integ.version()))
    return integ


@pytest.fixture
def accelerate():
    """``accelerate(name)`` installs (forced: also when wsframe runs interpreted)."""
    touched = []

    def _install(name):
        integ = require(name)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            replaced = integ.install(force=True)
        assert replaced, "%s: install() replaced nothing" % name
        touched.append(integ)
        return replaced

    yield _install
    for integ in touched:
        integ.uninstall()


@pytest.fixture(params=[False, True], ids=["library", "wsframe"])
def accelerated(request, accelerate):
    """Parametrize a test over the library alone and the library accelerated.

    The test calls ``accelerated(name)``; it returns whether acceleration is on.
    """

    def _maybe(name):
        require(name)
        if request.param:
            accelerate(name)
        return request.param

    return _maybe
