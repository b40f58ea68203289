"""Typed results: thin views over the API's JSON answers.

Every result class wraps the JSON-shaped dict an engine answered (the
same dict the server's ``/v1`` API sends) and converts fields when they
are read, so building one costs O(1) whatever its size: recall builds one
:class:`Hit` per hit on the hot path. The wrapped dict is kept, not
copied; :meth:`to_dict` answers a plain, JSON-able copy.

Times are timezone-aware :class:`datetime.datetime` objects in UTC.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import (
    Any,
    Callable,
    ClassVar,
    Dict,
    Generic,
    Iterator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    overload,
)

__all__ = [
    "parse_time",
    "to_rfc3339",
    "StoredMemory",
    "Signal",
    "Signals",
    "PathStep",
    "Explanation",
    "Hit",
    "GraphNode",
    "GraphEdge",
    "Graph",
    "Recall",
    "Page",
    "Link",
    "Links",
    "DuplicateOf",
    "MergedWrite",
    "Merged",
    "MemoryDetail",
    "ConsolidationGroup",
    "Consolidation",
    "Tiers",
    "Fact",
    "FactChange",
    "FactDetail",
    "EventProof",
    "HistoryRecord",
    "History",
    "FactChanged",
    "Predicate",
    "Challenge",
    "Resolution",
    "Conflict",
    "Asserted",
    "Suggestion",
    "Suggestions",
    "ExecutorStats",
    "Pattern",
    "Recorded",
    "Pruned",
    "Consolidated",
    "Refined",
    "Stats",
    "Root",
    "Proof",
    "Change",
]

T = TypeVar("T")
R = TypeVar("R", bound="_Record")

# ----- times -----

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(?:([Zz])|([+-])(\d{2}):?(\d{2}))?"
)


def parse_time(text: str) -> datetime:
    """An RFC 3339 time (``2024-05-01T13:00:00Z``, any number of fraction
    digits, ``Z`` or an offset; a bare date is its midnight; no offset
    means UTC) as a timezone-aware UTC :class:`~datetime.datetime`.

    Works the same on every Python version (``datetime.fromisoformat``
    before 3.11 refuses ``Z`` and most fraction lengths). Fractions beyond
    microseconds are cut; a leap second (``:60``) reads as ``:59``.
    Raises :class:`ValueError` for anything else.
    """
    m = _RFC3339.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second, frac, _z, sign, oh, om = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    dt = datetime(
        int(year),
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        min(int(second or 0), 59),
        micro,
        tzinfo=timezone.utc,
    )
    if sign is not None:
        offset = timedelta(hours=int(oh), minutes=int(om))
        dt = dt - offset if sign == "+" else dt + offset
    return dt


def to_rfc3339(value: Union[datetime, date]) -> str:
    """``value`` as an RFC 3339 UTC string with ``Z``
    (``2024-05-01T13:00:00Z``, microseconds when there are any).

    An aware datetime is converted to UTC; a naive one is taken as UTC
    already; a :class:`~datetime.date` is its midnight UTC.
    """
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            value = value.astimezone(timezone.utc)
        text = (
            f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
            f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
        )
        if value.microsecond:
            text += f".{value.microsecond:06d}"
        return text + "Z"
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}T00:00:00Z"


def _opt_time(text: Optional[str]) -> Optional[datetime]:
    return None if text is None else parse_time(text)


# ----- the base and its field descriptors -----


def _plain(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts and lists copied, scalars
    kept)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class _Field(Generic[T]):
    """A field read as it is (``None`` when absent)."""

    def __init__(self, key: str, doc: str) -> None:
        self.key = key
        self.__doc__ = doc

    @overload
    def __get__(self, obj: None, owner: Any) -> _Field[T]: ...

    @overload
    def __get__(self, obj: _Record, owner: Any) -> T: ...

    def __get__(self, obj: Optional[_Record], owner: Any) -> Any:
        if obj is None:
            return self
        return self.read(obj._d.get(self.key))

    def read(self, raw: Any) -> Any:
        """The value answered for the stored ``raw`` one."""
        return raw


class _List(_Field[List[T]]):
    """A list field, copied (empty when absent)."""

    def read(self, raw: Any) -> Any:
        return list(raw) if raw is not None else []


class _Time(_Field[datetime]):
    """A time field (RFC 3339 text) as a UTC datetime."""

    def read(self, raw: Any) -> Any:
        return parse_time(raw)


class _OptTime(_Field[Optional[datetime]]):
    """An optional time field as a UTC datetime or ``None``."""

    def read(self, raw: Any) -> Any:
        return _opt_time(raw)


class _Window(_Field[Optional[datetime]]):
    """One end (``from`` or ``until``) of a validity window field
    (``{"from": ..., "until": ...}`` or null) as a UTC datetime or
    ``None`` when open."""

    def __init__(self, key: str, end: str, doc: str) -> None:
        super().__init__(key, doc)
        self.end = end

    def read(self, raw: Any) -> Any:
        return None if raw is None else _opt_time(raw.get(self.end))


class _Record:
    """A view over one JSON-shaped answer dict."""

    __slots__ = ("_d",)
    _repr: ClassVar[Tuple[str, ...]] = ()

    def __init__(self, data: Mapping[str, Any]) -> None:
        """Wraps ``data`` (an answer dict of the API's shape; kept, not
        copied)."""
        self._d = data

    def to_dict(self) -> Dict[str, Any]:
        """A plain, JSON-able copy of the answer (the API's field names)."""
        out: Dict[str, Any] = _plain(self._d)
        return out

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _Record)
        return self._d == other._d


    def __repr__(self) -> str:
        parts = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._repr)
        return f"{type(self).__name__}({parts})"


