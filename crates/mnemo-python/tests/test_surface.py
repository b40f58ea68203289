"""The whole :class:`mnemo.Namespace` surface, run against both transports:
the HTTP client of a real server (``client``) and the embedded engine
(``embedded``). Both must answer the same types and raise the same errors.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import threading
import time
from datetime import date, datetime, timedelta, timezone
from typing import Callable, Iterator, List, Tuple

import numpy as np
import pytest

import mnemo
from mnemo import errors
from mnemo.types import (
    Asserted,
    Change,
    Conflict,
    Consolidation,
    Fact,
    FactDetail,
    History,
    Link,
    MemoryDetail,
    Page,
    Pattern,
    Proof,
    Recall,
    Recorded,
    Root,
    Stats,
    StoredMemory,
    Suggestions,
    Tiers,
    parse_time,
    to_rfc3339,
)

from conftest import unique_name

UTC = timezone.utc
VECTOR_DIM = 8


@pytest.fixture(params=["client", "embedded"])
def ns(request: pytest.FixtureRequest) -> Iterator[mnemo.Namespace]:
    """A fresh namespace with the transport's default text embedder."""
    if request.param == "client":
        yield request.getfixturevalue("ns_client")
        return
    db = mnemo.Mnemo.in_memory()
    try:
        yield db.namespace(unique_name())
    finally:
        db.close()


@pytest.fixture(params=["client", "embedded"])
def vns(request: pytest.FixtureRequest) -> Iterator[Tuple[mnemo.Namespace, int]]:
    """A namespace for caller-supplied vectors and their dimension: on the
    server the namespace's own embedder's; embedded a ``"vectors"``
    namespace."""
    if request.param == "client":
        ns = request.getfixturevalue("ns_client")
        yield ns, ns.stats().dimension
        return
    db = mnemo.Mnemo.in_memory()
    try:
        yield db.namespace(unique_name(), embedder="vectors", dimension=VECTOR_DIM), VECTOR_DIM
    finally:
        db.close()


def _events(ns: mnemo.Namespace) -> int:
    return ns.stats().events


# ----- memories -----


def test_remember_and_get_every_field(ns: mnemo.Namespace) -> None:
    i = ns.remember(
        "Alice moved to Lisbon in May",
        tags=["alice", "moves"],
        source="chat",
        kind="semantic",
        metadata={"turn": 3, "lang": "en", "score": 0.5, "ok": True},
        at=datetime(2024, 5, 1, 13, 0),  # naive: taken as UTC
        key="alice-home",
        importance=0.8,
        confidence=0.9,
        valid_from=date(2024, 5, 1),
        valid_until=datetime(2025, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=2))),
    )
    assert isinstance(i, int)
    m = ns.get(i)
    assert isinstance(m, StoredMemory)
    assert m.id == i
    assert m.content == "Alice moved to Lisbon in May"
    assert m.tags == ["alice", "moves"]
    assert m.source == "chat"
    assert m.kind == "semantic"
    assert m.metadata == {"turn": 3, "lang": "en", "score": 0.5, "ok": True}
    assert m.at == datetime(2024, 5, 1, 13, 0, tzinfo=UTC)
    assert m.at.tzinfo is not None and m.at.utcoffset() == timedelta(0)
    assert m.recorded.tzinfo is not None
    assert m.key == "alice-home"
    assert m.importance == pytest.approx(0.8)
    assert m.confidence == pytest.approx(0.9)
    assert m.valid_from == datetime(2024, 5, 1, tzinfo=UTC)
    assert m.valid_until == datetime(2025, 1, 1, 0, 0, tzinfo=UTC)
    assert m.created_seq >= 1 and m.updated_seq >= m.created_seq
    # Values, not views: equal answers compare equal and hash alike.
    again = ns.get(i)
    assert again == m and hash(again) == hash(m)
    assert json.loads(json.dumps(m.to_dict()))["content"] == m.content
    assert "Alice moved" in repr(m)
    assert ns.get(i + 1000) is None


def test_remember_with_the_same_key_updates(ns: mnemo.Namespace) -> None:
    a = ns.remember("Alice lives in Paris", key="alice-home")
    b = ns.remember("Alice lives in Lisbon", key="alice-home")
    assert a == b
    m = ns.get(a)
    assert m is not None and m.content == "Alice lives in Lisbon"


