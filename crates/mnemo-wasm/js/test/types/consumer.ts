// A TypeScript program using every export of the package, compiled by
// `tsc --strict --noEmit` in the tests (scripts/test-npm): the typings
// (mnemo.d.ts) must describe the API a user writes against. The `@ts-expect-error`
// lines are misuses the typings must reject.
import {
  ClosedError,
  ConflictError,
  InvalidInputError,
  LockedError,
  MAX_BATCH,
  Mnemo,
  MnemoError,
  Namespace,
  NotFoundError,
  StorageError,
  UnavailableError,
  type Consolidation,
  type Hit,
  type HitRef,
  type Memory,
  type MemoryDetail,
  type Outcome,
  type Proof,
  type RecallResult,
  type Stats,
  type Tier,
  type TierReport,
  type WatchEvent,
} from "mnemo";

async function session(): Promise<void> {
  const db: Mnemo = await Mnemo.open({ name: "agent", storage: "memory" });
  const storage: "opfs" | "indexeddb" | "memory" | "file" = db.storage;
  const names: string[] = await db.namespaces();
  const notes: Namespace = await db.namespace("notes");
  const own = await db.namespace("own", { embedder: "vectors", dimension: 3 });
  const dimension: number = own.dimension;

  const id: number = await notes.remember("Alice prefers green tea");
  await notes.remember({ content: "The launch moved", tags: ["work"], metadata: { priority: 2, urgent: true }, importance: 0.8 });
  await notes.remember({ content: "The room is B12", ttl_seconds: 3600 });
  await notes.remember({ content: "The code is 449120", expires_at: "2030-01-01T00:00:00Z" });
  const ids: number[] = await own.rememberMany(["a", "b"], { vectors: new Float32Array(6), dimension: 3 });
  if (ids.length > MAX_BATCH) throw new Error("unreachable");

  const result: RecallResult = await notes.recall("what does alice drink?", {
    k: 3,
    explain: true,
    weights: { vector: 1, keyword: 0.5 },
    filter: { tags: ["work"], contains: "launch" },
  });
  const complete: boolean = result.complete;
  for (const hit of result.hits as Hit[]) {
    const memory: Memory = hit.memory;
    const rank: number | undefined = hit.signals.vector?.rank;
    const share: number | undefined = hit.explanation?.contributions?.["keyword"];
    console.log(memory.id, memory.content, memory.tags.join(","), hit.score, rank, share);
  }
  await own.recall("", { vector: new Float32Array([1, 0, 0]), k: 1 });
  const bare: RecallResult<HitRef> = await notes.recall("alice", { includeMemory: false, preferConsolidated: true, scanCold: true, newestFirst: false });
  for (const hit of bare.hits) {
    const tier: Tier = hit.tier;
    const strength: number | null = hit.strength;
    console.log(hit.id, hit.score, hit.signals.keyword?.rank, tier, strength);
  }
  const consolidated: Consolidation = await notes.call("consolidateMemories", { body: { similarity: 0.3, dry_run: true } });
  const sources: number[] = consolidated.groups.flatMap((g) => g.sources);
  const tiers: TierReport = await notes.call("rebalanceTiers");
  console.log(consolidated.created, consolidated.seq, sources, tiers.hot + tiers.warm + tiers.cold, tiers.budget);
  // @ts-expect-error a hit recalled without its memory has no memory to read
  console.log(bare.hits[0].memory.content);

  const page = await notes.query({ filter: { tags: ["work"] }, order_by: "at", descending: true, limit: 10 });
  const total: number = page.total;
  const got: MemoryDetail = await notes.get(id);
  const content: string = got.memory.content;
  const expires: string | null = got.expires_at;
  const provenance: number[] = [...got.derived_from, ...got.consolidated_into];
  const where: Tier = got.tier;
  console.log(provenance, where);
  const repeats: number | undefined = got.duplicate_of?.id;
  const merges: number = got.merged.count + got.merged.recent.filter((w) => w.source !== null && w.at !== "").length;
  const outcome: Outcome = (await notes.call("remember", { body: { memories: [{ content: "x" }] } })).results[0].outcome;
  console.log(got.strength, got.touches, expires, repeats, merges, outcome);
  const revised: Memory = await notes.revise(id, "Alice prefers black tea");
  await notes.revise(id, { importance: 0.2 });
  await notes.link(id, ids[0] ?? id, { kind: "related", weight: 0.5 });
  await notes.unlink(id, ids[0] ?? id, "related");
  await notes.assertFact({ subject: "alice", predicate: "drinks", object: "tea", evidence: [id] });
  await notes.facts({ subject: "alice" });
  await notes.conflicts();
  const stats: Stats = await notes.stats();
  const root: { length: number; root: string } = await notes.root();
  const proof: Proof = await notes.prove(id);
  const valid: boolean = (await notes.verify(proof, root.root)) && (await db.verify(proof));
  await notes.call("listPatterns");
  const forgotten: boolean = (await notes.forget(id)).forgotten;

  const watch = await notes.watch({ tags: "work" });
  for await (const event of watch) {
    const kind: WatchEvent["event"] = event.event;
    if (kind === "current") break;
  }
  await watch.close();
  await db.close();
  console.log(storage, names, dimension, complete, total, content, revised.version, stats.memories, valid, forgotten);

  // @ts-expect-error storage is one of the four names
  await Mnemo.open({ storage: "s3" });
  // @ts-expect-error the embedder is "hash" or "vectors"
  await db.namespace("x", { embedder: "minilm" });
  // @ts-expect-error recall's k is a number
  await notes.recall("q", { k: "3" });
  // @ts-expect-error remember needs content
  await notes.remember({ tags: ["no content"] });
  // @ts-expect-error a lifetime is a number of seconds
  await notes.remember({ content: "x", ttl_seconds: "1h" });
  // @ts-expect-error the tiers are hot, warm and cold
  const frozen: Tier = "frozen";
  console.log(frozen);
  // @ts-expect-error the outcomes are added, updated, unchanged and merged
  const deleted: Outcome = "deleted";
  console.log(deleted);
}

function describe(error: unknown): string {
  if (error instanceof InvalidInputError || error instanceof NotFoundError || error instanceof ConflictError) {
    return `${error.code} (${error.status}): ${error.message}`;
  }
  if (error instanceof ClosedError || error instanceof LockedError || error instanceof StorageError || error instanceof UnavailableError) {
    return error.code;
  }
  return error instanceof MnemoError ? error.code : String(error);
}

session().catch((error: unknown) => console.error(describe(error)));
