"""What only the HTTP client does: tokens and rights, connection failures,
closing, sharing one client between threads, and the SSE watch stream's
lifetime on the server."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import mnemo
from mnemo import errors

from conftest import Server, unique_name


def test_namespaces_are_created_and_listed(client: mnemo.Client) -> None:
    name = unique_name("list")
    ns = client.namespace(name)
    assert ns.name == name and repr(ns) == f"Namespace({name!r})"
    assert name in client.namespaces()
    # Asking again is fine: the namespace exists.
    assert client.namespace(name).stats().namespace == name


def test_a_bad_token_is_unauthorized(server: Server) -> None:
    with mnemo.Client(server.url, "mnemo_not-a-real-token") as bad:
        with pytest.raises(errors.Unauthorized) as e:
            bad.namespaces()
        assert e.value.status == 401 and e.value.code == "unauthorized"
        with pytest.raises(errors.Unauthorized):
            bad.namespace("anything")
    with mnemo.Client(server.url) as anonymous:
        with pytest.raises(errors.Unauthorized):
            anonymous.namespaces()


def test_rights_are_forbidden_beyond_the_token(server: Server, client: mnemo.Client) -> None:
    name = unique_name("rights")
    client.namespace(name).remember("made by the admin")
    with mnemo.Client(server.url, server.read_token) as reader:
        ns = reader.namespace(name)  # exists: no admin right needed
        assert ns.recall("admin", k=1)[0].memory.content == "made by the admin"
        with pytest.raises(errors.Forbidden) as e:
            ns.remember("a reader may not write")
        assert e.value.status == 403
    with mnemo.Client(server.url, server.write_token) as writer:
        assert writer.namespace(name).remember("a writer may") > 0
        with pytest.raises(errors.Forbidden):
            writer.namespace(unique_name("new"))  # creating needs admin
        with pytest.raises(errors.Forbidden):
            writer.namespace(name).refine_patterns()


def test_an_invalid_namespace_name_is_invalid_input(client: mnemo.Client) -> None:
    with pytest.raises(errors.InvalidInput):
        client.namespace(".hidden")
    with pytest.raises(TypeError, match="name"):
        client.namespace(3)  # type: ignore[arg-type]


def test_an_unreachable_server_is_a_connection_failure() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with mnemo.Client(f"http://127.0.0.1:{port}", "token", timeout=2) as c:
        with pytest.raises(errors.ConnectionFailed) as e:
            c.namespaces()
        assert isinstance(e.value, errors.Unavailable)
        assert str(port) in str(e.value)


def test_closed_client_raises_closed(server: Server) -> None:
    c = mnemo.Client(server.url, server.admin_token)
    ns = c.namespace(unique_name("closed"))
    ns.remember("before closing")
    w = ns.watch()
    assert w.next(10) is not None
    c.close()
    c.close()  # idempotent
    assert c.closed and "closed" in repr(c)
    for call in (ns.stats, lambda: ns.remember("after"), c.namespaces, lambda: ns.watch()):
        with pytest.raises(errors.Closed):
            call()
    # Closing the client ended its watches.
    assert list(w) == []
    with pytest.raises(errors.Closed):
        with c:
            pass


def test_context_manager_closes(server: Server) -> None:
    with mnemo.Client(server.url, server.admin_token) as c:
        ns = c.namespace(unique_name("ctx"))
        ns.remember("inside")
    with pytest.raises(errors.Closed):
        ns.stats()


def test_one_client_shared_by_threads(client: mnemo.Client) -> None:
    ns = client.namespace(unique_name("threads"))
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda i: ns.remember(f"thread note {i}"), range(64)))
    assert len(set(ids)) == 64
    assert ns.stats().memories == 64


def test_closing_a_watch_releases_it_on_the_server(client: mnemo.Client) -> None:
    ns = client.namespace(unique_name("watchers"))
    watches = [ns.watch() for _ in range(3)]
    for w in watches:
        assert w.next(10) is not None
    assert ns.stats().watchers == 3
    for w in watches:
        w.close()
    deadline = time.monotonic() + 10
    while ns.stats().watchers and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ns.stats().watchers == 0


def test_watch_limit_truncates_current(client: mnemo.Client) -> None:
    ns = client.namespace(unique_name("limit"))
    ns.remember_many([f"item {i}" for i in range(5)])
    with ns.watch(limit=2) as w:
        current = w.next(10)
    assert current is not None and current.type == "current"
    assert len(current.memories or []) == 2 and current.total == 5 and current.truncated
    with pytest.raises(errors.InvalidInput, match="limit"):
        ns.watch(limit=100_000)


def test_watch_from_another_thread_receives_events_in_order(client: mnemo.Client) -> None:
    ns = client.namespace(unique_name("order"))
    received = []
    ready = threading.Event()

    def read() -> None:
        with ns.watch() as w:
            for change in w:
                if change.type == "current":
                    ready.set()
                    continue
                received.append(change.id)
                if len(received) == 10:
                    return

    reader = threading.Thread(target=read)
    reader.start()
    assert ready.wait(10)
    ids = [ns.remember(f"event {i}") for i in range(10)]
    reader.join(10)
    assert not reader.is_alive()
    assert received == ids


def test_error_messages_keep_the_servers_words(client: mnemo.Client) -> None:
    ns = client.namespace(unique_name("words"))
    with pytest.raises(errors.InvalidInput) as e:
        ns.query(limit=5000)
    assert e.value.status == 400 and "limit" in str(e.value)
    with pytest.raises(errors.InvalidInput) as e2:
        ns.query(order="colour")
    assert "order_by" in str(e2.value)


def test_a_dropped_watch_is_released(client: mnemo.Client) -> None:
    ns = client.namespace(unique_name("dropped"))
    for change in ns.watch():
        assert change.type == "current"
        break
    deadline = time.monotonic() + 10
    while ns.stats().watchers and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ns.stats().watchers == 0
