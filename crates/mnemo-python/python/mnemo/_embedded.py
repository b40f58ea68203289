"""The embedded engine: :class:`Mnemo`, mnemo running inside this Python
process on a data directory (or in memory).

Every call goes to the Rust engine through :mod:`mnemo._native`, which runs
the same code as the server's HTTP routes and releases the GIL while it
works, so threads calling one namespace run in parallel and ``asyncio``
code can await the ``a*`` variants without blocking its loop.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Dict, List, Mapping, Optional, Union

from . import _native
from ._transport import Frontend
from .errors import Error, from_code
from .namespace import Namespace

__all__ = ["Embedder", "Mnemo"]

PathLike = Union[str, "os.PathLike[str]"]


def _error(e: _native.NativeError) -> Error:
    code, message, status = e.args
    return from_code(code, message, status)


class _NativeWatch:
    """A watch stream over the native engine (see ``_transport.WatchStream``)."""

    __slots__ = ("_watch",)

    def __init__(self, watch: _native.Watch) -> None:
        self._watch = watch

    def next(self, timeout: Optional[float]) -> Optional[Dict[str, Any]]:
        try:
            return self._watch.next(timeout)
        except _native.NativeError as e:
            raise _error(e) from None

    def close(self) -> None:
        self._watch.close()


class _NativeTransport:
    """Runs API operations on the in-process engine (see ``_transport.Transport``)."""

    __slots__ = ("_engine",)

    def __init__(self, engine: _native.Engine) -> None:
        self._engine = engine

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
        data: Optional[bytes] = None
        dimension: Optional[int] = None
        if vectors is not None:
            data = vectors.tobytes()
            dimension = int(vectors.shape[1])
        try:
            answer: Dict[str, Any] = self._engine.call(
                op, namespace, id, params, body, data, dimension
            )
        except _native.NativeError as e:
            raise _error(e) from None
        return answer

    def watch(self, namespace: str, params: Mapping[str, Any]) -> _NativeWatch:
        try:
            return _NativeWatch(self._engine.watch(namespace, dict(params)))
        except _native.NativeError as e:
            raise _error(e) from None

    def namespaces(self) -> List[str]:
        try:
            return self._engine.namespaces()
        except _native.NativeError as e:
            raise _error(e) from None

    def close(self) -> None:
        try:
            self._engine.close()
        except _native.NativeError as e:
            raise _error(e) from None


class Mnemo(Frontend):
    """A mnemo engine in this process: the namespaces of one data directory.

    ``Mnemo(path)`` opens (creating if needed) the engine in ``path``;
    :meth:`in_memory` keeps everything in memory (tests, scratch work).
    Every write is an event in the namespace's append-only, checksummed,
    Merkle-hashed log and, with the default ``sync="always"``, durable
    (fsync) before the call returns. A data directory is locked by the
    first process that opens a namespace in it.

    Args:
        path: The data directory.
        embedder: How namespaces created without an ``embedder`` of their
            own turn text into vectors: ``"hash"`` (feature hashing, no
            model, the default), ``"minilm-q8"`` or ``"minilm"``
            (all-MiniLM-L6-v2 with int8 or f32 weights, from
            ``model_dir``, else ``MNEMO_MODEL_DIR`` or the places
            ``scripts/fetch-model`` fills). A stored namespace opened
            without one keeps the built-in embedder it was built with.
        model_dir: The all-MiniLM-L6-v2 directory (``model.safetensors`` and
            ``tokenizer.json``).
        sync: When writes reach the disk: ``"always"`` (each call returns
            once durable), ``"never"`` (the OS decides; ``close`` syncs),
            ``"every:N"`` (every N events) or ``"interval:MS"``.
        dedup: Whether identical content in a namespace is stored once
            (remembering it again answers the existing id).
        snapshot_every: Events between background snapshots (default
            50,000), which make reopening fast.

    Use it as a context manager, or call :meth:`close`, so the last
    snapshot is written; the data is safe either way.

    >>> import mnemo
    >>> with mnemo.Mnemo.in_memory() as db:
    ...     ns = db.namespace("alice")
    ...     _ = ns.remember("Alice moved to Lisbon in May", tags=["alice"])
    ...     ns.recall("where does alice live", k=1)[0].memory.content
    'Alice moved to Lisbon in May'
    """

    _transport: _NativeTransport

    def __init__(
        self,
        path: Optional[PathLike],
        *,
        embedder: str = "hash",
        model_dir: Optional[PathLike] = None,
        sync: str = "always",
        dedup: bool = True,
        snapshot_every: Optional[int] = None,
    ) -> None:
        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path: expected a str or os.PathLike, got {type(path).__name__}")
        if not isinstance(embedder, str):
            raise TypeError(f"embedder: expected a str, got {type(embedder).__name__}")
        if not isinstance(sync, str):
            raise TypeError(f"sync: expected a str, got {type(sync).__name__}")
        if not isinstance(dedup, bool):
            raise TypeError(f"dedup: expected a bool, got {type(dedup).__name__}")
        if snapshot_every is not None and (
            isinstance(snapshot_every, bool) or not isinstance(snapshot_every, int)
        ):
            raise TypeError(
                f"snapshot_every: expected an int, got {type(snapshot_every).__name__}"
            )
        if snapshot_every is not None and snapshot_every < 0:
            raise ValueError("snapshot_every: must be >= 0")
        try:
            engine = _native.Engine(
                None if path is None else os.fspath(path),
                embedder=embedder,
                model_dir=None if model_dir is None else os.fspath(model_dir),
                sync=sync,
                dedup=dedup,
                snapshot_every=snapshot_every,
            )
        except _native.NativeError as e:
            raise _error(e) from None
        self._engine = engine
        self._transport = _NativeTransport(engine)
        self._lock = threading.Lock()
        self._namespaces: Dict[str, Namespace] = {}

    @classmethod
    def in_memory(
        cls,
        *,
        embedder: str = "hash",
        model_dir: Optional[PathLike] = None,
        dedup: bool = True,
    ) -> "Mnemo":
        """An engine that keeps everything in memory (gone when closed)."""
        return cls(None, embedder=embedder, model_dir=model_dir, dedup=dedup)

    def namespace(
        self,
        name: str,
        *,
        embedder: Optional[str] = None,
        dimension: Optional[int] = None,
        model_dir: Optional[PathLike] = None,
    ) -> Namespace:
        """The namespace ``name``, opened (replaying its log) or created.

        Args:
            name: 1 to 64 of ``a-z A-Z 0-9 - _ .``, not starting with ``.``.
            embedder: ``"hash"``, ``"minilm-q8"``, ``"minilm"`` or ``"vectors"`` (every
                memory and every recall brings its own vector, from any
                model: numpy ``float32`` arrays); default the engine's. A
                namespace keeps the embedder it was built with and refuses
                another (:class:`mnemo.errors.Conflict`).
            dimension: The vectors' length, with ``embedder="vectors"`` only.
            model_dir: The all-MiniLM-L6-v2 directory for ``"minilm"`` and
                ``"minilm-q8"``.
        """
        if not isinstance(name, str):
            raise TypeError(f"name: expected a str, got {type(name).__name__}")
        if embedder is not None and not isinstance(embedder, str):
            raise TypeError(f"embedder: expected a str, got {type(embedder).__name__}")
        if dimension is not None and (isinstance(dimension, bool) or not isinstance(dimension, int)):
            raise TypeError(f"dimension: expected an int, got {type(dimension).__name__}")
        try:
            self._engine.open(
                name,
                embedder,
                dimension=dimension,
                model_dir=None if model_dir is None else os.fspath(model_dir),
            )
        except _native.NativeError as e:
            raise _error(e) from None
        with self._lock:
            ns = self._namespaces.get(name)
            if ns is None:
                ns = Namespace(self._transport, name)
                self._namespaces[name] = ns
            return ns

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return bool(self._engine.closed)

    @property
    def location(self) -> str:
        """The data directory, or ``"memory"``."""
        return str(self._engine.location)

    def _where(self) -> str:
        return self.location


class Embedder:
    """One of the engine's own text embedders, for vectors in Python.

    ``Embedder("minilm").embed(["a sentence"])`` answers a ``(1, 384)``
    ``float32`` numpy array of unit-length rows: the vectors a ``"minilm"``
    namespace stores. Models load once per process and are shared.

    Args:
        kind: ``"hash"``, ``"minilm"`` or ``"minilm-q8"``.
        model_dir: The all-MiniLM-L6-v2 directory (default: where
            ``scripts/fetch-model`` puts it, or ``MNEMO_MODEL_DIR``).
    """

    __slots__ = ("_inner",)

    def __init__(self, kind: str = "minilm", *, model_dir: Optional[PathLike] = None) -> None:
        if not isinstance(kind, str):
            raise TypeError(f"kind: expected a str, got {type(kind).__name__}")
        try:
            self._inner = _native.Embedder(
                kind, None if model_dir is None else os.fspath(model_dir)
            )
        except _native.NativeError as e:
            raise _error(e) from None

    @property
    def id(self) -> str:
        """The embedder's stable id (``hash-v1``, ``minilm-l6-v2``, ``minilm-l6-v2-q8``)."""
        return self._inner.id

    @property
    def dimension(self) -> int:
        """The length of its vectors."""
        return self._inner.dimension

    def embed(self, texts: "List[str] | str") -> Any:
        """The vectors of ``texts`` (one string or a list of them): a
        ``(len(texts), dimension)`` ``float32`` numpy array."""
        import numpy as np

        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise TypeError("texts: expected a str or a list of str")
        try:
            data = self._inner.embed(texts)
        except _native.NativeError as e:
            raise _error(e) from None
        return np.frombuffer(data, dtype="<f4").reshape(len(texts), self.dimension)

    def __repr__(self) -> str:
        return f"Embedder(id={self.id!r}, dimension={self.dimension})"