def _records(cls: Callable[[Any], R], items: Optional[Sequence[Any]]) -> List[R]:
    return [cls(x) for x in items or ()]


class _Listing(_Record, Sequence[T]):
    """A record that is also a sequence of the items under one key of its
    answer, wrapped on first use."""

    __slots__ = ("_items",)
    _key: ClassVar[str] = ""

    def __init__(self, data: Mapping[str, Any]) -> None:
        """Wraps a listing answer (kept, not copied)."""
        self._d = data
        self._items: Optional[List[T]] = None

    def _make(self, raw: Any) -> T:
        raise NotImplementedError

    def _all(self) -> List[T]:
        if self._items is None:
            self._items = [self._make(x) for x in self._d.get(self._key) or ()]
        return self._items

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> List[T]: ...

    def __getitem__(self, index: Union[int, slice]) -> Union[T, List[T]]:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[T]:
        return iter(self._all())


# ----- memories -----


class StoredMemory(_Record):
    """A memory as the namespace holds it (the API's ``MemoryOut``).

    Two memories are equal when every field is; a memory hashes by its
    ``id`` and ``updated_seq`` (its version).
    """

    __slots__ = ()
    _repr = ("id", "content", "kind", "tags", "at")

    id = _Field[int]("id", "Assigned by the namespace.")
    key = _Field[Optional[str]]("key", "The caller's key, if one was given.")
    content = _Field[str]("content", "The text.")
    kind = _Field[str]("kind", "``episodic``, ``semantic`` or ``procedural``.")
    tags = _List[str]("tags", "Tags, sorted.")
    source = _Field[Optional[str]]("source", "Where it came from.")
    at = _Time("at", "When it happened (UTC).")
    recorded = _Time("recorded", "When the namespace recorded it (UTC).")
    valid_from = _Window("valid", "from", "First moment its content holds; ``None`` when open.")
    valid_until = _Window(
        "valid", "until", "First moment its content no longer holds; ``None`` when open."
    )
    importance = _Field[float]("importance", "How much it matters, in [0, 1].")
    confidence = _Field[float]("confidence", "How sure the writer was, in [0, 1].")
    created_seq = _Field[int]("created_seq", "Log seq of the event that created it.")
    updated_seq = _Field[int](
        "updated_seq", "Log seq of the event that last changed it (what a proof proves)."
    )

    @property
    def metadata(self) -> Dict[str, Union[str, int, float, bool]]:
        """Free-form scalar fields (a copy)."""
        return dict(self._d.get("metadata") or {})

    def __hash__(self) -> int:
        return hash((self._d["id"], self._d["updated_seq"]))


class Signal(NamedTuple):
    """One signal's view of a hit."""

    rank: int
    """Rank in that signal's list, from 1."""
    score: float
    """The signal's own score."""
    normalized: float
    """The score scaled to [0, 1] over the signal's list."""


def _signal(raw: Optional[Mapping[str, Any]]) -> Optional[Signal]:
    if raw is None:
        return None
    return Signal(raw["rank"], raw["score"], raw["normalized"])


class Signals(_Record):
    """Where each signal ranked a hit; ``None`` for a signal that did not
    find it."""

    __slots__ = ()
    _repr = ("vector", "keyword", "activation")

    @property
    def vector(self) -> Optional[Signal]:
        """Vector similarity."""
        return _signal(self._d.get("vector"))

    @property
    def keyword(self) -> Optional[Signal]:
        """BM25 keywords."""
        return _signal(self._d.get("keyword"))

    @property
    def activation(self) -> Optional[Signal]:
        """Spreading activation."""
        return _signal(self._d.get("activation"))


class PathStep(NamedTuple):
    """One step of an activation path."""

    id: int
    """The memory."""
    via: Optional[str]
    """The edge it was reached over (``link``, ``temporal``, ``vector``,
    ``keyword``); ``None`` for the seed."""


class Explanation(_Record):
    """Why a hit scored what it did (recall with ``explain``)."""

    __slots__ = ()
    _repr = ("contributions", "path")

    @property
    def contributions(self) -> Dict[str, float]:
        """Each signal's share of the score, by signal name."""
        return dict(self._d.get("contributions") or {})

    @property
    def path(self) -> List[PathStep]:
        """The strongest activation path from a seed to the hit."""
        return [PathStep(s["id"], s.get("via")) for s in self._d.get("path") or ()]


