"""mnemo: a memory engine for AI agents.

Agents write what happens to them; mnemo keeps every write as an event in
an append-only, checksummed, Merkle-hashed log, folds the events into
memories, links, facts and learned patterns, and recalls what matters
through vector search, BM25 keywords and spreading activation.

- :class:`Mnemo`: the engine embedded in this process (a data directory,
  or :meth:`Mnemo.in_memory`).
- :class:`Client`: the same surface over a ``mnemo serve`` server's HTTP
  API; moving between the two is a one-line change.
- :class:`Namespace`: what both hand out: ``remember``, ``recall``,
  ``query``, facts, trajectories, proofs, ``watch``, and ``a*`` awaitable
  variants of every call.
- :class:`Memory`: a mem0-style facade (``add``, ``search``, ...) without
  an LLM; :mod:`mnemo.langgraph` holds a LangGraph ``BaseStore``.
- :mod:`mnemo.errors`: :class:`Error` and its subclasses (``mnemo.Conflict``
  is the error; the conflict record is :class:`mnemo.types.Conflict`).
- :mod:`mnemo.types`: the typed results (``StoredMemory``, ``Hit``,
  ``Recall``, ``Fact``, ``Proof``, ...).
"""

from . import errors, types
from ._embedded import Embedder, Mnemo
from .client import Client
from .errors import (
    Closed,
    Conflict,
    ConnectionFailed,
    Error,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    StorageError,
    Unauthorized,
    Unavailable,
)
from .memory import Memory
from .namespace import Namespace

__version__ = "0.1.0"

__all__ = [
    "Client",
    "Closed",
    "Conflict",
    "ConnectionFailed",
    "Embedder",
    "Error",
    "Forbidden",
    "InvalidInput",
    "Memory",
    "Mnemo",
    "Namespace",
    "NotFound",
    "RateLimited",
    "StorageError",
    "Unauthorized",
    "Unavailable",
    "__version__",
    "errors",
    "types",
]