def test_remember_many_is_one_append(ns: mnemo.Namespace) -> None:
    before = _events(ns)
    ids = ns.remember_many(
        [
            "Bob likes green tea",
            {"content": "Carol plays chess", "tags": ["carol"], "importance": 0.9},
            {"content": "Dan moved", "at": "2024-02-03T04:05:06.123456789Z"},
        ]
    )
    assert len(ids) == 3 and len(set(ids)) == 3
    assert _events(ns) == before + 1
    carol = ns.get(ids[1])
    assert carol is not None and carol.tags == ["carol"]
    dan = ns.get(ids[2])
    assert dan is not None and dan.at == datetime(2024, 2, 3, 4, 5, 6, 123456, tzinfo=UTC)
    assert ns.remember_many([]) == []
    assert _events(ns) == before + 1


def test_remember_many_refuses_unknown_keys_and_writes_nothing(ns: mnemo.Namespace) -> None:
    before = _events(ns)
    with pytest.raises(TypeError, match="colour"):
        ns.remember_many(["fine", {"content": "x", "colour": "red"}])
    with pytest.raises(TypeError, match="content"):
        ns.remember_many([{"tags": ["x"]}])
    with pytest.raises(TypeError, match=r"items\[1\]"):
        ns.remember_many(["fine", 42])  # type: ignore[list-item]
    with pytest.raises(errors.InvalidInput, match="content"):
        ns.remember_many(["fine", ""])
    assert _events(ns) == before
    assert ns.stats().memories == 0


def test_recall_with_filter_explain_and_graph(ns: mnemo.Namespace) -> None:
    alice = ns.remember("Alice moved to Lisbon in May", tags=["alice"])
    ns.remember("Alice started a pottery class", tags=["alice"])
    bob = ns.remember("Bob moved to Berlin", tags=["bob"], at=datetime(2020, 1, 1, tzinfo=UTC))
    r = ns.recall("where did alice move", k=5)
    assert isinstance(r, Recall)
    assert r[0].memory.id == alice
    assert len(r) == len(r.hits) >= 1
    assert [h.memory.id for h in r] == [h.memory.id for h in r.hits]
    assert isinstance(r.complete, bool)
    assert set(r.timings) == {"embed", "candidates", "spread", "fuse"}
    assert r[0].score > 0
    assert r[0].explanation is None and r.graph is None
    assert r[0].signals.keyword is not None and r[0].signals.keyword.rank >= 1

    only_bob = ns.recall("moved", k=5, filter={"tags": ["bob"]})
    assert [h.memory.id for h in only_bob] == [bob]
    before_2021 = ns.recall("moved", k=5, filter={"at_until": datetime(2021, 1, 1)})
    assert [h.memory.id for h in before_2021] == [bob]

    explained = ns.recall("alice lisbon", k=2, explain=True, graph=True, spreading=True)
    hit = explained[0]
    assert hit.explanation is not None
    assert hit.explanation.contributions
    assert hit.explanation.path and hit.explanation.path[-1].id == hit.memory.id
    assert explained.graph is not None
    assert any(n.id == hit.memory.id and n.hit for n in explained.graph.nodes)
    weighted = ns.recall(
        "alice",
        k=1,
        weights={"vector": 0.0, "keyword": 1.0},
        budget_ms=1000,
        candidates=5,
        search_width=32,
    )
    assert weighted[0].memory.tags == ["alice"]
    assert json.dumps(explained.to_dict())


def test_vectors(vns: Tuple[mnemo.Namespace, int]) -> None:
    ns, dim = vns
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((3, dim))  # float64: converted to float32
    ids = ns.remember_many(["first thing", "second thing", "third thing"], vectors=vectors)
    one = ns.remember("fourth thing", vector=rng.standard_normal(dim).astype(np.float16))
    per_item = ns.remember_many(
        [{"content": "fifth thing", "vector": rng.standard_normal(dim).tolist()}]
    )
    assert len(ids) == 3 and one not in ids and len(per_item) == 1
    hit = ns.recall("", k=1, vector=vectors[1])
    assert hit[0].memory.id == ids[1]
    before = _events(ns)
    with pytest.raises(errors.InvalidInput, match="vector"):
        ns.remember("bad shape", vector=np.ones((2, dim)))
    with pytest.raises(errors.InvalidInput, match="vector"):
        ns.remember("bad dimension", vector=np.ones(dim + 1))
    with pytest.raises(errors.InvalidInput, match="vectors"):
        ns.remember_many(["a", "b"], vectors=np.ones((3, dim)))
    with pytest.raises(errors.InvalidInput, match="vector"):
        ns.remember("not finite", vector=np.full(dim, np.nan))
    with pytest.raises(TypeError, match="vector"):
        ns.remember("not numbers", vector=["a"] * dim)
    assert _events(ns) == before


