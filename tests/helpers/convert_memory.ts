/** @file An in-memory checkpoint and output folder for the converter tests (unit and browser alike). */
import type { CheckpointReader, ConvertSink } from '../../src/convert/checkpoint';

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
