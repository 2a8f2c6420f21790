// @ts-check
// @file `rg --pack PATH`: serves one local pack folder, read-only, on 127.0.0.1 and a free port, so the page adds
// it exactly as it adds a pack from a URL (src/store/added_packs.ts): the same manifest checks, the same store,
// the same sha256 checks of every file. Only regular files under the folder are served (GET and HEAD, one byte
// range at most), with CORS for the app's origin on another port; nothing is ever written.
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';

/**
 * The folder of `--pack PATH` checked before any browser starts: a directory holding a manifest.json.
 * Returns its real absolute path, or throws an Error whose message says what is wrong.
 * @param {string} path
 */
export async function packFolder(path) {
  const abs = resolve(path);
  let st;
  try {
    st = await stat(abs);
  } catch {
    throw new Error(`${path}: no such folder`);
  }
  if (!st.isDirectory()) throw new Error(`${path} is not a folder (give the folder that holds manifest.json)`);
  const m = await stat(join(abs, 'manifest.json')).catch(() => null);
  if (!m?.isFile()) throw new Error(`${path} has no manifest.json (a pack folder, as \`rg convert\` writes, has one)`);
  return realpath(abs);
}

/**
 * Serves `root` (a folder from packFolder) until `close`.
 * @param {string} root
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export async function serveFolder(root) {
  const server = createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'Range');
    res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, Accept-Ranges');
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405).end();
    void answer(root, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(undefined)));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('the pack folder server has no port');
  return {
    url: `http://127.0.0.1:${addr.port}/`,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok(undefined));
      }),
  };
}

/**
 * @param {string} root
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 */
async function answer(root, req, res) {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  let rel;
  try {
    rel = decodeURIComponent(url.pathname);
  } catch {
    return void res.writeHead(400).end();
  }
  const file = resolve(root, `.${rel}`);
  // Only what lies under the folder, also after links are followed.
  if (!file.startsWith(root + sep)) return void res.writeHead(404).end();
  const real = await realpath(file).catch(() => null);
  if (!real || !real.startsWith(root + sep)) return void res.writeHead(404).end();
  const st = await stat(real);
  if (!st.isFile()) return void res.writeHead(404).end();
  let start = 0;
  let end = st.size - 1;
  let status = 200;
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (range) {
    start = Number(range[1]);
    end = range[2] ? Math.min(Number(range[2]), st.size - 1) : st.size - 1;
    if (start >= st.size || start > end) {
      res.writeHead(416, { 'Content-Range': `bytes */${st.size}` });
      return void res.end();
    }
    status = 206;
    res.setHeader('Content-Range', `bytes ${start}-${end}/${st.size}`);
  }
  res.writeHead(status, {
    'Content-Length': String(st.size === 0 ? 0 : end - start + 1),
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'no-store',
  });
  if (req.method === 'HEAD' || st.size === 0) return void res.end();
  createReadStream(real, { start, end }).pipe(res);
}
