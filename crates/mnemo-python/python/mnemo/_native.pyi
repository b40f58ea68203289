"""Type stubs of ``mnemo._native``, the Rust engine inside the package."""

from typing import Any, Dict, List, Optional, Tuple

__version__: str

class NativeError(Exception):
    """A failure of the engine: ``args`` are ``(code, message, status)``."""

class Engine:
    """A mnemo engine: the namespaces of one data directory (or of memory)."""

    def __init__(
        self,
        path: Optional[str] = None,
        *,
        embedder: str = "hash",
        model_dir: Optional[str] = None,
        sync: str = "always",
        dedup: bool = True,
        snapshot_every: Optional[int] = None,
    ) -> None: ...
    def open(
        self,
        name: str,
        embedder: Optional[str] = None,
        *,
        dimension: Optional[int] = None,
        model_dir: Optional[str] = None,
    ) -> Tuple[str, int]:
        """Opens or creates a namespace; answers its embedder's id and dimension."""
    def call(
        self,
        op: str,
        namespace: str,
        id: Optional[int] = None,
        params: Optional[Any] = None,
        body: Optional[Any] = None,
        vectors: Optional[bytes] = None,
        dimension: Optional[int] = None,
    ) -> Dict[str, Any]:
        """Runs one API operation; answers its JSON as plain Python values."""
    def watch(self, namespace: str, params: Optional[Dict[str, Any]] = None) -> Watch:
        """Starts watching a query."""
    def namespaces(self) -> List[str]:
        """Names of the namespaces."""
    def close(self) -> None:
        """Closes every namespace (idempotent)."""
    @property
    def closed(self) -> bool:
        """Whether close was called."""
    @property
    def location(self) -> str:
        """The data directory, or ``memory``."""

class Watch:
    """A watched query's changes."""

    def next(self, timeout: Optional[float] = None) -> Optional[Dict[str, Any]]:
        """The next ``{"event": name, "data": {...}}``; None on timeout."""
    def close(self) -> None:
        """Stops watching (idempotent)."""
    @property
    def closed(self) -> bool:
        """Whether the watch was closed."""

class Embedder:
    """One of the engine's text embedders (``hash``, ``minilm`` or ``minilm-q8``)."""

    def __init__(self, kind: str, model_dir: Optional[str] = None) -> None: ...
    @property
    def id(self) -> str:
        """The embedder's stable id."""
    @property
    def dimension(self) -> int:
        """The length of its vectors."""
    def embed(self, texts: List[str]) -> bytes:
        """Little-endian float32 rows, one per text."""

def verify_proof(proof: Dict[str, Any], root: Optional[str] = None) -> bool:
    """Checks a proof answer against its root (and ``root``, when given)."""
