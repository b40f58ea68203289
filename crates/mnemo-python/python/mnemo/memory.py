"""A mem0-style facade over a mnemo namespace: :class:`Memory`.

Code written for mem0's ``Memory`` (``add``, ``search``, ``get``,
``get_all``, ``update``, ``delete``, ``delete_all``, ``history``,
``reset``) runs on mnemo by changing the constructor::

    import mnemo

    m = mnemo.Memory(mnemo.Mnemo("./data"))          # or mnemo.Client(url, token)
    m.add("I am allergic to peanuts", user_id="alice")
    m.search("what can't alice eat?", filters={"user_id": "alice"})
    # {"results": [{"id": 1, "memory": "I am allergic to peanuts", "score": ..., ...}]}

Both of mem0's calling styles are accepted: 1.x (``user_id=...``,
``limit=...``) and 2.x (``filters={"user_id": ...}``, ``top_k=...``).

How this differs from mem0
--------------------------

- **No LLM extraction.** What you add is what is stored: each message
  becomes one memory, word for word (``infer=False`` in mem0's terms).
  ``infer=True`` and ``memory_type="procedural_memory"`` raise
  :class:`NotImplementedError`: mnemo never rewrites, merges or deletes
  memories on its own. (Recall still finds what matters: vectors, BM25
  keywords and spreading activation, fused.)
- **Ids are integers** (mnemo memory ids, increasing in the order of
  writing), not UUID strings. ``get``/``update``/``delete``/``history``
  also take them as decimal strings (``"12"``).
- **Scores are mnemo's fused recall scores** (higher is better; not a
  cosine in [0, 1]). ``threshold`` defaults to ``None`` (no cut); give
  one to keep hits scoring at least that much.
- **Metadata is flat**: values are ``str``, ``int``, ``float`` or
  ``bool`` (``None`` values are dropped); a list or dict raises
  :class:`mnemo.errors.InvalidInput`. ``user_id``, ``agent_id``,
  ``run_id`` are scopes (stored as the tags ``user:<id>``,
  ``agent:<id>``, ``run:<id>``), not metadata; ``role`` and ``actor_id``
  come from the messages.
- **Scope is optional** in ``search`` and ``get_all``: without
  ``user_id``/``agent_id``/``run_id`` they cover the whole namespace
  (mem0 refuses). ``delete_all`` still needs a scope (``reset`` clears
  everything).
- **History** (:meth:`Memory.history`) lists the ``ADD``, ``UPDATE`` and
  ``DELETE`` events this facade made, in mem0's shape, from a companion
  namespace ``<namespace>.history`` whose entries are themselves events of
  mnemo's append-only log. Changes made to the namespace by other means
  (a :class:`mnemo.Namespace` directly) are not in it; the memory's own
  log (every revision, with Merkle proofs of the latest one:
  :meth:`mnemo.Namespace.prove`) holds them all.
- A missing memory raises :class:`MemoryNotFound`, which is both a
  :class:`mnemo.errors.NotFound` and a :class:`ValueError` (what mem0
  raises).
- Every message of one ``add`` is written in one atomic log append: all
  are stored or none.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, timezone
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from .errors import InvalidInput, NotFound
from .namespace import Namespace
from .types import StoredMemory, parse_time

if TYPE_CHECKING:
    from ._embedded import Mnemo
    from .client import Client

__all__ = ["Memory", "MemoryNotFound"]

#: Scope arguments and the tag prefix each is stored under.
_SCOPES: Tuple[Tuple[str, str], ...] = (
    ("user_id", "user:"),
    ("agent_id", "agent:"),
    ("run_id", "run:"),
)
_SCOPE_NAMES = tuple(name for name, _ in _SCOPES)

#: Metadata names the facade keeps for itself (shown at the top level of
#: a result, not under ``metadata``).
_ROLE = "role"
_ACTOR = "actor_id"
_UPDATED = "updated_at"
_RESERVED = (_ROLE, _ACTOR, _UPDATED)

#: The tag of a history entry naming its memory: ``memory:<id>``.
_HISTORY_TAG = "memory:"

#: Most memories one listing page asks for (the API's limit).
_PAGE = 1000
#: Most hits one recall asks for (the API's limit).
_MAX_K = 10_000

Scalar = Union[str, int, float, bool]
Message = Union[str, Mapping[str, Any]]


class MemoryNotFound(NotFound, ValueError):
    """No memory with that id (or it was deleted): a
    :class:`mnemo.errors.NotFound` that is also the :class:`ValueError`
    mem0 raises."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(t: datetime) -> str:
    """mem0's time format: ``datetime.isoformat()`` of a UTC time."""
    return t.astimezone(timezone.utc).isoformat()


