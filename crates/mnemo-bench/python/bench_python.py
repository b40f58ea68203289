"""The Python side of `mnemo-bench python` (see crates/mnemo-bench/src/python_suite.rs).

Run by the harness as `python bench_python.py MANIFEST.json OUT.json`: the
manifest names the data the harness wrote (vectors as raw little-endian
float32, texts as JSON) and the parts to run; OUT.json receives raw
measurements (per-call latencies in microseconds, totals in seconds, the
rankings of the LoCoMo questions), which the harness turns into the
suite's rows. Nothing here computes a target or a ratio.

Parts:

- `overhead`: mnemo through its Python package, the same calls the harness
  times in Rust on the same data: `remember_many` of 100 memories with
  their vectors (durable: the engine's default sync policy fsyncs each
  call), then `recall` top-10 with the query text and vector.
- `vectors`: insert throughput and top-10 query latency of mnemo
  (embedder "vectors"), chromadb (embedded PersistentClient) and lancedb
  (embedded, local directory) on the same vectors, same batches; recall@10
  of each against exact cosine neighbours computed here with numpy.
- `locomo`: per-turn add and per-question search latency and the top-k
  rankings of mnemo and mem0 (`Memory`, `infer=False`, local Qdrant) on
  the LoCoMo turns, both given the same all-MiniLM-L6-v2 vectors computed
  by the harness.

A system whose package cannot be imported is reported under `errors` and
its parts are skipped; the harness decides whether that is acceptable.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback

# Everything runs offline: no telemetry, no model downloads.
os.environ.setdefault("MEM0_TELEMETRY", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("POSTHOG_DISABLED", "1")

import numpy as np  # noqa: E402

perf_ns = time.perf_counter_ns


def log(msg: str) -> None:
    print(f"    [py] {msg}", file=sys.stderr, flush=True)


def load_f32(path: str, rows: int, dim: int) -> np.ndarray:
    a = np.fromfile(path, dtype="<f4")
    if a.size != rows * dim:
        raise ValueError(f"{path}: {a.size} floats, expected {rows} x {dim}")
    return a.reshape(rows, dim)


def load_json(path: str):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def version_of(dist: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:
        return None


def us(ns: int) -> float:
    return ns / 1000.0


def settle() -> None:
    """Before a timed loop: collects garbage, then moves every object alive
    (the harness's corpus, the systems' own state) to the collector's
    permanent generation, so collections during the loop scan only what
    the timed calls allocate, not the benchmark's data. The collector
    stays on."""
    gc.collect()
    gc.freeze()


def fresh_dir(work: str, name: str) -> str:
    d = os.path.join(work, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


# --------------------------------------------------------------------------
# mnemo through its Python package.


class MnemoSystem:
    """mnemo's Python package, on disk, with the engine's defaults."""

    def __init__(self) -> None:
        import mnemo

        self.mnemo = mnemo
        self.version = version_of("mnemo") or getattr(mnemo, "__version__", "unknown")

    def open(self, path: str, **kwargs):
        return self.mnemo.Mnemo(path, **kwargs)

    @staticmethod
    def vectors_namespace(db, name: str, dim: int):
        return db.namespace(name, embedder="vectors", dimension=dim)

    def wait_indexed(self, ns, fallback_s: float) -> str:
        """Waits until the background vector index holds every memory:
        with the package's own wait if it has one, else by sleeping
        `fallback_s` (the harness derives it from the Rust side's measured
        wait). Answers how it waited."""
        for name in ("flush_index", "wait_indexed"):
            f = getattr(ns, name, None)
            if callable(f):
                f()
                return f"Namespace.{name}()"
        time.sleep(fallback_s)
        return f"slept {fallback_s:.2f} s (the package has no call that waits for the indexer)"

    @staticmethod
    def ids_of(recall) -> list:
        return [hit.memory.id for hit in recall]


def mnemo_overhead(m: MnemoSystem, man: dict, data: dict, out: dict) -> None:
    """remember_many of `batch` memories (durable) and recall top-k with
    query text and vector: per-call latencies."""
    cfg = man["overhead"]
    batch, k = cfg["batch"], man["k"]
    vecs, texts = data["vectors"], data["texts"]
    qv, qt = data["queries"], data["query_texts"]
    n = len(texts)
    d = fresh_dir(man["work"], "mnemo-overhead")
    db = m.open(d)
    ns = m.vectors_namespace(db, "bench", vecs.shape[1])
    remember = []
    settle()
    for start in range(0, n, batch):
        items = texts[start : start + batch]
        block = vecs[start : start + batch]
        t = perf_ns()
        ids = ns.remember_many(items, vectors=block)
        remember.append(us(perf_ns() - t))
        if len(ids) != len(items):
            raise RuntimeError(f"remember_many answered {len(ids)} ids for {len(items)} items")
    t = perf_ns()
    how = m.wait_indexed(ns, man["index_wait_s"])
    index_wait = (perf_ns() - t) / 1e9
    # Warm-up queries (not timed), then every query once.
    for i in range(min(cfg["warmup_queries"], len(qt))):
        ns.recall(qt[i], k=k, vector=qv[i])
    recall, engine = [], []
    returned = 0
    settle()
    for i in range(len(qt)):
        q = qv[i]
        text = qt[i]
        t = perf_ns()
        r = ns.recall(text, k=k, vector=q)
        recall.append(us(perf_ns() - t))
        engine.append(float(sum(r.timings.values())))
        returned += len(r)
    db.close()
    shutil.rmtree(d, ignore_errors=True)
    out["overhead"] = {
        "remember_batch_us": remember,
        "recall_us": recall,
        "recall_engine_us": engine,
        "index_wait_s": index_wait,
        "index_wait": how,
        "mean_hits": returned / max(1, len(qt)),
    }


# --------------------------------------------------------------------------
# Vector stores: insert throughput and query latency on the same vectors.


def exact_top(vecs: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact cosine top-k (the vectors are unit length: dot products)."""
    out = np.empty((len(queries), k), dtype=np.int64)
    for s in range(0, len(queries), 256):
        sims = queries[s : s + 256] @ vecs.T
        part = np.argpartition(-sims, k, axis=1)[:, :k]
        rows = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-rows, axis=1, kind="stable")
        out[s : s + 256] = np.take_along_axis(part, order, axis=1)
    return out


