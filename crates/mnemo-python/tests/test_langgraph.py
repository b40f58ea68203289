"""``mnemo.langgraph.MnemoStore``: LangGraph's ``BaseStore`` contract
(get, put, update, delete, search by filter and by query, pagination,
list_namespaces, batch and abatch, TTL refusal), a real ``StateGraph``
using it, run against the HTTP client of a real server and the embedded
engine.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, TypedDict

import pytest

pytest.importorskip("langgraph")

from langgraph.graph import END, START, StateGraph  # noqa: E402
from langgraph.runtime import Runtime  # noqa: E402
from langgraph.store.base import (  # noqa: E402
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchItem,
    SearchOp,
)

import mnemo  # noqa: E402
from mnemo.langgraph import MnemoStore  # noqa: E402

from conftest import unique_name  # noqa: E402
from test_memory import CLOCK_SLACK, target  # noqa: E402,F401  (target: the fixture)


@pytest.fixture()
def store(target: Any) -> MnemoStore:
    """A store on a fresh mnemo namespace."""
    return MnemoStore(target, namespace=unique_name("lg"))


VALUE: Dict[str, Any] = {
    "text": "Alice is allergic to peanuts",
    "n": 3,
    "ratio": 0.25,
    "ok": True,
    "none": None,
    "tags": ["food", "health", 7],
    "nested": {"a": {"b": [1, 2, {"c": "déjà vu ✓"}]}},
}


def _aware(t: datetime) -> bool:
    return t.tzinfo is not None and t.utcoffset() is not None


# ----- put, get, update, delete -----


def test_put_then_get_round_trips_the_value_exactly(store: MnemoStore) -> None:
    before = datetime.now(timezone.utc) - CLOCK_SLACK
    store.put(("users", "alice"), "profile", VALUE)
    item = store.get(("users", "alice"), "profile")
    assert isinstance(item, Item)
    assert item.value == VALUE
    assert item.key == "profile"
    assert item.namespace == ("users", "alice")
    assert _aware(item.created_at) and _aware(item.updated_at)
    assert before <= item.created_at <= item.updated_at <= datetime.now(timezone.utc)
    # The store's copy is not the caller's dict.
    item.value["n"] = 99
    again = store.get(("users", "alice"), "profile")
    assert again is not None and again.value["n"] == 3


def test_get_of_a_missing_item_is_none(store: MnemoStore) -> None:
    store.put(("users", "alice"), "profile", {"x": 1})
    assert store.get(("users", "alice"), "other") is None
    assert store.get(("users", "bob"), "profile") is None
    assert store.get(("users",), "profile") is None


def test_put_again_updates_in_place(store: MnemoStore) -> None:
    store.put(("docs",), "d", {"text": "first draft", "v": 1})
    first = store.get(("docs",), "d")
    store.put(("docs",), "d", {"text": "second draft", "v": 2})
    second = store.get(("docs",), "d")
    assert first is not None and second is not None
    assert second.value == {"text": "second draft", "v": 2}
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at
    # One memory, revised: the same mnemo id holds it.
    assert store.namespace.stats().memories == 1
    hits = store.search(("docs",), query="second draft")
    assert [h.value["v"] for h in hits] == [2]


def test_delete_removes_the_item_and_deleting_again_is_harmless(store: MnemoStore) -> None:
    store.put(("docs",), "a", {"text": "keep"})
    store.put(("docs",), "b", {"text": "drop"})
    store.delete(("docs",), "b")
    assert store.get(("docs",), "b") is None
    assert store.get(("docs",), "a") is not None
    store.delete(("docs",), "b")
    store.delete(("nowhere",), "x")
    assert [i.key for i in store.search(("docs",))] == ["a"]
    # A put after a delete brings the item back.
    store.put(("docs",), "b", {"text": "back"})
    back = store.get(("docs",), "b")
    assert back is not None and back.value == {"text": "back"}


def test_same_key_in_different_namespaces_are_different_items(store: MnemoStore) -> None:
    store.put(("a",), "k", {"where": "a"})
    store.put(("a", "b"), "k", {"where": "a.b"})
    store.put(("a", "b", "c"), "k", {"where": "a.b.c"})
    store.put(("x",), "a", {"where": "x"})
    odd = "key with spaces, dots. and / slashes ✓"
    store.put(("a",), odd, {"where": "odd"})
    for ns, where in [(("a",), "a"), (("a", "b"), "a.b"), (("a", "b", "c"), "a.b.c")]:
        item = store.get(ns, "k")
        assert item is not None and item.value == {"where": where}
    odd_item = store.get(("a",), odd)
    assert odd_item is not None and odd_item.key == odd


def test_store_over_a_namespace_object(target: Any) -> None:
    ns = target.namespace(unique_name("lg"))
    store = MnemoStore(ns)
    assert store.namespace is ns
    store.put(("n",), "k", {"v": 1})
    assert MnemoStore(ns).get(("n",), "k") is not None
    with pytest.raises(TypeError):
        MnemoStore(object())  # type: ignore[arg-type]


def test_invalid_namespaces_are_refused(store: MnemoStore) -> None:
    with pytest.raises(InvalidNamespaceError):
        store.put(("a.b",), "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        store.put((), "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        store.batch([GetOp(("a.b",), "k")])


def test_ttl_is_refused(store: MnemoStore) -> None:
    assert MnemoStore.supports_ttl is False
    with pytest.raises(NotImplementedError):
        store.put(("a",), "k", {"v": 1}, ttl=5.0)
    with pytest.raises(NotImplementedError):
        store.batch([PutOp(("a",), "k", {"v": 1}, ttl=5.0)])
    assert store.get(("a",), "k") is None
    # ttl=None is the no-expiry every item has.
    store.put(("a",), "k", {"v": 1}, ttl=None)
    assert store.get(("a",), "k") is not None


# ----- search -----


def _fill(store: MnemoStore) -> None:
    rows = [
        (("docs", "alice"), "1", {"text": "red apples and pears", "score": 1, "color": "red"}),
        (("docs", "alice"), "2", {"text": "green grapes", "score": 5, "color": "green"}),
        (("docs", "bob"), "3", {"text": "a red bicycle", "score": 3, "color": "red"}),
        (("docs", "bob"), "4", {"text": "blue whales sing", "score": 4.5, "color": "blue"}),
        (("notes",), "5", {"text": "red wine from Porto", "score": 2, "color": "red"}),
    ]
    for ns, key, value in rows:
        store.put(ns, key, value)


def test_search_lists_a_prefix_in_put_order(store: MnemoStore) -> None:
    _fill(store)
    everything = store.search((), limit=100)
    assert [i.key for i in everything] == ["1", "2", "3", "4", "5"]
    assert all(isinstance(i, SearchItem) and i.score is None for i in everything)
    assert [i.key for i in store.search(("docs",))] == ["1", "2", "3", "4"]
    assert [i.key for i in store.search(("docs", "bob"))] == ["3", "4"]
    assert store.search(("docs", "carol")) == []
    # A prefix is whole labels: ("doc",) is not a prefix of ("docs", ...).
    assert store.search(("doc",)) == []


def test_search_pages_with_offset_and_limit(store: MnemoStore) -> None:
    _fill(store)
    assert [i.key for i in store.search((), limit=2)] == ["1", "2"]
    assert [i.key for i in store.search((), limit=2, offset=2)] == ["3", "4"]
    assert [i.key for i in store.search((), limit=2, offset=4)] == ["5"]
    assert store.search((), limit=2, offset=10) == []
    assert store.search((), limit=0) == []


def test_search_filters_on_value_fields(store: MnemoStore) -> None:
    _fill(store)

    def keys(flt: Dict[str, Any], prefix: tuple = ()) -> List[str]:  # type: ignore[type-arg]
        return [i.key for i in store.search(prefix, filter=flt, limit=100)]

    assert keys({"color": "red"}) == ["1", "3", "5"]
    assert keys({"color": {"$eq": "red"}}) == ["1", "3", "5"]
    assert keys({"color": {"$ne": "red"}}) == ["2", "4"]
    assert keys({"score": {"$gt": 3}}) == ["2", "4"]
    assert keys({"score": {"$gte": 3}}) == ["2", "3", "4"]
    assert keys({"score": {"$lt": 3}}) == ["1", "5"]
    assert keys({"score": {"$lte": 3}}) == ["1", "3", "5"]
    assert keys({"score": {"$gt": 1, "$lt": 5}}) == ["3", "4", "5"]
    assert keys({"color": "red", "score": {"$gte": 2}}) == ["3", "5"]
    assert keys({"color": "red"}, ("docs",)) == ["1", "3"]
    assert keys({"color": "purple"}) == []
    assert keys({"missing": {"$gt": 0}}) == []
    # Order comparisons between a number and text match nothing.
    assert keys({"color": {"$gt": 1}}) == []
    # Filters page after filtering.
    assert [i.key for i in store.search((), filter={"color": "red"}, limit=1, offset=1)] == ["3"]
    with pytest.raises(ValueError):
        store.search((), filter={"score": {"$near": 1}})


def test_search_filters_nested_values_and_lists(store: MnemoStore) -> None:
    store.put(("n",), "1", {"meta": {"lang": "pt", "level": 2}, "tags": ["a", "b"]})
    store.put(("n",), "2", {"meta": {"lang": "en", "level": 3}, "tags": ["a"]})
    assert [i.key for i in store.search(("n",), filter={"meta": {"lang": "pt"}})] == ["1"]
    assert [i.key for i in store.search(("n",), filter={"tags": ["a"]})] == ["2"]
    assert [i.key for i in store.search(("n",), filter={"tags": ["a", "b"]})] == ["1"]


def test_search_with_a_query_ranks_by_recall(store: MnemoStore) -> None:
    _fill(store)
    hits = store.search((), query="blue whales")
    assert hits and hits[0].key == "4"
    assert all(isinstance(h, SearchItem) and isinstance(h.score, float) for h in hits)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    assert hits[0].value == {"text": "blue whales sing", "score": 4.5, "color": "blue"}
    # The prefix and the filter hold under a query too.
    bob = store.search(("docs", "bob"), query="red")
    assert {h.key for h in bob} <= {"3", "4"} and bob[0].key == "3"
    red = store.search((), query="red", filter={"color": "red"}, limit=10)
    assert sorted(h.key for h in red) == ["1", "3", "5"]
    page = store.search((), query="red", filter={"color": "red"}, limit=1, offset=1)
    assert [h.key for h in page] == [red[1].key]


def test_index_fields_choose_the_searchable_text(target: Any) -> None:
    store = MnemoStore(target, namespace=unique_name("lg"), index={"fields": ["title"]})
    store.put(("d",), "1", {"title": "volcanoes of Iceland", "body": "penguins"})
    store.put(("d",), "2", {"title": "penguins of Antarctica", "body": "volcanoes"})
    assert store.search(("d",), query="penguins")[0].key == "2"
    assert store.search(("d",), query="volcanoes")[0].key == "1"
    # A put can name its own fields.
    store.put(("d",), "3", {"title": "nothing", "body": "glaciers galore"}, index=["body"])
    assert store.search(("d",), query="glaciers")[0].key == "3"
    # The memory's text is the indexed field.
    mem = store.namespace.query({"tags": ["lg=d"], "metadata": {"lg.key": "3"}})[0]
    assert mem.content == "glaciers galore"


def test_an_embedding_function_is_ignored_with_a_warning(target: Any) -> None:
    with pytest.warns(UserWarning, match="own embedder"):
        store = MnemoStore(
            target,
            namespace=unique_name("lg"),
            index={"dims": 3, "embed": lambda texts: [[1.0, 0.0, 0.0] for _ in texts]},
        )
    store.put(("d",), "1", {"text": "still searchable"})
    assert store.search(("d",), query="searchable")[0].key == "1"


def test_unindexed_items_are_listed_but_not_recalled(store: MnemoStore) -> None:
    store.put(("d",), "plain", {"text": "zebra crossing"}, index=False)
    store.put(("d",), "indexed", {"text": "zebra stripes"})
    assert [h.key for h in store.search(("d",), query="zebra")] == ["indexed"]
    assert [i.key for i in store.search(("d",))] == ["plain", "indexed"]
    got = store.get(("d",), "plain")
    assert got is not None and got.value == {"text": "zebra crossing"}


def test_a_store_without_an_index_lists_on_query(target: Any) -> None:
    store = MnemoStore(target, namespace=unique_name("lg"), index=False)
    store.put(("d",), "1", {"text": "alpha"})
    store.put(("d",), "2", {"text": "beta"})
    hits = store.search(("d",), query="beta")
    assert [h.key for h in hits] == ["1", "2"]
    assert all(h.score is None for h in hits)


# ----- list_namespaces -----


def test_list_namespaces(store: MnemoStore) -> None:
    for ns in [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("a", "e"),
        ("x", "b", "c"),
        ("users", "alice", "memories"),
        ("users", "bob", "memories"),
    ]:
        store.put(ns, "k", {"v": 1})
    every = [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("a", "e"),
        ("users", "alice", "memories"),
        ("users", "bob", "memories"),
        ("x", "b", "c"),
    ]
    assert store.list_namespaces() == every
    assert store.list_namespaces(prefix=("a",)) == every[:3]
    assert store.list_namespaces(prefix=("a", "b")) == every[:2]
    assert store.list_namespaces(suffix=("c",)) == [("a", "b", "c"), ("x", "b", "c")]
    assert store.list_namespaces(prefix=("*", "b")) == [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("x", "b", "c"),
    ]
    assert store.list_namespaces(suffix=("*", "memories")) == every[3:5]
    assert store.list_namespaces(prefix=("a",), suffix=("d",)) == [("a", "b", "d")]
    assert store.list_namespaces(max_depth=1) == [("a",), ("users",), ("x",)]
    assert store.list_namespaces(prefix=("a",), max_depth=2) == [("a", "b"), ("a", "e")]
    assert store.list_namespaces(limit=2) == every[:2]
    assert store.list_namespaces(limit=2, offset=4) == every[4:]
    assert store.list_namespaces(prefix=("zzz",)) == []
    store.delete(("a", "e"), "k")
    assert ("a", "e") not in store.list_namespaces()


# ----- batch and abatch -----


def test_batch_runs_every_op_kind_in_order(store: MnemoStore) -> None:
    store.put(("b",), "old", {"text": "old one"})
    results = store.batch(
        [
            PutOp(("b",), "new", {"text": "first"}),
            GetOp(("b",), "old"),
            GetOp(("b",), "new"),
            SearchOp(("b",)),
            ListNamespacesOp(match_conditions=(MatchCondition("prefix", ("b",)),)),
            PutOp(("b",), "new", {"text": "second"}),
            PutOp(("b",), "old", None),
        ]
    )
    assert len(results) == 7
    old = results[1]
    assert isinstance(old, Item) and old.value == {"text": "old one"}
    # Reads see the store as it was before the batch's puts.
    assert results[2] is None
    assert [i.key for i in results[3]] == ["old"]  # type: ignore[union-attr]
    assert results[4] == [("b",)]
    assert results[0] is None and results[5] is None and results[6] is None
    # The last put to an item wins; the delete applied.
    new = store.get(("b",), "new")
    assert new is not None and new.value == {"text": "second"}
    assert store.get(("b",), "old") is None


def test_abatch_and_the_async_methods(store: MnemoStore) -> None:
    async def scenario() -> None:
        await asyncio.gather(
            *(store.aput(("async", str(i % 3)), f"k{i}", {"i": i, "text": f"item {i}"}) for i in range(12))
        )
        got = await asyncio.gather(*(store.aget(("async", str(i % 3)), f"k{i}") for i in range(12)))
        assert [g.value["i"] for g in got if g is not None] == list(range(12))
        found = await store.asearch(("async",), filter={"i": {"$gte": 6}}, limit=20)
        assert sorted(i.value["i"] for i in found) == list(range(6, 12))
        assert await store.alist_namespaces(prefix=("async",)) == [
            ("async", "0"),
            ("async", "1"),
            ("async", "2"),
        ]
        await store.adelete(("async", "0"), "k0")
        assert await store.aget(("async", "0"), "k0") is None
        results = await store.abatch(
            [GetOp(("async", "1"), "k1"), SearchOp(("async", "2"), query="item 5", limit=1)]
        )
        first = results[0]
        assert isinstance(first, Item) and first.value["i"] == 1
        assert [i.key for i in results[1]] == ["k5"]  # type: ignore[union-attr]
        with pytest.raises(NotImplementedError):
            await store.aput(("async",), "t", {"v": 1}, ttl=1.0)

    asyncio.run(scenario())


def test_items_persist_across_reopening(tmp_path: Path) -> None:
    path = tmp_path / "data"
    with mnemo.Mnemo(str(path)) as db:
        store = MnemoStore(db, namespace="lg")
        store.put(("users", "alice"), "profile", VALUE)
        before = store.get(("users", "alice"), "profile")
    with mnemo.Mnemo(str(path)) as db:
        after = MnemoStore(db, namespace="lg").get(("users", "alice"), "profile")
    assert after is not None and before is not None
    assert after == before


# ----- a real graph -----


class _State(TypedDict):
    user: str
    said: str
    recalled: List[str]


def _graph(store: MnemoStore) -> Any:
    def remember(state: _State, runtime: Runtime[None]) -> Dict[str, Any]:
        assert runtime.store is not None
        if state["said"]:
            ns = ("users", state["user"], "memories")
            n = len(runtime.store.search(ns, limit=1000))
            runtime.store.put(ns, f"m{n}", {"text": state["said"]})
        return {}

    def recall(state: _State, runtime: Runtime[None]) -> Dict[str, Any]:
        assert runtime.store is not None
        hits = runtime.store.search(
            ("users", state["user"], "memories"), query="what food does the user like", limit=3
        )
        return {"recalled": [h.value["text"] for h in hits]}

    builder = StateGraph(_State)
    builder.add_node("remember", remember)
    builder.add_node("recall", recall)
    builder.add_edge(START, "remember")
    builder.add_edge("remember", "recall")
    builder.add_edge("recall", END)
    return builder.compile(store=store)


def test_a_state_graph_remembers_and_recalls_through_the_store(store: MnemoStore) -> None:
    graph = _graph(store)
    out = graph.invoke({"user": "alice", "said": "I like sushi and ramen food", "recalled": []})
    assert out["recalled"] == ["I like sushi and ramen food"]
    graph.invoke({"user": "bob", "said": "I like pizza food", "recalled": []})
    graph.invoke({"user": "alice", "said": "my cat is called Miso", "recalled": []})
    # A later run, with nothing new said, recalls what earlier runs stored,
    # and only the user's own memories.
    later = graph.invoke({"user": "alice", "said": "", "recalled": []})
    assert later["recalled"][0] == "I like sushi and ramen food"
    assert "I like pizza food" not in later["recalled"]
    assert sorted(later["recalled"]) == ["I like sushi and ramen food", "my cat is called Miso"]
    items = store.search(("users", "alice", "memories"))
    assert [i.key for i in items] == ["m0", "m1"]


def test_a_state_graph_runs_asynchronously(store: MnemoStore) -> None:
    graph = _graph(store)

    async def scenario() -> Dict[str, Any]:
        await graph.ainvoke({"user": "carol", "said": "carol likes spicy curry food", "recalled": []})
        out: Dict[str, Any] = await graph.ainvoke({"user": "carol", "said": "", "recalled": []})
        return out

    assert asyncio.run(scenario())["recalled"] == ["carol likes spicy curry food"]


def test_numeric_filters_compare_as_python_does(store: MnemoStore) -> None:
    # An int and a float of equal value match alike; a bool is no number.
    store.put(("t",), "a", {"x": 1})
    store.put(("t",), "b", {"x": 1.0})
    store.put(("t",), "c", {"x": True})
    assert [i.key for i in store.search(("t",), filter={"x": {"$gte": 1, "$lte": 1}})] == [
        "a",
        "b",
    ]
    assert [i.key for i in store.search(("t",), filter={"x": {"$gt": 0.5}})] == ["a", "b"]