class Hit(_Record):
    """A recalled memory, its fused score and why."""

    __slots__ = ("_memory",)
    _repr = ("memory", "score")

    def __init__(self, data: Mapping[str, Any]) -> None:
        """Wraps one hit of a recall answer (kept, not copied)."""
        self._d = data
        self._memory: Optional[StoredMemory] = None

    @property
    def memory(self) -> StoredMemory:
        """The memory."""
        if self._memory is None:
            self._memory = StoredMemory(self._d["memory"])
        return self._memory

    score = _Field[float]("score", "Fused score (higher is better).")
    matched_terms = _List[str]("matched_terms", "Query words found in it (stemmed).")
    tier = _Field[str](
        "tier",
        "Where its vector lives: ``hot`` (in the vector index), ``warm`` (one byte "
        "per component) or ``cold`` (only in the log).",
    )
    strength = _Field[Optional[float]](
        "strength",
        "Strength from use now (ACT-R base-level activation over its write and touches).",
    )

    @property
    def signals(self) -> Signals:
        """Where each signal ranked it."""
        return Signals(self._d.get("signals") or {})

    @property
    def explanation(self) -> Optional[Explanation]:
        """The score's parts and the activation path (recall with
        ``explain``); ``None`` otherwise."""
        e = self._d.get("explanation")
        return None if e is None else Explanation(e)


class GraphNode(NamedTuple):
    """A memory of a recall's activation graph."""

    id: int
    """The memory."""
    content: str
    """Its text (first 200 characters)."""
    hit: bool
    """Whether it is one of the hits."""
    rank: Optional[int]
    """Its rank among the hits, from 1."""
    score: Optional[float]
    """Its fused score, for hits."""
    seed: bool
    """Whether activation started here."""


class GraphEdge(NamedTuple):
    """An edge activation crossed."""

    from_id: int
    """From this memory."""
    to_id: int
    """To this one."""
    via: str
    """Over what (``link``, ``temporal``, ``vector``, ``keyword``)."""


class Graph(_Record):
    """The part of the association graph a recall's activation used."""

    __slots__ = ()
    _repr = ("nodes", "edges")

    @property
    def nodes(self) -> List[GraphNode]:
        """Memories."""
        return [
            GraphNode(n["id"], n["content"], n["hit"], n.get("rank"), n.get("score"), n["seed"])
            for n in self._d.get("nodes") or ()
        ]

    @property
    def edges(self) -> List[GraphEdge]:
        """Edges crossed."""
        return [GraphEdge(e["from"], e["to"], e["via"]) for e in self._d.get("edges") or ()]


class Recall(_Listing[Hit]):
    """What recall found: a sequence of :class:`Hit`, best first."""

    __slots__ = ()
    _repr = ("hits", "complete")
    _key = "hits"

    def _make(self, raw: Any) -> Hit:
        return Hit(raw)

    @property
    def hits(self) -> List[Hit]:
        """The hits, best first."""
        return list(self._all())

    complete = _Field[bool]("complete", "False when the time budget ran out first.")
    seeds = _Field[int]("seeds", "Seeds activation started from.")

    @property
    def timings(self) -> Dict[str, int]:
        """Microseconds per stage: ``embed``, ``candidates``, ``spread``,
        ``fuse``."""
        return dict(self._d.get("timings_us") or {})

    @property
    def time_hint(self) -> Optional[Tuple[Optional[datetime], Optional[datetime]]]:
        """The period ``[from, until)`` a date in the query named, if any
        (an open end is ``None``)."""
        h = self._d.get("time_hint")
        if h is None:
            return None
        return (_opt_time(h.get("from")), _opt_time(h.get("until")))

    @property
    def graph(self) -> Optional[Graph]:
        """The activation graph (recall with ``graph``); ``None``
        otherwise."""
        g = self._d.get("graph")
        return None if g is None else Graph(g)


class Page(_Listing[T]):
    """One page of a listing (memories, facts, conflicts or patterns): a
    sequence of its items and the ``total`` that match."""

    __slots__ = ("_items_key", "_factory")
    _repr = ("items", "total")

    def __init__(self, data: Mapping[str, Any], key: str, make: Callable[[Any], T]) -> None:
        """Wraps a listing answer whose items are ``data[key]``, each
        wrapped by ``make``."""
        super().__init__(data)
        self._items_key = key
        self._factory = make

    def _all(self) -> List[T]:
        if self._items is None:
            self._items = [self._factory(x) for x in self._d.get(self._items_key) or ()]
        return self._items

    @property
    def items(self) -> List[T]:
        """The items of this page."""
        return list(self._all())

    total = _Field[int]("total", "How many match in all (ignoring offset and limit).")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Page):
            return NotImplemented
        return self._items_key == other._items_key and self._d == other._d



