"""A namespace: one user's, agent's or tenant's memories, facts and
patterns, embedded or on a server.

Every :class:`Namespace` method checks its arguments' Python types
(``TypeError`` naming the parameter), builds a request shaped exactly like
the server's JSON API and hands it to a transport (:mod:`mnemo._transport`);
the engine checks the values (:class:`mnemo.errors.InvalidInput` naming the
field) before anything is written.

Times are given as :class:`~datetime.datetime` (an aware one is converted
to UTC; **a naive one is taken as UTC**), :class:`~datetime.date` (its
midnight UTC) or RFC 3339 text, and sent as RFC 3339 UTC strings. Vectors
are numpy arrays (any float dtype) or sequences of numbers, sent as
C-contiguous ``float32``.

Every blocking method has an awaitable twin named with an ``a`` in front
(``arecall``, ``aremember``, ...) that runs it in the event loop's default
executor: the engine and the HTTP client release the GIL while they work,
so the loop keeps running.
"""

from __future__ import annotations

import asyncio
import functools
import operator
from datetime import date, datetime
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Coroutine,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
)

import numpy as np

from ._transport import Closing, Transport, WatchStream
from .errors import Closed, InvalidInput, NotFound
from .types import (
    Asserted,
    Change,
    Conflict,
    Consolidated,
    Consolidation,
    Fact,
    FactChanged,
    FactDetail,
    History,
    Link,
    Links,
    MemoryDetail,
    Page,
    Pattern,
    Predicate,
    Proof,
    Pruned,
    Recall,
    Recorded,
    Refined,
    Root,
    Stats,
    StoredMemory,
    Suggestions,
    Tiers,
    parse_time,
    to_rfc3339,
)

if TYPE_CHECKING:
    import numpy.typing as npt
    from typing_extensions import Concatenate, ParamSpec

    P = ParamSpec("P")
    VectorLike = npt.ArrayLike

__all__ = ["Namespace", "Watch"]

R = TypeVar("R")
S = TypeVar("S")

#: A time argument: a datetime (naive ones are taken as UTC), a date (its
#: midnight UTC) or RFC 3339 text.
TimeLike = Union[datetime, date, str]

#: A metadata value.
Scalar = Union[str, int, float, bool]

# ----- argument checks (TypeError naming the parameter) -----


def _kind_of(value: object) -> str:
    return type(value).__name__


def _str(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected a str, got {_kind_of(value)}")
    return value


def _opt_str(name: str, value: object) -> Optional[str]:
    return None if value is None else _str(name, value)


def _bool(name: str, value: object) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name}: expected a bool, got {_kind_of(value)}")


def _int(name: str, value: object) -> int:
    if isinstance(value, (bool, np.bool_)) or not hasattr(value, "__index__"):
        raise TypeError(f"{name}: expected an int, got {_kind_of(value)}")
    return operator.index(value)


def _opt_int(name: str, value: object) -> Optional[int]:
    return None if value is None else _int(name, value)


def _id(name: str, value: object) -> int:
    i = _int(name, value)
    if i < 0:
        raise InvalidInput(f"{name}: {i} is not an id (ids are whole numbers >= 0)")
    return i


def _number(name: str, value: object) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"{name}: expected a number, got {_kind_of(value)}")
    return float(value)


def _opt_number(name: str, value: object) -> Optional[float]:
    return None if value is None else _number(name, value)


def _many(name: str, value: object, item: Callable[[str, object], R]) -> List[R]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise TypeError(f"{name}: expected a list, got {_kind_of(value)}")
    return [item(f"{name}[{i}]", v) for i, v in enumerate(value)]


def _strs(name: str, value: object) -> List[str]:
    return _many(name, value, _str)


def _ids(name: str, value: object) -> List[int]:
    return _many(name, value, _id)


def _time(name: str, value: object) -> str:
    if isinstance(value, (datetime, date)):
        return to_rfc3339(value)
    if isinstance(value, str):
        try:
            return to_rfc3339(parse_time(value))
        except ValueError:
            raise InvalidInput(
                f"{name}: {value!r} is not an RFC 3339 time (like 2024-05-01T13:00:00Z)"
            ) from None
    raise TypeError(f"{name}: expected a datetime, date or RFC 3339 str, got {_kind_of(value)}")


def _opt_time(name: str, value: object) -> Optional[str]:
    return None if value is None else _time(name, value)


def _mapping(name: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{name}: expected a dict, got {_kind_of(value)}")
    for k in value:
        if not isinstance(k, str):
            raise TypeError(f"{name}: keys must be str, got {_kind_of(k)}")
    return value


def _keys(name: str, value: Mapping[str, Any], allowed: Sequence[str]) -> None:
    for k in value:
        if k not in allowed:
            raise TypeError(f"{name}: unknown key {k!r} (use {', '.join(allowed)})")


def _metadata(name: str, value: object) -> Dict[str, Scalar]:
    out: Dict[str, Scalar] = {}
    for k, v in _mapping(name, value).items():
        if isinstance(v, np.generic):
            v = v.item()
        if not isinstance(v, (str, int, float, bool)):
            raise TypeError(
                f"{name}[{k!r}]: expected a str, int, float or bool, got {_kind_of(v)}"
            )
        out[k] = v
    return out


def _array(name: str, value: object) -> "np.ndarray[Any, np.dtype[np.float32]]":
    try:
        a = np.asarray(value)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name}: expected an array of numbers ({e})") from None
    if a.dtype == np.bool_ or not (
        np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)
    ):
        raise TypeError(f"{name}: expected an array of numbers, got dtype {a.dtype}")
    out = np.ascontiguousarray(a, dtype=np.float32)
    if out.size and not np.isfinite(out).all():
        raise InvalidInput(f"invalid {name}: it has a non-finite component")
    return out


def _vector(name: str, value: object) -> "np.ndarray[Any, np.dtype[np.float32]]":
    """One vector as a ``(1, d)`` float32 array."""
    a = _array(name, value)
    if a.ndim == 2 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 1 or a.shape[0] == 0:
        raise InvalidInput(
            f"invalid {name}: expected one vector of shape (d,), got shape {tuple(a.shape)}"
        )
    return a.reshape(1, -1)


