// @file A loopback server that answers like the Hugging Face Hub for the repos it is given, for tests of the repo-id
// flow (src/convert/hub.ts): the model API at a revision with `blobs=true` (files with sizes; LFS files, i.e.
// *.safetensors, with their sha256), and resolve URLs with HTTP Range. A repo is a map of its paths to files on
// disk; `gated` repos answer 401 (unless the request carries `Authorization: Bearer <token>` with the server's
// `token`, when the repo is also in `repos`) and unknown ones 404, as the Hub does. Revisions: `main` or the repo's
// commit sha (a sha1 of its paths and bytes). Every request is logged with its Range and Authorization, so a test can
// assert what was fetched and what was sent.
// Faults: `stallOnce(path, after)` sends `after` bytes of the next resolve of `path` and then nothing, holding the
// connection open (a stuck download, for cancel tests); `cutOnce(path, after)` drops the connection once after `after`
// bytes of a resolve of `path` (resume
// tests); `tamper` (repo/path entries) serves a file with its last byte changed while the API still lists the
// original sha256 (integrity tests).
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { readFileSync, statSync } from 'node:fs';

/**
 * @param {{ repos: Record<string, Record<string, string>>, gated?: string[], licence?: Record<string, string>,
 *   tamper?: string[], token?: string }} opts
 *   repos: `owner/name` → { path in the repo → file on disk }
 * @returns {Promise<{ url: string,
 *   log: { path: string, range: string | null, status: number, sent: number, auth: string | null }[],
 *   sha: (repo: string) => string, cutOnce: (path: string, after: number) => void,
 *   stallOnce: (path: string, after: number) => void, close: () => Promise<void> }>}
 */
export async function startHubServer(opts) {
  /**
   * @type {Map<string, { sha: string,
   *   files: Map<string, { disk: string, bytes: number, sha256: string, blobId: string }> }>}
   */
  const repos = new Map();
  for (const [id, map] of Object.entries(opts.repos)) {
    const files = new Map();
    const h = createHash('sha1');
    for (const [path, disk] of Object.entries(map).sort(([a], [b]) => (a < b ? -1 : 1))) {
      const bytes = readFileSync(disk);
      files.set(path, {
        disk,
        bytes: statSync(disk).size,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        // git's object id of the file's blob, as the Hub lists it for files kept in git (not LFS).
        blobId: createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex'),
      });
      h.update(path).update(bytes);
    }
    repos.set(id, { sha: h.digest('hex'), files });
  }
  const gated = new Set(opts.gated ?? []);
  const tamper = new Set(opts.tamper ?? []);
  /** @type {Map<string, number>} path → bytes to send before dropping the connection (once) */
  const cuts = new Map();
  /** @type {Map<string, number>} path → bytes to send before going silent (once) */
  const stalls = new Map();
  /** @type {{ path: string, range: string | null, status: number, sent: number, auth: string | null }[]} */
  const log = [];

  const server = createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'Range, Accept, Authorization');
    res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, Accept-Ranges');
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const range = req.headers.range ?? null;
    const auth = req.headers.authorization ?? null;
    const answer = (status, body, headers = {}) => {
      const b = typeof body === 'string' ? Buffer.from(body) : body;
      res.writeHead(status, { 'Content-Length': String(b.byteLength), ...headers });
      res.end(b);
      log.push({ path: url.pathname, range, status, sent: b.byteLength, auth });
    };
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const id = decodeURIComponent((api ?? resolve)?.[1] ?? '');
    const signedIn = opts.token !== undefined && auth === `Bearer ${opts.token}`;
    if (gated.has(id) && !(signedIn && repos.has(id)))
      return answer(401, JSON.stringify({ error: 'Access to this model is restricted.' }));
    const repo = repos.get(id);
    const rev = decodeURIComponent((api ?? resolve)?.[2] ?? '');
    if (!repo || (rev !== 'main' && rev !== repo.sha))
      return answer(404, JSON.stringify({ error: 'Repository not found' }));
    if (api) {
      const siblings = [...repo.files].map(([path, f]) =>
        path.endsWith('.safetensors')
          ? { rfilename: path, size: f.bytes, lfs: { sha256: f.sha256, size: f.bytes, pointerSize: 134 } }
          : { rfilename: path, size: f.bytes, blobId: f.blobId },
      );
      const licence = opts.licence?.[id];
      return answer(
        200,
        JSON.stringify({
          id,
          sha: repo.sha,
          gated: false,
          siblings,
          ...(licence ? { cardData: { license: licence } } : {}),
        }),
        { 'Content-Type': 'application/json' },
      );
    }
    if (!resolve) return answer(404, 'not found');
    const file = repo.files.get(decodeURIComponent(resolve[3]));
    if (!file) return answer(404, 'Entry not found');
    const bytes = Buffer.from(readFileSync(file.disk));
    if (tamper.has(`${id}/${decodeURIComponent(resolve[3])}`)) bytes[bytes.length - 1] ^= 0xff;
    const stall = stalls.get(decodeURIComponent(resolve[3]));
    if (stall !== undefined && !range) {
      stalls.delete(decodeURIComponent(resolve[3]));
      res.writeHead(200, { 'Content-Length': String(bytes.byteLength) });
      res.write(bytes.subarray(0, stall));
      log.push({ path: url.pathname, range, status: 200, sent: stall, auth });
      return;
    }
    const cut = cuts.get(decodeURIComponent(resolve[3]));
    if (cut !== undefined && !range) {
      cuts.delete(decodeURIComponent(resolve[3]));
      res.writeHead(200, { 'Content-Length': String(bytes.byteLength) });
      res.write(bytes.subarray(0, cut), () => setTimeout(() => res.destroy(), 200));
      log.push({ path: url.pathname, range, status: 200, sent: cut, auth });
      return;
    }
    const m = /^bytes=(\d+)-(\d*)$/.exec(range ?? '');
    if (!m) return answer(200, bytes);
    const start = Number(m[1]);
    const end = m[2] ? Math.min(Number(m[2]), bytes.byteLength - 1) : bytes.byteLength - 1;
    if (start >= bytes.byteLength) return answer(416, '', { 'Content-Range': `bytes */${bytes.byteLength}` });
    return answer(206, bytes.subarray(start, end + 1), {
      'Content-Range': `bytes ${start}-${end}/${bytes.byteLength}`,
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(undefined)));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('hub server: no port');
  return {
    url: `http://127.0.0.1:${addr.port}/`,
    log,
    sha: (id) => repos.get(id)?.sha ?? '',
    cutOnce: (path, after) => void cuts.set(path, after),
    stallOnce: (path, after) => void stalls.set(path, after),
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok(undefined));
      }),
  };
}