def test_query_pages(ns: mnemo.Namespace) -> None:
    ids = ns.remember_many(
        [
            {"content": f"note number {i}", "tags": ["note"], "importance": i / 10}
            for i in range(5)
        ]
        + ["something else"]
    )
    page = ns.query({"tags": ["note"]}, order="importance", descending=True, limit=2)
    assert isinstance(page, Page)
    assert page.total == 5
    assert [m.id for m in page] == [ids[4], ids[3]]
    rest = ns.query({"tags": ["note"]}, order="importance", descending=True, offset=2)
    assert [m.id for m in rest] == [ids[2], ids[1], ids[0]]
    assert ns.query().total == 6
    assert ns.query({"contains": "ELSE"})[0].id == ids[5]
    assert ns.query({"ids": [ids[0], ids[5]]}).total == 2


def test_revise_retag_forget(ns: mnemo.Namespace) -> None:
    i = ns.remember("Alice lives in Paris", tags=["alice", "old"])
    first = ns.get(i)
    assert first is not None
    revised = ns.revise(i, content="Alice lives in Lisbon", importance=0.9, metadata={"v": 2})
    assert isinstance(revised, StoredMemory)
    assert revised.content == "Alice lives in Lisbon"
    assert revised.metadata == {"v": 2}
    assert revised.updated_seq > first.updated_seq
    retagged = ns.retag(i, add=["lisbon"], remove=["old"])
    assert retagged.tags == ["alice", "lisbon"]
    assert ns.forget(i) is True
    assert ns.get(i) is None
    assert ns.forget(i) is False
    with pytest.raises(errors.NotFound):
        ns.revise(i, content="gone")


def test_purge_by_tag_source_or_all(ns: mnemo.Namespace) -> None:
    a = ns.remember("card number 4111 1111 1111 1111", tags=["pii"])
    b = ns.remember("passport X9Q2W7Z4K", tags=["pii"], source="scan")
    c = ns.remember("the plants need water", source="scan")
    d = ns.remember("lunch at noon")
    assert ns.purge(tag="pii") == [a, b]
    assert ns.get(a) is None and ns.get(b) is None
    assert ns.purge(source="scan") == [c]
    with pytest.raises(errors.InvalidInput, match="exactly one"):
        ns.purge(tag="x", source="y")
    with pytest.raises(errors.InvalidInput, match="exactly one"):
        ns.purge()
    assert ns.purge(all=True) == [d]
    assert ns.query().total == 0


def test_deadlines_expire_and_show_in_the_detail(ns: mnemo.Namespace) -> None:
    before = datetime.now(UTC)
    soon = ns.remember("the meeting room is B12", ttl_seconds=3600)
    far = datetime(2200, 1, 1, tzinfo=UTC)
    kept = ns.remember("the lease ends in 2200", expires_at=far)
    plain, listed = ns.remember_many(
        ["the user lives in Lisbon", {"content": "a listed note", "ttl_seconds": 60}]
    )
    detail = ns.get_detail(soon)
    assert detail.expires_at is not None
    assert before + timedelta(seconds=3599) <= detail.expires_at
    assert detail.expires_at <= datetime.now(UTC) + timedelta(seconds=3601)
    assert ns.get_detail(kept).expires_at == far
    assert ns.get_detail(listed).expires_at is not None
    plain_detail = ns.get_detail(plain)
    assert plain_detail.expires_at is None
    assert plain_detail.duplicate_of is None
    assert plain_detail.merged.count == 0 and plain_detail.merged.recent == []

    assert ns.set_expiry(plain, far) == far
    assert ns.get_detail(plain).expires_at == far
    assert ns.set_expiry(plain, None) is None
    assert ns.get_detail(plain).expires_at is None
    ns.set_expiry(soon, "2000-01-01T00:00:00Z")
    assert ns.get(soon) is None
    # This sweep's, or the engine's own if it came first.
    assert ns.expire_due() in ([soon], [])
    assert ns.expire_due() == []
    with pytest.raises(errors.NotFound):
        ns.set_expiry(soon, far)

    events = _events(ns)
    with pytest.raises(errors.InvalidInput, match="ttl_seconds"):
        ns.remember("both", expires_at=far, ttl_seconds=60)
    with pytest.raises(errors.InvalidInput, match="ttl_seconds"):
        ns.remember("none", ttl_seconds=0)
    with pytest.raises(errors.InvalidInput, match="expires_at"):
        ns.remember("when", expires_at="next tuesday")
    assert _events(ns) == events


