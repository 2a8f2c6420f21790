/** @file An in-memory checkpoint and output folder for the converter tests (unit and browser alike). */
import type { CheckpointReader, ConvertSink } from '../../src/convert/checkpoint';
import { RgError } from '../../src/errors';
import { parseManifest } from '../../src/packs/manifest';
import { verifyEntry, type PackSource } from '../../src/packs/source';

/** A checkpoint held in `files`; `reads` gets the byte range of every read. */
export function memoryReader(files: Map<string, Uint8Array>, reads?: [number, number][]): CheckpointReader {
  return {
    size: async (p) => files.get(p)?.byteLength ?? null,
    read: async (p, b, e) => {
      reads?.push([b, e]);
      return files.get(p)!.slice(b, e);
    },
  };
}

/** A sink writing each file into `out` when it is closed; `created` lists the paths in the order they were opened. */
export function memorySink(): { sink: ConvertSink; out: Map<string, Uint8Array>; created: string[] } {
  const out = new Map<string, Uint8Array>();
  const created: string[] = [];
  const sink: ConvertSink = {
    async create(path, bytes) {
      created.push(path);
      const buf = new Uint8Array(bytes);
      let at = 0;
      return {
        write: async (b) => void (buf.set(b, at), (at += b.byteLength)),
        close: async () => void out.set(path, buf),
      };
    },
  };
  return { sink, out, created };
}

/** A pack source over converted files in memory, each checked against the manifest as any source checks them. */
export function memoryPack(out: Map<string, Uint8Array>): PackSource {
  const manifest = parseManifest(JSON.parse(new TextDecoder().decode(out.get('manifest.json'))));
  return {
    id: manifest.id,
    manifest: async () => manifest,
    async file(path) {
      const entry = manifest.files.find((f) => f.path === path);
      if (!entry) throw new RgError('INTEGRITY', `${manifest.id} has no file ${path} in its manifest`);
      const b = out.get(path)!;
      await verifyEntry(manifest.id, entry, b);
      return b;
    },
  };
}

/** The bytes at `url` (browser tests: Vite-served fixtures and node_modules files). */
export async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`fetching ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}
