"""Drives mnemo's MCP server with the official MCP Python SDK (PyPI `mcp`, 2.3.0).

    client.py stdio MNEMO_BINARY DATA_DIR   launches `MNEMO_BINARY mcp --data DATA_DIR --embedder hash`
    client.py http URL TOKEN                talks streamable HTTP to URL with `Authorization: Bearer TOKEN`

For each of the SDK's two ways to connect - "auto" (the session-less 2026-07-28 protocol,
found by `server/discover`) and "legacy" (the initialize handshake) - it lists the tools
(all seven, each with a description and an object input schema), remembers two texts,
recalls with a question about the first and checks that the first comes back on top.
Prints one line per step; exits 1 with the reason on the first failure.
"""

from __future__ import annotations

import json
import sys
from contextlib import AbstractAsyncContextManager
from typing import Any, Callable

import anyio
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

TOOLS = {"remember", "recall", "forget", "list_memories", "link", "assert_fact", "conflicts"}

# One pair of memories per connection mode, so the runs against one data directory do not
# collide: the query shares words with the first text only.
CASES = {
    "auto": (
        "The capital of Portugal is Lisbon, on the Tagus river.",
        "Bananas are rich in potassium and ripen quickly.",
        "what is the capital of Portugal",
    ),
    "legacy": (
        "Ada Lovelace wrote the first published computer program.",
        "The Nile flows north into the Mediterranean Sea.",
        "who wrote the first computer program",
    ),
}


class Failure(Exception):
    """A check that did not hold."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise Failure(message)


def text_of(result: Any, what: str) -> str:
    check(not result.is_error, f"{what} returned a tool error: {result.content}")
    check(len(result.content) == 1, f"{what} returned {len(result.content)} content blocks")
    return result.content[0].text


async def exercise(client: Client, label: str, mode: str) -> None:
    listed = await client.list_tools()
    names = {tool.name for tool in listed.tools}
    check(names == TOOLS, f"tools listed: {sorted(names)}, expected {sorted(TOOLS)}")
    for tool in listed.tools:
        check(bool(tool.description and tool.description.strip()), f"tool {tool.name} has no description")
        schema = tool.input_schema
        check(schema.get("type") == "object", f"tool {tool.name}: input schema is not an object: {schema}")
        check("properties" in schema, f"tool {tool.name}: input schema has no properties")
        for prop, spec in schema["properties"].items():
            check(bool(spec.get("description")), f"tool {tool.name}: argument {prop} has no description")
    print(f"{label}/{mode}: listed {len(names)} tools, each described", flush=True)

    first, second, query = CASES[mode]
    ids = []
    for content in (first, second):
        answer = json.loads(text_of(await client.call_tool("remember", {"content": content, "tags": ["sdk"]}), "remember"))
        check(isinstance(answer.get("id"), int), f"remember answered {answer}")
        ids.append(answer["id"])
    check(ids[0] != ids[1], f"two different texts got one id: {ids}")
    print(f"{label}/{mode}: remembered ids {ids}", flush=True)

    recalled = json.loads(text_of(await client.call_tool("recall", {"query": query, "k": 3}), "recall"))
    hits = recalled.get("hits", [])
    check(len(hits) > 0, f"recall found nothing: {recalled}")
    top = hits[0]
    check(top["content"] == first, f"recall put {top['content']!r} first, expected {first!r}")
    check(top["id"] == ids[0], f"recall's first hit has id {top['id']}, expected {ids[0]}")
    for field in ("score", "tags", "at"):
        check(field in top, f"recall hit lacks {field}: {top}")
    print(f"{label}/{mode}: recall put the remembered text first (score {top['score']})", flush=True)


async def run(label: str, connect: Callable[[str], AbstractAsyncContextManager[Client]]) -> None:
    for mode in CASES:
        with anyio.fail_after(120):
            async with connect(mode) as client:
                await exercise(client, label, mode)


def stdio_client_for(binary: str, data: str) -> Callable[[str], Client]:
    params = StdioServerParameters(command=binary, args=["mcp", "--data", data, "--embedder", "hash"])
    return lambda mode: Client(params, mode=mode)


class HttpClient:
    """A `Client` over streamable HTTP whose requests carry the bearer token."""

    def __init__(self, url: str, token: str, mode: str) -> None:
        self.url, self.token, self.mode = url, token, mode

    async def __aenter__(self) -> Client:
        self.http = create_mcp_http_client(headers={"Authorization": f"Bearer {self.token}"})
        await self.http.__aenter__()
        self.client = Client(streamable_http_client(self.url, http_client=self.http), mode=self.mode)
        try:
            return await self.client.__aenter__()
        except BaseException:
            await self.http.__aexit__(None, None, None)
            raise

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await self.client.__aexit__(*exc)
        finally:
            await self.http.__aexit__(None, None, None)


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[1] not in ("stdio", "http"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] == "stdio":
        connect = stdio_client_for(argv[2], argv[3])
    else:
        url, token = argv[2], argv[3]
        connect = lambda mode: HttpClient(url, token, mode)  # noqa: E731
    try:
        anyio.run(run, argv[1], connect)
    except Failure as failure:
        print(f"FAILED ({argv[1]}): {failure}", file=sys.stderr)
        return 1
    print(f"{argv[1]}: all checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
