"""The README's first Python example: remember, recall with signals, prove."""

import mnemo

with mnemo.Mnemo("./mnemo-data") as db:  # or mnemo.Mnemo.in_memory()
    ns = db.namespace("alice")
    ns.remember("Alice moved to Lisbon in May", tags=["alice"], source="chat")
    ns.remember("Alice started a pottery class", tags=["alice"], source="chat")
    hit = ns.recall("which city did alice move to", k=1)[0]
    print(hit.memory.content)  # Alice moved to Lisbon in May
    print(hit.signals)  # Signals(vector=Signal(rank=1, ...), keyword=Signal(rank=1, ...), ...)
    print(ns.prove(hit.memory.id).verify())  # True: a Merkle proof of what was stored