def test_consolidation_tiers_and_what_hits_carry(ns: mnemo.Namespace) -> None:
    events = _events(ns)
    empty = ns.consolidate()
    assert isinstance(empty, Consolidation)
    assert (empty.considered, empty.planned, empty.created, empty.seq) == (0, 0, [], None)
    assert _events(ns) == events

    ids = ns.remember_many(
        [
            "Melanie flew to Lisbon for the tile museum",
            "Melanie walked around Lisbon and the tile museum",
            "Melanie loved the tile museum in Lisbon",
            "Caroline started a pottery class downtown",
            "Caroline glazed a bowl at the pottery class",
            "Caroline finished the pottery class course",
        ]
    )
    events = _events(ns)
    for bad, field in [
        ({"min_group": 1}, "min_group"),
        ({"similarity": 1.5}, "similarity"),
        ({"max_episodes": 0}, "max_episodes"),
        ({"max_sentences": 0}, "max_sentences"),
    ]:
        with pytest.raises(errors.InvalidInput, match=field):
            ns.consolidate(**bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="dry_run"):
        ns.consolidate(dry_run="yes")  # type: ignore[arg-type]
    dry = ns.consolidate(similarity=0.3, dry_run=True)
    assert dry.dry_run and dry.created == [] and dry.considered == 6
    assert dry.planned >= 1 and dry.groups[0].id is None
    assert _events(ns) == events

    done = ns.consolidate(similarity=0.3)
    assert done.considered == 6 and done.deferred == 0 and done.seq is not None
    assert len(done.created) == done.planned == dry.planned
    group = done.groups[0]
    assert group.id == done.created[0]
    assert len(group.sources) >= 3 and set(group.sources) <= set(ids)
    summary = ns.get_detail(group.id)
    assert summary.derived_from == group.sources
    assert summary.memory.kind == "semantic" and "consolidated" in summary.memory.tags
    source = ns.get_detail(group.sources[0])
    assert source.consolidated_into == [group.id] and source.derived_from == []
    assert source.tier == "hot"
    assert ns.consolidate(similarity=0.3).created == []

    preferred = ns.recall("tile museum Lisbon", k=20, prefer_consolidated=True)
    hit_ids = [h.memory.id for h in preferred]
    for g in done.groups:
        if g.id in hit_ids:
            assert not set(g.sources) & set(hit_ids)
    hit = ns.recall("pottery class", k=3, scan_cold=True)[0]
    assert hit.tier == "hot"
    assert isinstance(hit.strength, float)

    tiers = ns.tiers()
    assert isinstance(tiers, Tiers)
    assert (tiers.hot, tiers.warm, tiers.cold, tiers.moved) == (6 + done.planned, 0, 0, 0)
    assert tiers.budget is None and tiers.resident_bytes > 0
    assert ns.rebalance_tiers().moved == 0


def test_link_unlink(ns: mnemo.Namespace) -> None:
    a, b = ns.remember_many(["the storm", "the flood"])
    link = ns.link(a, b, "caused", 0.7)
    assert isinstance(link, Link)
    assert (link.from_id, link.to_id, link.kind) == (a, b, "caused")
    assert link.weight == pytest.approx(0.7)
    assert [lk.to_id for lk in ns.links(a).outgoing] == [b]
    assert [lk.from_id for lk in ns.links(b).incoming] == [a]
    detail = ns.get_detail(a)
    assert isinstance(detail, MemoryDetail) and detail.memory.id == a
    assert ns.unlink(a, b, "caused") is True
    assert ns.unlink(a, b, "caused") is False
    assert ns.links(a).outgoing == []
    with pytest.raises(errors.NotFound):
        ns.link(a, b + 100)


# ----- facts -----


