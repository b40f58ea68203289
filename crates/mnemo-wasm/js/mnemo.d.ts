// Typings of the `mnemo` package. Results keep the JSON shapes of mnemo's
// HTTP API (snake_case fields), so one document describes both.

/** Where a database keeps its data. */
export type Storage = "opfs" | "indexeddb" | "memory" | "file";

export interface OpenOptions {
  /** The database's name: 1 to 64 of a-z, A-Z, 0-9, '-', '_', '.'. Default "default". */
  name?: string;
  /**
   * Browser: "opfs" (default; IndexedDB where OPFS is missing), "indexeddb"
   * or "memory". Node: "memory" (default) or "file" with `path`.
   */
  storage?: Storage;
  /** Node, storage "file": the directory (created if needed). */
  path?: string;
}

export interface NamespaceOptions {
  /** "hash" (built in, the default) or "vectors" (you supply every vector). */
  embedder?: "hash" | "vectors";
  /** The vectors' dimension, with embedder "vectors". */
  dimension?: number;
}

/** Metadata values: strings, numbers and booleans. */
export type MetaValue = string | number | boolean;

/** A validity interval (RFC 3339 times). */
export interface Validity {
  from?: string;
  until?: string;
}

export interface MemoryInput {
  content: string;
  /** Keyed memories are stored once per key (a second remember returns the first id). */
  key?: string;
  kind?: string;
  tags?: string[];
  source?: string;
  metadata?: Record<string, MetaValue>;
  /** When it happened (RFC 3339); default now. */
  at?: string;
  valid?: Validity;
  importance?: number;
  confidence?: number;
  /** The memory's own embedding (embedder "vectors", or instead of the hash embedding). */
  vector?: Float32Array | number[];
  /**
   * When it expires (RFC 3339): from then on it leaves every read, and it
   * is erased soon after. Not with `ttl_seconds`.
   */
  expires_at?: string;
  /** Seconds it lives from now (positive). Not with `expires_at`. */
  ttl_seconds?: number;
}

/**
 * What remembering one memory did: each `outcome` in the `results` of
 * `call("remember", ...)` (`merged` only where near-duplicates are merged,
 * which the browser engine does not do).
 */
export type Outcome = "added" | "updated" | "unchanged" | "merged";

/** The memory another one repeats, and how alike they are. */
export interface DuplicateOf {
  id: number;
  /** Cosine of their vectors. */
  vector_similarity: number;
  /** Jaccard similarity of their word sets. */
  text_similarity: number;
}

/** The near-duplicate writes merged into a memory. */
export interface Merged {
  count: number;
  /** The most recent ones (at most 16), oldest first; `at` is RFC 3339. */
  recent: { source: string | null; at: string }[];
}

/**
 * Where a memory's vector lives: "hot" (in the vector index), "warm" (one
 * byte per component) or "cold" (only in the log).
 */
export type Tier = "hot" | "warm" | "cold";

/** A memory with its links, the facts citing it, its strength and lifecycle. */
export interface MemoryDetail {
  memory: Memory;
  links: { outgoing: unknown[]; incoming: unknown[] };
  facts: unknown[];
  strength: number;
  touches: number;
  /** When it expires (RFC 3339), or null without a deadline. */
  expires_at: string | null;
  /** The memory it was flagged as a near-duplicate of, or null. */
  duplicate_of: DuplicateOf | null;
  merged: Merged;
  tier: Tier;
  /** The memories it was consolidated from (its provenance), ascending. */
  derived_from: number[];
  /** The consolidated memories written from it, ascending. */
  consolidated_into: number[];
}

/** What `call("consolidateMemories", { body })` answers. */
export interface Consolidation {
  /** Memories considered. */
  considered: number;
  /** Groups planned (written, or left for a later run). */
  planned: number;
  /** The consolidated memories written, ascending. */
  created: number[];
  /** Groups left for a later run. */
  deferred: number;
  /** Every group written (or, for a dry run, planned), with its sources. */
  groups: { id: number | null; sources: number[]; content: string; entities: string[]; dates: string[]; cohesion: number }[];
  dry_run: boolean;
  /** Log seq of the `derive` event, or null when nothing was written. */
  seq: number | null;
  took_ms: number;
}

/** What `call("getTiers")` and `call("rebalanceTiers")` answer. */
export interface TierReport {
  hot: number;
  warm: number;
  cold: number;
  /** Memories this call moved (0 for getTiers). */
  moved: number;
  /** Bytes of vectors kept in memory. */
  resident_bytes: number;
  /** The budget, or null: every vector stays hot. */
  budget: number | null;
}