def _memory_id(memory_id: Union[int, str]) -> int:
    """A mnemo memory id from an int or a decimal string."""
    if isinstance(memory_id, bool):
        raise TypeError("memory_id: expected an int or a decimal str, got bool")
    if isinstance(memory_id, int):
        return memory_id
    if isinstance(memory_id, str) and memory_id.strip().isdigit():
        return int(memory_id.strip())
    raise InvalidInput(
        f"memory_id: {memory_id!r} is not a mnemo memory id (ids are whole numbers, like 12)"
    )


def _entity(name: str, value: Any) -> Optional[str]:
    """A scope id: ints become text, surrounding space is trimmed, empty
    is refused."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"{name}: expected a str, got {type(value).__name__}")
    text = str(value).strip()
    if not text:
        raise InvalidInput(f"{name}: it is empty")
    return text


def _flat_metadata(name: str, metadata: Optional[Mapping[str, Any]]) -> Dict[str, Scalar]:
    """User metadata as mnemo's flat fields: scalars kept, ``None`` dropped,
    scope names dropped (scopes come from the arguments), lists and dicts
    refused."""
    out: Dict[str, Scalar] = {}
    if metadata is None:
        return out
    if not isinstance(metadata, Mapping):
        raise TypeError(f"{name}: expected a dict, got {type(metadata).__name__}")
    for k, v in metadata.items():
        if not isinstance(k, str):
            raise TypeError(f"{name}: keys must be str, got {type(k).__name__}")
        if v is None or k in _SCOPE_NAMES:
            continue
        if not isinstance(v, (str, int, float, bool)):
            raise InvalidInput(
                f"{name}[{k!r}]: mnemo metadata values are str, int, float or bool, "
                f"got {type(v).__name__} (store structured data as JSON text)"
            )
        out[k] = v
    return out


def _messages(messages: Union[Message, Sequence[Message]]) -> List[Tuple[str, str, Optional[str]]]:
    """``(content, role, actor)`` per message to store; ``system`` messages
    are skipped, as mem0 does."""
    if isinstance(messages, (str, Mapping)):
        items: Sequence[Message] = [messages]
    elif isinstance(messages, (list, tuple)):
        items = messages
    else:
        raise TypeError(
            f"messages: expected a str, a dict or a list of them, got {type(messages).__name__}"
        )
    out: List[Tuple[str, str, Optional[str]]] = []
    for i, m in enumerate(items):
        if isinstance(m, str):
            out.append((m, "user", None))
            continue
        if not isinstance(m, Mapping):
            raise TypeError(f"messages[{i}]: expected a str or a dict, got {type(m).__name__}")
        content = m.get("content")
        if not isinstance(content, str):
            raise InvalidInput(f"messages[{i}]: needs a 'content' string")
        role = m.get("role", "user")
        if not isinstance(role, str):
            raise TypeError(f"messages[{i}]['role']: expected a str, got {type(role).__name__}")
        if role == "system":
            continue
        actor = m.get("name")
        out.append((content, role, actor if isinstance(actor, str) and actor else None))
    return out


# ----- mem0's filter language, checked in Python -----


def order_holds(op: str, value: Any, operand: Any) -> bool:
    """``value <op> operand`` for ``op`` in ``gt gte lt lte``; ``False``
    unless both are numbers (not bools) or both are strings. Shared with
    :mod:`mnemo.langgraph`'s filters."""
    if isinstance(value, bool) or isinstance(operand, bool):
        return False
    numbers = isinstance(value, (int, float)) and isinstance(operand, (int, float))
    if not numbers and not (isinstance(value, str) and isinstance(operand, str)):
        return False
    if op == "gt":
        return bool(value > operand)
    if op == "gte":
        return bool(value >= operand)
    if op == "lt":
        return bool(value < operand)
    return bool(value <= operand)