def test_facts_conflict_and_resolution(ns: mnemo.Namespace) -> None:
    evidence = ns.remember("Alice said she lives in Lisbon now")
    t0 = datetime.now(UTC)
    time.sleep(0.01)
    paris = ns.assert_fact("alice", "lives_in", "Paris")
    assert isinstance(paris, Asserted) and paris.conflicts == []
    lisbon = ns.assert_fact("alice", "lives_in", "Lisbon", confidence=0.9, evidence=[evidence])
    assert lisbon.fact.value == "Lisbon" and lisbon.fact.evidence == [evidence]
    assert len(lisbon.conflicts) == 1
    conflict = lisbon.conflicts[0]
    assert isinstance(conflict, Conflict) and conflict.open
    assert {f.id for f in conflict.facts} == {paris.fact.id, lisbon.fact.id}
    assert [c.id for c in ns.conflicts()] == [conflict.id]
    assert ns.conflict(conflict.id) == conflict

    resolved = ns.resolve(
        conflict.id,
        accepted=[lisbon.fact.id],
        deprecated=[paris.fact.id],
        rationale="she moved",
    )
    assert not resolved.open and resolved.resolution is not None
    assert resolved.resolution.deprecated == [paris.fact.id]
    assert ns.conflicts().total == 0
    assert ns.conflicts(include_resolved=True).total == 1
    with pytest.raises(errors.Conflict):
        ns.resolve(conflict.id, accepted=[lisbon.fact.id], rationale="again")

    believed = ns.facts("alice", "lives_in")
    assert [f.object for f in believed] == ["Lisbon"]
    everything = ns.facts("alice", include_inactive=True)
    assert {f.status for f in everything} == {"believed", "deprecated"}
    assert ns.as_of(t0, "alice").total == 0
    assert ns.as_of(datetime.now(UTC), "alice").total == 1

    detail = ns.fact(paris.fact.id)
    assert isinstance(detail, FactDetail)
    assert detail.fact.status == "deprecated"
    assert [c.change for c in detail.history][0] == "asserted"
    assert "deprecated" in [c.change for c in detail.history]

    history = ns.history("alice", "lives_in")
    assert isinstance(history, History)
    assert history.verified and len(history) == 2
    assert [r.fact.object for r in history] == ["Paris", "Lisbon"]
    assert history[0].proof.verify()
    assert ns.get_detail(evidence).facts[0].id == lisbon.fact.id


def test_challenge_support_retract_quarantine(ns: mnemo.Namespace) -> None:
    m = ns.remember("Bob's badge says Acme")
    works = ns.assert_fact("bob", "works_at", "Acme").fact
    challenged = ns.challenge(works.id, "the badge may be old")
    assert challenged.fact.quarantine == "requires-witness"
    supported = ns.support(works.id, [m], note="badge photo")
    assert supported.fact.quarantine == "none" and m in supported.fact.evidence
    blocked = ns.quarantine(works.id, "blocked", "under review")
    assert blocked.fact.quarantine == "blocked"
    cleared = ns.quarantine(works.id, None, "review done")
    assert cleared.fact.quarantine == "none"
    retracted = ns.retract(works.id, "wrong person")
    assert retracted.fact.status == "retracted" and retracted.seq > cleared.seq
    assert ns.facts("bob").total == 0
    with pytest.raises(errors.Conflict):
        ns.retract(works.id, "twice")


def test_a_fact_marks_its_forgotten_evidence_erased(ns: mnemo.Namespace) -> None:
    seen = ns.remember("Carol's desk is on floor 3")
    fact = ns.assert_fact("carol", "desk_floor", "3", evidence=[seen]).fact
    assert fact.erased_evidence == []
    assert ns.forget(seen)
    after = ns.fact(fact.id)
    assert after.fact.evidence == [seen] and after.fact.erased_evidence == [seen]
    assert [c.change for c in after.history] == ["asserted"]


def test_multi_valued_predicates_do_not_conflict(ns: mnemo.Namespace) -> None:
    declared = ns.declare_predicate("speaks", "multi")
    assert declared.cardinality == "multi" and declared.seq is not None
    assert [p.predicate for p in ns.predicates()] == ["speaks"]
    ns.assert_fact("alice", "speaks", "English")
    second = ns.assert_fact("alice", "speaks", "Portuguese")
    assert second.conflicts == []
    assert ns.facts("alice", "speaks").total == 2


def test_superseding_by_validity(ns: mnemo.Namespace) -> None:
    old = ns.assert_fact("carol", "role", "engineer", valid_from=datetime(2020, 1, 1, tzinfo=UTC))
    new = ns.assert_fact("carol", "role", "manager", valid_from="2023-06-01")
    assert new.conflicts == []
    assert [f.id for f in new.superseded] == [old.fact.id]
    assert new.superseded[0].valid_until == datetime(2023, 6, 1, tzinfo=UTC)
    at_2021 = ns.facts("carol", "role", valid_at=datetime(2021, 1, 1, tzinfo=UTC))
    assert [f.object for f in at_2021] == ["engineer"]


# ----- trajectories and patterns -----


