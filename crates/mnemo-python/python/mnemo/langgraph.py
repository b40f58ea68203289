"""LangGraph long-term memory on mnemo: :class:`MnemoStore`, a
``langgraph.store.base.BaseStore``.

::

    import mnemo
    from mnemo.langgraph import MnemoStore

    store = MnemoStore(mnemo.Mnemo("./data"))        # or mnemo.Client(url, token)
    graph = builder.compile(store=store)

    store.put(("users", "alice"), "diet", {"text": "allergic to peanuts"})
    store.search(("users", "alice"), query="what can't she eat?")

Everything goes through the public :class:`mnemo.Namespace` API, so the
store works the same embedded and over a server, and several processes
can share one store through a server.

How items map onto mnemo
------------------------

- **One mnemo namespace per store** (``namespace=``, default
  ``"langgraph"``). LangGraph's tuple namespaces live inside it.
- **One memory per item.** Its client ``key`` is ``lg:`` + the SHA-256 of
  ``(namespace, key)``, so a ``put`` of an existing item updates that
  memory in place (same id; a revision in mnemo's log).
- The **namespace tuple** becomes tags: ``lg`` on every item,
  ``lg/a``, ``lg/a.b``, ... for each prefix of ``("a", "b", ...)`` (a
  label cannot contain ``.``, so this is unambiguous) and ``lg=a.b`` for
  the exact namespace. Prefix search and exact lookups are tag-index
  lookups, not scans.
- The **value** is kept exactly as JSON text in the metadata field
  ``lg.value`` (with ``lg.ns`` and ``lg.key``), so items round-trip;
  ``created_at`` is when mnemo recorded the memory (``recorded``, which
  revisions keep) and ``updated_at`` the store's clock at the last put
  (``lg.updated``; never before ``created_at``).
- The memory's **content** is the item's text: the ``index`` fields
  (default ``["$"]``: the whole value as JSON), joined by newlines. mnemo
  embeds it with the namespace's embedder and indexes its words (BM25),
  so ``search(query=...)`` is mnemo's recall: one vector per item (over
  the joined fields, not one per field), keywords and spreading
  activation, fused; ``SearchItem.score`` is the fused score. An item put
  with ``index=False`` (or with none of the fields) carries the tag
  ``lg:noindex`` and is left out of query searches.

Semantics
---------

- ``batch``: reads (get, search, list_namespaces) see the store as it was
  before the batch's writes, like LangGraph's ``InMemoryStore``; of
  several puts to one item the last wins. All upserts of a batch are one
  atomic mnemo write; deletes follow, one event each.
- Search filters: ``{"field": value}`` (equality; nested dicts match
  field by field, lists element by element) and ``{"field": {"$eq",
  "$ne", "$gt", "$gte", "$lt", "$lte": operand}}`` on the value's
  top-level fields. Order comparisons hold between two numbers or two
  strings; otherwise the item does not match. Filters are checked in
  Python after mnemo's tag lookup.
- Without ``query``, search lists items in the order they were first put;
  with one, best first.
- ``list_namespaces`` reads the items under the longest literal prefix of
  its conditions (every item when there is none): its cost grows with
  their number.
- **TTL**: mnemo has no expiry yet, so ``supports_ttl`` is ``False``:
  ``put(..., ttl=...)`` raises ``NotImplementedError`` (from
  ``BaseStore``), and so does a ``PutOp`` with a ``ttl`` given to
  :meth:`MnemoStore.batch`. ``refresh_ttl`` is ignored.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import warnings
from datetime import datetime, timezone
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Iterable,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypedDict,
    Union,
)

from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    get_text_at_path,
    tokenize_path,
    validate_op_namespace,
)

from .memory import open_namespace, order_holds
from .namespace import Namespace
from .types import StoredMemory, parse_time, to_rfc3339

if TYPE_CHECKING:
    from ._embedded import Mnemo
    from .client import Client

__all__ = ["MnemoStore", "MnemoIndexConfig"]

_TAG_ALL = "lg"
_TAG_NOINDEX = "lg:noindex"
_META_NS = "lg.ns"
_META_KEY = "lg.key"
_META_VALUE = "lg.value"
_META_UPDATED = "lg.updated"

#: Most memories one listing page asks for (the API's limit).
_PAGE = 1000
#: Most hits one recall asks for (the API's limit).
_MAX_K = 10_000

_OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte")


class MnemoIndexConfig(TypedDict, total=False):
    """How items become searchable text (LangGraph's ``IndexConfig``
    keys; ``dims`` and ``embed`` are accepted and unused, with a warning
    for ``embed``: the mnemo namespace embeds with its own embedder)."""

    fields: Optional[List[str]]
    """Paths whose text forms an item's content (LangGraph's path syntax:
    ``"text"``, ``"a.b"``, ``"items[*].text"``); default ``["$"]``, the
    whole value as JSON."""

    dims: int
    """Accepted for LangGraph compatibility; the namespace's dimension
    rules."""

    embed: Any
    """Accepted for LangGraph compatibility; the namespace's embedder
    rules."""


def _joined(labels: Sequence[str]) -> str:
    return ".".join(labels)


def _prefix_tag(labels: Sequence[str]) -> str:
    """The tag of every item under ``labels`` (``lg`` for the root)."""
    return f"{_TAG_ALL}/{_joined(labels)}" if labels else _TAG_ALL


def _exact_tag(namespace: Sequence[str]) -> str:
    return f"{_TAG_ALL}={_joined(namespace)}"


def _memory_key(namespace: Sequence[str], key: str) -> str:
    raw = json.dumps([list(namespace), key], ensure_ascii=False, separators=(",", ":"))
    return "lg:" + hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


# ----- filters on values -----


def _apply(value: Any, op: str, operand: Any) -> bool:
    if op == "$eq":
        return bool(value == operand)
    if op == "$ne":
        return bool(value != operand)
    if op not in _OPERATORS:
        raise ValueError(f"filter: unsupported operator {op!r} (use {', '.join(_OPERATORS)})")
    return order_holds(op[1:], value, operand)


def _satisfies(value: Any, condition: Any) -> bool:
    """Whether a value field meets one filter condition."""
    if isinstance(condition, Mapping):
        if any(str(k).startswith("$") for k in condition):
            return all(_apply(value, str(op), operand) for op, operand in condition.items())
        if not isinstance(value, Mapping):
            return False
        return all(_satisfies(value.get(k), c) for k, c in condition.items())
    if isinstance(condition, (list, tuple)):
        return (
            isinstance(value, (list, tuple))
            and len(value) == len(condition)
            and all(_satisfies(v, c) for v, c in zip(value, condition))
        )
    return bool(value == condition)


def _passes(value: Mapping[str, Any], flt: Optional[Mapping[str, Any]]) -> bool:
    return not flt or all(_satisfies(value.get(k), c) for k, c in flt.items())


# ----- namespaces -----


def _fits(condition: MatchCondition, namespace: Tuple[str, ...]) -> bool:
    path = tuple(condition.path)
    if len(namespace) < len(path):
        return False
    if condition.match_type == "prefix":
        part = namespace[: len(path)]
    elif condition.match_type == "suffix":
        part = namespace[len(namespace) - len(path) :]
    else:
        raise ValueError(f"unknown match type {condition.match_type!r} (use prefix or suffix)")
    return all(p == "*" or p == label for p, label in zip(path, part))


def _literal_prefix(conditions: Sequence[MatchCondition]) -> Tuple[str, ...]:
    """The longest wildcard-free start of the prefix conditions: every
    matching namespace starts with it."""
    best: Tuple[str, ...] = ()
    for c in conditions:
        if c.match_type != "prefix":
            continue
        literal: List[str] = []
        for label in c.path:
            if label == "*":
                break
            literal.append(label)
        if len(literal) > len(best):
            best = tuple(literal)
    return best


class MnemoStore(BaseStore):
    """A LangGraph ``BaseStore`` keeping items in a mnemo namespace (see
    the module's docstring for the mapping and the semantics).

    Args:
        target: A :class:`mnemo.Mnemo` (embedded), a :class:`mnemo.Client`
            (a server), or a :class:`mnemo.Namespace` to use as it is.
        namespace: The mnemo namespace to open on an engine or client
            (default ``"langgraph"``); ignored when ``target`` is a
            namespace. To pick its embedder, open it yourself
            (``db.namespace("lg", embedder="minilm")``) and pass that.
        index: Which fields form an item's searchable text
            (:class:`MnemoIndexConfig`, or LangGraph's ``IndexConfig``:
            its ``fields``); default the whole value. ``False``: items are
            not indexed and ``search(query=...)`` ignores the query
            (lists by filter, as stores without an index do).

    Puts may set ``index`` per item (a list of fields, or ``False``).
    """

    supports_ttl: bool = False

    __slots__ = ("_ns", "_fields")

    def __init__(
        self,
        target: Union["Mnemo", "Client", Namespace],
        *,
        namespace: str = "langgraph",
        index: Union[None, Literal[False], MnemoIndexConfig, Mapping[str, Any]] = None,
    ) -> None:
        """Opens (creating if needed) the mnemo namespace."""
        self._ns = open_namespace(target, namespace)
        self._fields: Optional[List[Tuple[str, Union[str, List[str]]]]]
        if index is False:
            self._fields = None
        else:
            config = index or {}
            if config.get("embed") is not None:
                warnings.warn(
                    "MnemoStore: index['embed'] is not used; the mnemo namespace embeds with its "
                    "own embedder (open it with db.namespace(name, embedder=...) and pass it)",
                    stacklevel=2,
                )
            self._fields = [_tokenized(p) for p in config.get("fields") or ["$"]]

    @property
    def namespace(self) -> Namespace:
        """The mnemo namespace holding the items."""
        return self._ns

    def __repr__(self) -> str:
        return f"MnemoStore({self._ns.name!r})"

    # ----- BaseStore -----

    def batch(self, ops: Iterable[Op]) -> List[Result]:
        """Runs ``ops`` in one go: one result per op, in order (an
        :class:`~langgraph.store.base.Item` or ``None`` per get, a list
        of :class:`~langgraph.store.base.SearchItem` per search, a list of
        namespace tuples per list, ``None`` per put). Reads see the store
        as it was before the batch's puts."""
        ops = list(ops)
        puts: Dict[Tuple[Tuple[str, ...], str], PutOp] = {}
        for op in ops:
            validate_op_namespace(op)
            if isinstance(op, PutOp):
                if op.ttl is not None:
                    raise NotImplementedError(
                        "TTL is not supported by MnemoStore (mnemo has no expiry yet); "
                        "put without ttl"
                    )
                puts[(tuple(op.namespace), op.key)] = op
            elif not isinstance(op, (GetOp, SearchOp, ListNamespacesOp)):
                raise ValueError(f"unknown operation type: {type(op).__name__}")
        results: List[Result] = []
        for op in ops:
            if isinstance(op, GetOp):
                m = self._find(tuple(op.namespace), op.key)
                results.append(None if m is None else _item(m))
            elif isinstance(op, SearchOp):
                results.append(list(self._search(op)))
            elif isinstance(op, ListNamespacesOp):
                results.append(self._list_namespaces(op))
            else:
                results.append(None)
        if puts:
            self._apply(list(puts.values()))
        return results

    async def abatch(self, ops: Iterable[Op]) -> List[Result]:
        """:meth:`batch`, awaitable: runs in the event loop's default
        executor (the engine and the HTTP client release the GIL), so the
        loop keeps running."""
        ops = list(ops)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.batch, ops)

    # ----- reads -----

    def _find(self, namespace: Tuple[str, ...], key: str) -> Optional[StoredMemory]:
        """The memory of item ``(namespace, key)``."""
        if not namespace:
            return None
        page = self._ns.query(
            {"tags": [_exact_tag(namespace)], "metadata": {_META_KEY: key}}, limit=1
        )
        for m in page:
            return m
        return None

    def _search(self, op: SearchOp) -> List[SearchItem]:
        prefix = tuple(op.namespace_prefix)
        limit, offset = max(op.limit, 0), max(op.offset, 0)
        if limit == 0:
            return []
        if op.query and self._fields is not None:
            return self._recall(op.query, prefix, op.filter, limit, offset)
        want = offset + limit
        found: List[SearchItem] = []
        start = 0 if op.filter else offset
        while True:
            size = _PAGE if op.filter else min(_PAGE, want - offset - len(found))
            page = self._ns.query({"tags": [_prefix_tag(prefix)]}, limit=size, offset=start)
            for m in page:
                item = _search_item(m, None)
                if _passes(item.value, op.filter):
                    found.append(item)
            start += len(page)
            done = len(found) >= (want if op.filter else limit)
            if done or len(page) < size or start >= page.total:
                break
        return found[offset : offset + limit] if op.filter else found[:limit]

    def _recall(
        self,
        query: str,
        prefix: Tuple[str, ...],
        flt: Optional[Dict[str, Any]],
        limit: int,
        offset: int,
    ) -> List[SearchItem]:
        want = offset + limit
        k = min(_MAX_K, want if not flt else max(4 * want, 40))
        search_filter = {"tags": [_prefix_tag(prefix)], "without_tags": [_TAG_NOINDEX]}
        while True:
            hits = self._ns.recall(query, k, filter=search_filter)
            found: List[SearchItem] = []
            for hit in hits:
                item = _search_item(hit.memory, float(hit.score))
                if _passes(item.value, flt):
                    found.append(item)
            if len(found) >= want or len(hits) < k or k >= _MAX_K:
                return found[offset:want]
            k = min(_MAX_K, 4 * k)

    def _list_namespaces(self, op: ListNamespacesOp) -> List[Tuple[str, ...]]:
        conditions = tuple(op.match_conditions or ())
        seen = set()
        start = 0
        tag = _prefix_tag(_literal_prefix(conditions))
        while True:
            page = self._ns.query({"tags": [tag]}, limit=_PAGE, offset=start)
            for m in page:
                ns = _namespace_of(m)
                if all(_fits(c, ns) for c in conditions):
                    seen.add(ns if op.max_depth is None else ns[: op.max_depth])
            start += len(page)
            if len(page) < _PAGE or start >= page.total:
                break
        names = sorted(seen)
        return names[op.offset : op.offset + op.limit]

    # ----- writes -----

    def _apply(self, puts: List[PutOp]) -> None:
        upserts = [p for p in puts if p.value is not None]
        deletes = [p for p in puts if p.value is None]
        if upserts:
            self._ns.remember_many([self._memory(p) for p in upserts])
        for p in deletes:
            m = self._find(tuple(p.namespace), p.key)
            if m is not None:
                self._ns.forget(m.id)

    def _memory(self, op: PutOp) -> Dict[str, Any]:
        """The ``remember`` item of a put."""
        namespace = tuple(op.namespace)
        value = dict(op.value or {})
        value_json = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        if op.index is False:
            paths: Optional[List[Tuple[str, Union[str, List[str]]]]] = None
        elif op.index is None:
            paths = self._fields
        else:
            paths = [_tokenized(p) for p in op.index]
        texts: List[str] = []
        for _, tokens in paths or ():
            texts.extend(t for t in get_text_at_path(value, tokens) if t.strip())
        tags = [_TAG_ALL, _exact_tag(namespace)]
        tags.extend(_prefix_tag(namespace[: i + 1]) for i in range(len(namespace)))
        if not texts:
            tags.append(_TAG_NOINDEX)
        return {
            "content": "\n".join(texts) if texts else value_json,
            "key": _memory_key(namespace, op.key),
            "tags": tags,
            "metadata": {
                _META_NS: _joined(namespace),
                _META_KEY: op.key,
                _META_VALUE: value_json,
                _META_UPDATED: to_rfc3339(_now()),
            },
        }


