"""One error tree for the whole project.

``LocalError`` is the caller's mistake (bad field, unknown node, bad config);
``RemoteError`` is something that arrived broken or hostile (from the air or a
file that travelled).  Every remote error carries a machine-readable ``reason``
so that the daemon and the simulator can count rejections by cause.
"""

from __future__ import annotations


class RelayError(Exception):
    """Base of every error relay raises on purpose.

    Raised with a reason ``code`` and its ``params`` (``relay.texts``), it reads
    in Norwegian (``str``) and renders in English too (``render``); raised with
    a text alone, it reads as that text in any language."""

    def __init__(self, message: str | None = None, *, code: str | None = None, **params: object) -> None:
        self.code = code
        self.params = params
        if message is None and code is not None:
            from relay.texts import render

            message = render(code, params)
        super().__init__(message or "")

    def render(self, lang: str) -> str:
        """The error in ``lang`` ("nb" or "en")."""
        if self.code is None:
            return str(self)
        from relay.texts import render

        return render(self.code, self.params, lang)


class LocalError(RelayError):
    """The caller asked for something invalid."""


class ValidationError(LocalError):
    """A message or roster entry failed validation before it was encoded."""


class ConfigError(LocalError):
    """A node's home, config or key file is missing or unreadable."""


class RemoteError(RelayError):
    """Bytes from elsewhere did not decode or verify.  ``reason`` is a stable code."""

    def __init__(self, message: str | None, reason: str, *, code: str | None = None, **params: object) -> None:
        super().__init__(message, code=code, **params)
        self.reason = reason


class DecodeError(RemoteError):
    """Bytes from elsewhere are not a well-formed, canonical, verified relay encoding.

    This is "the decode error": decoding anything from the air either returns a
    verified object or raises this (or its subclass), nothing else.
    """


class VerificationError(DecodeError):
    """Well-formed, but the sender is unknown or revoked, or the signature fails."""