class Link(_Record):
    """A link between two memories."""

    __slots__ = ()
    _repr = ("from_id", "to_id", "kind", "weight")

    from_id = _Field[int]("from", "Where it starts (the API's ``from``).")
    to_id = _Field[int]("to", "Where it ends (the API's ``to``).")
    kind = _Field[str]("kind", "What kind of association.")
    weight = _Field[float]("weight", "Strength in [0, 1].")


class Links(_Record):
    """A memory's links, both ways."""

    __slots__ = ()
    _repr = ("outgoing", "incoming")

    @property
    def outgoing(self) -> List[Link]:
        """Links starting at it."""
        return _records(Link, self._d.get("outgoing"))

    @property
    def incoming(self) -> List[Link]:
        """Links ending at it."""
        return _records(Link, self._d.get("incoming"))


class DuplicateOf(_Record):
    """The memory another one repeats, and how alike they are (a server
    whose ``[lifecycle]`` has ``duplicates = "flag"``)."""

    __slots__ = ()
    _repr = ("id", "vector_similarity", "text_similarity")

    id = _Field[int]("id", "The memory it repeats.")
    vector_similarity = _Field[float]("vector_similarity", "Cosine of their vectors.")
    text_similarity = _Field[float]("text_similarity", "Jaccard similarity of their word sets.")


class MergedWrite(_Record):
    """One near-duplicate write merged into a memory."""

    __slots__ = ()
    _repr = ("source", "at")

    source = _Field[Optional[str]]("source", "The write's source.")
    at = _Time("at", "When it was written (UTC).")


class Merged(_Record):
    """The near-duplicate writes merged into a memory (a server whose
    ``[lifecycle]`` has ``duplicates = "merge"``)."""

    __slots__ = ()
    _repr = ("count", "recent")

    count = _Field[int]("count", "How many writes were merged into it.")

    @property
    def recent(self) -> List[MergedWrite]:
        """The most recent ones (at most 16), oldest first."""
        return _records(MergedWrite, self._d.get("recent"))


class MemoryDetail(_Record):
    """One memory with its links and the facts citing it."""

    __slots__ = ()
    _repr = ("memory", "links", "facts")

    @property
    def memory(self) -> StoredMemory:
        """The memory."""
        return StoredMemory(self._d["memory"])

    @property
    def links(self) -> Links:
        """Its links."""
        return Links(self._d.get("links") or {})

    @property
    def facts(self) -> List[Fact]:
        """Facts citing it as evidence."""
        return _records(Fact, self._d.get("facts"))

    strength = _Field[float](
        "strength",
        "Strength from use now (ACT-R base-level activation over its write and touches).",
    )
    touches = _Field[int]("touches", "Times it was touched (used) since it was written.")
    expires_at = _OptTime(
        "expires_at", "When it expires (UTC), or ``None`` if it has no deadline."
    )

    @property
    def duplicate_of(self) -> Optional[DuplicateOf]:
        """The memory it was flagged as a near-duplicate of, or ``None``."""
        d = self._d.get("duplicate_of")
        return None if d is None else DuplicateOf(d)

    @property
    def merged(self) -> Merged:
        """The near-duplicate writes merged into it."""
        return Merged(self._d.get("merged") or {"count": 0, "recent": []})

    tier = _Field[str](
        "tier", "Where its vector lives: ``hot``, ``warm`` or ``cold``."
    )
    derived_from = _List[int](
        "derived_from",
        "The memories it was consolidated from (its provenance), ascending; empty "
        "unless a consolidation wrote it.",
    )
    consolidated_into = _List[int](
        "consolidated_into", "The consolidated memories written from it, ascending."
    )


# ----- lifecycle -----


class ConsolidationGroup(_Record):
    """One group a consolidation planned, and the memory written for it."""

    __slots__ = ()
    _repr = ("id", "sources")

    id = _Field[Optional[int]](
        "id",
        "The consolidated memory written for it (``None`` for a dry run or a group "
        "left for a later run).",
    )
    sources = _List[int]("sources", "The memories it summarises, ascending.")
    content = _Field[str]("content", "The extractive summary.")
    entities = _List[str]("entities", "Entities two or more sources name.")
    dates = _List[str]("dates", "Dates the sources name, then the days they span.")
    cohesion = _Field[float]("cohesion", "How tight the group is, in [-1, 1].")


class Consolidation(_Record):
    """What a consolidation did (:meth:`mnemo.Namespace.consolidate`)."""

    __slots__ = ()
    _repr = ("considered", "planned", "created", "deferred")

    considered = _Field[int]("considered", "Memories considered.")
    planned = _Field[int]("planned", "Groups planned (written, or left for a later run).")
    created = _List[int]("created", "The consolidated memories written, ascending.")
    deferred = _Field[int]("deferred", "Groups left for a later run.")
    dry_run = _Field[bool]("dry_run", "Whether nothing was written.")
    seq = _Field[Optional[int]](
        "seq", "Log seq of the ``derive`` event, or ``None`` when nothing was written."
    )
    took_ms = _Field[float]("took_ms", "Milliseconds it took.")

    @property
    def groups(self) -> List[ConsolidationGroup]:
        """Every group written (or, for a dry run, planned), with its sources."""
        return _records(ConsolidationGroup, self._d.get("groups"))


