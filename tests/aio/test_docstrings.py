"""The examples in wsframe.asyncio's docstrings run as written."""

import doctest

import pytest

from wsframe.asyncio import backoff, http, options


@pytest.mark.parametrize("module", [backoff, http, options], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    failures, tried = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0
    assert failures == 0