export interface Memory {
  id: number;
  content: string;
  kind: string;
  tags: string[];
  source?: string;
  key?: string;
  metadata: Record<string, MetaValue>;
  at: string;
  recorded: string;
  importance: number;
  confidence: number;
  version: number;
  [field: string]: unknown;
}

export interface Signal {
  /** 1-based rank of the hit by this signal alone. */
  rank: number;
  /** The signal's raw score. */
  score: number;
  /** The score normalised to [0, 1] for fusion. */
  normalized: number;
}

/** A hit without its memory (`recall` with `includeMemory: false`). */
export interface HitRef {
  /** The memory's id. */
  id: number;
  score: number;
  /** The ranked signals that found the hit. */
  signals: {
    vector?: Signal;
    keyword?: Signal;
    activation?: Signal;
  };
  /** Where its vector lives. */
  tier: Tier;
  /** Its strength from use now (null only if forgotten meanwhile). */
  strength: number | null;
  /**
   * With `explain` (or `graph`): each signal's contribution to the score
   * (vector, keyword, activation, recency, importance, time, tags,
   * answer_type, strength) and the
   * paths activation took.
   */
  explanation?: { contributions?: Record<string, number>; [field: string]: unknown };
  [field: string]: unknown;
}

/** A hit with its memory (what `recall` answers by default). */
export interface Hit extends HitRef {
  memory: Memory;
}

export interface RecallResult<H extends HitRef = Hit> {
  hits: H[];
  /** False when the budget ran out (the best hits so far). */
  complete: boolean;
  /** With `graph`: the activation graph (nodes and edges). */
  graph?: unknown;
  [field: string]: unknown;
}

export interface Filter {
  ids?: number[];
  tags?: string[];
  any_tags?: string[];
  without_tags?: string[];
  source?: string;
  kind?: string;
  at_from?: string;
  at_until?: string;
  recorded_from?: string;
  recorded_until?: string;
  metadata?: Record<string, MetaValue>;
  contains?: string;
}

export interface RecallOptions {
  /** Hits wanted (default 10). */
  k?: number;
  filter?: Filter;
  weights?: Partial<Record<"vector" | "keyword" | "activation" | "recency" | "importance" | "time" | "tags" | "answer_type" | "strength", number>>;
  spreading?: boolean;
  explain?: boolean;
  graph?: boolean;
  budgetMs?: number;
  /** Candidates each signal ranks before fusion (default max(4k, 50), never below k). */
  candidates?: number;
  /** The vector search's width, HNSW's `ef` (default 64, never below `candidates`): wider finds more true neighbours, slower. */
  searchWidth?: number;
  /** The query's own embedding. */
  vector?: Float32Array | number[];
  /**
   * Whether each hit carries its memory (default true). False answers ids,
   * scores and signals only: a smaller answer, faster to pass from the
   * Worker and to parse.
   */
  includeMemory?: boolean;
  /**
   * Whether a consolidated memory stands for its sources: when both are
   * among the hits, the sources leave (default false).
   */
  preferConsolidated?: boolean;
  /**
   * Whether vector search also scans the cold tier (vectors only in the
   * log, each a read; default false).
   */
  scanCold?: boolean;
  /**
   * Whether versions of one statement come newest first: semantic memories
   * holding the same words of the query and alike in their own words (a
   * preference restated with a new value) fill the places they ranked at
   * newest first (default true).
   */
  newestFirst?: boolean;
}

export interface QueryOptions {
  filter?: Filter;
  order_by?: "id" | "at" | "recorded" | "importance";
  descending?: boolean;
  offset?: number;
  limit?: number;
}

export interface MemoryList {
  memories: Memory[];
  total: number;
  [field: string]: unknown;
}

export interface WatchEvent {
  event: "current" | "added" | "changed" | "removed" | "lagged";
  data: any;
}

/** Base class of every error the package throws. */
export class MnemoError extends Error {
  /** The API's stable code: invalid_request, not_found, conflict, closed, locked, storage, ... */
  readonly code: string;
  /** The HTTP status a mnemo server answers for the same failure. */
  readonly status: number;
  constructor(message: string, code?: string, status?: number);
}
/** Bad input: a wrong type, a value out of range (the message names the field). */
export class InvalidInputError extends MnemoError {}
/** No such memory, fact, conflict or pattern. */
export class NotFoundError extends MnemoError {}
/** The call conflicts with what is stored. */
export class ConflictError extends MnemoError {}
/** The database, a namespace or a watch was closed. */
export class ClosedError extends MnemoError {}
/** Another tab, worker or process has the database open. */
export class LockedError extends MnemoError {}
/** The storage failed (quota, I/O, a corrupt file). */
export class StorageError extends MnemoError {}
/** A bound was reached (too many watches). */
export class UnavailableError extends MnemoError {}