def _compare(value: Any, op: str, operand: Any) -> bool:
    """One mem0 operator (``eq ne in nin gt gte lt lte contains
    icontains``; a ``$`` in front is accepted)."""
    op = op.lstrip("$")
    if op == "eq":
        return bool(value == operand)
    if op == "ne":
        return bool(value != operand)
    if op == "in":
        return value in _operand_list(op, operand)
    if op == "nin":
        return value not in _operand_list(op, operand)
    if op in ("gt", "gte", "lt", "lte"):
        return order_holds(op, value, operand)
    if op == "contains":
        return isinstance(value, str) and str(operand) in value
    if op == "icontains":
        return isinstance(value, str) and str(operand).lower() in value.lower()
    raise InvalidInput(
        f"filters: unknown operator {op!r} (use eq, ne, in, nin, gt, gte, lt, lte, "
        "contains, icontains)"
    )


def _operand_list(op: str, operand: Any) -> List[Any]:
    if not isinstance(operand, (list, tuple, set, frozenset)):
        raise InvalidInput(f"filters: {op} needs a list, got {type(operand).__name__}")
    return list(operand)


def _matches(fields: Mapping[str, Any], flt: Mapping[str, Any]) -> bool:
    """Whether a result's fields (metadata, scopes, role, actor) pass a
    mem0 filter (``AND``/``OR``/``NOT`` lists, ``"*"`` for any value,
    operator dicts, plain equality)."""
    for key, cond in flt.items():
        if key in ("AND", "OR", "NOT"):
            if not isinstance(cond, (list, tuple)):
                raise InvalidInput(f"filters: {key} needs a list of filters")
            parts = [_matches(fields, _filter_dict(key, c)) for c in cond]
            ok = all(parts) if key == "AND" else any(parts) if key == "OR" else not any(parts)
            if not ok:
                return False
            continue
        if cond == "*":
            if key not in fields:
                return False
            continue
        value = fields.get(key)
        if isinstance(cond, Mapping):
            if not all(_compare(value, str(op), operand) for op, operand in cond.items()):
                return False
        elif value != cond:
            return False
    return True


def _filter_dict(key: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"filters: each item of {key} must be a dict")
    return value


class _Scope:
    """What a call selects: the scope tags (indexed), metadata equalities
    mnemo checks, and the rest of a mem0 filter, checked here."""

    __slots__ = ("tags", "metadata", "rest")

    def __init__(
        self, tags: List[str], metadata: Dict[str, Scalar], rest: Dict[str, Any]
    ) -> None:
        self.tags = tags
        self.metadata = metadata
        self.rest = rest

    def mnemo_filter(self) -> Dict[str, Any]:
        """The part mnemo applies."""
        f: Dict[str, Any] = {}
        if self.tags:
            f["tags"] = list(self.tags)
        if self.metadata:
            f["metadata"] = dict(self.metadata)
        return f


