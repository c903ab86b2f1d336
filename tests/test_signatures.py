"""help() and inspect.signature() work on every public class and function, compiled or
interpreted, and the two implementations have the same signatures (issue 15)."""

import inspect
import pydoc

import pytest

from wsframe import _impl

PUBLIC = _impl.PRIMITIVES + _impl.CODEC
METHODS = {
    "FrameDecoder": ("feed",),
    "FrameEncoder": ("text", "binary", "ping", "pong", "close", "encode", "encode_parts"),
    "Utf8Validator": ("feed", "reset"),
}


@pytest.fixture(scope="module")
def python_impl():
    return _impl.load("python")


@pytest.mark.parametrize("name", PUBLIC)
def test_signature_matches_the_interpreted_one(impl, python_impl, name):
    assert inspect.signature(getattr(impl, name)) == inspect.signature(
        getattr(python_impl, name)
    )


@pytest.mark.parametrize("cls, method", [(c, m) for c, ms in METHODS.items() for m in ms])
def test_method_signature_matches_the_interpreted_one(impl, python_impl, cls, method):
    sig = inspect.signature(getattr(getattr(impl, cls), method))
    assert sig == inspect.signature(getattr(getattr(python_impl, cls), method))
    assert list(sig.parameters)[0] == "self"


def test_decoder_signature_names_its_keywords(impl):
    params = inspect.signature(impl.FrameDecoder).parameters
    assert params["role"].default == "server"
    assert params["max_message_size"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["max_message_size"].default == 1 << 20


@pytest.mark.parametrize("name", ["FrameDecoder", "FrameEncoder", "Frame", "Close", "FrameHeader"])
def test_help_starts_with_the_signature(impl, name):
    """help(cls) shows ``Name(real signature)`` under the class line (a C type's
    ``__init__`` slot still reads ``(self, /, *args, **kwargs)`` further down, as for
    every built-in type)."""
    cls = getattr(impl, name)
    lines = pydoc.render_doc(cls, renderer=pydoc.plaintext).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("class " + name)) + 1
    end = lines.index(" |", start) if " |" in lines[start:] else start + 1
    # (pydoc of 3.13+ wraps a long signature over several lines)
    shown = "".join("".join(lines[start:end]).replace(" |", "").split())
    assert shown == "".join(("%s%s" % (name, inspect.signature(cls))).split())
    # The docstring itself does not carry the signature's lines.
    assert not cls.__doc__.lstrip().startswith(("--", name + "("))
