"""The HTTP client: :class:`Client`, the :class:`~mnemo.Namespace` surface
over a ``mnemo serve`` server's JSON API.

>>> with mnemo.Client("http://127.0.0.1:7373", token) as client:  # doctest: +SKIP
...     ns = client.namespace("alice")
...     ns.remember("Alice moved to Lisbon in May", tags=["alice"])

Code written against :class:`mnemo.Mnemo` runs unchanged: the namespaces
answer the same types and raise the same :mod:`mnemo.errors` classes.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
import weakref
from typing import Any, Dict, List, Mapping, Optional, Union
from urllib.parse import quote

import httpx

from ._transport import OPERATIONS, Frontend
from .errors import (
    Closed,
    ConnectionFailed,
    Error,
    Forbidden,
    InvalidInput,
    Unavailable,
    from_code,
)
from .namespace import Namespace

__all__ = ["Client", "HttpTransport"]


def _query(params: Optional[Mapping[str, Any]]) -> Dict[str, str]:
    """Query parameters as strings (booleans as ``true``/``false``; absent
    ones dropped)."""
    out: Dict[str, str] = {}
    for k, v in (params or {}).items():
        if v is None:
            continue
        out[k] = ("true" if v else "false") if isinstance(v, bool) else str(v)
    return out


def _error(response: httpx.Response) -> Error:
    """The error an error answer stands for (its code and message kept)."""
    status = response.status_code
    try:
        detail = response.json()["error"]
        return from_code(str(detail["code"]), str(detail["message"]), status)
    except (ValueError, KeyError, TypeError):
        text = response.text.strip()[:300] or response.reason_phrase
        return from_code("", f"HTTP {status}: {text}", status)


def _with_vectors(op: str, body: Optional[Mapping[str, Any]], vectors: Any) -> Dict[str, Any]:
    """``body`` with the rows of ``vectors`` (an ``(n, d)`` float32 array)
    as its JSON ``vector`` fields: one per memory of a ``remember``, else
    the request's own."""
    out = dict(body or {})
    rows = vectors.tolist()
    if op == "remember":
        memories = list(out.get("memories") or ())
        if len(memories) != len(rows):
            raise InvalidInput(
                f"invalid vectors: {len(rows)} rows for {len(memories)} memories"
            )
        out["memories"] = [dict(m, vector=row) for m, row in zip(memories, rows)]
    else:
        if len(rows) != 1:
            raise InvalidInput(f"invalid vector: expected one row, got {len(rows)}")
        out["vector"] = rows[0]
    return out


class _End:
    """The marker a watch stream's reader queues when the stream ends."""

    __slots__ = ("error",)

    def __init__(self, error: Optional[Error]) -> None:
        self.error = error


