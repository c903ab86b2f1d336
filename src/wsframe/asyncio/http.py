"""The HTTP side of the opening handshake: the request a server sees, the response a
``process_request`` hook may return instead of the upgrade."""

from __future__ import annotations

from typing import Iterable, List, Optional, Tuple, Union

from .. import handshake

__all__ = ["Request", "Response"]

HeaderList = List[Tuple[str, str]]


class Request:
    """The client's opening handshake as the server read it.

    ``path`` is the request target (``/chat?room=1``); ``headers`` the ``(name, value)``
    pairs in the order they arrived::

        >>> r = Request("/chat", [("Host", "example.com"), ("Origin", "https://example.com")])
        >>> r.get("origin")
        'https://example.com'
        >>> r.get_all("x-missing")
        []
    """

    __slots__ = ("path", "headers")

    def __init__(self, path: str, headers: HeaderList) -> None:
        self.path = path
        self.headers = headers

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """The first value of header ``name`` (case-insensitive), or ``default``."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return default

    def get_all(self, name: str) -> List[str]:
        """Every value of header ``name``, comma-separated lists split."""
        return handshake.header_values(self.headers, name)

    def __repr__(self) -> str:
        return "Request(%r, <%d headers>)" % (self.path, len(self.headers))


class Response:
    """An HTTP response that refuses the upgrade: ``status`` (200-599), a text ``body``
    and extra ``headers``. Return one from ``process_request``::

        async def process_request(conn, request):
            if request.get("Authorization") != "Bearer s3cret":
                return Response(401, "missing or wrong token")
    """

    __slots__ = ("status", "body", "headers")

    def __init__(self, status: int, body: str = "", headers: Iterable[Tuple[str, str]] = ()) -> None:
        if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
            raise ValueError("Response status must be an int in 200-599, not %r" % (status,))
        self.status = status
        self.body = body
        self.headers = list(headers)

    def to_bytes(self) -> bytes:
        return handshake.build_error_response(self.status, self.body, extra_headers=self.headers)

    def __repr__(self) -> str:
        return "Response(%d, %r)" % (self.status, self.body)


ResponseLike = Union[Response, None]
