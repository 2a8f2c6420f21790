// @ts-check
// @file The browser side of `rg`: makes sure the app is built, serves the build on 127.0.0.1 (a free port, the same
// security headers as `npm start`), opens cli.html in headless Chromium with WebGPU and hands back a typed bridge
// to the page (src/cli/page.ts), whose events arrive through `page.exposeFunction`.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './args.mjs';
import { findChromium, QUIET_ARGS, WEBGPU_ARGS } from './browser.mjs';

/** The repository root (this file is src/cli/app.mjs). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONFIG = join(ROOT, 'vite.config.ts');

/** What a build is made from: when any of these is newer than the build's cli.html, the build is stale. */
export const BUILD_INPUTS = [
  'src',
  'shaders',
  'public',
  'index.html',
  'cli.html',
  'vite.config.ts',
  'package.json',
  'package-lock.json',
  'svelte.config.js',
  'tsconfig.json',
];

/**
 * Newest modification time (ms) under `p` (a file or a folder, recursively); 0 when absent.
 * @param {string} p
 * @returns {number}
 */
export function newestMtime(p) {
  let st;
  try {
    st = statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let m = st.mtimeMs;
  for (const e of readdirSync(p, { withFileTypes: true })) m = Math.max(m, newestMtime(join(p, e.name)));
  return m;
}

/**
 * Why `dist` must be (re)built, or null when it is up to date: it has no cli.html (missing, or built before the
 * command line existed), or a build input (BUILD_INPUTS) changed after that file was written.
 * @param {string} dist @param {string} [root]
 */
export function staleReason(dist, root = ROOT) {
  const stamp = join(dist, 'cli.html');
  if (!existsSync(stamp))
    return existsSync(dist)
      ? `${relative(root, dist) || dist}/ has no cli.html`
      : `${relative(root, dist) || dist}/ does not exist`;
  const built = statSync(stamp).mtimeMs;
  for (const input of BUILD_INPUTS) {
    const t = newestMtime(join(root, input));
    if (t > built) return `${input} changed since the last build`;
  }
  return null;
}

/**
 * Refuses a build folder rg must not empty (Vite empties its output folder before a build): the project itself or
 * a folder above it, and any non-empty folder that is not a build of this app (index.html, cli.html and sw.js).
 * @param {string} dist absolute path
 */
export function checkDist(dist) {
  const name = `RG_DIST=${process.env.RG_DIST ?? 'dist'}`;
  const root = resolve(ROOT);
  if (dist === root || root.startsWith(dist.endsWith(sep) ? dist : dist + sep)) {
    throw new UsageError(`${name}: ${dist} holds the project itself; a build would empty it. Choose a new folder.`);
  }
  if (!existsSync(dist)) return;
  if (!statSync(dist).isDirectory()) throw new UsageError(`${name}: ${dist} exists and is not a folder`);
  if (readdirSync(dist).length === 0) return;
  const isBuild = ['index.html', 'cli.html', 'sw.js'].every((f) => existsSync(join(dist, f)));
  if (!isBuild || existsSync(join(dist, 'package.json'))) {
    throw new UsageError(
      `${name}: ${dist} holds files that are not a build of this app (no index.html, cli.html and sw.js); ` +
        'rg empties its build folder before building, so it leaves this one alone. Choose a new or empty folder.',
    );
  }
}

/**
 * The build folder: $RG_DIST when set, else dist/. Built with Vite when stale (see staleReason); RG_BUILD=always
 * rebuilds every time, RG_BUILD=never uses what is there.
 * @param {(line: string) => void} log
 */
export async function ensureBuilt(log) {
  const dist = resolve(ROOT, process.env.RG_DIST ?? 'dist');
  checkDist(dist);
  const mode = process.env.RG_BUILD ?? 'auto';
  const why = mode === 'always' ? 'RG_BUILD=always' : mode === 'never' ? null : staleReason(dist);
  if (mode === 'never' && !existsSync(join(dist, 'cli.html')))
    throw new Error(`RG_BUILD=never, but ${dist} has no cli.html; build it with \`npx vite build\``);
  if (why) {
    log(`building the app into ${relative(process.cwd(), dist) || '.'} (${why})…`);
    const t0 = Date.now();
    const { build } = await import('vite');
    await build({
      root: ROOT,
      configFile: CONFIG,
      logLevel: 'error',
      clearScreen: false,
      build: { outDir: dist, emptyOutDir: true },
    });
    log(`built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  return dist;
}

/**
 * Serves `dist` with `vite preview` on 127.0.0.1 and a free port (the headers of vite.config.ts `preview`).
 * @param {string} dist
 */
export async function serve(dist) {
  const { preview } = await import('vite');
  const server = await preview({
    root: ROOT,
    configFile: CONFIG,
    logLevel: 'error',
    clearScreen: false,
    build: { outDir: dist },
    preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
  });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report a URL');
  return { url, close: () => server.close() };
}

/**
 * @typedef {import('./page.ts').CliBridge} CliBridge
 * @typedef {import('./page.ts').CliEvent} CliEvent
 * @typedef {import('../errors.ts').ErrorInfo} ErrorInfo
 */

/** An error the worker reported: its code decides the exit status (BAD_INPUT → 2). */
export class PageError extends Error {
  /** @param {ErrorInfo} info */
  constructor(info) {
    super(info.message);
    this.name = 'PageError';
    this.code = info.code;
    this.field = info.field;
    this.hint = info.hint;
  }
}

/**
 * Chromium arguments: the tests' software WebGPU (SwiftShader) unless RG_CHROME_ARGS replaces them (e.g.
 * `--enable-unsafe-webgpu --enable-features=Vulkan` for a real GPU).
 */
function chromeArgs() {
  const custom = process.env.RG_CHROME_ARGS?.trim();
  return [...(custom ? ['--no-sandbox', ...custom.split(/\s+/)] : WEBGPU_ARGS), ...QUIET_ARGS];
}

/**
 * Builds if needed, serves, opens cli.html. `call(method, ...args)` runs a bridge method in the page and returns
 * its value or throws PageError; `close()` ends everything (safe to call twice).
 * @param {{ log: (line: string) => void, onEvent: (e: CliEvent) => void }} io
 */
export async function openApp(io) {
  const dist = await ensureBuilt(io.log);
  /** @type {Array<() => Promise<unknown>>} */
  const closers = [];
  const close = async () => {
    while (closers.length)
      await closers
        .pop()?.()
        .catch(() => undefined);
  };
  try {
    const server = await serve(dist);
    closers.push(server.close);
    const { chromium } = await import('playwright');
    const browser = await chromium.launch({ executablePath: findChromium(), args: chromeArgs(), headless: true });
    closers.push(() => browser.close());
    const page = await browser.newPage();
    /** @type {string | null} */
    let crashed = null;
    /** @type {Set<(e: Error) => void>} */
    const failWaiters = new Set();
    const fail = (/** @type {string} */ m) => {
      crashed = m;
      for (const w of failWaiters) w(new Error(m));
    };
    page.on('crash', () => fail('the browser page crashed'));
    page.on('pageerror', (e) => io.log(`page error: ${e.message}`));
    // Page and worker console errors go to stderr once each; onnxruntime-web's own warnings (printed as errors)
    // only with RG_VERBOSE=1, which shows everything.
    const seen = new Set();
    page.on('console', (m) => {
      const text = m.text();
      if (process.env.RG_VERBOSE) io.log(`[page ${m.type()}] ${text}`);
      else if (m.type() === 'error' && !/\[W:onnxruntime/.test(text) && !seen.has(text)) {
        seen.add(text);
        io.log(`[page ${m.type()}] ${text}`);
      }
    });
    await page.exposeFunction('__rgEmit', (/** @type {CliEvent} */ e) => {
      if (e.type === 'crash') fail(e.message);
      io.onEvent(e);
    });
    await page.goto(new URL('cli.html', url(server)).href);
    await page.waitForFunction(() => document.body?.dataset.ready === 'true', undefined, { timeout: 60_000 });
    /**
     * @template {keyof CliBridge} K
     * @param {K} method
     * @param {Parameters<CliBridge[K]>} args
     * @returns {Promise<Extract<Awaited<ReturnType<CliBridge[K]>>, { ok: true }>['value']>}
     */
    const call = async (method, ...args) => {
      if (crashed) throw new Error(crashed);
      /** @type {(e: Error) => void} */
      let reject = () => {};
      const failed = new Promise((_, r) => {
        reject = r;
        failWaiters.add(r);
      });
      try {
        const run = page.evaluate(
          ([m, a]) => /** @type {any} */ (window).__rg[m](...a),
          /** @type {const} */ ([method, args]),
        );
        const res = /** @type {any} */ (await Promise.race([run, failed]));
        if (!res.ok) throw new PageError(res.error);
        return res.value;
      } finally {
        failWaiters.delete(reject);
      }
    };
    return { call, close, url: url(server) };
  } catch (e) {
    await close();
    throw e;
  }
}

/** @param {{ url: string }} s */
function url(s) {
  return s.url;
}
