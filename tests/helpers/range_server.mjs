// @file A loopback fault server for download tests, listening on 127.0.0.1 only. It serves `public/` with real HTTP
// Range support (206 + Content-Range), CORS for the test page's origin, and per-session fault plans set over HTTP:
// cut the connection after a given byte of a file (once), stall after a byte (until the client gives up), ignore
// Range headers, serve a file shorter or longer than it is (`sizes`: delta bytes, as a server holding another
// version), leave out Content-Length (`chunked`), trickle a file slowly (`trickle`: bytes per tick), or answer 503
// to every request after the first `maxRequests` (a bound, so a client that loops ends), or serve other bytes for
// a path (`overrides`: base64, as a newer version of the pack would). Every request is logged
// per session so a test can assert the exact Range it received.
//
// URLs: /s/<session>/<path under public/>      the files
//       POST /__ctl/<session>/plan  {cuts?, stalls?, ignoreRange?, sizes?, chunked?, trickle?, maxRequests?,
//                                    overrides?}
//       GET  /__ctl/<session>/log                                     [{path, range, status, sent, fault}]
//
// Also the Vitest globalSetup of the gpu project: starts the server and provides its URL as `rangeServer`.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join, normalize, sep } from 'node:path';

const PUBLIC = fileURLToPath(new URL('../../public/', import.meta.url));

/**
 * @param {{ root?: string }} [opts]
 * @returns {Promise<{ url: string, close: () => Promise<void>, sessions: Map<string, {plan: any, log: any[]}> }>}
 */
export async function startRangeServer(opts = {}) {
  const root = opts.root ?? PUBLIC;
  /** @type {Map<string, {plan: any, log: any[]}>} */
  const sessions = new Map();
  const session = (id) => {
    if (!sessions.has(id)) {
      const plan = {
        cuts: [],
        stalls: [],
        ignoreRange: false,
        sizes: [],
        chunked: false,
        trickle: [],
        maxRequests: Infinity,
        overrides: [],
      };
      sessions.set(id, { plan, log: [], requests: 0 });
    }
    return sessions.get(id);
  };
  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set();

  const server = createServer(async (req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'Range, Content-Type');
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
    res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, Accept-Ranges');
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const ctl = url.pathname.match(/^\/__ctl\/([\w-]+)\/(plan|log)$/);
    if (ctl) {
      const s = session(ctl[1]);
      if (ctl[2] === 'log')
        return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(s.log));
      let body = '';
      for await (const c of req) body += c;
      const plan = JSON.parse(body || '{}');
      s.plan = {
        cuts: plan.cuts ?? [],
        stalls: plan.stalls ?? [],
        ignoreRange: !!plan.ignoreRange,
        sizes: plan.sizes ?? [],
        chunked: !!plan.chunked,
        trickle: plan.trickle ?? [],
        maxRequests: plan.maxRequests ?? Infinity,
        overrides: plan.overrides ?? [],
      };
      s.requests = 0;
      s.log.length = 0;
      return void res.writeHead(204).end();
    }
    const m = url.pathname.match(/^\/s\/([\w-]+)\/(.+)$/);
    if (!m || req.method !== 'GET') return void res.writeHead(404).end('not found');
    const s = session(m[1]);
    const rel = decodeURIComponent(m[2]);
    const file = normalize(join(root, rel));
    if (!file.startsWith(normalize(root + sep))) return void res.writeHead(403).end();
    if (++s.requests > s.plan.maxRequests) {
      s.log.push({ path: rel, range: req.headers.range ?? null, status: 503, sent: 0, fault: 'over maxRequests' });
      return void res.writeHead(503).end('too many requests in this test');
    }
    let data;
    try {
      const override = s.plan.overrides.find((o) => o.path === rel);
      if (override) data = Buffer.from(override.base64, 'base64');
      else {
        const st = await stat(file);
        if (!st.isFile()) throw new Error('not a file');
        data = await readFile(file);
      }
    } catch {
      s.log.push({ path: rel, range: req.headers.range ?? null, status: 404, sent: 0, fault: null });
      return void res.writeHead(404).end('not found');
    }
    // Another version of the file: `delta` bytes shorter (< 0) or longer (> 0, zero bytes appended).
    const resize = s.plan.sizes.find((z) => z.path === rel);
    if (resize)
      data =
        resize.delta < 0
          ? data.subarray(0, data.length + resize.delta)
          : Buffer.concat([data, Buffer.alloc(resize.delta)]);
    const size = data.length;
    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = req.headers.range ?? null;
    if (range && !s.plan.ignoreRange) {
      const r = range.match(/^bytes=(\d+)-(\d*)$/);
      if (!r || Number(r[1]) >= size) {
        s.log.push({ path: rel, range, status: 416, sent: 0, fault: null });
        return void res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
      }
      start = Number(r[1]);
      end = r[2] ? Math.min(Number(r[2]), size - 1) : size - 1;
      status = 206;
    }
    const headers = {
      'Content-Type': 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      'Cache-Control': 'no-store',
    };
    if (!s.plan.chunked) headers['Content-Length'] = String(end - start + 1);
    if (status === 206) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    // A fault applies once, to the first response that would carry its byte.
    const cutAt = s.plan.cuts.findIndex((c) => c.path === rel && c.after > start && c.after <= end);
    const stallAt = s.plan.stalls.findIndex((c) => c.path === rel && c.after > start && c.after <= end);
    const entry = { path: rel, range, status, sent: 0, fault: null };
    s.log.push(entry);
    res.writeHead(status, headers);
    if (cutAt >= 0 || stallAt >= 0) {
      const fault = cutAt >= 0 ? s.plan.cuts.splice(cutAt, 1)[0] : s.plan.stalls.splice(stallAt, 1)[0];
      const body = data.subarray(start, fault.after);
      entry.sent = body.length;
      entry.fault = cutAt >= 0 ? `cut after byte ${fault.after}` : `stall after byte ${fault.after}`;
      res.write(body, () => {
        // Cut: close the socket with bytes still owed (the client sees a body shorter than Content-Length). The wait
        // lets a loaded client read what was sent first: Chromium drops bytes still unread when the socket dies, and
        // after 20 ms a busy page had once read none, so its retry was a fresh whole-file fetch, not a resume.
        if (cutAt >= 0) setTimeout(() => req.socket.destroy(), 400);
        // Stall: keep the connection open and silent; the client cancels it.
      });
      return;
    }
    const slow = s.plan.trickle.find((t) => t.path === rel);
    if (slow) {
      // A slow link: `bytes` every `everyMs`, until the body is sent or the client goes away.
      let at = start;
      const tick = () => {
        if (res.destroyed) return;
        const next = Math.min(end + 1, at + slow.bytes);
        res.write(data.subarray(at, next));
        entry.sent += next - at;
        at = next;
        if (at > end) res.end();
        else setTimeout(tick, slow.everyMs);
      };
      return tick();
    }
    entry.sent = end - start + 1;
    res.end(data.subarray(start, end + 1));
  });
  server.on('connection', (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const addr = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${addr.port}`,
    sessions,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve(undefined));
      }),
  };
}

/** Vitest globalSetup: one server for the run; tests read its URL with `inject('rangeServer')`. */
export default async function setup(project) {
  const server = await startRangeServer();
  project.provide('rangeServer', server.url);
  return () => server.close();
}
