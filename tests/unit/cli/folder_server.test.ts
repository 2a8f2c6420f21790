import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packFolder, serveFolder } from '../../../src/cli/folder_server.mjs';
import { packRefKind, settings } from '../../../src/cli/args.mjs';

/** A raw request (the path is sent as written: no client-side normalisation of `..`). */
function get(base: string, path: string, headers: Record<string, string> = {}, method = 'GET') {
  const u = new URL(base);
  return new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((ok, fail) => {
    const req = request({ host: u.hostname, port: u.port, path, method, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('rg --pack PATH: the folder server', () => {
  const root = mkdtempSync(join(tmpdir(), 'rg-folder-'));
  const pack = join(root, 'pack');
  let server: { url: string; close: () => Promise<void> };
  beforeAll(async () => {
    mkdirSync(join(pack, 'sub'), { recursive: true });
    writeFileSync(join(pack, 'manifest.json'), '{"id":"x"}');
    writeFileSync(join(pack, 'sub', 'w.bin'), '0123456789');
    writeFileSync(join(root, 'secret.txt'), 'outside');
    symlinkSync(join(root, 'secret.txt'), join(pack, 'link.txt'));
    server = await serveFolder(await packFolder(pack));
  });
  afterAll(() => server.close());

  it('serves the folder’s files with CORS, and one byte range', async () => {
    const r = await get(server.url, '/sub/w.bin');
    expect(r.status).toBe(200);
    expect(r.body).toBe('0123456789');
    expect(r.headers['access-control-allow-origin']).toBe('*');
    const part = await get(server.url, '/sub/w.bin', { Range: 'bytes=3-5' });
    expect([part.status, part.body, part.headers['content-range']]).toEqual([206, '345', 'bytes 3-5/10']);
    const tail = await get(server.url, '/sub/w.bin', { Range: 'bytes=8-' });
    expect([tail.status, tail.body]).toEqual([206, '89']);
    expect((await get(server.url, '/sub/w.bin', { Range: 'bytes=10-' })).status).toBe(416);
  });

  it('serves nothing outside the folder, no folders, and only reads', async () => {
    for (const path of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/sub/..%2f..%2fsecret.txt',
      '/link.txt',
      '/sub',
      '/',
    ]) {
      const r = await get(server.url, path);
      expect(r.status, path).toBe(404);
      expect(r.body).not.toContain('outside');
    }
    expect((await get(server.url, '/manifest.json', {}, 'PUT')).status).toBe(405);
    expect((await get(server.url, '/%E0%A4%A', {})).status).toBe(400);
  });

  it('packFolder names what is wrong with a path', async () => {
    await expect(packFolder(join(root, 'nope'))).rejects.toThrow('no such folder');
    await expect(packFolder(join(root, 'secret.txt'))).rejects.toThrow('is not a folder');
    await expect(packFolder(join(pack, 'sub'))).rejects.toThrow('has no manifest.json');
    expect(await packFolder(pack)).toBe(realpathSync(pack));
  });
});

describe('--pack ID|URL|PATH', () => {
  it('tells an id from a URL from a folder', () => {
    expect(packRefKind('tiny-random')).toBe('id');
    expect(packRefKind('https://h.example/p/')).toBe('url');
    expect(packRefKind('HTTP://127.0.0.1:8/')).toBe('url');
    expect(packRefKind('./my-pack')).toBe('path');
    expect(packRefKind('/abs/pack')).toBe('path');
    expect(packRefKind('~/packs/x')).toBe('path');
    expect(packRefKind('..')).toBe('path');
  });

  it('the command line takes a URL or a folder; a JSONL line names packs by id only', () => {
    const flag = (n: string) => `--${n}`;
    expect(settings({ pack: './my-pack' }, flag, { sources: true }).pack).toBe('./my-pack');
    expect(settings({ pack: 'https://h.example/p/' }, flag, { sources: true }).pack).toBe('https://h.example/p/');
    expect(() => settings({ pack: './my-pack' }, (n) => `line 3: "${n}"`)).toThrow(
      'line 3: "pack" must be a pack id (letters, digits, - _ .), got "./my-pack"',
    );
  });
});
