"""The errors mnemo raises, the same whether the engine runs in process or
behind a server.

Every error is an :class:`Error` with the API's stable ``code``
(``invalid_request``, ``not_found``, ...) and, when it came over HTTP, the
``status``. Its message is the engine's or the server's own sentence, which
names the field at fault (``"memories[0]: invalid content: it is
empty"``).

=======================  ==========================================
class                    codes
=======================  ==========================================
:class:`InvalidInput`    ``invalid_request``, ``invalid_json``,
                         ``payload_too_large``,
                         ``unsupported_media_type``,
                         ``method_not_allowed``
:class:`NotFound`        ``not_found``
:class:`Conflict`        ``conflict``
:class:`Unauthorized`    ``unauthorized``
:class:`Forbidden`       ``forbidden``
:class:`StorageError`    ``internal``
:class:`Closed`          ``closed``
:class:`Unavailable`     ``unavailable``, ``timeout``
:class:`RateLimited`     ``rate_limited``
:class:`ConnectionFailed`  ``connection_failed`` (the client could not
                         reach the server)
=======================  ==========================================
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Type

__all__ = [
    "Error",
    "InvalidInput",
    "NotFound",
    "Conflict",
    "Closed",
    "Unauthorized",
    "Forbidden",
    "StorageError",
    "Unavailable",
    "RateLimited",
    "ConnectionFailed",
    "from_code",
]


class Error(Exception):
    """Base of every mnemo error.

    ``code`` is the API's machine-readable code and ``status`` the HTTP
    status when the error came from a server (``None`` in process).
    ``str(error)`` is the message, which names the field at fault.
    """

    #: The code this class stands for when none is given.
    default_code = "error"

    code: str
    status: Optional[int]
    message: str

    def __init__(
        self, message: str, code: Optional[str] = None, status: Optional[int] = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code if code is not None else self.default_code
        self.status = status

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r}, status={self.status!r})"

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (self.message, self.code, self.status))


class InvalidInput(Error, ValueError):
    """An argument is missing, malformed or out of range (HTTP 400, 413,
    415). Also a :class:`ValueError`."""

    default_code = "invalid_request"


class NotFound(Error):
    """No memory, fact, conflict, pattern, link or namespace with that id
    or name (HTTP 404)."""

    default_code = "not_found"


class Conflict(Error):
    """The request contradicts what is stored: a conflict resolved twice, a
    fact that is no longer believed, a namespace created with another
    embedder (HTTP 409)."""

    default_code = "conflict"


class Closed(Error):
    """The engine, client or watch stream was closed."""

    default_code = "closed"


class Unauthorized(Error):
    """No token, or one the server does not know (HTTP 401)."""

    default_code = "unauthorized"


class Forbidden(Error):
    """The token may not do this in this namespace (HTTP 403)."""

    default_code = "forbidden"


class StorageError(Error):
    """The engine failed: the log could not be read or written (HTTP 500
    ``internal``)."""

    default_code = "internal"


class Unavailable(Error):
    """The server cannot answer now: it is starting, stopping, over its
    limits, or the request ran out of time (HTTP 503, 408). Retrying later
    may succeed."""

    default_code = "unavailable"


class RateLimited(Unavailable):
    """The token sent more requests than its rate allows (HTTP 429)."""

    default_code = "rate_limited"


class ConnectionFailed(Unavailable):
    """The client could not reach the server, or the connection broke
    before an answer arrived."""

    default_code = "connection_failed"


_BY_CODE: Dict[str, Type[Error]] = {
    "invalid_request": InvalidInput,
    "invalid_json": InvalidInput,
    "payload_too_large": InvalidInput,
    "unsupported_media_type": InvalidInput,
    "method_not_allowed": InvalidInput,
    "not_found": NotFound,
    "conflict": Conflict,
    "unauthorized": Unauthorized,
    "forbidden": Forbidden,
    "internal": StorageError,
    "closed": Closed,
    "unavailable": Unavailable,
    "timeout": Unavailable,
    "rate_limited": RateLimited,
    "connection_failed": ConnectionFailed,
}

_BY_STATUS: Dict[int, Type[Error]] = {
    400: InvalidInput,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    408: Unavailable,
    409: Conflict,
    413: InvalidInput,
    415: InvalidInput,
    429: RateLimited,
    500: StorageError,
    503: Unavailable,
}


def from_code(code: str, message: str, status: Optional[int] = None) -> Error:
    """The error for an API error code, keeping ``message`` as it is.

    An unknown code falls back on the HTTP ``status`` (4xx, 5xx), then on
    :class:`Error` itself; the code is kept either way.
    """
    cls = _BY_CODE.get(code)
    if cls is None and status is not None:
        cls = _BY_STATUS.get(status, StorageError if status >= 500 else None)
    return (cls or Error)(message, code, status)
