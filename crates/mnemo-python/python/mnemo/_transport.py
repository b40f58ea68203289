"""The one seam between the Python surface and an engine.

Every :class:`mnemo.Namespace` method builds a request shaped exactly like
the server's JSON API (``/v1/openapi.json``: the operation's path
parameters, query parameters and body) and hands it to a transport: the
embedded engine (:mod:`mnemo._embedded`, calling the Rust engine in
process) or the HTTP client (:mod:`mnemo.client`). Both answer the same
JSON-shaped dicts and raise the same :mod:`mnemo.errors` classes, so code
moves from embedded to server by changing one line.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Dict, List, Mapping, Optional, Protocol, Tuple, Type, TypeVar

#: Each namespace operation: its OpenAPI operationId, HTTP method and path
#: (``{ns}`` the namespace, ``{id}`` a numeric id).
OPERATIONS: Dict[str, Tuple[str, str]] = {
    "remember": ("POST", "/v1/namespaces/{ns}/memories"),
    "listMemories": ("GET", "/v1/namespaces/{ns}/memories"),
    "queryMemories": ("POST", "/v1/namespaces/{ns}/memories/query"),
    "getMemory": ("GET", "/v1/namespaces/{ns}/memories/{id}"),
    "reviseMemory": ("PATCH", "/v1/namespaces/{ns}/memories/{id}"),
    "forgetMemory": ("DELETE", "/v1/namespaces/{ns}/memories/{id}"),
    "purgeMemories": ("POST", "/v1/namespaces/{ns}/purge"),
    "retagMemory": ("POST", "/v1/namespaces/{ns}/memories/{id}/tags"),
    "setExpiry": ("PUT", "/v1/namespaces/{ns}/memories/{id}/expiry"),
    "expireDue": ("POST", "/v1/namespaces/{ns}/expire"),
    "consolidateMemories": ("POST", "/v1/namespaces/{ns}/consolidate"),
    "getTiers": ("GET", "/v1/namespaces/{ns}/tiers"),
    "rebalanceTiers": ("POST", "/v1/namespaces/{ns}/tiers/rebalance"),
    "link": ("POST", "/v1/namespaces/{ns}/links"),
    "unlink": ("DELETE", "/v1/namespaces/{ns}/links"),
    "recall": ("POST", "/v1/namespaces/{ns}/recall"),
    "assertFact": ("POST", "/v1/namespaces/{ns}/facts"),
    "listFacts": ("GET", "/v1/namespaces/{ns}/facts"),
    "factHistory": ("GET", "/v1/namespaces/{ns}/facts/history"),
    "getFact": ("GET", "/v1/namespaces/{ns}/facts/{id}"),
    "challengeFact": ("POST", "/v1/namespaces/{ns}/facts/{id}/challenge"),
    "supportFact": ("POST", "/v1/namespaces/{ns}/facts/{id}/support"),
    "retractFact": ("POST", "/v1/namespaces/{ns}/facts/{id}/retract"),
    "quarantineFact": ("POST", "/v1/namespaces/{ns}/facts/{id}/quarantine"),
    "declarePredicate": ("POST", "/v1/namespaces/{ns}/predicates"),
    "listPredicates": ("GET", "/v1/namespaces/{ns}/predicates"),
    "listConflicts": ("GET", "/v1/namespaces/{ns}/conflicts"),
    "getConflict": ("GET", "/v1/namespaces/{ns}/conflicts/{id}"),
    "resolveConflict": ("POST", "/v1/namespaces/{ns}/conflicts/{id}/resolve"),
    "recordTrajectory": ("POST", "/v1/namespaces/{ns}/trajectories"),
    "suggest": ("POST", "/v1/namespaces/{ns}/suggest"),
    "listPatterns": ("GET", "/v1/namespaces/{ns}/patterns"),
    "getPattern": ("GET", "/v1/namespaces/{ns}/patterns/{id}"),
    "prunePatterns": ("POST", "/v1/namespaces/{ns}/patterns/prune"),
    "consolidatePatterns": ("POST", "/v1/namespaces/{ns}/patterns/consolidate"),
    "refinePatterns": ("POST", "/v1/namespaces/{ns}/patterns/refine"),
    "stats": ("GET", "/v1/namespaces/{ns}/stats"),
    "root": ("GET", "/v1/namespaces/{ns}/root"),
    "proof": ("GET", "/v1/namespaces/{ns}/proof/{id}"),
    "consistency": ("GET", "/v1/namespaces/{ns}/consistency"),
}


class WatchStream(Protocol):
    """Changes to a watched query, one JSON-shaped dict each (the
    ``data`` of the server's ``/watch`` events)."""

    def next(self, timeout: Optional[float]) -> Optional[Dict[str, Any]]:
        """The next change; ``None`` when ``timeout`` seconds pass first.
        Raises :class:`mnemo.errors.Closed` once the stream has ended."""
        ...

    def close(self) -> None:
        """Ends the stream (idempotent)."""
        ...


class Transport(Protocol):
    """What a :class:`mnemo.Namespace` calls."""

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
        """Runs operation ``op`` (a key of :data:`OPERATIONS`) on
        ``namespace``: ``id`` fills the path's ``{id}``, ``params`` are the
        query parameters (plain JSON values), ``body`` the JSON body.
        ``vectors``, when given, is a C-contiguous ``float32`` numpy array
        of shape ``(n, d)``: row ``i`` is the ``vector`` of the ``i``-th
        memory of a ``remember`` body, or (``n == 1``) the query vector of
        a ``recall``; the transport moves it the cheapest way it can.
        Answers the operation's JSON answer as plain dicts and lists.
        Raises :mod:`mnemo.errors` classes."""
        ...

    def watch(self, namespace: str, params: Mapping[str, Any]) -> WatchStream:
        """Starts watching ``namespace`` (the ``watch`` operation's query
        parameters)."""
        ...

    def namespaces(self) -> List[str]:
        """Names of the namespaces."""
        ...

    def close(self) -> None:
        """Releases the engine or connection (idempotent); later calls raise
        :class:`mnemo.errors.Closed`."""
        ...


C = TypeVar("C", bound="Closing")


class Closing:
    """A context manager that calls ``close()`` on the way out."""

    def close(self) -> None:
        """Releases what the object holds (idempotent)."""
        raise NotImplementedError

    def __enter__(self: C) -> C:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()


F = TypeVar("F", bound="Frontend")


class Frontend(Closing):
    """What :class:`mnemo.Mnemo` and :class:`mnemo.Client` share: the list of
    namespaces, closing, the context manager and the ``repr``."""

    _transport: Transport

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        raise NotImplementedError

    def _where(self) -> str:
        """Where the namespaces are (a directory, ``memory``, a URL)."""
        raise NotImplementedError

    def namespaces(self) -> List[str]:
        """Names of the namespaces (that the caller may see), sorted."""
        return self._transport.namespaces()

    def close(self) -> None:
        """Releases the engine or the connections and open watches
        (idempotent); later calls raise :class:`mnemo.errors.Closed`."""
        self._transport.close()

    def __enter__(self: F) -> F:
        if self.closed:
            from .errors import Closed

            raise Closed(f"{self!r} is closed")
        return self

    def __repr__(self) -> str:
        state = ", closed" if self.closed else ""
        return f"{type(self).__name__}({self._where()!r}{state})"