def recall_at_k(found: list[list[int]], truth: np.ndarray, k: int) -> float:
    total = 0
    for f, t in zip(found, truth):
        total += len(set(f[:k]) & set(t[:k].tolist()))
    return total / (k * len(found)) if found else 0.0


def time_queries(query_one, qv: np.ndarray, qt: list[str], warmup: int):
    for i in range(min(warmup, len(qv))):
        query_one(qv[i], qt[i])
    settle()
    lat, found = [], []
    for i in range(len(qv)):
        q, text = qv[i], qt[i]
        t = perf_ns()
        ids = query_one(q, text)
        lat.append(us(perf_ns() - t))
        found.append(ids)
    return lat, found


VECTOR_ONLY = {
    "vector": 1.0,
    "keyword": 0.0,
    "activation": 0.0,
    "recency": 0.0,
    "importance": 0.0,
    "time": 0.0,
    "tags": 0.0,
}


def run_mnemo_vectors(m: MnemoSystem, man, data, truth):
    cfg, k = man["vectors"], man["k"]
    vecs, texts, qv, qt = data["vectors"], data["texts"], data["queries"], data["query_texts"]
    batch = cfg["batch"]
    d = fresh_dir(man["work"], "mnemo-vectors")
    db = m.open(d)
    ns = m.vectors_namespace(db, "bench", vecs.shape[1])
    row_of = {}
    settle()
    t0 = perf_ns()
    for s in range(0, len(texts), batch):
        ids = ns.remember_many(texts[s : s + batch], vectors=vecs[s : s + batch])
        for j, mid in enumerate(ids):
            row_of[mid] = s + j
    insert_s = (perf_ns() - t0) / 1e9
    how = m.wait_indexed(ns, man["index_wait_s"])

    # The peers answer the k nearest vectors; so does mnemo's recall given
    # the vector alone (no query text, so no BM25; no spreading activation;
    # every weight but the vector's zero).
    def one(q, text):
        r = ns.recall("", k=k, vector=q, spreading=False, weights=VECTOR_ONLY)
        return [row_of.get(i, -1) for i in m.ids_of(r)]

    lat, found = time_queries(one, qv, qt, cfg["warmup_queries"])

    # The same queries as mnemo's default hybrid recall (text and vector,
    # BM25 and spreading activation fused): not nearest-neighbour search,
    # so recorded beside the figure, not as it.
    def hybrid(q, text):
        return [row_of.get(i, -1) for i in m.ids_of(ns.recall(text, k=k, vector=q))]

    hybrid_lat, hybrid_found = time_queries(hybrid, qv, qt, cfg["warmup_queries"])
    db.close()
    shutil.rmtree(d, ignore_errors=True)
    return {
        "version": m.version,
        "insert_s": insert_s,
        "ready_s": None,
        "index_wait": how,
        "query_us": lat,
        "recall_at_k": recall_at_k(found, truth, k),
        "hybrid_query_us": hybrid_lat,
        "hybrid_recall_at_k": recall_at_k(hybrid_found, truth, k),
        "settings": "Mnemo(path) with the engine's defaults (sync always: each remember_many "
        "call is fsynced before it returns; dedup on; background HNSW indexer), namespace "
        "embedder=\"vectors\"; recall(\"\", k, vector=query vector, spreading=False, "
        "weights: vector 1, every other signal 0): the k nearest vectors, as the peers answer",
    }