def _scope(
    method: str,
    ids: Mapping[str, Any],
    filters: Optional[Mapping[str, Any]],
) -> _Scope:
    """Merges the 1.x scope arguments and a 2.x ``filters`` dict."""
    if filters is not None and not isinstance(filters, Mapping):
        raise TypeError(f"filters: expected a dict, got {type(filters).__name__}")
    rest: Dict[str, Any] = dict(filters or {})
    scopes: Dict[str, str] = {}
    for name in _SCOPE_NAMES:
        given = _entity(name, ids.get(name))
        in_filter = rest.pop(name, None)
        from_filter = None if in_filter is None else _entity(f"filters[{name!r}]", in_filter)
        if given is not None and from_filter is not None and given != from_filter:
            raise InvalidInput(
                f"{method}: {name}={given!r} and filters[{name!r}]={from_filter!r} disagree"
            )
        value = given if given is not None else from_filter
        if value is not None:
            scopes[name] = value
    tags = [prefix + scopes[name] for name, prefix in _SCOPES if name in scopes]
    metadata: Dict[str, Scalar] = {}
    for k in list(rest):
        v = rest[k]
        # Text equality goes to mnemo; numbers stay here, where 1 == 1.0.
        if k not in ("AND", "OR", "NOT") and isinstance(v, str) and v != "*":
            metadata[k] = v
            del rest[k]
    return _Scope(tags, metadata, rest)


def _limit(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}")
    if value < 0:
        raise InvalidInput(f"{name}: {value} is negative")
    return value


def _pick_limit(top_k: Optional[int], limit: Optional[int], default: int) -> int:
    if top_k is not None and limit is not None and top_k != limit:
        raise InvalidInput(f"top_k={top_k} and limit={limit} disagree: give one")
    if top_k is not None:
        return _limit("top_k", top_k)
    if limit is not None:
        return _limit("limit", limit)
    return default