def _vectors(name: str, value: object, n: int) -> "np.ndarray[Any, np.dtype[np.float32]]":
    """``n`` vectors as an ``(n, d)`` float32 array."""
    a = _array(name, value)
    if a.ndim != 2 or a.shape[0] != n or a.shape[1] == 0:
        raise InvalidInput(
            f"invalid {name}: expected shape ({n}, d), one row per memory, "
            f"got shape {tuple(a.shape)}"
        )
    return a


def _put(body: Dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        body[key] = value


def _validity(prefix: str, valid_from: object, valid_until: object) -> Optional[Dict[str, str]]:
    if valid_from is None and valid_until is None:
        return None
    valid: Dict[str, str] = {}
    _put(valid, "from", _opt_time(f"{prefix}valid_from", valid_from))
    _put(valid, "until", _opt_time(f"{prefix}valid_until", valid_until))
    return valid


#: The keyword arguments of :meth:`Namespace.remember` (and the keys of
#: :meth:`Namespace.remember_many` items).
MEMORY_FIELDS: Tuple[str, ...] = (
    "content",
    "tags",
    "source",
    "kind",
    "metadata",
    "at",
    "key",
    "vector",
    "importance",
    "confidence",
    "valid_from",
    "valid_until",
    "expires_at",
    "ttl_seconds",
)

#: The keys of a filter (``FilterIn``): recall and query.
FILTER_FIELDS: Tuple[str, ...] = (
    "ids",
    "tags",
    "any_tags",
    "without_tags",
    "source",
    "kind",
    "at_from",
    "at_until",
    "recorded_from",
    "recorded_until",
    "metadata",
    "contains",
)

#: The keys of a watch's filter (``WatchParams``).
WATCH_FILTER_FIELDS: Tuple[str, ...] = ("tag", "source", "kind", "contains")

#: The keys of recall's ``weights`` (``WeightsIn``).
WEIGHT_FIELDS: Tuple[str, ...] = (
    "vector",
    "keyword",
    "activation",
    "recency",
    "importance",
    "time",
    "tags",
    "answer_type",
    "strength",
)

_TIME_FILTERS = ("at_from", "at_until", "recorded_from", "recorded_until")


def _memory(prefix: str, fields: Mapping[str, Any]) -> Dict[str, Any]:
    """A ``NewMemoryIn`` body from remember's keyword arguments (without
    the vector)."""
    body: Dict[str, Any] = {"content": _str(f"{prefix}content", fields.get("content"))}
    _put(body, "key", _opt_str(f"{prefix}key", fields.get("key")))
    _put(body, "kind", _opt_str(f"{prefix}kind", fields.get("kind")))
    tags = fields.get("tags")
    if tags is not None:
        tag_list = _strs(f"{prefix}tags", tags)
        if tag_list:
            body["tags"] = tag_list
    _put(body, "source", _opt_str(f"{prefix}source", fields.get("source")))
    metadata = fields.get("metadata")
    if metadata is not None:
        meta = _metadata(f"{prefix}metadata", metadata)
        if meta:
            body["metadata"] = meta
    _put(body, "at", _opt_time(f"{prefix}at", fields.get("at")))
    _put(body, "valid", _validity(prefix, fields.get("valid_from"), fields.get("valid_until")))
    _put(body, "importance", _opt_number(f"{prefix}importance", fields.get("importance")))
    _put(body, "confidence", _opt_number(f"{prefix}confidence", fields.get("confidence")))
    _put(body, "expires_at", _opt_time(f"{prefix}expires_at", fields.get("expires_at")))
    _put(body, "ttl_seconds", _opt_int(f"{prefix}ttl_seconds", fields.get("ttl_seconds")))
    return body


def _filter(name: str, value: object) -> Optional[Dict[str, Any]]:
    """A ``FilterIn`` body."""
    if value is None:
        return None
    f = _mapping(name, value)
    _keys(name, f, FILTER_FIELDS)
    out: Dict[str, Any] = {}
    for k, v in f.items():
        if v is None:
            continue
        field = f"{name}[{k!r}]"
        if k == "ids":
            out[k] = _ids(field, v)
        elif k in ("tags", "any_tags", "without_tags"):
            out[k] = _strs(field, v)
        elif k in _TIME_FILTERS:
            out[k] = _time(field, v)
        elif k == "metadata":
            out[k] = _metadata(field, v)
        else:
            out[k] = _str(field, v)
    return out


def _weights(value: object) -> Optional[Dict[str, float]]:
    if value is None:
        return None
    w = _mapping("weights", value)
    _keys("weights", w, WEIGHT_FIELDS)
    return {k: _number(f"weights[{k!r}]", v) for k, v in w.items() if v is not None}


def _in_executor(
    method: Callable[Concatenate[S, P], R],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """The awaitable twin of a blocking method: runs it in the running
    loop's default executor."""

    name = method.__name__

    async def run(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        loop = asyncio.get_running_loop()
        # Looked up on the instance, so a subclass's override is what runs.
        call: Callable[[], R] = functools.partial(getattr(self, name), *args, **kwargs)
        return await loop.run_in_executor(None, call)

    run.__name__ = f"a{name}"
    run.__qualname__ = f"Namespace.a{name}"
    run.__doc__ = (
        f"Awaitable :meth:`{name}`: the same arguments and answer; runs it in the "
        "running event loop's default executor, so the loop is never blocked."
    )
    run.__wrapped__ = method  # type: ignore[attr-defined]
    return run


# ----- watch -----

#: Longest single wait inside a blocking or async iteration, so that
#: Ctrl-C, ``close()`` and task cancellation are noticed promptly.
_POLL_SECONDS = 0.25


class Watch(Closing):
    """The changes to a watched query, as :class:`~mnemo.types.Change`
    events: first ``current`` (the matching memories), then ``added``,
    ``changed``, ``removed`` (and ``lagged``, followed by a fresh
    ``current``, if the reader fell behind).

    Iterate it (``for change in watch``, blocking), async-iterate it
    (``async for change in watch``: each wait runs in the loop's default
    executor, so the loop is never blocked) or call :meth:`next` with a
    timeout. Iteration ends when the watch is closed (:meth:`close`, the
    ``with`` block's end) or its stream ends (the engine or server
    closed). It is a context manager, sync and async.
    """

    __slots__ = ("_stream", "_closed")

    def __init__(self, stream: WatchStream) -> None:
        """Wraps a transport's watch stream."""
        self._stream = stream
        self._closed = False

    def next(self, timeout: Optional[float] = None) -> Optional[Change]:
        """The next change, waiting at most ``timeout`` seconds (``None``:
        as long as it takes); ``None`` when the time ran out first. Raises
        :class:`mnemo.errors.Closed` once the watch is closed or its stream
        ended."""
        if self._closed:
            raise Closed("the watch is closed")
        if timeout is not None:
            timeout = _number("timeout", timeout)
            event = self._stream.next(timeout)
            return None if event is None else Change(event)
        while True:
            event = self._stream.next(_POLL_SECONDS)
            if event is not None:
                return Change(event)
            if self._closed:
                raise Closed("the watch is closed")

    def __iter__(self) -> Iterator[Change]:
        return self

    def __next__(self) -> Change:
        try:
            change = self.next()
        except Closed:
            raise StopIteration from None
        assert change is not None
        return change

    def __aiter__(self) -> Watch:
        return self

    async def __anext__(self) -> Change:
        loop = asyncio.get_running_loop()
        while True:
            try:
                event = await loop.run_in_executor(None, self._poll)
            except Closed:
                raise StopAsyncIteration from None
            if event is not None:
                return event

    def _poll(self) -> Optional[Change]:
        return self.next(_POLL_SECONDS)

    def close(self) -> None:
        """Stops watching and releases the stream (idempotent); iteration
        ends."""
        self._closed = True
        self._stream.close()

    def __del__(self) -> None:
        # A watch dropped without close() (a `for` loop left with break)
        # must not hold its stream, and the server's watcher, forever.
        try:
            if not self._closed:
                self.close()
        except Exception:
            pass

    async def aclose(self) -> None:
        """Awaitable :meth:`close`."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.close)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    async def __aenter__(self) -> Watch:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"Watch(closed={self._closed})"


# ----- the namespace -----


class Namespace:
    """One namespace of an engine: its memories, facts and patterns.

    Get one from :meth:`mnemo.Mnemo.namespace` (embedded) or
    :meth:`mnemo.Client.namespace` (a server); both behave the same. A
    namespace is safe to share between threads.

    >>> ns.remember("Alice moved to Lisbon in May", tags=["alice"])  # doctest: +SKIP
    1
    >>> ns.recall("where does alice live", k=1)[0].memory.content  # doctest: +SKIP
    'Alice moved to Lisbon in May'
    """

    __slots__ = ("_transport", "_name")

    def __init__(self, transport: Transport, name: str) -> None:
        """The namespace ``name`` reached through ``transport`` (see
        :mod:`mnemo._transport`); the transport must already have it."""
        self._transport = transport
        self._name = _str("name", name)

    @property
    def name(self) -> str:
        """The namespace's name."""
        return self._name

    def __repr__(self) -> str:
        return f"Namespace({self._name!r})"

    def _call(
        self,
        op: str,
        *,
        id: Optional[int] = None,
        params: Optional[Mapping[str, Any]] = None,
        body: Optional[Mapping[str, Any]] = None,
        vectors: Optional[Any] = None,
    ) -> Dict[str, Any]:
        if params is not None:
            params = {k: v for k, v in params.items() if v is not None}
        return self._transport.call(
            op, self._name, id=id, params=params, body=body, vectors=vectors
        )

    # ----- memories -----

    def remember(
        self,
        content: str,
        *,
        tags: Iterable[str] = (),
        source: Optional[str] = None,
        kind: Optional[str] = None,
        metadata: Optional[Mapping[str, Scalar]] = None,
        at: Optional[TimeLike] = None,
        key: Optional[str] = None,
        vector: Optional[VectorLike] = None,
        importance: Optional[float] = None,
        confidence: Optional[float] = None,
        valid_from: Optional[TimeLike] = None,
        valid_until: Optional[TimeLike] = None,
        expires_at: Optional[TimeLike] = None,
        ttl_seconds: Optional[int] = None,
    ) -> int:
        """Remembers one memory; answers its id. Durable when it returns
        (one log append).

        Args:
            content: The text (not empty).
            tags: Short labels (a person, a topic, a session).
            source: Where it came from (a speaker, a tool, a session).
            kind: ``"episodic"`` (default), ``"semantic"`` or
                ``"procedural"``.
            metadata: Free-form scalar fields (str, int, float, bool).
            at: When it happened; default when it is recorded.
            key: A key of yours: remembering the same key again updates
                that memory (same id) instead of adding one.
            vector: Its embedding, of the namespace's dimension; default:
                the namespace's embedder embeds ``content``.
            importance: How much it matters, in [0, 1] (default 0.5).
            confidence: How sure you are, in [0, 1] (default 1).
            valid_from: First moment the content holds (default: open).
            valid_until: First moment it no longer holds (default: open).
            expires_at: When it expires: from then on it leaves every
                read, and it is erased soon after (default: the
                namespace's TTLs, if any). Not with ``ttl_seconds``.
            ttl_seconds: Seconds it lives from now (positive): a deadline
                as a duration. Not with ``expires_at``.

        Raises:
            TypeError: An argument of the wrong type (naming it).
            mnemo.errors.InvalidInput: A value the engine refuses (naming
                the field); nothing is written.
        """
        body = _memory(
            "",
            {
                "content": content,
                "tags": tags,
                "source": source,
                "kind": kind,
                "metadata": metadata,
                "at": at,
                "key": key,
                "importance": importance,
                "confidence": confidence,
                "valid_from": valid_from,
                "valid_until": valid_until,
                "expires_at": expires_at,
                "ttl_seconds": ttl_seconds,
            },
        )
        vectors = None if vector is None else _vector("vector", vector)
        answer = self._call("remember", body={"memories": [body]}, vectors=vectors)
        return int(answer["ids"][0])

    def remember_many(
        self,
        items: Iterable[Union[str, Mapping[str, Any]]],
        *,
        vectors: Optional[VectorLike] = None,
    ) -> List[int]:
        """Remembers a batch in one atomic, durable log append; answers
        their ids in order (a keyed memory that already existed keeps its
        id). An empty batch writes nothing and answers ``[]``.

        Args:
            items: Each a ``str`` (the content) or a mapping with the
                keyword names of :meth:`remember` (``content`` required;
                an unknown key is a ``TypeError`` naming it).
            vectors: One embedding per item, an ``(n, d)`` array (any float
                dtype); or give ``"vector"`` in the items instead.

        Raises:
            TypeError: An item or value of the wrong type, or an unknown
                key (naming ``items[i]`` and the key).
            mnemo.errors.InvalidInput: A value the engine refuses (naming
                ``memories[i]`` and the field); nothing is written.
        """
        if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
            raise TypeError(f"items: expected a list of str or dict, got {_kind_of(items)}")
        bodies: List[Dict[str, Any]] = []
        rows: List[Optional["np.ndarray[Any, np.dtype[np.float32]]"]] = []
        for i, item in enumerate(items):
            prefix = f"items[{i}]."
            if isinstance(item, str):
                bodies.append({"content": item})
                rows.append(None)
                continue
            if not isinstance(item, Mapping):
                raise TypeError(f"items[{i}]: expected a str or a dict, got {_kind_of(item)}")
            _keys(f"items[{i}]", item, MEMORY_FIELDS)
            if "content" not in item:
                raise TypeError(f"items[{i}]: missing key 'content'")
            bodies.append(_memory(prefix, item))
            v = item.get("vector")
            rows.append(None if v is None else _vector(f"{prefix}vector", v)[0])
        if not bodies:
            return []
        matrix: Optional["np.ndarray[Any, np.dtype[np.float32]]"] = None
        given = [r for r in rows if r is not None]
        if vectors is not None:
            if given:
                raise TypeError(
                    "vectors: give the vectors argument or per-item 'vector' keys, not both"
                )
            matrix = _vectors("vectors", vectors, len(bodies))
        elif len(given) == len(bodies):
            if len({r.shape[0] for r in given}) != 1:
                raise InvalidInput("invalid vector: the items' vectors differ in length")
            matrix = np.ascontiguousarray(np.stack(given))
        else:
            for body, row in zip(bodies, rows):
                if row is not None:
                    body["vector"] = row.tolist()
        answer = self._call("remember", body={"memories": bodies}, vectors=matrix)
        return [int(i) for i in answer["ids"]]

    def recall(
        self,
        query: str,
        k: int = 10,
        *,
        filter: Optional[Mapping[str, Any]] = None,
        vector: Optional[VectorLike] = None,
        explain: bool = False,
        graph: bool = False,
        spreading: Optional[bool] = None,
        weights: Optional[Mapping[str, float]] = None,
        budget_ms: Optional[int] = None,
        candidates: Optional[int] = None,
        search_width: Optional[int] = None,
        prefer_consolidated: bool = False,
        scan_cold: bool = False,
        newest_first: bool = True,
    ) -> Recall:
        """Recalls the memories that matter for ``query``: vector
        similarity, BM25 keywords and spreading activation over the
        association graph, fused. Answers a :class:`~mnemo.types.Recall`
        (a sequence of hits, best first).

        Args:
            query: What to recall, in words.
            k: Hits wanted (1 to 10,000).
            filter: Only memories it admits: a dict with keys ``ids``,
                ``tags`` (all of), ``any_tags``, ``without_tags``,
                ``source``, ``kind``, ``at_from``, ``at_until``,
                ``recorded_from``, ``recorded_until`` (times),
                ``metadata`` (equal fields) and ``contains`` (text).
            vector: The query's embedding, of the namespace's dimension,
                instead of embedding ``query``.
            explain: Whether hits carry each signal's share of the score
                and their activation path.
            graph: Whether the answer carries the activation graph (implies
                ``explain``).
            spreading: Whether activation spreads over the association
                graph (default true).
            weights: Signal weights by name (``vector``, ``keyword``,
                ``activation``, ``recency``, ``importance``, ``time``,
                ``tags``, ``answer_type``, ``strength``); absent ones keep
                their defaults.
            budget_ms: A time budget: the best answer found by then is
                returned, with ``complete`` false.
            candidates: Candidates each signal ranks before fusion
                (default ``max(4k, 50)``, never below ``k``).
            search_width: How many candidates the vector search keeps
                while it walks the HNSW graph (its ``ef``, default 64,
                never below ``candidates``): wider finds more of the true
                nearest neighbours and costs more.
            prefer_consolidated: Whether a consolidated memory stands for
                its sources: when both are among the hits, the sources
                leave and it takes the place of the first of them.
            scan_cold: Whether vector search also scans the cold tier
                (memories whose vectors are only in the log, each a read):
                without it cold memories are found by keywords, filters
                and spreading only.
            newest_first: Whether versions of one statement come newest
                first: semantic memories holding the same words of the
                query and alike in their own words (a preference restated
                with a new value) fill the places they ranked at newest
                first.

        Each hit carries its ``tier`` and ``strength``.
        """
        body: Dict[str, Any] = {"query": _str("query", query), "k": _int("k", k)}
        _put(body, "filter", _filter("filter", filter))
        _put(body, "weights", _weights(weights))
        if spreading is not None:
            body["spreading"] = _bool("spreading", spreading)
        if _bool("explain", explain):
            body["explain"] = True
        if _bool("graph", graph):
            body["graph"] = True
        _put(body, "budget_ms", _opt_int("budget_ms", budget_ms))
        _put(body, "candidates", _opt_int("candidates", candidates))
        _put(body, "search_width", _opt_int("search_width", search_width))
        if _bool("prefer_consolidated", prefer_consolidated):
            body["prefer_consolidated"] = True
        if _bool("scan_cold", scan_cold):
            body["scan_cold"] = True
        if not _bool("newest_first", newest_first):
            body["newest_first"] = False
        vectors = None if vector is None else _vector("vector", vector)
        return Recall(self._call("recall", body=body, vectors=vectors))

    def query(
        self,
        filter: Optional[Mapping[str, Any]] = None,
        *,
        order: Optional[str] = None,
        descending: bool = False,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
    ) -> Page[StoredMemory]:
        """The memories a filter admits, in an order, one page at a time:
        a :class:`~mnemo.types.Page` (a sequence of memories) with the
        ``total`` that match.

        Args:
            filter: As for :meth:`recall` (default: every memory).
            order: ``"id"`` (default: the order of writing), ``"at"``,
                ``"recorded"`` or ``"importance"``.
            descending: Largest first.
            limit: Most memories returned (default 100, at most 1000).
            offset: Memories skipped before the first returned.
        """
        body: Dict[str, Any] = {"filter": _filter("filter", filter) or {}}
        _put(body, "order_by", _opt_str("order", order))
        if _bool("descending", descending):
            body["descending"] = True
        _put(body, "limit", _opt_int("limit", limit))
        _put(body, "offset", _opt_int("offset", offset))
        return Page(self._call("queryMemories", body=body), "memories", StoredMemory)

    def get(self, id: int) -> Optional[StoredMemory]:
        """The memory ``id``, or ``None`` when there is none (or it was
        forgotten)."""
        try:
            return self.get_detail(id).memory
        except NotFound:
            return None

    def get_detail(self, id: int) -> MemoryDetail:
        """The memory ``id`` with its links and the facts citing it.
        Raises :class:`mnemo.errors.NotFound` when there is none."""
        return MemoryDetail(self._call("getMemory", id=_id("id", id)))

    def links(self, id: int) -> Links:
        """The links of memory ``id``, outgoing and incoming. Raises
        :class:`mnemo.errors.NotFound` when there is no such memory."""
        return self.get_detail(id).links

    def revise(
        self,
        id: int,
        *,
        content: Optional[str] = None,
        kind: Optional[str] = None,
        importance: Optional[float] = None,
        confidence: Optional[float] = None,
        metadata: Optional[Mapping[str, Scalar]] = None,
        at: Optional[TimeLike] = None,
        source: Optional[str] = None,
    ) -> StoredMemory:
        """Changes memory ``id``; arguments left ``None`` stay as they are
        (new ``content`` is re-embedded and re-indexed; new ``metadata``
        replaces the old fields). Answers the memory as it is now. Raises
        :class:`mnemo.errors.NotFound` when there is no such memory and
        :class:`mnemo.errors.InvalidInput` when nothing is to change."""
        body: Dict[str, Any] = {}
        _put(body, "content", _opt_str("content", content))
        _put(body, "kind", _opt_str("kind", kind))
        _put(body, "importance", _opt_number("importance", importance))
        _put(body, "confidence", _opt_number("confidence", confidence))
        if metadata is not None:
            body["metadata"] = _metadata("metadata", metadata)
        _put(body, "at", _opt_time("at", at))
        _put(body, "source", _opt_str("source", source))
        return StoredMemory(self._call("reviseMemory", id=_id("id", id), body=body))

    def retag(
        self, id: int, *, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> StoredMemory:
        """Adds and removes tags of memory ``id``; answers the memory as it
        is now. Raises :class:`mnemo.errors.NotFound` when there is no such
        memory."""
        body = {"add": _strs("add", add), "remove": _strs("remove", remove)}
        return StoredMemory(self._call("retagMemory", id=_id("id", id), body=body))

    def forget(self, id: int) -> bool:
        """Forgets memory ``id`` and erases it: its key is destroyed, so
        what the log holds of it can no longer be read (its links go with
        it). Answers ``False`` when there was no such memory."""
        try:
            self._call("forgetMemory", id=_id("id", id))
        except NotFound:
            return False
        return True

    def purge(
        self, *, tag: Optional[str] = None, source: Optional[str] = None, all: bool = False
    ) -> List[int]:
        """Forgets and erases every memory with ``tag``, from ``source``, or
        (``all=True``) every memory of the namespace: exactly one of them.
        Their keys are destroyed, so what the log holds of them can no
        longer be read. Answers their ids, ascending."""
        body: Dict[str, Any] = {"all": _bool("all", all)}
        if tag is not None:
            body["tag"] = _str("tag", tag)
        if source is not None:
            body["source"] = _str("source", source)
        return [int(i) for i in self._call("purgeMemories", body=body)["purged"]]

    def set_expiry(self, id: int, expires_at: Optional[TimeLike]) -> Optional[datetime]:
        """Sets memory ``id``'s deadline, or clears it with ``None`` (one
        durable event); answers the deadline now. Past it the memory
        leaves every read, and it is erased soon after (a time already
        past does that at once). Raises :class:`mnemo.errors.NotFound`
        when there is no such memory."""
        body = {"expires_at": _opt_time("expires_at", expires_at)}
        answer = self._call("setExpiry", id=_id("id", id), body=body)
        at = answer.get("expires_at")
        return None if at is None else parse_time(at)

    def expire_due(self) -> List[int]:
        """Expires every memory past its deadline now (each erased as
        :meth:`forget` erases); answers their ids, ascending. The engine
        also does this on its own about once a second and before writes,
        so this finds only what those have not swept yet."""
        return [int(i) for i in self._call("expireDue")["expired"]]

    def consolidate(
        self,
        *,
        filter: Optional[Mapping[str, Any]] = None,
        max_episodes: Optional[int] = None,
        similarity: Optional[float] = None,
        min_group: Optional[int] = None,
        max_group: Optional[int] = None,
        max_sentences: Optional[int] = None,
        max_summary_bytes: Optional[int] = None,
        dry_run: bool = False,
    ) -> Consolidation:
        """Groups related episodic memories and writes, per group, a
        semantic summary tagged ``consolidated`` and linked
        ``derived_from`` to its sources (one durable event; the sources
        stay, and are not considered again). An empty namespace, or
        nothing groupable, writes nothing. Arguments left ``None`` keep
        the engine's defaults; a bad one raises
        :class:`mnemo.errors.InvalidInput` naming it, and writes nothing.

        Args:
            filter: Which memories may be consolidated, as for
                :meth:`recall` (default: every episodic one).
            max_episodes: Memories considered at most, the most recent
                (default 4,096; 1 to 65,536).
            similarity: Cosine at or above which two memories are related,
                in [0, 1] (default 0.55; lower it with the hash embedder).
            min_group: Members a group needs at least, 2 or more (default 3).
            max_group: Members a group has at most (default 64).
            max_sentences: Sentences in a summary at most (default 3).
            max_summary_bytes: Bytes of a summary at most (default 2,048).
            dry_run: Plan only: answer the groups, write nothing.
        """
        body: Dict[str, Any] = {}
        _put(body, "filter", _filter("filter", filter))
        _put(body, "max_episodes", _opt_int("max_episodes", max_episodes))
        _put(body, "similarity", _opt_number("similarity", similarity))
        _put(body, "min_group", _opt_int("min_group", min_group))
        _put(body, "max_group", _opt_int("max_group", max_group))
        _put(body, "max_sentences", _opt_int("max_sentences", max_sentences))
        _put(body, "max_summary_bytes", _opt_int("max_summary_bytes", max_summary_bytes))
        if _bool("dry_run", dry_run):
            body["dry_run"] = True
        return Consolidation(self._call("consolidateMemories", body=body))

    def tiers(self) -> Tiers:
        """How many memories are hot, warm and cold, the bytes their
        vectors keep in memory, and the budget (moves nothing)."""
        return Tiers(self._call("getTiers"))

    def rebalance_tiers(self) -> Tiers:
        """Places every memory in its tier under the namespace's budget
        (the strongest from use hot, the next warm, the rest cold; each
        move a durable event) and answers where they are now. Without a
        budget nothing moves."""
        return Tiers(self._call("rebalanceTiers"))

    def link(
        self, from_id: int, to_id: int, kind: str = "related", weight: Optional[float] = None
    ) -> Link:
        """Links memory ``from_id`` to ``to_id`` with a kind of association
        (``"caused"``, ``"refers_to"``, ...) and a weight in [0, 1] (default
        1); linking again updates the weight. Recall's activation spreads
        over links. Raises :class:`mnemo.errors.NotFound` when a memory is
        missing."""
        body: Dict[str, Any] = {
            "from": _id("from_id", from_id),
            "to": _id("to_id", to_id),
            "kind": _str("kind", kind),
        }
        _put(body, "weight", _opt_number("weight", weight))
        return Link(self._call("link", body=body))

    def unlink(self, from_id: int, to_id: int, kind: str = "related") -> bool:
        """Removes the ``kind`` link from ``from_id`` to ``to_id``; answers
        ``False`` when there was none."""
        params = {
            "from": _id("from_id", from_id),
            "to": _id("to_id", to_id),
            "kind": _str("kind", kind),
        }
        try:
            self._call("unlink", params=params)
        except NotFound:
            return False
        return True

    # ----- facts -----

    def assert_fact(
        self,
        subject: str,
        predicate: str,
        value: str,
        *,
        context: Optional[str] = None,
        confidence: Optional[float] = None,
        valid_from: Optional[TimeLike] = None,
        valid_until: Optional[TimeLike] = None,
        evidence: Iterable[int] = (),
    ) -> Asserted:
        """Asserts the fact ``subject predicate value`` (``alice lives_in
        Paris``; ``value`` is the API's ``object``). It is checked at once
        against the believed facts of its context, subject and predicate:
        a contradicting fact whose validity starts later supersedes the
        older one; otherwise a conflict opens (undeclared predicates are
        single-valued). Answers the fact, the facts it superseded and the
        conflicts it opened.

        Args:
            subject: What it is about.
            predicate: The relation.
            value: The value.
            context: Where it holds (default ``"default"``); facts of
                different contexts never contradict.
            confidence: How sure you are, in [0, 1] (default 1).
            valid_from: When it starts to hold (default: always).
            valid_until: When it stops holding (default: open).
            evidence: Ids of live memories it was drawn from.
        """
        body: Dict[str, Any] = {
            "subject": _str("subject", subject),
            "predicate": _str("predicate", predicate),
            "object": _str("value", value),
        }
        _put(body, "context", _opt_str("context", context))
        _put(body, "confidence", _opt_number("confidence", confidence))
        _put(body, "valid", _validity("", valid_from, valid_until))
        ev = _ids("evidence", evidence)
        if ev:
            body["evidence"] = ev
        return Asserted(self._call("assertFact", body=body))

    def facts(
        self,
        subject: Optional[str] = None,
        predicate: Optional[str] = None,
        *,
        context: Optional[str] = None,
        valid_at: Optional[TimeLike] = None,
        known_at: Optional[TimeLike] = None,
        include_inactive: bool = False,
        max_quarantine: Optional[str] = None,
        offset: Optional[int] = None,
        limit: Optional[int] = None,
    ) -> Page[Fact]:
        """Facts by subject, predicate and context, by id, one page at a
        time (a :class:`~mnemo.types.Page` of facts with their ``total``).

        Args:
            subject: Only facts about this subject.
            predicate: Only facts of this predicate.
            context: Only facts in this context.
            valid_at: Only facts valid at this time (the validity clock).
            known_at: The facts as the namespace held them at this time
                (the recorded clock); default now. See :meth:`as_of`.
            include_inactive: Also deprecated and retracted facts, at any
                quarantine level.
            max_quarantine: The least trusted level returned: ``"none"``,
                ``"conservative"`` (default: disputed facts are returned),
                ``"requires-witness"`` or ``"blocked"``.
            offset: Facts skipped before the first returned.
            limit: Most facts returned (default 100, at most 1000).
        """
        params: Dict[str, Any] = {
            "subject": _opt_str("subject", subject),
            "predicate": _opt_str("predicate", predicate),
            "context": _opt_str("context", context),
            "valid_at": _opt_time("valid_at", valid_at),
            "known_at": _opt_time("known_at", known_at),
            "max_quarantine": _opt_str("max_quarantine", max_quarantine),
            "offset": _opt_int("offset", offset),
            "limit": _opt_int("limit", limit),
        }
        if _bool("include_inactive", include_inactive):
            params["include_inactive"] = True
        return Page(self._call("listFacts", params=params), "facts", Fact)

    def as_of(
        self,
        when: TimeLike,
        subject: Optional[str] = None,
        predicate: Optional[str] = None,
        *,
        context: Optional[str] = None,
        valid_at: Optional[TimeLike] = None,
        include_inactive: bool = False,
        max_quarantine: Optional[str] = None,
        offset: Optional[int] = None,
        limit: Optional[int] = None,
    ) -> Page[Fact]:
        """The facts as the namespace held them at ``when`` (what it knew
        then: :meth:`facts` with ``known_at=when``)."""
        return self.facts(
            subject,
            predicate,
            context=context,
            valid_at=valid_at,
            known_at=_time("when", when),
            include_inactive=include_inactive,
            max_quarantine=max_quarantine,
            offset=offset,
            limit=limit,
        )

    def history(self, subject: str, predicate: str) -> History:
        """The whole timeline of ``subject``'s ``predicate`` in every
        context: every fact (any status), oldest first, with its changes
        and the Merkle proof of the event that asserted it."""
        params = {
            "subject": _str("subject", subject),
            "predicate": _str("predicate", predicate),
        }
        return History(self._call("factHistory", params=params))

    def fact(self, id: int) -> FactDetail:
        """Fact ``id`` (any status) with what it was asserted as and its
        history. Raises :class:`mnemo.errors.NotFound` when there is
        none."""
        return FactDetail(self._call("getFact", id=_id("id", id)))

    def conflicts(
        self,
        *,
        include_resolved: bool = False,
        offset: Optional[int] = None,
        limit: Optional[int] = None,
    ) -> Page[Conflict]:
        """Conflicts between facts, by id: the open ones, or all with
        ``include_resolved`` (the API's ``all``)."""
        params: Dict[str, Any] = {
            "offset": _opt_int("offset", offset),
            "limit": _opt_int("limit", limit),
        }
        if _bool("include_resolved", include_resolved):
            params["all"] = True
        return Page(self._call("listConflicts", params=params), "conflicts", Conflict)

    def conflict(self, id: int) -> Conflict:
        """Conflict ``id`` with its facts, challenges and resolution.
        Raises :class:`mnemo.errors.NotFound` when there is none."""
        return Conflict(self._call("getConflict", id=_id("id", id)))

    def resolve(
        self,
        conflict_id: int,
        *,
        accepted: Iterable[int] = (),
        deprecated: Iterable[int] = (),
        rationale: str,
    ) -> Conflict:
        """Resolves an open conflict: ``deprecated`` facts stop being
        believed, ``accepted`` ones lose the conflict's quarantine (name at
        least one). Answers the conflict as it is now. Raises
        :class:`mnemo.errors.Conflict` when it is already resolved."""
        body = {
            "accepted": _ids("accepted", accepted),
            "deprecated": _ids("deprecated", deprecated),
            "rationale": _str("rationale", rationale),
        }
        return Conflict(
            self._call("resolveConflict", id=_id("conflict_id", conflict_id), body=body)
        )

    def challenge(self, fact_id: int, reason: str) -> FactChanged:
        """Challenges a believed fact: it requires a witness
        (:meth:`support`) before it is trusted again."""
        body = {"reason": _str("reason", reason)}
        return FactChanged(self._call("challengeFact", id=_id("fact_id", fact_id), body=body))

    def retract(self, fact_id: int, reason: str) -> FactChanged:
        """Retracts a believed fact: it is no longer believed and its open
        conflicts close."""
        body = {"reason": _str("reason", reason)}
        return FactChanged(self._call("retractFact", id=_id("fact_id", fact_id), body=body))

    def support(
        self, fact_id: int, evidence: Iterable[int], *, note: Optional[str] = None
    ) -> FactChanged:
        """Adds evidence (ids of live memories) to a believed fact; this
        witnesses a challenged fact."""
        body: Dict[str, Any] = {"evidence": _ids("evidence", evidence)}
        _put(body, "note", _opt_str("note", note))
        return FactChanged(self._call("supportFact", id=_id("fact_id", fact_id), body=body))

    def quarantine(self, fact_id: int, level: Optional[str], reason: str) -> FactChanged:
        """Sets a fact's quarantine level explicitly (``"none"``,
        ``"conservative"``, ``"requires-witness"``, ``"blocked"``), or
        clears it with ``None`` (back to the level its history gives
        it)."""
        body: Dict[str, Any] = {"reason": _str("reason", reason)}
        _put(body, "level", _opt_str("level", level))
        return FactChanged(self._call("quarantineFact", id=_id("fact_id", fact_id), body=body))

    def declare_predicate(self, predicate: str, cardinality: str) -> Predicate:
        """Declares ``predicate`` ``"single"``-valued (different objects
        contradict; the default of undeclared predicates) or
        ``"multi"``-valued, for facts asserted from now on."""
        body = {
            "predicate": _str("predicate", predicate),
            "cardinality": _str("cardinality", cardinality),
        }
        return Predicate(self._call("declarePredicate", body=body))

    def predicates(self) -> List[Predicate]:
        """The declared predicates and their cardinality."""
        answer = self._call("listPredicates")
        return [Predicate(p) for p in answer.get("predicates") or ()]

    # ----- trajectories and patterns -----

    def record_trajectory(
        self,
        task: Optional[str] = None,
        *,
        executor: str,
        success: bool,
        vector: Optional[VectorLike] = None,
        score: Optional[float] = None,
        latency_ms: Optional[float] = None,
        cost: Optional[float] = None,
        tags: Iterable[str] = (),
        at: Optional[TimeLike] = None,
    ) -> Recorded:
        """Records how a task went; it joins the most similar learned
        pattern or starts one.

        Args:
            task: The task's text; or give ``vector``, its embedding.
            executor: Who or what carried it out (a model, a tool, a
                strategy).
            success: Whether it succeeded.
            vector: The task's embedding, of the namespace's dimension.
            score: Graded outcome in [0, 1] (default 1 on success, 0 on
                failure).
            latency_ms: How long it took, in milliseconds (>= 0).
            cost: What it cost, in any unit used consistently (>= 0).
            tags: Tags.
            at: When it happened (default: when it is recorded).
        """
        body: Dict[str, Any] = {
            "executor": _str("executor", executor),
            "success": _bool("success", success),
        }
        _put(body, "task", _opt_str("task", task))
        if vector is not None:
            body["vector"] = _vector("vector", vector)[0].tolist()
        _put(body, "score", _opt_number("score", score))
        _put(body, "latency_ms", _opt_number("latency_ms", latency_ms))
        _put(body, "cost", _opt_number("cost", cost))
        tag_list = _strs("tags", tags)
        if tag_list:
            body["tags"] = tag_list
        _put(body, "at", _opt_time("at", at))
        return Recorded(self._call("recordTrajectory", body=body))

    def suggest(
        self, task: Optional[str] = None, k: int = 5, *, vector: Optional[VectorLike] = None
    ) -> Suggestions:
        """Recommends an executor for a task (its text, or its embedding as
        ``vector``) from the ``k`` learned patterns most similar to it:
        a :class:`~mnemo.types.Suggestions` (the ranked patterns) with the
        ``executor`` and its ``confidence``."""
        body: Dict[str, Any] = {"k": _int("k", k)}
        _put(body, "task", _opt_str("task", task))
        if vector is not None:
            body["vector"] = _vector("vector", vector)[0].tolist()
        return Suggestions(self._call("suggest", body=body))

    def patterns(
        self, *, offset: Optional[int] = None, limit: Optional[int] = None
    ) -> Page[Pattern]:
        """The learned patterns with their statistics per executor, by
        id, one page at a time."""
        params = {"offset": _opt_int("offset", offset), "limit": _opt_int("limit", limit)}
        return Page(self._call("listPatterns", params=params), "patterns", Pattern)

    def pattern(self, id: int) -> Pattern:
        """Learned pattern ``id``. Raises :class:`mnemo.errors.NotFound`
        when there is none."""
        return Pattern(self._call("getPattern", id=_id("id", id)))

    def prune_patterns(
        self,
        *,
        min_quality: Optional[float] = None,
        min_count: Optional[int] = None,
        unused_since: Optional[TimeLike] = None,
    ) -> Pruned:
        """Removes the patterns (and their trajectories) that any condition
        given names: quality below ``min_quality``, fewer trajectories than
        ``min_count``, unused since ``unused_since``. Needs admin on a
        server."""
        body: Dict[str, Any] = {}
        _put(body, "min_quality", _opt_number("min_quality", min_quality))
        _put(body, "min_count", _opt_int("min_count", min_count))
        _put(body, "unused_since", _opt_time("unused_since", unused_since))
        return Pruned(self._call("prunePatterns", body=body))

    def consolidate_patterns(self, threshold: Optional[float] = None) -> Consolidated:
        """Merges patterns whose centroids' cosine is at least
        ``threshold`` (default the namespace's, 0.95). Needs admin on a
        server."""
        body: Dict[str, Any] = {}
        _put(body, "threshold", _opt_number("threshold", threshold))
        return Consolidated(self._call("consolidatePatterns", body=body))

    def refine_patterns(self) -> Refined:
        """Re-clusters every trajectory now. Needs admin on a server."""
        return Refined(self._call("refinePatterns"))

    # ----- the log -----

    def stats(self) -> Stats:
        """Counts and sizes: memories, facts, events in the log, the
        embedder and its dimension, ..."""
        return Stats(self._call("stats"))

    def root(self) -> Root:
        """The Merkle root of the namespace's log and the events it covers:
        keep it to check later proofs against (:meth:`Proof.verify
        <mnemo.types.EventProof.verify>`)."""
        return Root(self._call("root"))

    def prove(self, id: int) -> Proof:
        """A Merkle inclusion proof of the event that last wrote memory
        ``id``; check it with :meth:`~mnemo.types.EventProof.verify`."""
        return Proof(self._call("proof", id=_id("id", id)))

    def watch(
        self, filter: Optional[Mapping[str, str]] = None, *, limit: Optional[int] = None
    ) -> Watch:
        """Watches the memories a filter admits: a :class:`Watch` yielding
        ``current`` (at most ``limit`` of them, default 100, at most 1000,
        in id order) then each change.

        Args:
            filter: Keys ``tag`` (has this tag), ``source``, ``kind`` and
                ``contains`` (text); default every memory.
            limit: Most memories the ``current`` event carries.
        """
        params: Dict[str, Any] = {}
        if filter is not None:
            f = _mapping("filter", filter)
            _keys("filter", f, WATCH_FILTER_FIELDS)
            for k, v in f.items():
                _put(params, k, _opt_str(f"filter[{k!r}]", v))
        _put(params, "limit", _opt_int("limit", limit))
        return Watch(self._transport.watch(self._name, params))

    aremember = _in_executor(remember)
    aremember_many = _in_executor(remember_many)
    arecall = _in_executor(recall)
    aquery = _in_executor(query)
    aget = _in_executor(get)
    aget_detail = _in_executor(get_detail)
    alinks = _in_executor(links)
    arevise = _in_executor(revise)
    aretag = _in_executor(retag)
    aforget = _in_executor(forget)
    aset_expiry = _in_executor(set_expiry)
    aexpire_due = _in_executor(expire_due)
    aconsolidate = _in_executor(consolidate)
    atiers = _in_executor(tiers)
    arebalance_tiers = _in_executor(rebalance_tiers)
    alink = _in_executor(link)
    aunlink = _in_executor(unlink)
    aassert_fact = _in_executor(assert_fact)
    afacts = _in_executor(facts)
    aas_of = _in_executor(as_of)
    ahistory = _in_executor(history)
    afact = _in_executor(fact)
    aconflicts = _in_executor(conflicts)
    aconflict = _in_executor(conflict)
    aresolve = _in_executor(resolve)
    achallenge = _in_executor(challenge)
    aretract = _in_executor(retract)
    asupport = _in_executor(support)
    aquarantine = _in_executor(quarantine)
    adeclare_predicate = _in_executor(declare_predicate)
    apredicates = _in_executor(predicates)
    arecord_trajectory = _in_executor(record_trajectory)
    asuggest = _in_executor(suggest)
    apatterns = _in_executor(patterns)
    apattern = _in_executor(pattern)
    aprune_patterns = _in_executor(prune_patterns)
    aconsolidate_patterns = _in_executor(consolidate_patterns)
    arefine_patterns = _in_executor(refine_patterns)
    astats = _in_executor(stats)
    aroot = _in_executor(root)
    aprove = _in_executor(prove)
    awatch = _in_executor(watch)