class Tiers(_Record):
    """Where a namespace's memories are: hot, warm and cold counts, the
    bytes their vectors keep in memory and the budget."""

    __slots__ = ()
    _repr = ("hot", "warm", "cold", "moved", "budget")

    hot = _Field[int]("hot", "Memories whose vector is in the vector index.")
    warm = _Field[int]("warm", "Memories whose vector is kept as one byte per component.")
    cold = _Field[int]("cold", "Memories whose vector is only in the log.")
    moved = _Field[int]("moved", "Memories this call moved (0 for a report).")
    resident_bytes = _Field[int]("resident_bytes", "Bytes of vectors kept in memory.")
    budget = _Field[Optional[int]](
        "budget", "The budget for them, or ``None``: every vector stays hot."
    )


# ----- facts -----


class Fact(_Record):
    """A fact: ``subject predicate object`` with its standing (the API's
    ``FactOut``)."""

    __slots__ = ()
    _repr = ("id", "subject", "predicate", "object", "status")

    id = _Field[int]("id", "The fact's id.")
    subject = _Field[str]("subject", "What it is about.")
    predicate = _Field[str]("predicate", "The property.")
    object = _Field[str]("object", "The value (the API's ``object``).")
    value = _Field[str]("object", "The value: the same as :attr:`object`.")
    context = _Field[str]("context", "The context it holds in (``default`` unless named).")
    confidence = _Field[float]("confidence", "How sure the writer was, in [0, 1].")
    valid_from = _Window("valid", "from", "First moment it holds; ``None`` when open.")
    valid_until = _Window(
        "valid", "until", "First moment it no longer holds (after supersession); ``None`` when open."
    )
    status = _Field[str]("status", "``believed``, ``deprecated`` or ``retracted``.")
    quarantine = _Field[str](
        "quarantine", "``none``, ``conservative``, ``requires-witness`` or ``blocked``."
    )
    evidence = _List[int]("evidence", "Ids of the memories supporting it.")
    erased_evidence = _List[int](
        "erased_evidence",
        "Those of :attr:`evidence` forgotten since (their content is erased; "
        "the ids stay in the evidence and the history).",
    )
    superseded_by = _Field[Optional[int]]("superseded_by", "The fact that replaced it, if any.")
    conflicts = _List[int]("conflicts", "Ids of the conflicts it takes part in.")
    seq = _Field[int]("seq", "Log seq of the event that asserted it.")
    recorded = _Time("recorded", "When it was recorded (UTC).")


class FactChange(_Record):
    """One entry of a fact's history: what changed, by which event, when.

    ``change`` names it (``asserted``, ``superseded``,
    ``conflict_opened``, ``conflict_closed``, ``deprecated``,
    ``challenged``, ``supported``, ``quarantined``, ``retracted``);
    :attr:`data` holds the fields that depend on it (``by``, ``until``,
    ``conflict``, ``with``, ``reason``, ``rationale``, ``evidence``,
    ``note``, ``level``).
    """

    __slots__ = ()
    _repr = ("change", "seq", "data")

    change = _Field[str]("change", "What changed.")
    seq = _Field[int]("seq", "Log seq of the event.")
    recorded = _Time("recorded", "When the namespace recorded it (UTC).")
    reason = _Field[Optional[str]]("reason", "Why, for changes that carry a reason.")

    @property
    def data(self) -> Dict[str, Any]:
        """The change's own fields (all but ``change``, ``seq`` and
        ``recorded``)."""
        return {
            k: _plain(v) for k, v in self._d.items() if k not in ("change", "seq", "recorded")
        }


class FactDetail(_Record):
    """A fact with what it was asserted as and its whole history."""

    __slots__ = ()
    _repr = ("fact", "history")

    @property
    def fact(self) -> Fact:
        """The fact as it stands."""
        return Fact(self._d["fact"])

    asserted_valid_from = _Window(
        "asserted_valid", "from", "Start of the window it was asserted with."
    )
    asserted_valid_until = _Window(
        "asserted_valid", "until", "End of the window it was asserted with."
    )
    asserted_evidence = _List[int]("asserted_evidence", "The evidence it was asserted with.")
    supersedes = _List[int]("supersedes", "Facts whose windows its assertion closed.")

    @property
    def history(self) -> List[FactChange]:
        """Every change, oldest first."""
        return _records(FactChange, self._d.get("history"))