class Memory:
    """mem0's ``Memory`` API over a mnemo namespace (see the module's
    docstring for how it differs from mem0).

    Args:
        target: A :class:`mnemo.Mnemo` (embedded), a :class:`mnemo.Client`
            (a server), or a :class:`mnemo.Namespace` to use as it is.
        namespace: The namespace to open on an engine or client (default
            ``"mem0"``); ignored when ``target`` is a namespace.
        history: Where :meth:`history` events go. ``None`` (default): the
            companion namespace ``<namespace>.history`` on an engine or
            client, and no history when ``target`` is a namespace. ``True``:
            the companion namespace, required. ``False``: none. A
            :class:`mnemo.Namespace`: that one.

    The facade keeps no state of its own: several ``Memory`` objects (in
    several processes, over a server) can share a namespace.
    """

    def __init__(
        self,
        target: Union["Mnemo", "Client", Namespace],
        *,
        namespace: str = "mem0",
        history: Union[None, bool, Namespace] = None,
    ) -> None:
        """Opens (creating if needed) the namespace and its history."""
        self._ns = open_namespace(target, namespace)
        hist: Optional[Namespace] = None
        if isinstance(history, Namespace):
            hist = history
        elif isinstance(target, Namespace):
            if history is True:
                raise InvalidInput(
                    "history=True needs an engine or client to open the companion namespace; "
                    "pass history=<a Namespace> or history=False"
                )
        elif history is not False:
            hist = open_namespace(target, f"{namespace}.history", cheap=True)
        self._history = hist

    @property
    def namespace(self) -> Namespace:
        """The namespace holding the memories."""
        return self._ns

    @property
    def history_namespace(self) -> Optional[Namespace]:
        """The namespace holding :meth:`history` events (``None`` when
        history is off)."""
        return self._history

    def __repr__(self) -> str:
        return f"Memory({self._ns.name!r})"

    # ----- writing -----

    def add(
        self,
        messages: Union[Message, Sequence[Message]],
        *,
        user_id: Optional[str] = None,
        agent_id: Optional[str] = None,
        run_id: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        infer: bool = False,
        memory_type: Optional[str] = None,
        timestamp: Union[None, datetime, date, str, int, float] = None,
    ) -> Dict[str, List[Dict[str, Any]]]:
        """Stores each message as one memory, word for word, in one atomic
        log append.

        Args:
            messages: A string (a ``user`` message), a ``{"role",
                "content"}`` dict (``name`` becomes ``actor_id``), or a list
                of them. ``system`` messages are skipped, as mem0 does.
            user_id, agent_id, run_id: The scope (at least one, as mem0
                requires).
            metadata: Flat fields stored with every message.
            infer: Must stay ``False``: mnemo has no LLM and stores what
                you add.
            memory_type: ``None`` only (procedural memories need an LLM).
            timestamp: When it happened (a datetime, date, RFC 3339 text
                or Unix seconds); default now.

        Returns:
            ``{"results": [{"id", "memory", "event": "ADD", "actor_id",
            "role"}]}``, one per stored message.
        """
        if infer:
            raise NotImplementedError(
                "infer=True: mnemo runs no LLM; it stores what you add, one memory per message. "
                "Call add(..., infer=False) (the default), or extract facts yourself first."
            )
        if memory_type is not None:
            raise NotImplementedError(
                f"memory_type={memory_type!r}: procedural memories are summaries an LLM writes; "
                "mnemo stores what you add (use mnemo.Namespace.record_trajectory for "
                "how tasks went)"
            )
        scope = _scope("add", {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}, None)
        if not scope.tags:
            raise InvalidInput("add: give at least one of user_id, agent_id or run_id")
        extra = _flat_metadata("metadata", metadata)
        for name in (_ROLE, _ACTOR, _UPDATED):
            extra.pop(name, None)
        at = _timestamp(timestamp)
        stored = _messages(messages)
        items: List[Dict[str, Any]] = []
        for content, role, actor in stored:
            meta: Dict[str, Scalar] = dict(extra)
            meta[_ROLE] = role
            if actor is not None:
                meta[_ACTOR] = actor
            item: Dict[str, Any] = {
                "content": content,
                "key": f"mem0:{uuid.uuid4().hex}",
                "tags": list(scope.tags),
                "metadata": meta,
            }
            if at is not None:
                item["at"] = at
            items.append(item)
        ids = self._ns.remember_many(items)
        results = [
            {"id": i, "memory": content, "event": "ADD", "actor_id": actor, "role": role}
            for i, (content, role, actor) in zip(ids, stored)
        ]
        if self._history is not None and ids:
            page = self._ns.query({"ids": ids}, limit=min(len(ids), _PAGE))
            recorded = {m.id: _iso(m.recorded) for m in page}
            now = _iso(_now())
            events = []
            for i, (content, role, actor) in zip(ids, stored):
                when = recorded.get(i, now)
                events.append(_event(i, "ADD", None, content, when, when, actor, role))
            self._log(events)
        return {"results": results}

    def update(
        self,
        memory_id: Union[int, str],
        text: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        *,
        data: Optional[str] = None,
    ) -> Dict[str, str]:
        """Changes a memory's text and/or metadata (merged into what is
        there; scopes, ``role`` and ``actor_id`` stay). ``data`` is mem0
        1.x's name for ``text``. The new text is re-embedded and
        re-indexed. Raises :class:`MemoryNotFound`."""
        if data is not None:
            if text is not None and text != data:
                raise InvalidInput("update: text and data disagree: give one")
            text = data
        if text is None and metadata is None:
            raise InvalidInput("update: give text (or data) and/or metadata")
        mid = _memory_id(memory_id)
        old = self._get(mid)
        merged: Dict[str, Scalar] = dict(old.metadata)
        changes = _flat_metadata("metadata", metadata)
        for name in (_ROLE, _ACTOR, _UPDATED):
            changes.pop(name, None)
        merged.update(changes)
        now = _now()
        merged[_UPDATED] = _iso(now)
        try:
            new = self._ns.revise(mid, content=text, metadata=merged)
        except NotFound:
            raise MemoryNotFound(f"no memory {mid}") from None
        if self._history is not None:
            self._log([_change(old, "UPDATE", new.content, _iso(now))])
        return {"message": "Memory updated successfully!"}

    def delete(self, memory_id: Union[int, str]) -> Dict[str, str]:
        """Forgets a memory (mnemo's log keeps what it was). Raises
        :class:`MemoryNotFound`."""
        mid = _memory_id(memory_id)
        old = self._get(mid)
        if not self._ns.forget(mid):
            raise MemoryNotFound(f"no memory {mid}")
        self._log_deleted([old])
        return {"message": "Memory deleted successfully!"}

    def delete_all(
        self,
        user_id: Optional[str] = None,
        agent_id: Optional[str] = None,
        run_id: Optional[str] = None,
        *,
        filters: Optional[Mapping[str, Any]] = None,
    ) -> Dict[str, str]:
        """Forgets every memory of a scope (at least one of ``user_id``,
        ``agent_id``, ``run_id``, as arguments or in ``filters``, which may
        narrow further like :meth:`get_all`'s). Use :meth:`reset` to clear
        everything."""
        scope = _scope(
            "delete_all", {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}, filters
        )
        if not scope.tags:
            raise InvalidInput(
                "delete_all: give at least one of user_id, agent_id or run_id "
                "(reset() deletes everything)"
            )
        doomed = self._select(scope, None)
        gone = [m for m in doomed if self._ns.forget(m.id)]
        self._log_deleted(gone)
        return {"message": "Memories deleted successfully!"}

    def reset(self) -> None:
        """Forgets every memory of the namespace and every history entry
        (mnemo's logs keep them: forgetting is an event too)."""
        _forget_all(self._ns)
        if self._history is not None:
            _forget_all(self._history)

    # ----- reading -----

    def get(self, memory_id: Union[int, str]) -> Optional[Dict[str, Any]]:
        """The memory in mem0's shape (``id``, ``memory``, ``hash``,
        ``metadata``, ``score`` (``None``), ``created_at``, ``updated_at``,
        and ``user_id``/``agent_id``/``run_id``/``actor_id``/``role`` when
        set), or ``None`` when there is none."""
        m = self._ns.get(_memory_id(memory_id))
        return None if m is None else _result(m, score=None, with_score=True)

    def get_all(
        self,
        *,
        user_id: Optional[str] = None,
        agent_id: Optional[str] = None,
        run_id: Optional[str] = None,
        filters: Optional[Mapping[str, Any]] = None,
        top_k: Optional[int] = None,
        limit: Optional[int] = None,
    ) -> Dict[str, List[Dict[str, Any]]]:
        """The memories of a scope, oldest first, at most ``top_k`` (or
        ``limit``; default 100): ``{"results": [...]}`` in :meth:`get`'s
        shape without ``score``. ``filters`` holds scopes (mem0 2.x) and
        metadata conditions: ``{"key": value}``, ``{"key": {"gte": 3}}``
        (``eq ne in nin gt gte lt lte contains icontains``), ``{"key":
        "*"}`` (present), ``AND``/``OR``/``NOT`` lists. Without a scope,
        the whole namespace."""
        n = _pick_limit(top_k, limit, 100)
        scope = _scope(
            "get_all", {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}, filters
        )
        return {"results": [_result(m, None, False) for m in self._select(scope, n)]}

    def search(
        self,
        query: str,
        *,
        user_id: Optional[str] = None,
        agent_id: Optional[str] = None,
        run_id: Optional[str] = None,
        filters: Optional[Mapping[str, Any]] = None,
        top_k: Optional[int] = None,
        limit: Optional[int] = None,
        threshold: Optional[float] = None,
    ) -> Dict[str, List[Dict[str, Any]]]:
        """Recalls the memories that matter for ``query`` (vectors, BM25
        keywords and spreading activation, fused), best first, at most
        ``top_k`` (or ``limit``; default 100): ``{"results": [...]}`` in
        :meth:`get`'s shape with ``score``. ``filters`` as for
        :meth:`get_all`; ``threshold`` keeps hits scoring at least that
        (mnemo's fused score)."""
        if not isinstance(query, str):
            raise TypeError(f"query: expected a str, got {type(query).__name__}")
        if not query.strip():
            raise InvalidInput("query: it is empty")
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, (int, float))
        ):
            raise TypeError(f"threshold: expected a number, got {type(threshold).__name__}")
        n = _pick_limit(top_k, limit, 100)
        scope = _scope(
            "search", {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}, filters
        )
        if n == 0:
            return {"results": []}
        out: List[Dict[str, Any]] = []
        k = n if not scope.rest else min(_MAX_K, max(4 * n, 60))
        while True:
            hits = self._ns.recall(query, k, filter=scope.mnemo_filter() or None)
            out = []
            for hit in hits:
                if threshold is not None and hit.score < threshold:
                    continue
                if scope.rest and not _matches(_fields(hit.memory), scope.rest):
                    continue
                out.append(_result(hit.memory, hit.score, True))
                if len(out) == n:
                    break
            if len(out) == n or len(hits) < k or k >= _MAX_K:
                return {"results": out}
            k = min(_MAX_K, 4 * k)

    def history(self, memory_id: Union[int, str]) -> List[Dict[str, Any]]:
        """The ``ADD``, ``UPDATE`` and ``DELETE`` events this facade made to
        the memory, oldest first, in mem0's shape: ``id`` (the event's
        own id), ``memory_id``, ``old_memory``, ``new_memory``, ``event``,
        ``created_at`` (the memory's), ``updated_at`` (the event's),
        ``is_deleted``, ``actor_id``, ``role``. Works after ``delete``.
        Raises :class:`RuntimeError` when history is off."""
        if self._history is None:
            raise RuntimeError(
                "history is off for this Memory (made over a Namespace without history=, or "
                "with history=False); mnemo's log still holds every revision"
            )
        mid = _memory_id(memory_id)
        out: List[Dict[str, Any]] = []
        offset = 0
        while True:
            page = self._history.query(
                {"tags": [f"{_HISTORY_TAG}{mid}"]}, order="id", limit=_PAGE, offset=offset
            )
            for e in page:
                md = e.metadata
                out.append(
                    {
                        "id": e.id,
                        "memory_id": mid,
                        "old_memory": md.get("old_memory"),
                        "new_memory": md.get("new_memory"),
                        "event": md.get("event"),
                        "created_at": md.get("created_at"),
                        "updated_at": md.get("updated_at"),
                        "is_deleted": bool(md.get("is_deleted", False)),
                        "actor_id": md.get(_ACTOR),
                        "role": md.get(_ROLE),
                    }
                )
            offset += len(page)
            if len(page) < _PAGE or offset >= page.total:
                return out

    # ----- helpers -----

    def _get(self, mid: int) -> StoredMemory:
        m = self._ns.get(mid)
        if m is None:
            raise MemoryNotFound(f"no memory {mid}")
        return m

    def _select(self, scope: _Scope, n: Optional[int]) -> List[StoredMemory]:
        """The memories a scope selects, oldest first, at most ``n``."""
        out: List[StoredMemory] = []
        if n == 0:
            return out
        offset = 0
        flt = scope.mnemo_filter()
        while True:
            want = _PAGE if scope.rest or n is None else min(_PAGE, n - len(out))
            page = self._ns.query(flt, order="id", limit=want, offset=offset)
            for m in page:
                if scope.rest and not _matches(_fields(m), scope.rest):
                    continue
                out.append(m)
                if n is not None and len(out) == n:
                    return out
            offset += len(page)
            if len(page) < want or offset >= page.total:
                return out

    def _log(self, events: List[Dict[str, Any]]) -> None:
        if self._history is not None and events:
            self._history.remember_many(events)

    def _log_deleted(self, memories: Iterable[StoredMemory]) -> None:
        if self._history is None:
            return
        now = _iso(_now())
        self._log([_change(m, "DELETE", None, now) for m in memories])