def test_trajectories_suggest_patterns(ns: mnemo.Namespace) -> None:
    for _ in range(3):
        r = ns.record_trajectory(
            "summarize the quarterly PDF report",
            executor="reader-a",
            success=True,
            latency_ms=120.0,
            cost=0.01,
            tags=["pdf"],
        )
        assert isinstance(r, Recorded)
    ns.record_trajectory(
        "summarize the quarterly PDF report", executor="reader-b", success=False, score=0.1
    )
    s = ns.suggest("summarize the quarterly PDF report", k=3)
    assert isinstance(s, Suggestions)
    assert s.executor == "reader-a" and 0 < s.confidence <= 1
    assert len(s) >= 1 and s[0].executor == "reader-a"
    patterns = ns.patterns()
    assert patterns.total >= 1
    p = ns.pattern(patterns[0].id)
    assert isinstance(p, Pattern) and p.count >= 1
    assert {e.executor for e in p.executors} <= {"reader-a", "reader-b"}
    assert ns.stats().trajectories == 4


# ----- the log -----


def test_stats_root_prove_verify(ns: mnemo.Namespace) -> None:
    i = ns.remember("a provable memory")
    stats = ns.stats()
    assert isinstance(stats, Stats) and stats.memories == 1 and stats.dimension > 0
    root = ns.root()
    assert isinstance(root, Root) and root.length == stats.events
    proof = ns.prove(i)
    assert isinstance(proof, Proof) and proof.id == i and proof.verified
    assert proof.verify()
    assert proof.verify(root.root)
    assert not proof.verify("00" * 32)
    tampered = proof.to_dict()
    frame = tampered["frame"]
    tampered["frame"] = frame[:-2] + ("00" if frame[-2:] != "00" else "01")
    assert not Proof(tampered).verify()


# ----- watch -----


def test_watch_blocking(ns: mnemo.Namespace) -> None:
    existing = ns.remember("already here", tags=["w"])
    with ns.watch({"tag": "w"}, limit=10) as w:
        first = w.next(10)
        assert isinstance(first, Change) and first.type == "current"
        assert [m.id for m in first.memories or []] == [existing]
        assert first.total == 1 and first.truncated is False
        added = ns.remember("watched", tags=["w"])
        ns.remember("not watched")
        change = w.next(10)
        assert change is not None and change.type == "added"
        assert change.memory is not None and change.memory.id == added and change.id == added
        ns.forget(added)
        removed = next(iter(w))
        assert removed.type == "removed" and removed.id == added
        assert w.next(0.05) is None
    assert w.closed
    with pytest.raises(errors.Closed):
        w.next(0.1)
    assert list(w) == []


def test_watch_ends_when_closed_from_another_thread(ns: mnemo.Namespace) -> None:
    w = ns.watch()
    seen: List[str] = []
    reader = threading.Thread(target=lambda: seen.extend(c.type for c in w))
    reader.start()
    time.sleep(0.3)
    w.close()
    reader.join(10)
    assert not reader.is_alive()
    assert seen == ["current"]


def test_watch_async(ns: mnemo.Namespace) -> None:
    async def main() -> Tuple[Change, int, Change]:
        async with ns.watch({"tag": "aw"}) as w:
            first = await asyncio.wait_for(w.__anext__(), 10)
            # The wait runs in an executor: the loop stays free to write.
            pending = asyncio.ensure_future(w.__anext__())
            await asyncio.sleep(0.05)
            added = await ns.aremember("async watched", tags=["aw"])
            change = await asyncio.wait_for(pending, 10)
        return first, added, change

    first, added, change = asyncio.run(main())
    assert first.type == "current" and first.memories == []
    assert change.type == "added" and change.id == added


# ----- async variants -----


def test_async_variants(ns: mnemo.Namespace) -> None:
    async def main() -> None:
        ids = await asyncio.gather(*(ns.aremember(f"async note {i}") for i in range(5)))
        assert len(set(ids)) == 5
        more = await ns.aremember_many(["async a", "async b"])
        recall, page, stats, got = await asyncio.gather(
            ns.arecall("async note", k=3),
            ns.aquery(limit=3),
            ns.astats(),
            ns.aget(ids[0]),
        )
        assert isinstance(recall, Recall) and len(recall) == 3
        assert isinstance(page, Page) and page.total == 7
        assert stats.memories == 7
        assert got is not None and got.id == ids[0]
        assert (await ns.arevise(ids[0], content="async revised")).content == "async revised"
        assert (await ns.aretag(ids[0], add=["x"])).tags == ["x"]
        await ns.alink(ids[0], ids[1])
        assert len((await ns.alinks(ids[0])).outgoing) == 1
        assert (await ns.aget_detail(ids[0])).memory.id == ids[0]
        assert await ns.aunlink(ids[0], ids[1])
        assert await ns.aforget(more[0])
        fact = await ns.aassert_fact("async", "is", "fine")
        assert isinstance(await ns.afact(fact.fact.id), FactDetail)
        assert (await ns.afacts("async")).total == 1
        assert (await ns.aas_of(datetime.now(UTC), "async")).total == 1
        assert len(await ns.ahistory("async", "is")) == 1
        assert (await ns.aconflicts()).total == 0
        assert (await ns.arecord_trajectory("async task", executor="e", success=True)).new_pattern
        assert (await ns.asuggest("async task")).executor == "e"
        assert (await ns.apatterns()).total == 1
        assert (await ns.aroot()).length == (await ns.astats()).events
        assert (await ns.aprove(ids[0])).verified

    asyncio.run(main())