class EventProof(_Record):
    """A Merkle inclusion proof of one event of a namespace's log."""

    __slots__ = ()
    _repr: ClassVar[Tuple[str, ...]] = ("seq", "length", "root")

    seq = _Field[int]("seq", "Seq of the event (its leaf index).")
    frame = _Field[str]("frame", "The event's log record frame, the leaf's data (hex).")
    path = _List[str]("path", "The audit path: sibling hashes from the leaf up (hex).")
    length = _Field[int]("length", "Leaves under the root.")
    root = _Field[str]("root", "The root the proof leads to (hex).")

    def verify(self, root: Optional[str] = None) -> bool:
        """Checks the proof on this machine: the frame hashes up the path
        to the proof's root and, when ``root`` (a trusted root's hex, from
        :meth:`mnemo.Namespace.root` kept earlier) is given, to that root.
        Returns ``False`` for a tampered proof; raises
        :class:`mnemo.errors.InvalidInput` for one that is not even shaped
        like a proof (hex that is not hex, a hash of the wrong length)."""
        from . import _native
        from .errors import from_code

        # The native check reads the `proof` operation's answer; `id` and
        # `verified` (absent from a history record's proof) do not enter it.
        proof = {"id": 0, "verified": False, **self.to_dict()}
        try:
            return bool(_native.verify_proof(proof, root))
        except _native.NativeError as e:
            code, message, status = e.args
            raise from_code(code, message, status) from None


class HistoryRecord(FactDetail):
    """One fact of a timeline with the proof of the event that asserted
    it."""

    __slots__ = ()
    _repr = ("fact", "verified")

    @property
    def proof(self) -> EventProof:
        """The Merkle proof of its assert event."""
        return EventProof(self._d["proof"])

    verified = _Field[bool]("verified", "Whether the engine checked the proof against its root.")


class History(_Listing[HistoryRecord]):
    """The whole timeline of a subject's predicate in every context: a
    sequence of :class:`HistoryRecord`, oldest first."""

    __slots__ = ()
    _repr = ("subject", "predicate", "verified", "records")
    _key = "records"

    subject = _Field[str]("subject", "The subject.")
    predicate = _Field[str]("predicate", "The predicate.")
    verified = _Field[bool]("verified", "Whether every record's proof verified.")

    @property
    def records(self) -> List[HistoryRecord]:
        """Every fact (any status), oldest first."""
        return list(self._all())

    def _make(self, raw: Any) -> HistoryRecord:
        return HistoryRecord(raw)


class FactChanged(_Record):
    """A fact after a challenge, support, retraction or quarantine."""

    __slots__ = ()
    _repr = ("seq", "fact")

    seq = _Field[int]("seq", "Log seq of the event.")

    @property
    def fact(self) -> Fact:
        """The fact as it is now."""
        return Fact(self._d["fact"])


class Predicate(_Record):
    """A declared predicate."""

    __slots__ = ()
    _repr = ("predicate", "cardinality")

    predicate = _Field[str]("predicate", "The predicate.")
    cardinality = _Field[str]("cardinality", "``single`` or ``multi``.")
    seq = _Field[Optional[int]]("seq", "Log seq of the declaration (only after declaring).")


class Challenge(NamedTuple):
    """A challenge made to one of a conflict's facts while it was open."""

    fact: int
    """The fact challenged."""
    reason: str
    """Why."""
    seq: int
    """Log seq of the challenge."""


class Resolution(_Record):
    """How a conflict was resolved."""

    __slots__ = ()
    _repr = ("accepted", "deprecated", "rationale")

    accepted = _List[int]("accepted", "Facts kept.")
    deprecated = _List[int]("deprecated", "Facts deprecated.")
    rationale = _Field[str]("rationale", "Why.")
    automatic = _Field[bool](
        "automatic", "True when it closed because a fact was deprecated or retracted elsewhere."
    )
    seq = _Field[int]("seq", "Log seq of the resolving event.")
    recorded = _Time("recorded", "When it was recorded (UTC).")


class Conflict(_Record):
    """Two believed facts of one ``(context, subject, predicate)`` that
    contradict each other."""

    __slots__ = ()
    _repr = ("id", "state", "subject", "predicate", "facts")

    id = _Field[int]("id", "The conflict's id.")
    state = _Field[str]("state", "``detected``, ``challenged`` or ``resolved``.")
    open = _Field[bool]("open", "Whether it is not resolved yet.")
    context = _Field[str]("context", "The facts' context.")
    subject = _Field[str]("subject", "The facts' subject.")
    predicate = _Field[str]("predicate", "The facts' predicate.")
    reason = _Field[str]("reason", "Why they contradict.")
    seq = _Field[int]("seq", "Log seq of the assert event that opened it.")
    recorded = _Time("recorded", "When it was opened (UTC).")

    @property
    def facts(self) -> List[Fact]:
        """The older fact and the newer one, as they are now."""
        return _records(Fact, self._d.get("facts"))

    @property
    def challenges(self) -> List[Challenge]:
        """Challenges made to its facts while it was open."""
        return [Challenge(c["fact"], c["reason"], c["seq"]) for c in self._d.get("challenges") or ()]

    @property
    def resolution(self) -> Optional[Resolution]:
        """How it was resolved, once it is."""
        r = self._d.get("resolution")
        return None if r is None else Resolution(r)