def open_namespace(target: Any, name: str, *, cheap: bool = False) -> Namespace:
    """``target`` itself when it is a :class:`mnemo.Namespace`, else
    ``target.namespace(name)`` (a :class:`mnemo.Mnemo` or
    :class:`mnemo.Client`). ``cheap``: on an embedded engine, a namespace
    created now gets the model-free hash embedder (for entries that are
    never recalled). Shared with :mod:`mnemo.langgraph`."""
    if isinstance(target, Namespace):
        return target
    opener = getattr(target, "namespace", None)
    if opener is None:
        raise TypeError(
            "target: expected a mnemo.Mnemo, mnemo.Client or mnemo.Namespace, "
            f"got {type(target).__name__}"
        )
    from ._embedded import Mnemo

    if cheap and isinstance(target, Mnemo):
        return target.namespace(name, embedder="hash")
    ns: Namespace = opener(name)
    return ns


def _forget_all(ns: Namespace) -> None:
    while True:
        page = ns.query(None, order="id", limit=_PAGE)
        if not len(page):
            return
        for m in page:
            ns.forget(m.id)


def _timestamp(value: Union[None, datetime, date, str, int, float]) -> Union[None, datetime, date, str]:
    if value is None or isinstance(value, (datetime, date, str)):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"timestamp: expected a datetime, date, str or number, got {type(value).__name__}")
    return datetime.fromtimestamp(value, tz=timezone.utc)