class _SseStream:
    """A watch over HTTP: a daemon thread reads the Server-Sent Events of a
    streaming response into a queue that :meth:`next` waits on (see
    ``_transport.WatchStream``)."""

    def __init__(self, response: httpx.Response, owner: HttpTransport) -> None:
        self._response = response
        self._owner = owner
        self._queue: queue.Queue[Union[Dict[str, Any], _End]] = queue.Queue()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, name="mnemo-watch", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        end: Optional[Error] = None
        event = "message"
        data: List[str] = []
        try:
            for line in self._response.iter_lines():
                if line == "":
                    if data:
                        self._queue.put({"event": event, "data": json.loads("\n".join(data))})
                    event, data = "message", []
                    continue
                if line.startswith(":"):
                    continue
                field, _, value = line.partition(":")
                if value.startswith(" "):
                    value = value[1:]
                if field == "event":
                    event = value
                elif field == "data":
                    data.append(value)
        except (httpx.HTTPError, OSError, ValueError) as e:
            if not self._closed:
                end = ConnectionFailed(f"the watch stream from {self._owner.url} broke: {e}")
        finally:
            self._queue.put(_End(end))
            try:
                self._response.close()
            except (httpx.HTTPError, OSError):
                pass

    def next(self, timeout: Optional[float]) -> Optional[Dict[str, Any]]:
        """The next event ``{"event": name, "data": {...}}``; ``None`` when
        ``timeout`` seconds pass first. Raises :class:`Closed` once closed
        or ended (:class:`ConnectionFailed` when the connection broke)."""
        if self._closed:
            raise Closed("the watch is closed")
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if isinstance(item, _End):
            self._queue.put(item)
            if item.error is not None and not self._closed:
                raise item.error
            raise Closed("the watch stream ended")
        return item

    def close(self) -> None:
        """Ends the stream (idempotent): the connection is shut down, which
        wakes the reader, and the server releases the watcher."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(_End(None))
        stream = self._response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        else:
            self._response.close()
        self._owner._forget_stream(self)


class HttpTransport:
    """The transport of :class:`Client`: each operation is one request to
    the server's JSON API over one keep-alive ``httpx.Client`` (safe to
    share between threads)."""

    def __init__(
        self, url: str, token: Optional[str] = None, *, timeout: Optional[float] = 30.0
    ) -> None:
        """Talks to the server at ``url`` (``http://host:port``) with the
        bearer ``token``; ``timeout`` seconds per request (``None``: no
        limit)."""
        if not isinstance(url, str):
            raise TypeError(f"url: expected a str, got {type(url).__name__}")
        if token is not None and not isinstance(token, str):
            raise TypeError(f"token: expected a str, got {type(token).__name__}")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float))
        ):
            raise TypeError(f"timeout: expected a number, got {type(timeout).__name__}")
        self.url = url.rstrip("/")
        self._timeout = None if timeout is None else float(timeout)
        headers = {"accept": "application/json", "user-agent": "mnemo-python"}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        try:
            self._http = httpx.Client(
                base_url=self.url, headers=headers, timeout=self._timeout
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as e:
            raise InvalidInput(f"url: {e}") from None
        self._closed = False
        self._streams: "weakref.WeakSet[_SseStream]" = weakref.WeakSet()
        self._lock = threading.Lock()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Optional[Mapping[str, Any]] = None,
        body: Optional[Mapping[str, Any]] = None,
        stream: bool = False,
    ) -> httpx.Response:
        if self._closed:
            raise Closed(f"the client of {self.url} is closed")
        headers: Dict[str, str] = {}
        content: Optional[bytes] = None
        if body is not None:
            try:
                content = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
            except (TypeError, ValueError) as e:
                raise InvalidInput(f"the request cannot be sent as JSON: {e}") from None
            headers["content-type"] = "application/json"
        timeout: Any = httpx.USE_CLIENT_DEFAULT
        if stream:
            headers["accept"] = "text/event-stream"
            timeout = httpx.Timeout(self._timeout, read=None)
        try:
            request = self._http.build_request(
                method, path, params=_query(params), content=content, headers=headers,
                timeout=timeout,
            )
            return self._http.send(request, stream=stream)
        except httpx.TimeoutException as e:
            raise Unavailable(
                f"no answer from {self.url} within {self._timeout} s ({e})", "timeout"
            ) from None
        except httpx.TransportError as e:
            raise ConnectionFailed(f"cannot reach the mnemo server at {self.url}: {e}") from None
        except RuntimeError:
            if self._closed:
                raise Closed(f"the client of {self.url} is closed") from None
            raise

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Optional[Mapping[str, Any]] = None,
        body: Optional[Mapping[str, Any]] = None,
    ) -> Dict[str, Any]:
        response = self._send(method, path, params=params, body=body)
        if response.status_code >= 400:
            raise _error(response)
        try:
            answer: Dict[str, Any] = response.json()
        except ValueError:
            raise Error(
                f"{self.url} answered {method} {path} with something that is not JSON",
                "invalid_answer",
                response.status_code,
            ) from None
        return answer

    def call(
        self,
        op: str,
        namespace: str,
        *,
        id: Optional[int] = None,
        params: Optional[Mapping[str, Any]] = None,
        body: Optional[Mapping[str, Any]] = None,
        vectors: Optional[Any] = None,
    ) -> Dict[str, Any]:
        """Runs operation ``op`` (a key of ``_transport.OPERATIONS``) on
        ``namespace`` as one HTTP request; see
        ``_transport.Transport.call``."""
        try:
            method, template = OPERATIONS[op]
        except KeyError:
            raise InvalidInput(f"op: unknown operation {op!r}") from None
        path = template.replace("{ns}", quote(namespace, safe=""))
        if "{id}" in path:
            if id is None:
                raise InvalidInput(f"id: operation {op} needs an id")
            path = path.replace("{id}", str(int(id)))
        if vectors is not None:
            body = _with_vectors(op, body, vectors)
        elif body is None and method in ("POST", "PATCH", "PUT"):
            body = {}
        return self._request(method, path, params=params, body=body)

    def watch(self, namespace: str, params: Mapping[str, Any]) -> _SseStream:
        """Opens ``GET .../watch`` as a stream of Server-Sent Events;
        errors (403, 404, 503 when the server has no watcher left) raise
        here."""
        path = f"/v1/namespaces/{quote(namespace, safe='')}/watch"
        response = self._send("GET", path, params=params, stream=True)
        if response.status_code >= 400:
            try:
                response.read()
            finally:
                response.close()
            raise _error(response)
        stream = _SseStream(response, self)
        with self._lock:
            self._streams.add(stream)
        return stream

    def _forget_stream(self, stream: _SseStream) -> None:
        with self._lock:
            self._streams.discard(stream)

    def namespaces(self) -> List[str]:
        """Names of the namespaces the token may see."""
        return [str(n) for n in self._request("GET", "/v1/namespaces")["namespaces"]]

    def create_namespace(self, name: str) -> bool:
        """Makes sure namespace ``name`` exists; answers whether it was
        created. Creating needs an admin token; with a lesser one an
        existing namespace the token may see is fine."""
        try:
            answer = self._request("POST", "/v1/namespaces", body={"name": name})
        except Forbidden:
            if name in self.namespaces():
                return False
            raise
        return bool(answer.get("created"))

    def close(self) -> None:
        """Closes open watch streams and the connections (idempotent);
        later calls raise :class:`mnemo.errors.Closed`."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            streams = list(self._streams)
        for s in streams:
            s.close()
        self._http.close()


class Client(Frontend):
    """A ``mnemo serve`` server: the same :class:`~mnemo.Namespace`
    surface as the embedded :class:`mnemo.Mnemo`, over HTTP.

    Args:
        url: The server, like ``"http://127.0.0.1:7373"``.
        token: The bearer token (``mnemo token create``); ``None`` sends
            none (the server then answers
            :class:`mnemo.errors.Unauthorized`).
        timeout: Seconds each request may take (``None``: no limit).

    One client keeps its connections alive and is safe to share between
    threads. Close it (or use it as a context manager) when done; later
    calls raise :class:`mnemo.errors.Closed`. Unreachable servers raise
    :class:`mnemo.errors.ConnectionFailed`.
    """

    _transport: HttpTransport

    def __init__(
        self, url: str, token: Optional[str] = None, *, timeout: Optional[float] = 30.0
    ) -> None:
        """Connects lazily: nothing is sent until the first call."""
        self._transport = HttpTransport(url, token, timeout=timeout)

    @property
    def url(self) -> str:
        """The server's URL."""
        return self._transport.url

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._transport.closed

    def namespace(self, name: str) -> Namespace:
        """The namespace ``name``, created on the server if it does not
        exist yet (which needs an admin token), like the embedded engine
        does."""
        if not isinstance(name, str):
            raise TypeError(f"name: expected a str, got {type(name).__name__}")
        self._transport.create_namespace(name)
        return Namespace(self._transport, name)

    def _where(self) -> str:
        return self.url
