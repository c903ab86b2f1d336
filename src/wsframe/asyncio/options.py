"""Options shared by the server and the client, validated once per ``serve``/``connect``."""

from __future__ import annotations

from typing import Any, Optional, Tuple, Union

from .. import DEFAULT_MAX_MESSAGE_SIZE
from .. import deflate as _deflate

__all__ = ["Deflate", "Options"]

WriteLimit = Union[int, Tuple[int, int]]


class Deflate:
    """permessage-deflate settings (RFC 7692): ``compression=Deflate(...)``.

    ``compression="deflate"`` is ``Deflate()``. ``level`` (0-9) and ``mem_level`` (1-9)
    tune our compressor; messages shorter than ``threshold`` bytes are sent uncompressed;
    ``server_no_context_takeover``/``client_no_context_takeover`` and
    ``server_max_window_bits``/``client_max_window_bits`` (8-15) are what we ask for (a
    server: what it imposes; a client: what it offers). ``max_ratio`` fails (1009) a
    message that inflates to more than that many times its size. Inflation is always
    bounded by ``max_message_size``.

        >>> Deflate(level=1, server_no_context_takeover=True)
        Deflate(level=1, mem_level=8, threshold=128, server_no_context_takeover=True, client_no_context_takeover=False, server_max_window_bits=None, client_max_window_bits=None, max_ratio=None)
    """

    __slots__ = (
        "level", "mem_level", "threshold", "server_no_context_takeover",
        "client_no_context_takeover", "server_max_window_bits", "client_max_window_bits",
        "max_ratio",
    )  # fmt: skip

    def __init__(
        self,
        *,
        level: int = 6,
        mem_level: int = 8,
        threshold: int = _deflate.DEFAULT_THRESHOLD,
        server_no_context_takeover: bool = False,
        client_no_context_takeover: bool = False,
        server_max_window_bits: Optional[int] = None,
        client_max_window_bits: Optional[int] = None,
        max_ratio: Optional[float] = None,
    ) -> None:
        self.level = level
        self.mem_level = mem_level
        self.threshold = threshold
        self.server_no_context_takeover = server_no_context_takeover
        self.client_no_context_takeover = client_no_context_takeover
        self.server_max_window_bits = server_max_window_bits
        self.client_max_window_bits = client_max_window_bits
        self.max_ratio = max_ratio
        # Validates level, mem_level, threshold, windows and max_ratio with deflate's messages.
        _deflate.PerMessageDeflate(
            "server",
            server_max_window_bits=server_max_window_bits or 15,
            client_max_window_bits=client_max_window_bits or 15,
            **self.local_options(),
        )

    def local_options(self) -> dict:
        """The options of our own (de)compressor, for ``PerMessageDeflate``."""
        return {
            "level": self.level,
            "mem_level": self.mem_level,
            "threshold": self.threshold,
            "max_ratio": self.max_ratio,
        }

    def __repr__(self) -> str:
        return "Deflate(%s)" % ", ".join("%s=%r" % (n, getattr(self, n)) for n in self.__slots__)


def _positive(name: str, value: Any, allow_none: bool = False) -> Any:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(
            "%s must be a positive number%s, not %r"
            % (name, " or None" if allow_none else "", value)
        )
    return value


class Options:
    """The per-connection settings (see :func:`wsframe.asyncio.serve` for each)."""

    __slots__ = (
        "max_message_size", "compression", "ping_interval", "ping_timeout",
        "close_timeout", "open_timeout", "write_high", "write_low", "read_limit",
    )  # fmt: skip

    def __init__(
        self,
        *,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        compression: Union[None, str, Deflate] = None,
        ping_interval: Optional[float] = 20.0,
        ping_timeout: Optional[float] = 20.0,
        close_timeout: float = 10.0,
        open_timeout: Optional[float] = 10.0,
        write_limit: WriteLimit = 1 << 20,
        read_limit: int = 4 << 20,
    ) -> None:
        if isinstance(max_message_size, bool) or not isinstance(max_message_size, int) or max_message_size <= 0:
            raise ValueError(
                "max_message_size must be a positive number of bytes, not %r" % (max_message_size,)
            )
        self.max_message_size = max_message_size
        if compression == "deflate":
            compression = Deflate()
        elif compression is not None and not isinstance(compression, Deflate):
            raise ValueError(
                "compression must be None, 'deflate' or a wsframe.asyncio.Deflate, not %r"
                % (compression,)
            )
        self.compression = compression
        self.ping_interval = _positive("ping_interval", ping_interval, True)
        self.ping_timeout = _positive("ping_timeout", ping_timeout, True)
        self.close_timeout = _positive("close_timeout", close_timeout)
        self.open_timeout = _positive("open_timeout", open_timeout, True)
        if isinstance(write_limit, tuple):
            if len(write_limit) != 2:
                raise ValueError("write_limit must be high or (high, low), not %r" % (write_limit,))
            high, low = write_limit
        else:
            high, low = write_limit, None
        if isinstance(high, bool) or not isinstance(high, int) or high < 0:
            raise ValueError("write_limit's high mark must be an int >= 0, not %r" % (high,))
        if low is None:
            low = high // 4
        if isinstance(low, bool) or not isinstance(low, int) or not 0 <= low <= high:
            raise ValueError("write_limit's low mark must be an int from 0 to high, not %r" % (low,))
        self.write_high = high
        self.write_low = low
        if isinstance(read_limit, bool) or not isinstance(read_limit, int) or read_limit <= 0:
            raise ValueError("read_limit must be a positive number of bytes, not %r" % (read_limit,))
        self.read_limit = read_limit
