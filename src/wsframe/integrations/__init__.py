"""Drop-in acceleration of other WebSocket libraries by wsframe's C primitives.

One line enables it::

    import wsframe.integrations
    wsframe.integrations.install()             # every installed library wsframe knows
    wsframe.integrations.install("wsproto")    # or only some

``install()`` returns a dict ``{library: (replaced names, ...)}`` of what it accelerated;
``uninstall()`` puts every original back. Each library also has its own module with
``install()``/``uninstall()`` (``wsframe.integrations.wsproto.install()``). Both are
idempotent and thread-safe. Nothing happens for a library that is not installed, nor for
a version that was not tested (an :class:`IntegrationWarning` names the version), nor
when ``WSFRAME_NO_INTEGRATIONS=1`` is set, nor while wsframe runs interpreted (the
library's own code is faster than wsframe's pure-Python fallback) unless ``force=True``.

Every replacement keeps the library's signature and behaviour: same argument order, same
in-place or new-buffer result, same return type, same exceptions, same events and close
codes. See ``docs/integrations/`` for what each library gets and the measured speed-ups.
"""

import importlib

from ._base import IntegrationWarning, refused

__all__ = [
    "LIBRARIES",
    "IntegrationWarning",
    "install",
    "uninstall",
    "installed",
    "available",
    "get",
    "bench_cases",
]

#: Public names of the libraries wsframe can accelerate, in the order install() tries them.
LIBRARIES = ("websockets", "wsproto", "aiohttp", "tornado", "autobahn", "websocket_client")

_ALIASES = {"websocket-client": "websocket_client", "websocket": "websocket_client"}


def _canonical(name):
    name = _ALIASES.get(name, name)
    if name not in LIBRARIES:
        raise ValueError(
            "unknown library %r; wsframe.integrations knows %s" % (name, ", ".join(LIBRARIES))
        )
    return name


def get(name):
    """The :class:`~wsframe.integrations._base.Integration` object for one library."""
    module = importlib.import_module("%s.%s" % (__name__, _canonical(name)))
    return module.INTEGRATION


def available():
    """Libraries that are importable here and of a version wsframe knows."""
    out = []
    for name in LIBRARIES:
        integ = get(name)
        if integ.available() and integ.known_version():
            out.append(name)
    return out


def install(*names, force=False):
    """Accelerate the named libraries (none named: every installed one).

    Returns ``{name: (replaced dotted names, ...)}`` for each library actually
    accelerated (an empty dict if ``WSFRAME_NO_INTEGRATIONS`` is set). A library named
    explicitly but not installed raises ``ImportError``; with no names, absent libraries
    are skipped silently.
    """
    explicit = bool(names)
    targets = [_canonical(n) for n in names] if explicit else list(LIBRARIES)
    if refused():
        return {}
    done = {}
    for name in targets:
        integ = get(name)
        if not integ.available():
            if explicit:
                raise ImportError(
                    "wsframe.integrations.install(%r): %s is not installed" % (name, integ.dist)
                )
            continue
        replaced = integ.install(force=force)
        if replaced:
            done[name] = replaced
    return done


def uninstall(*names):
    """Restore the named libraries (none named: all); returns the names restored."""
    targets = [_canonical(n) for n in names] if names else list(LIBRARIES)
    return [name for name in targets if get(name).uninstall()]


def installed():
    """``{name: (replaced dotted names, ...)}`` for the libraries accelerated right now."""
    out = {}
    for name in LIBRARIES:
        integ = get(name)
        if integ.installed:
            out[name] = integ.replaced
    return out


def bench_cases(libraries=None, sizes=None, paths=("receive", "send")):
    """Benchmark cases of each installed library's own receive/send path (see ``_bench``)."""
    from . import _bench

    return _bench.bench_cases(
        libraries, sizes=_bench.SIZES if sizes is None else tuple(sizes), paths=paths
    )
