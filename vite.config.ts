import { defineConfig, defaultClientConditions, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';

const ortDist = fileURLToPath(new URL('./node_modules/onnxruntime-web/dist/', import.meta.url));
/** The onnxruntime-web companions we load at run time (the native WebGPU EP build, which also runs WASM). */
const ortFiles = readdirSync(ortDist).filter((f) => /^ort-wasm-simd-threaded\.asyncify\.(mjs|wasm)$/.test(f));

/**
 * The folder the companions are served from: `/ort/<hash>/`, the hash of their contents. ORT asks for fixed file
 * names, so the version goes into the folder: a new onnxruntime-web gets a new folder, and a page of the previous
 * build (still open in another tab, its files in the service worker's previous cache) keeps loading its own copy.
 */
export const ORT_BASE = `/ort/${ortContentHash()}/`;

function ortContentHash(): string {
  const h = createHash('sha256');
  for (const f of [...ortFiles].sort()) h.update(f).update(readFileSync(join(ortDist, f)));
  return h.digest('hex').slice(0, 12);
}

/**
 * Serves onnxruntime-web's `.wasm`/`.mjs` companions from our own origin under ORT_BASE (dev and preview through
 * middleware, build by emitting them), so nothing is ever fetched from a CDN. The app learns the folder from the
 * `__RG_ORT_BASE__` constant this plugin defines (src/runtime/ort.ts).
 */
export function ortAssets(): Plugin {
  const serve = (req: { url?: string }, res: import('node:http').ServerResponse, next: () => void) => {
    const path = req.url?.split('?')[0];
    const name = path?.startsWith(ORT_BASE) ? path.slice(ORT_BASE.length) : undefined;
    if (!name || !ortFiles.includes(name)) return next();
    // This middleware answers before Vite adds server.headers, so it sets them itself: without COEP/CORP the
    // thread script is refused in a cross-origin-isolated page and ORT's session creation hangs.
    for (const [k, v] of Object.entries(securityHeaders(true))) res.setHeader(k, v);
    res.setHeader('Content-Type', name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript');
    res.end(readFileSync(join(ortDist, name)));
  };
  return {
    name: 'rg-ort-assets',
    enforce: 'pre',
    config() {
      return { define: { __RG_ORT_BASE__: JSON.stringify(ORT_BASE) } };
    },
    // ORT locates its .wasm with `new URL(name, import.meta.url)`, which would make Vite emit a second 27 MB copy;
    // point it at the single copy under ORT_BASE instead (env.wasm.wasmPaths says the same).
    transform(code, id) {
      if (!id.includes('onnxruntime-web/dist/')) return null;
      return code.replace(
        /new URL\("(ort-wasm-[\w.-]+\.wasm)",import\.meta\.url\)/g,
        `new URL("${ORT_BASE}$1",self.location.href)`,
      );
    },
    configureServer(server) {
      server.middlewares.use(serve);
    },
    generateBundle() {
      for (const f of ortFiles)
        this.emitFile({ type: 'asset', fileName: `${ORT_BASE.slice(1)}${f}`, source: readFileSync(join(ortDist, f)) });
    },
  };
}

/**
 * Builds the service worker (src/sw.ts) as its own entry, `sw.js` at the root of the output (a fixed name, so the
 * browser finds updates), and writes into it the list of files to precache (every file of this build: the shell,
 * the worker bundle, onnxruntime-web's /ort/ files), a version derived from their contents, and the security
 * headers, which the service worker puts on any cached response that lacks them. Build only: dev has no service
 * worker (src/store/sw_register.ts registers it in production builds).
 */
export function serviceWorker(): Plugin {
  const entry = fileURLToPath(new URL('./src/sw.ts', import.meta.url));
  let base = '/';
  return {
    name: 'rg-service-worker',
    apply: 'build',
    enforce: 'post',
    configResolved(config) {
      base = config.base;
    },
    buildStart() {
      this.emitFile({ type: 'chunk', id: entry, fileName: 'sw.js' });
    },
    generateBundle(_options, bundle) {
      const sw = bundle['sw.js'];
      if (!sw || sw.type !== 'chunk') return this.error('sw.js was not built');
      if (!bundle['index.html'])
        return this.error('index.html is not in the bundle yet; the service worker plugin must run after it');
      const files = Object.keys(bundle)
        .filter((f) => f !== 'sw.js' && !f.endsWith('.map') && !f.startsWith('.vite/'))
        .sort();
      const hash = createHash('sha256');
      for (const f of files) {
        const item = bundle[f]!;
        hash.update(f).update(item.type === 'chunk' ? item.code : item.source);
      }
      const config = { version: hash.digest('hex').slice(0, 16), base, files, headers: securityHeaders(false) };
      const literal = /(['"`])__RG_SW_CONFIG__\1/;
      if (!literal.test(sw.code)) return this.error('sw.js has no __RG_SW_CONFIG__ placeholder');
      sw.code = sw.code.replace(literal, () => JSON.stringify(JSON.stringify(config)));
    },
  };
}

/**
 * Content-Security-Policy: no inline script; WASM compilation allowed; dev adds the HMR socket. Fetches may reach
 * any https origin and http on loopback only: packs added from a URL (src/store/added_packs.ts) live on other hosts,
 * and `rg --pack PATH` serves a folder on 127.0.0.1.
 */
function csp(dev: boolean): string {
  return [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self' blob:",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    `connect-src 'self' https: http://127.0.0.1:* http://localhost:* data: blob:${dev ? ' ws: wss:' : ''}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
  ].join('; ');
}

/** Cross-origin isolation (SharedArrayBuffer, so WASM can use threads) plus the CSP. */
export function securityHeaders(dev: boolean): Record<string, string> {
  return {
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Content-Security-Policy': csp(dev),
    'X-Content-Type-Options': 'nosniff',
  };
}

/**
 * The `dist/` folder of the onnxruntime-web that transformers.js depends on (another version than ours: nested under
 * its node_modules today, hoisted if npm ever dedupes the two), found the way Node finds it from transformers.js.
 * The reasoner benchmark (src/bench/reasoner.ts) imports that build's WASM companions as
 * `@rg/transformers-ort/<file>?url` instead of a deep relative node_modules path. Null when transformers.js, a dev
 * dependency, is not installed (only that benchmark needs it).
 */
export function transformersOrtDist(): string | null {
  try {
    const transformers = createRequire(import.meta.url).resolve('@huggingface/transformers');
    return dirname(createRequire(transformers).resolve('onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs'));
  } catch {
    return null;
  }
}

const tjsOrt = transformersOrtDist();

/** Settings the app and the test runner share (the test runner serves its own pages, so no CSP there). */
export const shared = {
  plugins: [svelte(), ortAssets()],
  worker: { format: 'es' as const },
  // The non-bundled ORT build: it imports its .mjs companion from env.wasm.wasmPaths (our /ort/), which also lets
  // its WASM threads start from that file.
  resolve: {
    conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions],
    alias: tjsOrt ? [{ find: /^@rg\/transformers-ort\//, replacement: `${tjsOrt}/` }] : [],
  },
  // Vite's dependency optimizer would pre-bundle an aliased `@rg/transformers-ort/…mjs?url` as code, dropping `?url`.
  optimizeDeps: { exclude: ['onnxruntime-web', '@rg/transformers-ort'] },
};

export default defineConfig({
  ...shared,
  plugins: [...shared.plugins, serviceWorker()],
  server: { host: '127.0.0.1', headers: securityHeaders(true) },
  preview: { host: '127.0.0.1', port: 4173, headers: securityHeaders(false) },
  build: {
    target: 'esnext',
    sourcemap: true,
    chunkSizeWarningLimit: 2000,
    // index.html is the app; cli.html is the page the `rg` command line drives (src/cli/page.ts).
    rolldownOptions: {
      input: {
        index: fileURLToPath(new URL('./index.html', import.meta.url)),
        cli: fileURLToPath(new URL('./cli.html', import.meta.url)),
      },
    },
  },
});
