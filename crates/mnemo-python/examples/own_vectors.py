"""Vectors from your own embedding model: a namespace of caller vectors."""

import numpy as np

import mnemo

rng = np.random.default_rng(7)
texts = ["the invoice was paid", "the server restarted", "alice booked a flight"]
vectors = rng.standard_normal((3, 64)).astype(np.float32)  # your model's output

with mnemo.Mnemo.in_memory() as db:
    ns = db.namespace("docs", embedder="vectors", dimension=64)
    ids = ns.remember_many(texts, vectors=vectors)  # one durable append
    hits = ns.recall("flight", vector=vectors[2], k=1)
    print(hits[0].memory.content, hits[0].memory.id == ids[2])  # alice booked a flight True
