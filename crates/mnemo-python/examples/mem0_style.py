"""The mem0-style facade: add and search, scoped by user, with no LLM."""

import mnemo

with mnemo.Mnemo.in_memory() as db:
    memory = mnemo.Memory(db)
    memory.add("I prefer window seats on long flights", user_id="alice")
    memory.add("I am allergic to peanuts", user_id="alice")
    found = memory.search("which seat does she like", user_id="alice", limit=1)
    print(found["results"][0]["memory"])  # I prefer window seats on long flights