class Asserted(_Record):
    """What asserting a fact did."""

    __slots__ = ()
    _repr = ("fact", "superseded", "conflicts")

    seq = _Field[int]("seq", "Log seq of the assert event.")

    @property
    def fact(self) -> Fact:
        """The new fact."""
        return Fact(self._d["fact"])

    @property
    def superseded(self) -> List[Fact]:
        """Believed facts whose validity windows it closed, as they are
        now."""
        return _records(Fact, self._d.get("superseded"))

    @property
    def conflicts(self) -> List[Conflict]:
        """Conflicts it opened with believed facts it contradicts."""
        return _records(Conflict, self._d.get("conflicts"))


# ----- patterns -----


class Suggestion(_Record):
    """A learned pattern ranked for a task."""

    __slots__ = ()
    _repr = ("pattern", "score", "executor")

    pattern = _Field[int]("pattern", "The pattern's id.")
    similarity = _Field[float]("similarity", "Cosine between the task and the pattern's centroid.")
    quality = _Field[float]("quality", "The pattern's quality, in [0, 1].")
    score = _Field[float]("score", "``max(similarity, 0) * quality``: the ranking key.")
    count = _Field[int]("count", "Trajectories in the pattern.")
    executor = _Field[Optional[str]]("executor", "The pattern's best executor.")
    executor_success_rate = _Field[float](
        "executor_success_rate", "That executor's smoothed success rate in the pattern."
    )
    evidence = _List[int](
        "evidence", "Up to 5 of that executor's latest trajectories in the pattern, newest first."
    )


class Suggestions(_Listing[Suggestion]):
    """The executor recommended for a task, and the ranked patterns behind
    it (a sequence of :class:`Suggestion`, best first)."""

    __slots__ = ()
    _repr = ("executor", "confidence", "suggestions")
    _key = "suggestions"

    executor = _Field[Optional[str]](
        "executor", "The recommended executor; ``None`` without evidence."
    )
    confidence = _Field[float](
        "confidence", "Its pooled success rate shrunk towards 0 on thin evidence, in [0, 1]."
    )

    @property
    def suggestions(self) -> List[Suggestion]:
        """The top patterns by score, best first."""
        return list(self._all())

    def _make(self, raw: Any) -> Suggestion:
        return Suggestion(raw)


class ExecutorStats(_Record):
    """One executor's record inside a pattern."""

    __slots__ = ()
    _repr = ("executor", "count", "successes")

    executor = _Field[str]("executor", "The executor.")
    count = _Field[int]("count", "Trajectories it carried out in the pattern.")
    successes = _Field[int]("successes", "How many succeeded.")
    smoothed_success = _Field[float](
        "smoothed_success", "Laplace-smoothed success rate ``(successes + 1) / (count + 2)``."
    )
    mean_score = _Field[float]("mean_score", "Mean score.")
    mean_latency_ms = _Field[float]("mean_latency_ms", "Mean latency in milliseconds.")
    mean_cost = _Field[float]("mean_cost", "Mean cost.")


class Pattern(_Record):
    """A learned pattern: a cluster of similar tasks and how they went."""

    __slots__ = ()
    _repr = ("id", "count", "quality", "best_executor")

    id = _Field[int]("id", "The pattern's id.")
    count = _Field[int]("count", "Trajectories in it.")
    success_rate = _Field[float]("success_rate", "Share that succeeded.")
    mean_score = _Field[float]("mean_score", "Mean score.")
    mean_latency_ms = _Field[float]("mean_latency_ms", "Mean latency in milliseconds.")
    mean_cost = _Field[float]("mean_cost", "Mean cost.")
    quality = _Field[float]("quality", "``0.75 * (s + 1)/(n + 2) + 0.25 * mean_score``.")
    best_executor = _Field[Optional[str]](
        "best_executor", "The executor with the highest smoothed success rate."
    )
    last_used = _Time("last_used", "When its newest trajectory happened (UTC).")
    created_seq = _Field[int]("created_seq", "Log seq of the event that created it.")
    dimension = _Field[int]("dimension", "Its centroid's dimension.")

    @property
    def executors(self) -> List[ExecutorStats]:
        """Statistics per executor, by name."""
        return _records(ExecutorStats, self._d.get("executors"))


class Recorded(_Record):
    """What recording a trajectory did."""

    __slots__ = ()
    _repr = ("trajectory", "pattern", "new_pattern")

    trajectory = _Field[int]("trajectory", "The trajectory's id.")
    pattern = _Field[int]("pattern", "The pattern it joined or started.")
    new_pattern = _Field[bool]("new_pattern", "Whether it started that pattern.")
    refined = _Field[bool]("refined", "Whether a refinement of all patterns followed it.")
    seq = _Field[int]("seq", "Log seq of its event.")


class Pruned(_Record):
    """What pruning patterns removed."""

    __slots__ = ()
    _repr = ("pruned", "patterns")

    pruned = _List[int]("pruned", "The patterns removed (with their trajectories).")
    patterns = _Field[int]("patterns", "Patterns left.")


