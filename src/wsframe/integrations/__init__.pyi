# Types of wsframe.integrations' public API (the module itself is unannotated).
from typing import Any, Iterable

from ._base import Integration, IntegrationWarning as IntegrationWarning


LIBRARIES: tuple[str, ...]

def get(name: str) -> Integration: ...
def available() -> list[str]: ...
def install(*names: str, force: bool = False) -> dict[str, tuple[str, ...]]: ...
def uninstall(*names: str) -> list[str]: ...
def installed() -> dict[str, tuple[str, ...]]: ...
def bench_cases(
    libraries: Iterable[str] | None = None,
    sizes: Iterable[int] | None = None,
    paths: Iterable[str] = ("receive", "send"),
) -> list[Any]: ...

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