def _str_field(md: Mapping[str, Any], name: str) -> Optional[str]:
    v = md.get(name)
    return v if isinstance(v, str) else None


def _event(
    memory_id: int,
    event: str,
    old: Optional[str],
    new: Optional[str],
    created_at: str,
    updated_at: str,
    actor: Optional[str],
    role: Optional[str],
) -> Dict[str, Any]:
    """A history entry to remember (keyed, so identical texts never
    merge)."""
    md: Dict[str, Scalar] = {
        "memory_id": memory_id,
        "event": event,
        "created_at": created_at,
        "updated_at": updated_at,
        "is_deleted": event == "DELETE",
    }
    if old is not None:
        md["old_memory"] = old
    if new is not None:
        md["new_memory"] = new
    if actor is not None:
        md[_ACTOR] = actor
    if role is not None:
        md[_ROLE] = role
    return {
        "content": new if new is not None else (old or event),
        "key": f"history:{uuid.uuid4().hex}",
        "tags": [f"{_HISTORY_TAG}{memory_id}"],
        "metadata": md,
    }


def _change(m: StoredMemory, event: str, new: Optional[str], when: str) -> Dict[str, Any]:
    """The history entry of an ``UPDATE`` (to ``new``) or ``DELETE`` of
    memory ``m`` as it was."""
    md = m.metadata
    return _event(
        m.id, event, m.content, new, _iso(m.recorded), when, _str_field(md, _ACTOR), _str_field(md, _ROLE)
    )