def run_chromadb(man, data, truth):
    import chromadb

    cfg, k = man["vectors"], man["k"]
    vecs, texts, qv, qt = data["vectors"], data["texts"], data["queries"], data["query_texts"]
    batch = cfg["batch"]
    d = fresh_dir(man["work"], "chromadb")
    client = chromadb.PersistentClient(
        path=d, settings=chromadb.Settings(anonymized_telemetry=False)
    )
    col = client.create_collection(
        "bench",
        configuration={"hnsw": {"space": "cosine"}},
        embedding_function=None,
    )
    settle()
    t0 = perf_ns()
    for s in range(0, len(texts), batch):
        e = min(s + batch, len(texts))
        col.add(
            ids=[str(i) for i in range(s, e)],
            embeddings=vecs[s:e],
            documents=texts[s:e],
        )
    insert_s = (perf_ns() - t0) / 1e9

    def one(q, text):
        r = col.query(query_embeddings=q[None, :], n_results=k, include=["documents", "distances"])
        return [int(i) for i in r["ids"][0]]

    lat, found = time_queries(one, qv, qt, cfg["warmup_queries"])
    del col, client
    settle()
    shutil.rmtree(d, ignore_errors=True)
    return {
        "version": chromadb.__version__,
        "insert_s": insert_s,
        "ready_s": insert_s,
        "query_us": lat,
        "recall_at_k": recall_at_k(found, truth, k),
        "settings": "chromadb.PersistentClient(path) with default settings (telemetry off), "
        "collection with hnsw space cosine and default HNSW parameters, embeddings given; "
        "query(query_embeddings, n_results=k, include documents and distances). Its HNSW "
        "index is built during add, so ready = after the last add",
    }


def run_lancedb(man, data, truth):
    import lancedb
    import pyarrow as pa

    cfg, k = man["vectors"], man["k"]
    vecs, texts, qv, qt = data["vectors"], data["texts"], data["queries"], data["query_texts"]
    batch, dim = cfg["batch"], vecs.shape[1]
    from lancedb.index import HnswSq

    d = fresh_dir(man["work"], "lancedb")
    db = lancedb.connect(d)
    schema = pa.schema(
        [
            pa.field("id", pa.int64()),
            pa.field("text", pa.string()),
            pa.field("vector", pa.list_(pa.float32(), dim)),
        ]
    )
    tbl = db.create_table("bench", schema=schema)
    settle()
    t0 = perf_ns()
    for s in range(0, len(texts), batch):
        e = min(s + batch, len(texts))
        rb = pa.record_batch(
            [
                pa.array(np.arange(s, e, dtype=np.int64)),
                pa.array(texts[s:e], type=pa.string()),
                pa.FixedSizeListArray.from_arrays(pa.array(vecs[s:e].reshape(-1)), dim),
            ],
            schema=schema,
        )
        tbl.add(rb)
    insert_s = (perf_ns() - t0) / 1e9
    t = perf_ns()
    tbl.create_index("vector", config=HnswSq(distance_type="cosine"))
    index_s = (perf_ns() - t) / 1e9

    def one(q, text):
        rows = (
            tbl.search(q, vector_column_name="vector")
            .distance_type("cosine")
            .select(["id", "text", "_distance"])
            .limit(k)
            .to_list()
        )
        return [int(r["id"]) for r in rows]

    lat, found = time_queries(one, qv, qt, cfg["warmup_queries"])
    del tbl, db
    settle()
    shutil.rmtree(d, ignore_errors=True)
    return {
        "version": lancedb.__version__,
        "insert_s": insert_s,
        "ready_s": insert_s + index_s,
        "index_s": index_s,
        "query_us": lat,
        "recall_at_k": recall_at_k(found, truth, k),
        "settings": "lancedb.connect(local directory), one table add per batch (default "
        "settings), then create_index(vector, HnswSq(distance_type cosine), default "
        "parameters: IVF partitions with HNSW graphs over scalar-quantised vectors); "
        "search(vector).distance_type(cosine).select(id, text).limit(k).to_list()",
    }


