"""Loaded by every Python process of a library-suite run (it is first on PYTHONPATH).

With WSFRAME_SUITE_INSTALL=<library>, it applies wsframe.integrations.install() to that
library before any test runs, forced (so that it also happens while wsframe runs
interpreted), and fails the process at once if nothing was replaced: a "with" run that is
not really accelerated must never pass for one.
"""

import os
import sys

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