# ----- bad input and errors -----


def test_bad_input_names_the_parameter_and_writes_nothing(ns: mnemo.Namespace) -> None:
    ns.remember("a first memory")
    before = _events(ns)
    cases: List[Tuple[Callable[[], object], str]] = [
        (lambda: ns.remember(5), "content"),  # type: ignore[arg-type]
        (lambda: ns.remember("x", tags="alice"), "tags"),
        (lambda: ns.remember("x", tags=[1]), "tags"),  # type: ignore[list-item]
        (lambda: ns.remember("x", importance="high"), "importance"),  # type: ignore[arg-type]
        (lambda: ns.remember("x", at=12345), "at"),  # type: ignore[arg-type]
        (lambda: ns.remember("x", metadata={"a": [1]}), "metadata"),  # type: ignore[dict-item]
        (lambda: ns.recall(3), "query"),  # type: ignore[arg-type]
        (lambda: ns.recall("q", k="5"), "k"),  # type: ignore[arg-type]
        (lambda: ns.recall("q", filter={"colour": "red"}), "colour"),
        (lambda: ns.recall("q", weights={"speed": 1.0}), "speed"),
        (lambda: ns.recall("q", explain="yes"), "explain"),  # type: ignore[arg-type]
        (lambda: ns.query(order=5), "order"),  # type: ignore[arg-type]
        (lambda: ns.get("1"), "id"),  # type: ignore[arg-type]
        (lambda: ns.forget(True), "id"),
        (lambda: ns.assert_fact("a", "b", 3), "value"),  # type: ignore[arg-type]
        (lambda: ns.record_trajectory("t", executor="e", success="yes"), "success"),  # type: ignore[arg-type]
        (lambda: ns.watch({"tags": "x"}), "tags"),
    ]
    for call, name in cases:
        with pytest.raises(TypeError, match=name):
            call()
    invalid: List[Tuple[Callable[[], object], str]] = [
        (lambda: ns.remember(""), "content"),
        (lambda: ns.remember("x", importance=2.0), "importance"),
        (lambda: ns.remember("x", kind="dream"), "kind"),
        (lambda: ns.remember("x", at="yesterday"), "at"),
        (lambda: ns.recall("q", k=0), "k"),
        (lambda: ns.assert_fact("", "p", "o"), "subject"),
        (lambda: ns.assert_fact("s", "p", "o", confidence=7.0), "confidence"),
        (lambda: ns.challenge(1, ""), "reason"),
        (lambda: ns.get(-1), "id"),
    ]
    for call, name in invalid:
        with pytest.raises(errors.InvalidInput, match=name) as e:
            call()
        assert isinstance(e.value, ValueError) and e.value.code
    assert _events(ns) == before


def test_errors_map_to_classes(ns: mnemo.Namespace) -> None:
    with pytest.raises(errors.NotFound) as e:
        ns.fact(987654)
    assert e.value.code == "not_found" and "987654" in str(e.value)
    with pytest.raises(errors.NotFound):
        ns.conflict(987654)
    with pytest.raises(errors.NotFound):
        ns.pattern(987654)
    with pytest.raises(errors.NotFound):
        ns.get_detail(987654)
    with pytest.raises(errors.NotFound):
        ns.prove(987654)
    with pytest.raises(errors.NotFound):
        ns.challenge(987654, "no such fact")


# ----- pure helpers (no engine) -----


