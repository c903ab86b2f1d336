"""pytest plugin: the logging setup of tornado's own runner (tornado/test/runtests.py).

tornado's tests assert that no unexpected log record is emitted (``ExpectLog``); its runner
silences the access log first (``logging.getLogger("tornado.access")
.setLevel(logging.CRITICAL)``). Under pytest the same line must run before the tests, or
every request's access-log line counts as unexpected, with or without wsframe.
"""

import logging


def pytest_configure(config):
    logging.getLogger("tornado.access").setLevel(logging.CRITICAL)
