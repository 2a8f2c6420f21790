/**
 * @file Shared setup of the weights-store tests: the Range test server (tests/helpers/range_server.mjs), sessions,
 * stores.
 */
import { inject } from 'vitest';
import { PackStore, type PackStoreOptions } from '../../../src/store/pack_store';
import { WeightStore, type WeightStoreOptions } from '../../../src/store/weights';
import { parseManifest, type Manifest } from '../../../src/packs/manifest';

declare module 'vitest' {
  export interface ProvidedContext {
    rangeServer: string;
  }
}

export const SERVER = inject('rangeServer');
export const PACK = 'tiny-random';
/** Small chunks, so the test pack's files span several of them. */
export const CHUNK = 64 * 1024;

export interface LogEntry {
  path: string;
  range: string | null;
  status: number;
  sent: number;
  fault: string | null;
}

export interface Plan {
  cuts?: { path: string; after: number }[];
  stalls?: { path: string; after: number }[];
  ignoreRange?: boolean;
  /** Serve the file `delta` bytes shorter (< 0) or longer (> 0) than it is. */
  sizes?: { path: string; delta: number }[];
  /** Leave out Content-Length (the body's end is the only size the client sees). */
  chunked?: boolean;
  trickle?: { path: string; bytes: number; everyMs: number }[];
  /** Answer 503 to every request after this many. */
  maxRequests?: number;
  /** Serve these bytes (base64) for a path instead of the file. */
  overrides?: { path: string; base64: string }[];
}

/** A server session: its own fault plan and request log. */
export class Session {
  readonly id = `t${crypto.randomUUID().slice(0, 8)}`;
  readonly base = `${SERVER}/s/${this.id}/`;

  packBase(pack = PACK): string {
    return `${this.base}models/${pack}/`;
  }

  async plan(p: Plan): Promise<void> {
    const r = await fetch(`${SERVER}/__ctl/${this.id}/plan`, { method: 'POST', body: JSON.stringify(p) });
    if (!r.ok) throw new Error(`plan: HTTP ${r.status}`);
  }

  /** Requests the server saw for files of this session (paths relative to public/models/<pack>/). */
  async log(pack = PACK): Promise<LogEntry[]> {
    const all = (await (await fetch(`${SERVER}/__ctl/${this.id}/log`)).json()) as LogEntry[];
    const prefix = `models/${pack}/`;
    return all.map((e) => ({ ...e, path: e.path.startsWith(prefix) ? e.path.slice(prefix.length) : e.path }));
  }
}

export function dbName(): string {
  return `rg-test-${crypto.randomUUID()}`;
}

/** A PackStore on its own database, reading the pack from `session`. */
export function storeFor(
  session: Session,
  opts: Partial<PackStoreOptions> & { weights?: WeightStore; weightOpts?: WeightStoreOptions } = {},
): PackStore {
  const weights = opts.weights ?? new WeightStore({ dbName: dbName(), chunkSize: CHUNK, ...opts.weightOpts });
  return new PackStore({
    baseFor: (id) => session.packBase(id),
    estimate: async () => ({ usage: 0, quota: 10 * 1024 ** 3 }),
    download: { retryDelayMs: 20, progressIntervalMs: 0 },
    ...opts,
    weights,
  });
}

/** The pack's manifest and files straight from public/ (Vite serves it to the test page), as the reference. */
export async function reference(): Promise<{ manifest: Manifest; file: (path: string) => Promise<Uint8Array> }> {
  const manifest = parseManifest(await (await fetch(`/models/${PACK}/manifest.json`)).json());
  return {
    manifest,
    file: async (path) => new Uint8Array(await (await fetch(`/models/${PACK}/${path}`)).arrayBuffer()),
  };
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
