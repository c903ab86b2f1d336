"""``python -m wsframe bench`` with each library on its pure-Python fallback.

The libraries' wheels mask (and some validate UTF-8) in C; their fallbacks, used from a
source install, on PyPy or where the compiled part did not build, are Python. This runs
the same benchmark with those compiled parts made unimportable, before any library is
imported, so that the integrations section shows what ``install()`` replaces there:

    python scripts/bench_library_fallbacks.py --only integrations

websockets: ``websockets.speedups``; aiohttp: ``AIOHTTP_NO_EXTENSIONS=1``; tornado:
``tornado.speedups``; autobahn: ``AUTOBAHN_USE_NVX=0``; websocket-client: ``wsaccel``.
wsproto has no compiled part. Arguments are those of ``python -m wsframe bench``.
"""

import os
import runpy
import sys

for blocked in ("websockets.speedups", "tornado.speedups", "wsaccel"):
    sys.modules[blocked] = None  # "import" of it raises ImportError
os.environ["AIOHTTP_NO_EXTENSIONS"] = "1"
os.environ["AUTOBAHN_USE_NVX"] = "0"

sys.argv = ["wsframe", "bench"] + sys.argv[1:]
runpy.run_module("wsframe", run_name="__main__", alter_sys=True)