def test_parse_time_reads_rfc3339_on_every_python() -> None:
    assert parse_time("2024-05-01T13:00:00Z") == datetime(2024, 5, 1, 13, tzinfo=UTC)
    assert parse_time("2024-05-01T13:00:00.123456789Z") == datetime(
        2024, 5, 1, 13, 0, 0, 123456, tzinfo=UTC
    )
    assert parse_time("2024-05-01T13:00:00.5+02:00") == datetime(
        2024, 5, 1, 11, 0, 0, 500000, tzinfo=UTC
    )
    assert parse_time("2024-05-01t13:00:00-0130") == datetime(2024, 5, 1, 14, 30, tzinfo=UTC)
    assert parse_time("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_time("2016-12-31T23:59:60Z").second == 59
    with pytest.raises(ValueError):
        parse_time("May 1st")


def test_to_rfc3339() -> None:
    assert to_rfc3339(datetime(2024, 5, 1, 13)) == "2024-05-01T13:00:00Z"
    assert to_rfc3339(datetime(2024, 5, 1, 15, tzinfo=timezone(timedelta(hours=2)))) == (
        "2024-05-01T13:00:00Z"
    )
    assert to_rfc3339(datetime(5, 1, 2, 0, 0, 0, 7, tzinfo=UTC)) == "0005-01-02T00:00:00.000007Z"
    assert to_rfc3339(date(2024, 2, 29)) == "2024-02-29T00:00:00Z"


def test_error_codes_map_to_classes() -> None:
    expected = {
        "invalid_request": errors.InvalidInput,
        "invalid_json": errors.InvalidInput,
        "payload_too_large": errors.InvalidInput,
        "unsupported_media_type": errors.InvalidInput,
        "not_found": errors.NotFound,
        "conflict": errors.Conflict,
        "unauthorized": errors.Unauthorized,
        "forbidden": errors.Forbidden,
        "internal": errors.StorageError,
        "closed": errors.Closed,
        "unavailable": errors.Unavailable,
        "timeout": errors.Unavailable,
        "rate_limited": errors.RateLimited,
    }
    for code, cls in expected.items():
        e = errors.from_code(code, f"the {code} message", 418)
        assert type(e) is cls and e.code == code and e.status == 418
        assert str(e) == f"the {code} message"
    assert type(errors.from_code("brand_new", "m", 404)) is errors.NotFound
    assert type(errors.from_code("brand_new", "m", 502)) is errors.StorageError
    assert type(errors.from_code("brand_new", "m", None)) is errors.Error
    e = errors.from_code("invalid_request", "k: between 1 and 10000", 400)
    copy = pickle.loads(pickle.dumps(e))
    assert type(copy) is errors.InvalidInput and copy.code == e.code and str(copy) == str(e)


def test_results_are_values() -> None:
    raw = {
        "hits": [
            {
                "memory": {
                    "id": 1,
                    "key": None,
                    "content": "c",
                    "kind": "episodic",
                    "tags": ["t"],
                    "source": None,
                    "metadata": {},
                    "at": "2024-05-01T13:00:00Z",
                    "recorded": "2024-05-01T13:00:01Z",
                    "valid": None,
                    "importance": 0.5,
                    "confidence": 1.0,
                    "created_seq": 1,
                    "updated_seq": 1,
                },
                "score": 1.5,
                "signals": {"keyword": {"rank": 1, "score": 2.0, "normalized": 1.0}},
                "matched_terms": ["c"],
            }
        ],
        "complete": True,
        "seeds": 1,
        "timings_us": {"embed": 1, "candidates": 2, "spread": 3, "fuse": 4},
    }
    r = Recall(raw)
    assert r == Recall(json.loads(json.dumps(raw)))
    assert r.to_dict() == raw and r.to_dict() is not raw
    hit = r[0]
    assert hit.memory.valid_from is None and hit.signals.vector is None
    assert hit.signals.keyword is not None and hit.signals.keyword.normalized == 1.0
    hit.memory.tags.append("mutated")
    assert r[0].memory.tags == ["t"]
    assert Page({"facts": [], "total": 0}, "facts", Fact) == Page(
        {"facts": [], "total": 0}, "facts", Fact
    )
    change = Change({"event": "removed", "data": {"id": 4}})
    assert change.type == "removed" and change.id == 4 and change.memory is None
    assert change.to_dict() == {"event": "removed", "data": {"id": 4}}


def test_a_malformed_proof_is_invalid_input(ns: mnemo.Namespace) -> None:
    proof = ns.prove(ns.remember("a memory to prove")).to_dict()
    proof["root"] = "not hex"
    with pytest.raises(errors.InvalidInput, match="root"):
        Proof(proof).verify()
    good = ns.prove(ns.remember("another memory")).to_dict()
    with pytest.raises(errors.InvalidInput, match="trusted_root"):
        Proof(good).verify("abc")
