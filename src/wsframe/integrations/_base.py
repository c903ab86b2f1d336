"""The patching machinery shared by every integration.

An :class:`Integration` knows one library: how to find it, which versions it was written
against, and (once the library is imported) the list of ``(owner, attribute, replacement)``
patches to apply. ``install()`` saves each original, sets the replacement and remembers
both; ``uninstall()`` puts every original back, but only where the attribute still holds
our replacement (someone who patched after us keeps their patch).

All state changes happen under one process-wide re-entrant lock, so concurrent
``install()``/``uninstall()`` calls from several threads leave the library either fully
patched or fully original.
"""

import importlib
import importlib.util
import os
import threading
import warnings

__all__ = ["Integration", "IntegrationWarning", "LOCK", "refused"]

LOCK = threading.RLock()


class IntegrationWarning(RuntimeWarning):
    """A library was left as it is: unknown version, or wsframe is not compiled."""


def refused():
    """True when ``WSFRAME_NO_INTEGRATIONS`` asks for no acceleration at all."""
    return os.environ.get("WSFRAME_NO_INTEGRATIONS", "").strip().lower() not in (
        "",
        "0",
        "false",
        "no",
    )


def _version_tuple(text):
    parts = []
    for piece in text.split("."):
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        parts.append(int(digits))
        if digits != piece:
            break
    return tuple(parts)


def _dist_version(dist):
    try:
        from importlib import metadata
    except ImportError:  # pragma: no cover - Python < 3.8 is not supported anyway
        return None
    try:
        return metadata.version(dist)
    except Exception:
        return None


def _raw_attr(owner, attr):
    """The attribute as stored (a class's staticmethod stays a staticmethod)."""
    if isinstance(owner, type):
        for klass in owner.__mro__:
            if attr in klass.__dict__:
                return klass.__dict__[attr], klass is owner
        raise AttributeError(attr)
    return getattr(owner, attr), True


class Integration:
    """One library's acceleration.

    Subclasses set ``name`` (the public name used by ``wsframe.integrations``),
    ``module`` (import name), ``dist`` (distribution name for the version), ``tested``
    (the versions the test suites ran against), ``minimum`` and ``below`` (the supported
    range, ``minimum <= version < below``, as tuples: the releases whose patched
    functions were read and found to keep the contract the replacements rely on;
    anything else gets a warning naming the range, and no patch), and implement
    :meth:`patches`.
    """

    name = ""
    module = ""
    dist = ""
    tested = ()
    minimum = ()
    below = ()

    def __init__(self):
        self._applied = []  # list of (owner, attr, original, had_own, replacement)
        self.replaced = ()
        # True while patches() runs for install(force=True): also replace what was
        # measured not to pay (tests and benchmarks use it to exercise every path).
        self.forced = False

    # -- discovery ---------------------------------------------------------------
    def available(self):
        """True if the library can be imported (without importing it)."""
        try:
            return importlib.util.find_spec(self.module) is not None
        except (ImportError, ValueError):
            return False

    def version(self):
        return _dist_version(self.dist)

    def known_version(self, version=None):
        """True if ``version`` (default: the installed one) is in the supported range."""
        version = self.version() if version is None else version
        if version is None:
            return False
        vt = _version_tuple(version)
        return bool(vt) and self.minimum <= vt < self.below

    def version_tuple(self, version=None):
        """The installed (or given) version as a tuple of ints; () if unknown."""
        version = self.version() if version is None else version
        return _version_tuple(version) if version else ()

    def supported_range(self):
        """The supported range as text: ``">= 13.0, < 18"``."""
        return ">= %s, < %s" % (
            ".".join(map(str, self.minimum)),
            ".".join(map(str, self.below)),
        )

    # -- to implement ----------------------------------------------------------------
    def patches(self):
        """Return a list of ``(owner, attribute, replacement, dotted_name)``.

        Called with the library imported; may return fewer patches than the full list
        (e.g. a module of the library that is absent in this build).
        """
        raise NotImplementedError

    # -- state ---------------------------------------------------------------------
    @property
    def installed(self):
        return bool(self._applied)

    def install(self, force=False):
        """Patch the library; return the tuple of dotted names replaced (may be empty).

        No effect (and an empty tuple) if the library is absent, if its version is not
        one this integration knows (an :class:`IntegrationWarning` names it), if
        ``WSFRAME_NO_INTEGRATIONS`` is set, or if wsframe runs interpreted (the
        replacements would be slower than the library's own code) unless ``force``.
        Calling it again once installed returns the same tuple and changes nothing.
        """
        with LOCK:
            if self._applied:
                return self.replaced
            if refused() or not self.available():
                return ()
            version = self.version()
            if not self.known_version(version):
                warnings.warn(
                    "wsframe.integrations: %s %s is not a version wsframe knows "
                    "(supported: %s %s; tested: %s); left as it is"
                    % (
                        self.dist,
                        version,
                        self.dist,
                        self.supported_range(),
                        ", ".join(self.tested),
                    ),
                    IntegrationWarning,
                    stacklevel=3,
                )
                return ()
            import wsframe

            if wsframe.implementation != "c" and not force:
                warnings.warn(
                    "wsframe.integrations: wsframe runs interpreted (implementation=%r); "
                    "%s left as it is, its own code is faster"
                    % (wsframe.implementation, self.dist),
                    IntegrationWarning,
                    stacklevel=3,
                )
                return ()
            importlib.import_module(self.module)
            self.forced = force
            applied = []
            names = []
            try:
                for owner, attr, replacement, dotted in self.patches():
                    original, had_own = _raw_attr(owner, attr)
                    setattr(owner, attr, replacement)
                    applied.append((owner, attr, original, had_own, replacement))
                    names.append(dotted)
            except BaseException:
                self._restore(applied)
                raise
            self._applied = applied
            self.replaced = tuple(names)
            return self.replaced

    def uninstall(self):
        """Put every original back; True if something was installed."""
        with LOCK:
            if not self._applied:
                return False
            applied, self._applied = self._applied, []
            self.replaced = ()
            self._restore(applied)
            return True

    @staticmethod
    def _restore(applied):
        for owner, attr, original, had_own, replacement in reversed(applied):
            try:
                current, _ = _raw_attr(owner, attr)
            except AttributeError:
                current = None
            if current is not replacement:
                # Someone patched over us after install(): leave their patch alone.
                warnings.warn(
                    "wsframe.integrations: %s.%s was replaced by someone else after "
                    "install(); not restored" % (getattr(owner, "__name__", owner), attr),
                    IntegrationWarning,
                    stacklevel=4,
                )
                continue
            if had_own:
                setattr(owner, attr, original)
            else:
                # The attribute came from a base class: remove our override.
                delattr(owner, attr)
