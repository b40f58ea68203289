"""``mnemo.Memory``, the mem0-style facade: add, search, get, get_all,
update, delete, delete_all, history and reset, in mem0 1.x and 2.x calling
styles, against the HTTP client of a real server and the embedded engine.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterator, List

import pytest

import mnemo
from mnemo import errors
from mnemo.memory import MemoryNotFound

from conftest import unique_name

#: The keys of a mem0 result from get (get_all drops ``score``).
CORE = {"id", "memory", "hash", "metadata", "score", "created_at", "updated_at"}


#: How far the engine's record time may fall before this process's clock
#: read just ahead of a write (the log stamps times with its own
#: granularity).
CLOCK_SLACK = timedelta(milliseconds=50)

@pytest.fixture(params=["client", "embedded"])
def target(request: pytest.FixtureRequest) -> Iterator[Any]:
    """What a facade is built on: a server's client or an in-memory
    engine (test_langgraph.py uses it too)."""
    if request.param == "client":
        yield request.getfixturevalue("client")
        return
    db = mnemo.Mnemo.in_memory()
    try:
        yield db
    finally:
        db.close()


@pytest.fixture()
def memory(target: Any) -> mnemo.Memory:
    """A Memory on a fresh namespace (with its history namespace)."""
    return mnemo.Memory(target, namespace=unique_name("m"))


def _texts(results: Dict[str, List[Dict[str, Any]]]) -> List[str]:
    return [r["memory"] for r in results["results"]]


def _time(text: str) -> datetime:
    t = datetime.fromisoformat(text)
    assert t.tzinfo is not None and t.utcoffset() == timezone.utc.utcoffset(None)
    return t


# ----- add -----


def test_add_stores_each_message_word_for_word(memory: mnemo.Memory) -> None:
    out = memory.add(
        [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "I'm vegetarian and allergic to nuts."},
            {"role": "assistant", "content": "Noted, no nuts.", "name": "chef-bot"},
        ],
        user_id="alice",
        metadata={"source": "chat", "turn": 3},
    )
    results = out["results"]
    assert [r["memory"] for r in results] == ["I'm vegetarian and allergic to nuts.", "Noted, no nuts."]
    assert all(isinstance(r["id"], int) and r["event"] == "ADD" for r in results)
    assert results[0]["role"] == "user" and results[0]["actor_id"] is None
    assert results[1]["role"] == "assistant" and results[1]["actor_id"] == "chef-bot"
    got = memory.get(results[1]["id"])
    assert got is not None
    assert got["memory"] == "Noted, no nuts."
    assert got["metadata"] == {"source": "chat", "turn": 3}
    assert got["user_id"] == "alice" and got["role"] == "assistant" and got["actor_id"] == "chef-bot"
    # The system message was skipped, as mem0 does.
    assert _texts(memory.get_all(user_id="alice")) == [r["memory"] for r in results]


def test_add_takes_a_string_or_one_message(memory: mnemo.Memory) -> None:
    a = memory.add("Likes hiking", user_id="u")["results"][0]
    b = memory.add({"role": "user", "content": "Lives in Porto"}, user_id="u")["results"][0]
    assert a["role"] == "user" and b["role"] == "user"
    assert b["id"] > a["id"]
    assert _texts(memory.get_all(user_id="u")) == ["Likes hiking", "Lives in Porto"]


def test_the_same_text_for_two_users_is_two_memories(memory: mnemo.Memory) -> None:
    a = memory.add("I love jazz", user_id="alice")["results"][0]["id"]
    b = memory.add("I love jazz", user_id="bob")["results"][0]["id"]
    c = memory.add("I love jazz", user_id="alice")["results"][0]["id"]
    assert len({a, b, c}) == 3
    assert [r["id"] for r in memory.get_all(user_id="bob")["results"]] == [b]
    assert [r["id"] for r in memory.get_all(user_id="alice")["results"]] == [a, c]


def test_add_refuses_what_needs_an_llm_or_is_not_flat(memory: mnemo.Memory) -> None:
    with pytest.raises(NotImplementedError, match="stores what you add"):
        memory.add("x", user_id="u", infer=True)
    with pytest.raises(NotImplementedError):
        memory.add("x", user_id="u", memory_type="procedural_memory")
    with pytest.raises(errors.InvalidInput, match="user_id"):
        memory.add("x")
    with pytest.raises(errors.InvalidInput, match="metadata"):
        memory.add("x", user_id="u", metadata={"nested": {"a": 1}})
    with pytest.raises(errors.InvalidInput):
        memory.add({"role": "user"}, user_id="u")
    with pytest.raises(TypeError):
        memory.add(42, user_id="u")  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidInput):
        memory.add("x", user_id="   ")
    # Nothing was stored by any of them.
    assert memory.get_all()["results"] == []


def test_add_is_all_or_nothing(memory: mnemo.Memory) -> None:
    with pytest.raises(errors.InvalidInput):
        memory.add(["a fine message", "   "], user_id="u")
    assert memory.get_all(user_id="u")["results"] == []


def test_add_with_a_timestamp_sets_when_it_happened(memory: mnemo.Memory) -> None:
    when = datetime(2023, 5, 1, 13, 0, tzinfo=timezone.utc)
    mid = memory.add("Went to Lisbon", user_id="u", timestamp=when)["results"][0]["id"]
    stored = memory.namespace.get(mid)
    assert stored is not None and stored.at == when
    mid2 = memory.add("Came back", user_id="u", timestamp=when.timestamp() + 86400)["results"][0]["id"]
    stored2 = memory.namespace.get(mid2)
    assert stored2 is not None and (stored2.at - when).days == 1


# ----- get -----


def test_get_answers_mem0s_shape(memory: mnemo.Memory) -> None:
    before = datetime.now(timezone.utc) - CLOCK_SLACK
    mid = memory.add("Prefers window seats", agent_id="travel", run_id="r1")["results"][0]["id"]
    got = memory.get(mid)
    assert got is not None
    assert set(got) == CORE | {"agent_id", "run_id", "role"}
    assert got["id"] == mid
    assert got["hash"] == hashlib.md5(b"Prefers window seats").hexdigest()
    assert got["metadata"] is None and got["score"] is None
    assert got["agent_id"] == "travel" and got["run_id"] == "r1"
    created = _time(got["created_at"])
    assert before <= created <= datetime.now(timezone.utc)
    assert got["updated_at"] == got["created_at"]
    assert memory.get(str(mid)) == got
    assert memory.get(mid + 1000) is None
    with pytest.raises(errors.InvalidInput):
        memory.get("not-an-id")


# ----- get_all and search: scopes, styles, filters -----


def _fill(memory: mnemo.Memory) -> None:
    memory.add("Alice plays tennis on Sundays", user_id="alice", metadata={"topic": "sport", "level": 3})
    memory.add("Alice reads science fiction", user_id="alice", metadata={"topic": "books", "level": 1})
    memory.add(
        "Alice runs marathons", user_id="alice", agent_id="coach", metadata={"topic": "sport", "level": 5}
    )
    memory.add("Bob plays tennis badly", user_id="bob", metadata={"topic": "sport", "level": 2})


def test_get_all_scopes_in_both_calling_styles(memory: mnemo.Memory) -> None:
    _fill(memory)
    v1 = memory.get_all(user_id="alice", limit=10)
    v2 = memory.get_all(filters={"user_id": "alice"}, top_k=10)
    assert v1 == v2
    assert _texts(v1) == [
        "Alice plays tennis on Sundays",
        "Alice reads science fiction",
        "Alice runs marathons",
    ]
    assert all("score" not in r for r in v1["results"])
    assert _texts(memory.get_all(user_id="alice", agent_id="coach")) == ["Alice runs marathons"]
    assert _texts(memory.get_all(filters={"user_id": "alice", "agent_id": "coach"})) == [
        "Alice runs marathons"
    ]
    assert _texts(memory.get_all(user_id="bob")) == ["Bob plays tennis badly"]
    assert memory.get_all(user_id="carol")["results"] == []
    assert len(memory.get_all()["results"]) == 4
    assert _texts(memory.get_all(user_id="alice", top_k=2)) == _texts(v1)[:2]
    assert memory.get_all(user_id="alice", limit=0)["results"] == []
    with pytest.raises(errors.InvalidInput, match="disagree"):
        memory.get_all(user_id="alice", filters={"user_id": "bob"})
    with pytest.raises(errors.InvalidInput, match="disagree"):
        memory.get_all(user_id="alice", top_k=1, limit=2)


def test_get_all_filters_on_metadata(memory: mnemo.Memory) -> None:
    _fill(memory)

    def texts(flt: Dict[str, Any]) -> List[str]:
        return _texts(memory.get_all(filters={"user_id": "alice", **flt}))

    assert texts({"topic": "sport"}) == ["Alice plays tennis on Sundays", "Alice runs marathons"]
    assert texts({"level": 3}) == ["Alice plays tennis on Sundays"]
    assert texts({"level": {"gte": 3}}) == ["Alice plays tennis on Sundays", "Alice runs marathons"]
    assert texts({"level": {"lt": 3}}) == ["Alice reads science fiction"]
    assert texts({"level": {"gt": 1, "lte": 3}}) == ["Alice plays tennis on Sundays"]
    assert texts({"topic": {"ne": "sport"}}) == ["Alice reads science fiction"]
    assert texts({"topic": {"in": ["books", "music"]}}) == ["Alice reads science fiction"]
    assert texts({"topic": {"nin": ["books"]}}) == [
        "Alice plays tennis on Sundays",
        "Alice runs marathons",
    ]
    assert texts({"topic": {"contains": "spo"}}) == [
        "Alice plays tennis on Sundays",
        "Alice runs marathons",
    ]
    assert texts({"topic": {"icontains": "BOO"}}) == ["Alice reads science fiction"]
    assert len(texts({"topic": "*"})) == 3
    assert texts({"missing": "*"}) == []
    assert texts({"OR": [{"level": 1}, {"level": 5}]}) == [
        "Alice reads science fiction",
        "Alice runs marathons",
    ]
    assert texts({"AND": [{"topic": "sport"}, {"level": {"gt": 3}}]}) == ["Alice runs marathons"]
    assert texts({"NOT": [{"topic": "sport"}]}) == ["Alice reads science fiction"]
    assert texts({"agent_id": "coach"}) == ["Alice runs marathons"]
    assert _texts(memory.get_all(filters={"user_id": "alice", "topic": "sport"}, top_k=1)) == [
        "Alice plays tennis on Sundays"
    ]
    with pytest.raises(errors.InvalidInput, match="operator"):
        texts({"level": {"near": 3}})


def test_search_recalls_within_a_scope(memory: mnemo.Memory) -> None:
    _fill(memory)
    v1 = memory.search("tennis", user_id="alice", limit=5)
    v2 = memory.search("tennis", filters={"user_id": "alice"}, top_k=5)
    assert _texts(v1) == _texts(v2)
    top = v1["results"][0]
    assert top["memory"] == "Alice plays tennis on Sundays"
    assert set(top) == CORE | {"user_id", "role"}
    assert isinstance(top["score"], float)
    scores = [r["score"] for r in v1["results"]]
    assert scores == sorted(scores, reverse=True)
    # Bob's tennis is not Alice's.
    assert all(r["user_id"] == "alice" for r in v1["results"])
    assert memory.search("tennis", user_id="bob")["results"][0]["memory"] == "Bob plays tennis badly"
    assert len(memory.search("tennis", user_id="alice", top_k=1)["results"]) == 1
    sport = memory.search("marathons", filters={"user_id": "alice", "level": {"gte": 4}})
    assert _texts(sport) == ["Alice runs marathons"]
    # The threshold keeps the hits scoring at least that much.
    cut = top["score"]
    assert _texts(memory.search("tennis", user_id="alice", threshold=cut)) == [top["memory"]]
    assert memory.search("tennis", user_id="alice", threshold=cut + 100.0)["results"] == []
    with pytest.raises(errors.InvalidInput):
        memory.search("   ", user_id="alice")


# ----- update, delete, history, reset -----


def test_update_changes_text_and_merges_metadata(memory: mnemo.Memory) -> None:
    mid = memory.add("Lives in Porto", user_id="u", metadata={"a": 1, "b": "x"})["results"][0]["id"]
    before = memory.get(mid)
    assert memory.update(mid, "Lives in Lisbon") == {"message": "Memory updated successfully!"}
    after = memory.get(mid)
    assert before is not None and after is not None
    assert after["memory"] == "Lives in Lisbon"
    assert after["hash"] == hashlib.md5(b"Lives in Lisbon").hexdigest()
    assert after["created_at"] == before["created_at"]
    assert _time(after["updated_at"]) > _time(before["updated_at"])
    assert after["user_id"] == "u" and after["metadata"] == {"a": 1, "b": "x"}
    memory.update(mid, metadata={"b": "y", "c": True, "user_id": "intruder"})
    merged = memory.get(mid)
    assert merged is not None
    assert merged["memory"] == "Lives in Lisbon"
    assert merged["metadata"] == {"a": 1, "b": "y", "c": True}
    assert merged["user_id"] == "u"
    memory.update(str(mid), data="Lives in Faro")  # mem0 1.x's name
    assert memory.search("Faro", user_id="u")["results"][0]["id"] == mid
    with pytest.raises(MemoryNotFound):
        memory.update(mid + 1000, "nope")
    with pytest.raises(ValueError):
        memory.update(mid + 1000, "nope")
    with pytest.raises(errors.NotFound):
        memory.update(mid + 1000, "nope")
    with pytest.raises(errors.InvalidInput):
        memory.update(mid)


def test_delete_and_delete_all(memory: mnemo.Memory) -> None:
    _fill(memory)
    first = memory.get_all(user_id="alice")["results"][0]["id"]
    assert memory.delete(first) == {"message": "Memory deleted successfully!"}
    assert memory.get(first) is None
    with pytest.raises(MemoryNotFound):
        memory.delete(first)
    assert memory.delete_all(user_id="alice") == {"message": "Memories deleted successfully!"}
    assert memory.get_all(user_id="alice")["results"] == []
    assert _texts(memory.get_all(user_id="bob")) == ["Bob plays tennis badly"]
    with pytest.raises(errors.InvalidInput, match="reset"):
        memory.delete_all()


def test_delete_all_narrows_by_filters(memory: mnemo.Memory) -> None:
    _fill(memory)
    memory.delete_all(filters={"user_id": "alice", "topic": "sport"})
    assert _texts(memory.get_all(user_id="alice")) == ["Alice reads science fiction"]


def test_history_lists_add_update_delete(memory: mnemo.Memory) -> None:
    mid = memory.add({"role": "user", "content": "Drinks coffee", "name": "al"}, user_id="u")[
        "results"
    ][0]["id"]
    other = memory.add("Unrelated", user_id="u")["results"][0]["id"]
    memory.update(mid, "Drinks tea")
    memory.delete(mid)
    history = memory.history(mid)
    assert [h["event"] for h in history] == ["ADD", "UPDATE", "DELETE"]
    assert [(h["old_memory"], h["new_memory"]) for h in history] == [
        (None, "Drinks coffee"),
        ("Drinks coffee", "Drinks tea"),
        ("Drinks tea", None),
    ]
    assert [h["is_deleted"] for h in history] == [False, False, True]
    assert all(h["memory_id"] == mid and h["actor_id"] == "al" and h["role"] == "user" for h in history)
    assert set(history[0]) == {
        "id",
        "memory_id",
        "old_memory",
        "new_memory",
        "event",
        "created_at",
        "updated_at",
        "is_deleted",
        "actor_id",
        "role",
    }
    created = {h["created_at"] for h in history}
    assert len(created) == 1
    stamps = [_time(h["updated_at"]) for h in history]
    assert stamps == sorted(stamps)
    assert [h["event"] for h in memory.history(other)] == ["ADD"]
    assert memory.history(other + 1000) == []


def test_history_of_a_namespace_target(target: Any) -> None:
    ns = target.namespace(unique_name("m"))
    plain = mnemo.Memory(ns)
    assert plain.namespace is ns and plain.history_namespace is None
    mid = plain.add("kept without history", user_id="u")["results"][0]["id"]
    with pytest.raises(RuntimeError, match="history is off"):
        plain.history(mid)
    with pytest.raises(errors.InvalidInput):
        mnemo.Memory(ns, history=True)
    hist = target.namespace(unique_name("h"))
    logged = mnemo.Memory(ns, history=hist)
    mid2 = logged.add("kept with history", user_id="u")["results"][0]["id"]
    assert [h["event"] for h in logged.history(mid2)] == ["ADD"]
    off = mnemo.Memory(target, namespace=unique_name("m"), history=False)
    assert off.history_namespace is None


def test_reset_forgets_everything(memory: mnemo.Memory) -> None:
    _fill(memory)
    mid = memory.get_all(user_id="bob")["results"][0]["id"]
    memory.reset()
    assert memory.get_all()["results"] == []
    assert memory.history(mid) == []
    # The facade works on after a reset.
    memory.add("fresh start", user_id="bob")
    assert _texts(memory.get_all(user_id="bob")) == ["fresh start"]


def test_two_facades_share_a_namespace(target: Any) -> None:
    name = unique_name("m")
    writer = mnemo.Memory(target, namespace=name)
    reader = mnemo.Memory(target, namespace=name)
    mid = writer.add("shared knowledge", user_id="u")["results"][0]["id"]
    assert reader.get(mid) == writer.get(mid)
    reader.update(mid, "shared and revised")
    assert [h["event"] for h in writer.history(mid)] == ["ADD", "UPDATE"]
    assert repr(writer) == f"Memory({name!r})"