# --------------------------------------------------------------------------
# LoCoMo: mnemo and mem0 on the same turns and vectors.


def run_mnemo_locomo(m: MnemoSystem, man, conv, turn_vecs, question_vecs):
    k = man["locomo"]["k"]
    d = fresh_dir(man["work"], "mnemo-locomo")
    db = m.open(d)
    ns = m.vectors_namespace(db, "locomo", turn_vecs.shape[1])
    turn_of, add_us = {}, []
    settle()
    for i, turn in enumerate(conv["turns"]):
        t = perf_ns()
        mid = ns.remember(
            turn["content"],
            tags=turn["tags"],
            source=turn["source"],
            at=turn["at"],
            vector=turn_vecs[i],
        )
        add_us.append(us(perf_ns() - t))
        turn_of.setdefault(mid, i)
    m.wait_indexed(ns, 0.5)
    search_us, rankings = [], []
    settle()
    for j, q in enumerate(conv["questions"]):
        t = perf_ns()
        r = ns.recall(q, k=k, vector=question_vecs[j])
        search_us.append(us(perf_ns() - t))
        rankings.append([turn_of[i] for i in m.ids_of(r) if i in turn_of])
    db.close()
    shutil.rmtree(d, ignore_errors=True)
    return add_us, search_us, rankings


class Precomputed:
    """mem0's embedder interface answering the harness's MiniLM vector of
    each text (a dictionary look-up: no model runs in Python). Texts are
    keyed with their whitespace collapsed: mem0 strips a query before it
    embeds it, and the harness computed the vector of the text as given."""

    @staticmethod
    def key(text: str) -> str:
        return " ".join(text.split())

    def __init__(self) -> None:
        from mem0.embeddings.base import EmbeddingBase

        class _Embedder(EmbeddingBase):
            def __init__(inner):
                super().__init__(None)
                inner.table = {}

            def embed(inner, text, memory_action=None):
                return inner.table[Precomputed.key(text)]

        self.embedder = _Embedder()


def mem0_config(d: str, dim: int) -> dict:
    return {
        "vector_store": {
            "provider": "qdrant",
            "config": {
                "path": os.path.join(d, "qdrant"),
                "collection_name": "locomo",
                "embedding_model_dims": dim,
            },
        },
        # Neither model is ever called: infer=False skips the LLM, and the
        # embedder is replaced by the precomputed vectors below. mem0
        # builds both clients when it starts; the OpenAI client makes no
        # request until it is used.
        "llm": {"provider": "openai", "config": {"api_key": "offline-unused"}},
        "embedder": {
            "provider": "openai",
            "config": {"api_key": "offline-unused", "embedding_dims": dim},
        },
        "history_db_path": os.path.join(d, "history.db"),
    }


def run_mem0_locomo(man, conv, turn_vecs, question_vecs):
    from mem0 import Memory

    k = man["locomo"]["k"]
    d = fresh_dir(man["work"], "mem0-locomo")
    mem = Memory.from_config(mem0_config(d, turn_vecs.shape[1]))
    pre = Precomputed().embedder
    mem.embedding_model = pre
    user = conv["id"]
    for i, turn in enumerate(conv["turns"]):
        pre.table[Precomputed.key(turn["content"])] = turn_vecs[i].tolist()
    for j, q in enumerate(conv["questions"]):
        pre.table[Precomputed.key(q)] = question_vecs[j].tolist()
    turn_of, add_us = {}, []
    settle()
    for i, turn in enumerate(conv["turns"]):
        t = perf_ns()
        r = mem.add([{"role": "user", "content": turn["content"]}], user_id=user, infer=False)
        add_us.append(us(perf_ns() - t))
        for item in r["results"]:
            turn_of.setdefault(item["id"], i)
    search_us, rankings = [], []
    settle()
    for q in conv["questions"]:
        t = perf_ns()
        r = mem.search(q, top_k=k, filters={"user_id": user})
        search_us.append(us(perf_ns() - t))
        rankings.append([turn_of[x["id"]] for x in r["results"] if x["id"] in turn_of])
    try:
        mem.vector_store.client.close()
    except Exception:
        pass
    del mem
    settle()
    shutil.rmtree(d, ignore_errors=True)
    return add_us, search_us, rankings