class Consolidated(_Record):
    """What consolidating patterns merged."""

    __slots__ = ()
    _repr = ("merges", "patterns")

    patterns = _Field[int]("patterns", "Patterns left.")

    @property
    def merges(self) -> List[Tuple[int, int]]:
        """The merges, in order: ``(kept, absorbed)`` pattern ids."""
        return [(m["kept"], m["absorbed"]) for m in self._d.get("merges") or ()]


class Refined(_Record):
    """What re-clustering the patterns did."""

    __slots__ = ()
    _repr = ("patterns_before", "patterns_after")

    seq = _Field[int]("seq", "Log seq of the refinement event.")
    patterns_before = _Field[int]("patterns_before", "Patterns before.")
    patterns_after = _Field[int]("patterns_after", "Patterns after.")


# ----- the namespace -----


class Stats(_Record):
    """Counts and sizes of a namespace."""

    __slots__ = ()
    _repr = ("namespace", "memories", "facts", "events", "embedder", "dimension")

    namespace = _Field[str]("namespace", "The namespace.")
    memories = _Field[int]("memories", "Live memories.")
    links = _Field[int]("links", "Links.")
    facts = _Field[int]("facts", "Facts (any status).")
    open_conflicts = _Field[int]("open_conflicts", "Conflicts not yet resolved.")
    patterns = _Field[int]("patterns", "Learned patterns.")
    trajectories = _Field[int]("trajectories", "Trajectories in the patterns.")
    tags = _Field[int]("tags", "Distinct tags.")
    sources = _Field[int]("sources", "Distinct sources.")
    vectors = _Field[int]("vectors", "Vectors indexed.")
    events = _Field[int]("events", "Events in the log (every write adds one).")
    log_bytes = _Field[int]("log_bytes", "Bytes of log segments.")
    watchers = _Field[int]("watchers", "Open watchers.")
    embedder = _Field[str]("embedder", "The embedder's id.")
    dimension = _Field[int]("dimension", "Its dimension (what vectors must have).")
    snapshot_seq = _Field[Optional[int]]("snapshot_seq", "Seq of the newest snapshot, if any.")


class Root(_Record):
    """The Merkle root of a namespace's log."""

    __slots__ = ()
    _repr = ("root", "length")

    root = _Field[str]("root", "The root hash (hex).")
    length = _Field[int]("length", "Events it covers.")


class Proof(EventProof):
    """A Merkle inclusion proof of the event that last wrote a memory;
    :meth:`verify` checks it on this machine."""

    __slots__ = ()
    _repr = ("id", "seq", "length", "root", "verified")

    id = _Field[int]("id", "The memory.")
    verified = _Field[bool]("verified", "Whether the engine checked it against its current root.")


class Change(_Record):
    """One event of a watch.

    ``type`` is ``current`` (the matching memories: :attr:`memories`,
    :attr:`total`, :attr:`truncated`; first, and again after ``lagged``),
    ``added`` or ``changed`` (:attr:`memory`), ``removed`` (:attr:`id`)
    or ``lagged`` (the watcher fell behind; a fresh ``current`` follows).
    Fields an event does not carry are ``None``.
    """

    __slots__ = ("_type",)
    _repr = ("type", "id")

    def __init__(self, data: Mapping[str, Any], type: Optional[str] = None) -> None:
        """Wraps an event: either ``{"event": name, "data": {...}}`` (what
        a transport's watch stream yields), or the ``data`` dict and its
        ``type``."""
        if type is None:
            self._type = str(data["event"])
            self._d = data.get("data") or {}
        else:
            self._type = type
            self._d = data

    @property
    def type(self) -> str:
        """``current``, ``added``, ``changed``, ``removed`` or
        ``lagged``."""
        return self._type

    @property
    def memory(self) -> Optional[StoredMemory]:
        """The memory added or changed."""
        m = self._d.get("memory")
        return None if m is None else StoredMemory(m)

    @property
    def memories(self) -> Optional[List[StoredMemory]]:
        """The memories matching now (``current``): at most the watch's
        limit, in id order."""
        ms = self._d.get("memories")
        return None if ms is None else _records(StoredMemory, ms)

    @property
    def id(self) -> Optional[int]:
        """The memory that stopped matching (``removed``), or the memory
        of ``added`` and ``changed``."""
        if "id" in self._d:
            return int(self._d["id"])
        m = self._d.get("memory")
        return None if m is None else int(m["id"])

    total = _Field[Optional[int]]("total", "How many match in all (``current``).")
    truncated = _Field[Optional[bool]](
        "truncated", "Whether the limit cut :attr:`memories` (``current``)."
    )

    def to_dict(self) -> Dict[str, Any]:
        """``{"event": type, "data": {...}}``, plain and JSON-able."""
        return {"event": self._type, "data": _plain(self._d)}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Change):
            return NotImplemented
        return self._type == other._type and self._d == other._d

