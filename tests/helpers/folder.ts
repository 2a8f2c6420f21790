/** @file A folder's files read into memory by relative path (Node tests: checkpoints and fixtures on disk). */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every file under `dir` (recursively), keyed by its path relative to `dir` with forward slashes. */
export function readFolder(dir: string, base = ''): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const n of readdirSync(join(dir, base))) {
    const rel = base ? `${base}/${n}` : n;
    if (statSync(join(dir, rel)).isDirectory()) for (const [p, b] of readFolder(dir, rel)) out.set(p, b);
    else out.set(rel, new Uint8Array(readFileSync(join(dir, rel))));
  }
  return out;
}