def _scopes_of(m: StoredMemory) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for tag in m.tags:
        for name, prefix in _SCOPES:
            if tag.startswith(prefix) and name not in out:
                out[name] = tag[len(prefix) :]
    return out


def _fields(m: StoredMemory) -> Dict[str, Any]:
    """What a mem0 filter sees: the metadata and the scopes."""
    fields: Dict[str, Any] = dict(m.metadata)
    fields.update(_scopes_of(m))
    return fields


def _result(m: StoredMemory, score: Optional[float], with_score: bool) -> Dict[str, Any]:
    """A memory in mem0's result shape."""
    md = m.metadata
    created = m.recorded
    updated_text = md.get(_UPDATED)
    updated = _iso(parse_time(updated_text)) if isinstance(updated_text, str) else _iso(created)
    out: Dict[str, Any] = {
        "id": m.id,
        "memory": m.content,
        "hash": hashlib.md5(m.content.encode("utf-8")).hexdigest(),
        "metadata": {k: v for k, v in md.items() if k not in _RESERVED} or None,
        "created_at": _iso(created),
        "updated_at": updated,
    }
    if with_score:
        out["score"] = score
    out.update(_scopes_of(m))
    for name in (_ACTOR, _ROLE):
        if name in md:
            out[name] = md[name]
    return out
