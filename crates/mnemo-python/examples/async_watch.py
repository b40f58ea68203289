"""asyncio: awaitable calls and a watched query, without blocking the loop."""

import asyncio

import mnemo


async def main() -> None:
    with mnemo.Mnemo.in_memory() as db:
        ns = db.namespace("alice")
        async with ns.watch({"tag": "alice"}) as changes:
            async for change in changes:
                if change.type == "current":  # first: what matches now
                    print(change.type, len(change.memories or []))  # current 0
                    await ns.aremember("Alice moved to Lisbon in May", tags=["alice"])
                else:
                    print(change.type, change.memory and change.memory.content)  # added Alice ...
                    break
        hits = await ns.arecall("lisbon", k=1)
        print(hits[0].memory.content)  # Alice moved to Lisbon in May


asyncio.run(main())
