"""The same Namespace surface over a server: `mnemo serve` must be running.

MNEMO_URL (default http://127.0.0.1:7373) and MNEMO_TOKEN name it."""

import os

import mnemo

url = os.environ.get("MNEMO_URL", "http://127.0.0.1:7373")
with mnemo.Client(url, token=os.environ.get("MNEMO_TOKEN")) as server:
    ns = server.namespace("alice")  # the one line that differs from mnemo.Mnemo
    ns.remember("Alice moved to Lisbon in May", tags=["alice"])
    print(ns.recall("which city did alice move to", k=1)[0].memory.content)  # Alice moved to ...