/** Memories in one rememberMany. */
export const MAX_BATCH: number;

export class Mnemo {
  private constructor();
  /** Opens (creating) a database. */
  static open(options?: OpenOptions): Promise<Mnemo>;
  /** Where the data is kept. */
  readonly storage: Storage;
  readonly name: string;
  readonly location: string;
  readonly closed: boolean;
  /** Opens (or creates) a namespace. */
  namespace(name: string, options?: NamespaceOptions): Promise<Namespace>;
  /** Names of the namespaces stored. */
  namespaces(): Promise<string[]>;
  /** Checks a proof with nothing but the proof, and against a trusted root (hex). */
  verify(proof: Proof, trustedRoot?: string): Promise<boolean>;
  /** Closes: snapshots written, files synced, the lock released. */
  close(): Promise<void>;
}

export interface Proof {
  id: number;
  seq: number;
  root: string;
  [field: string]: unknown;
}

export interface Stats {
  memories: number;
  links: number;
  facts: number;
  events: number;
  vectors: number;
  [field: string]: unknown;
}

export class Namespace {
  private constructor();
  readonly name: string;
  readonly embedder: string;
  readonly dimension: number;
  /** Remembers one memory; answers its id. */
  remember(memory: string | MemoryInput): Promise<number>;
  /** Remembers a batch atomically; vectors per memory or as one flat array of rows. */
  rememberMany(memories: (string | MemoryInput)[], options?: { vectors?: Float32Array | number[]; dimension?: number }): Promise<number[]>;
  /** The memories that matter for a query, with their signals. */
  recall(query: string, options: RecallOptions & { includeMemory: false }): Promise<RecallResult<HitRef>>;
  recall(query: string, options?: RecallOptions & { includeMemory?: true }): Promise<RecallResult>;
  recall(query: string, options?: RecallOptions): Promise<RecallResult<HitRef>>;
  /** Memories matching a filter, ordered and paged. */
  query(query?: QueryOptions): Promise<MemoryList>;
  /** A memory with its links and the facts it supports. */
  get(id: number): Promise<MemoryDetail>;
  revise(id: number, revision: string | Partial<Omit<MemoryInput, "tags" | "vector" | "key" | "valid">>): Promise<Memory>;
  forget(id: number): Promise<{ id: number; forgotten: boolean }>;
  /** Forgets and erases every memory with a tag, from a source, or all (exactly one). */
  purge(filter: { tag?: string; source?: string; all?: boolean }): Promise<{ purged: number[]; count: number }>;
  link(from: number, to: number, options?: { kind?: string; weight?: number }): Promise<unknown>;
  unlink(from: number, to: number, kind?: string): Promise<unknown>;
  assertFact(fact: { subject: string; predicate: string; object: string; context?: string; confidence?: number; valid?: Validity; evidence?: number[] }): Promise<any>;
  facts(params?: Record<string, string | number | boolean>): Promise<any>;
  fact(id: number): Promise<any>;
  retractFact(id: number, reason?: string): Promise<any>;
  conflicts(params?: Record<string, string | number | boolean>): Promise<any>;
  conflict(id: number): Promise<any>;
  resolveConflict(id: number, resolution: Record<string, unknown>): Promise<any>;
  stats(): Promise<Stats>;
  /** The log's Merkle root over its first `length` events (hex). */
  root(): Promise<{ length: number; root: string }>;
  prove(id: number): Promise<Proof>;
  verify(proof: Proof, trustedRoot?: string): Promise<boolean>;
  /** Any operation of the HTTP API by its OpenAPI operationId. */
  call(op: string, request?: { id?: number; params?: Record<string, unknown>; body?: unknown }): Promise<any>;
  /** Watches the memories a filter selects; `current` first. */
  watch(filter?: Record<string, string | number | boolean>): Promise<Watch>;
}

export class Watch implements AsyncIterableIterator<WatchEvent> {
  private constructor();
  [Symbol.asyncIterator](): AsyncIterableIterator<WatchEvent>;
  next(): Promise<IteratorResult<WatchEvent, undefined>>;
  return(): Promise<IteratorResult<WatchEvent, undefined>>;
  close(): Promise<void>;
}