def _tokenized(path: str) -> Tuple[str, Union[str, List[str]]]:
    return (path, path) if path == "$" else (path, tokenize_path(path))


def _namespace_of(m: StoredMemory) -> Tuple[str, ...]:
    joined = m.metadata.get(_META_NS)
    return tuple(str(joined).split(".")) if joined else ()


def _fields_of(m: StoredMemory) -> Tuple[Tuple[str, ...], str, Dict[str, Any], datetime, datetime]:
    md = m.metadata
    value = json.loads(str(md.get(_META_VALUE, "{}")))
    created = m.recorded
    updated_text = md.get(_META_UPDATED)
    # The store reads its clock before the engine records a new item: a
    # new item was updated when it was created.
    updated = max(parse_time(updated_text), created) if isinstance(updated_text, str) else created
    return _namespace_of(m), str(md.get(_META_KEY, "")), value, created, updated


def _item(m: StoredMemory) -> Item:
    namespace, key, value, created, updated = _fields_of(m)
    return Item(value=value, key=key, namespace=namespace, created_at=created, updated_at=updated)


def _search_item(m: StoredMemory, score: Optional[float]) -> SearchItem:
    namespace, key, value, created, updated = _fields_of(m)
    return SearchItem(namespace, key, value, created, updated, score)
