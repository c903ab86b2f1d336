"""Loaded by every Python process of a library-suite run (it is first on PYTHONPATH).

With WSFRAME_SUITE_INSTALL=<library>, it applies wsframe.integrations.install() to that
library before any test runs, forced (so that it also happens while wsframe runs
interpreted), and fails the process at once if nothing was replaced: a "with" run that is
not really accelerated must never pass for one.

With WSFRAME_SUITE_ORIGIN=<path> and WSFRAME_SUITE_MODULE=<import name> (both runs), each
process appends, at exit, the file the library was really imported from: run.py checks
that the runs without and with acceleration tested the same installed build (a source
tree on sys.path, such as an unpacked sdist, must not shadow it in one run only).
"""

import os
import sys

# WSFRAME_SUITE_BLOCK=mod1,mod2 (both runs; run.py --fallbacks sets it): make those
# compiled parts of the libraries unimportable, so that each library runs on its
# pure-Python fallback (what install() replaces on a source install or PyPy).
for _blocked in filter(None, os.environ.get("WSFRAME_SUITE_BLOCK", "").split(",")):
    sys.modules[_blocked.strip()] = None

_name = os.environ.get("WSFRAME_SUITE_INSTALL")
if _name:
    import wsframe
    import wsframe.integrations

    _done = wsframe.integrations.install(_name, force=True)
    if not _done.get(_name):
        sys.stderr.write("wsframe suite hook: install(%r) replaced nothing\n" % _name)
        sys.exit(97)
    _marker = os.environ.get("WSFRAME_SUITE_MARKER")
    if _marker:
        with open(_marker, "a") as _f:
            _f.write(
                "%d %s %s %s\n"
                % (os.getpid(), wsframe.implementation, _name, ",".join(_done[_name]))
            )

_origin = os.environ.get("WSFRAME_SUITE_ORIGIN")
_module = os.environ.get("WSFRAME_SUITE_MODULE")
if _origin and _module:
    import atexit

    def _record_origin(path=_origin, module=_module):
        mod = sys.modules.get(module)
        where = getattr(mod, "__file__", None) if mod is not None else None
        if where:
            with open(path, "a") as f:
                f.write("%d %s\n" % (os.getpid(), os.path.realpath(where)))

    atexit.register(_record_origin)
