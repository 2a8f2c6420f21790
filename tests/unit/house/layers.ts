/**
 * @file The house's layering rule for `src/` and a checker for it (tests/unit/house/layers.test.ts runs it on the
 * tree). Every file belongs to a room (its first folder under src/, or the root file itself); rooms have ranks and a
 * file may import its own room or a room of lower rank, never a higher one. Rooms of the same rank import each other
 * only along the edges listed in SAME_RANK; the apps (ui, cli, bench, sw) never import each other. Nothing in src/
 * imports tests/, scripts/, node_modules/ (by path) or anything else outside src/, except the kernels, which load
 * their WGSL from shaders/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import ts from 'typescript';

/**
 * The layers, top to bottom: apps -> worker -> pipeline -> models, convert (the checkpoint converter, which may not
 * import models) -> kernels/gpu/runtime/packs/store -> base.
 */
export const RANKS = {
  ui: 5,
  cli: 5,
  bench: 5,
  sw: 5,
  worker: 4,
  pipeline: 3,
  models: 2,
  convert: 2,
  kernels: 1,
  gpu: 1,
  runtime: 1,
  packs: 1,
  store: 1,
  errors: 0,
  limits: 0,
} as const;

export type Room = keyof typeof RANKS;

/**
 * The only imports allowed between different rooms of the same rank, `[from, to]`: kernels run on the GPU helpers,
 * the runtime's self-test dispatches a kernel on the GPU helpers, the store keeps packs.
 */
export const SAME_RANK: readonly (readonly [Room, Room])[] = [
  ['kernels', 'gpu'],
  ['runtime', 'gpu'],
  ['runtime', 'kernels'],
  ['store', 'packs'],
];

/** Files at the root of src/ (by name without extension) that belong to a room of another name. */
const ROOT_FILES: Record<string, Room> = { main: 'ui' }; // main.ts is the entry of the ui app

/** The source files the checker reads. */
export const SOURCE_EXTENSIONS = ['.ts', '.mts', '.mjs', '.js', '.svelte'];

/** One import that breaks the rule. */
export interface Violation {
  /** the importing file, relative to the repository root (`src/...`) */
  file: string;
  /** the specifier as written (query included) */
  spec: string;
  reason: string;
}

/** `file -> spec: reason`, one line per violation. */
export function formatViolation(v: Violation): string {
  return `${v.file} -> ${v.spec}: ${v.reason}`;
}

/**
 * The room of a file or import target under src/ (a repository-relative posix path, extension optional), or null
 * when it is in no known room. A file at the root of src/ is its own room (errors.ts, limits.ts, sw.ts) unless
 * ROOT_FILES says otherwise.
 */
export function roomOf(file: string): Room | null {
  const parts = file.split('/');
  if (parts[0] !== 'src' || parts.length < 2) return null;
  const name = parts.length === 2 ? parts[1]!.replace(/\.[^.]+$/, '') : parts[1]!;
  if (parts.length === 2 && name in ROOT_FILES) return ROOT_FILES[name]!;
  return name in RANKS ? (name as Room) : null;
}

/** Why `from` may not import `to`, or null when it may. */
export function forbidden(from: Room, to: Room): string | null {
  if (from === to) return null;
  const rf = RANKS[from];
  const rt = RANKS[to];
  if (rt < rf) return null;
  if (rt > rf) return `${from} may not import ${to}, a higher layer (rank ${rt} > ${rf})`;
  if (rf === RANKS.ui) return `${from} and ${to} are both apps; apps never import each other`;
  if (SAME_RANK.some(([a, b]) => a === from && b === to)) return null;
  return `${from} may not import ${to} (same rank ${rf}, not an allowed edge in SAME_RANK)`;
}

/**
 * The module specifiers a source file imports: static `import`/`import type`, `export ... from`, dynamic
 * `import('...')` (TypeScript's own scanner, so comments and strings do not count), a worker's module
 * (`new Worker(new URL('./x.ts', import.meta.url))`) and `{import('...')}` types in JSDoc (the @ts-check .mjs
 * files). For a .svelte file, the contents of its `<script>` blocks.
 */
export function importsOf(file: string, text: string): string[] {
  const code = file.endsWith('.svelte')
    ? [...text.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]).join('\n')
    : text;
  const specs = ts.preProcessFile(code, true, true).importedFiles.map((f) => f.fileName);
  const worker = /new (?:Shared)?Worker\(\s*new URL\(\s*(['"])([^'"\n]+)\1\s*,\s*import\.meta\.url\s*\)/g;
  for (const m of code.matchAll(worker)) specs.push(m[2]!);
  for (const m of code.matchAll(/\{[^{}\n]*\bimport\(\s*(['"])([^'"\n]+)\1\s*\)/g)) specs.push(m[2]!);
  return [...new Set(specs)];
}

const NO_ROOM = 'is in no room: give its folder a rank in RANKS (tests/unit/house/layers.ts)';

/** Why a file of room `from` at `file` may not import `spec`, or null when it may. */
export function checkImport(file: string, from: Room, spec: string): string | null {
  const path = spec.split('?')[0]!;
  if (/(^|\/)node_modules\//.test(path)) return 'imports node_modules by path; import the package (or a Vite alias)';
  let target: string;
  if (path.startsWith('./') || path.startsWith('../') || path === '.' || path === '..') {
    target = posix.normalize(posix.join(posix.dirname(file), path));
  } else if (path.startsWith('/')) {
    target = posix.normalize(path.slice(1));
  } else {
    return null; // a package (or an alias that names one)
  }
  if (target.startsWith('shaders/')) {
    return from === 'kernels' ? null : `${from} may not load shaders; only the kernels do`;
  }
  if (!target.startsWith('src/')) {
    const top = target.split('/')[0];
    return `src/ may not import from outside src/ (${top === '..' || !top ? target : `${top}/`})`;
  }
  const to = roomOf(target);
  if (!to) return `${target} ${NO_ROOM}`;
  return forbidden(from, to);
}

/** Every import in `files` (repository-relative posix path -> text) that breaks the rule, in path order. */
export function checkLayers(files: ReadonlyMap<string, string>): Violation[] {
  const out: Violation[] = [];
  for (const file of [...files.keys()].sort()) {
    const from = roomOf(file);
    if (!from) {
      out.push({ file, spec: '(the file itself)', reason: `${file} ${NO_ROOM}` });
      continue;
    }
    for (const spec of importsOf(file, files.get(file)!)) {
      const reason = checkImport(file, from, spec);
      if (reason) out.push({ file, spec, reason });
    }
  }
  return out;
}

/** The source files under `root`/src, keyed by repository-relative posix path. */
export function readSources(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (SOURCE_EXTENSIONS.some((x) => e.name.endsWith(x))) {
        files.set(relative(root, p).split(sep).join('/'), readFileSync(p, 'utf8'));
      }
    }
  };
  walk(join(root, 'src'));
  return files;
}