def mem0_notes() -> dict:
    """What mem0's own search pipeline could use here, checked in this run."""
    notes = {}
    try:
        import spacy  # noqa: F401

        notes["spacy"] = "installed"
    except Exception as e:
        notes["spacy"] = f"not available ({type(e).__name__})"
    try:
        import fastembed  # noqa: F401

        notes["fastembed"] = "installed"
    except Exception as e:
        notes["fastembed"] = f"not available ({type(e).__name__})"
    return notes


def locomo_part(man, systems, out):
    cfg = man["locomo"]
    convs = load_json(cfg["file"])
    dim = cfg["dimension"]
    nt = sum(len(c["turns"]) for c in convs)
    nq = sum(len(c["questions"]) for c in convs)
    tv = load_f32(cfg["turn_vectors"], nt, dim)
    qvv = load_f32(cfg["question_vectors"], nq, dim)
    res = {}
    for name, runner in systems:
        per = {"add_us": [], "search_us": [], "rankings": []}
        ti = qi = 0
        try:
            t0 = time.time()
            for c in convs:
                a, s, r = runner(man, c, tv[ti : ti + len(c["turns"])], qvv[qi : qi + len(c["questions"])])
                ti += len(c["turns"])
                qi += len(c["questions"])
                per["add_us"].extend(a)
                per["search_us"].extend(s)
                per["rankings"].append(r)
            log(f"locomo {name}: {time.time() - t0:.1f} s")
        except Exception as e:
            out["errors"][f"locomo/{name}"] = f"{type(e).__name__}: {e}"
            traceback.print_exc()
            continue
        res[name] = per
    out["locomo"] = res


def main() -> None:
    man = load_json(sys.argv[1])
    out_path = sys.argv[2]
    os.makedirs(man["work"], exist_ok=True)
    tempfile.tempdir = man["work"]
    os.environ["MEM0_DIR"] = os.path.join(man["work"], "mem0-home")
    out = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "versions": {},
        "errors": {},
    }
    wanted = set(man["systems"])
    mnemo_sys = None
    if "mnemo" in wanted:
        try:
            mnemo_sys = MnemoSystem()
            out["versions"]["mnemo"] = mnemo_sys.version
        except Exception as e:
            out["errors"]["mnemo"] = f"{type(e).__name__}: {e}"
    for dist in ("chromadb", "lancedb", "mem0ai", "qdrant-client", "pyarrow"):
        v = version_of(dist)
        if v:
            out["versions"][dist] = v

    parts = man["parts"]
    data = None
    if "overhead" in parts or "vectors" in parts:
        c = man["corpus"]
        n, dim, nq = c["n"], c["dimension"], c["queries"]
        data = {
            "vectors": load_f32(c["vectors"], n, dim),
            "texts": load_json(c["texts"]),
            "queries": load_f32(c["query_vectors"], nq, dim),
            "query_texts": load_json(c["query_texts"]),
        }

    if "overhead" in parts and mnemo_sys is not None:
        t = time.time()
        try:
            mnemo_overhead(mnemo_sys, man, data, out)
        except Exception as e:
            out["errors"]["overhead/mnemo"] = f"{type(e).__name__}: {e}"
            traceback.print_exc()
        log(f"overhead: {time.time() - t:.1f} s")

    if "vectors" in parts:
        t = time.time()
        truth = exact_top(data["vectors"], data["queries"], man["k"])
        log(f"exact neighbours: {time.time() - t:.1f} s")
        runners = []
        if mnemo_sys is not None:
            runners.append(("mnemo", lambda: run_mnemo_vectors(mnemo_sys, man, data, truth)))
        if "chromadb" in wanted:
            runners.append(("chromadb", lambda: run_chromadb(man, data, truth)))
        if "lancedb" in wanted:
            runners.append(("lancedb", lambda: run_lancedb(man, data, truth)))
        res = {}
        for name, f in runners:
            t = time.time()
            try:
                res[name] = f()
            except Exception as e:
                out["errors"][f"vectors/{name}"] = f"{type(e).__name__}: {e}"
                traceback.print_exc()
            log(f"vectors {name}: {time.time() - t:.1f} s")
        out["vectors"] = res

    if "locomo" in parts:
        systems = []
        if mnemo_sys is not None:
            systems.append(
                ("mnemo", lambda man, c, tv, qv: run_mnemo_locomo(mnemo_sys, man, c, tv, qv))
            )
        if "mem0" in wanted:
            systems.append(("mem0", run_mem0_locomo))
            out["mem0_pipeline"] = mem0_notes()
        locomo_part(man, systems, out)

    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
