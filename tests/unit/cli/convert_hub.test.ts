// `rg convert --from owner/name`: checked on a loopback server answering like the Hub (tests/helpers/hub_server.mjs),
// downloaded into --cache at the resolved commit (a dropped connection resumed with Range, the LFS sha256 checked),
// then converted: the same files, byte for byte, as `rg convert` on the folder itself. A tampered shard is refused
// and deleted, a gated repo refused before any download; --out is never written on a refusal.
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/rg.mjs';
import { capture } from '../../helpers/capture';
import { startHubServer } from '../../helpers/hub_server.mjs';

const FIX = fileURLToPath(new URL('../../fixtures/qwen2-replica/', import.meta.url));
const TINY = fileURLToPath(new URL('../../../public/models/tiny-random/', import.meta.url));
const SHARD = 'model-00001-of-00002.safetensors';
const files: Record<string, string> = {
  ...Object.fromEntries(
    [
      'config.json',
      'generation_config.json',
      'model.safetensors.index.json',
      SHARD,
      'model-00002-of-00002.safetensors',
    ].map((p) => [p, FIX + p]),
  ),
  'tokenizer.json': TINY + 'tokenizer.json',
  'tokenizer_config.json': TINY + 'tokenizer_config.json',
};

let hub: Awaited<ReturnType<typeof startHubServer>>;
const dir = mkdtempSync(join(tmpdir(), 'rg-convert-hub-'));

async function rg(args: string[]) {
  const out = capture();
  const err = capture();
  const code = await main(args, { out: out.w, err: err.w });
  return { code, stdout: out.text(), stderr: err.text() };
}

beforeAll(async () => {
  hub = await startHubServer({
    repos: { 'test/qwen2-replica': files, 'test/tampered': files },
    gated: ['test/gated'],
    tamper: [`test/tampered/${SHARD}`],
  });
  process.env.RG_HUB = hub.url;
});
afterAll(async () => {
  delete process.env.RG_HUB;
  await hub.close();
});

describe('rg convert --from a Hugging Face repo id', () => {
  it('downloads at the commit (resuming a dropped connection), checks sha256, converts as the folder', async () => {
    const sha = hub.sha('test/qwen2-replica');
    const cache = join(dir, 'cache');
    hub.cutOnce(SHARD, 50_000);
    const r = await rg(['convert', '--from', 'test/qwen2-replica', '--out', join(dir, 'hub'), '--cache', cache]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`test/qwen2-replica at ${sha.slice(0, 12)} (main): 7 files`);
    expect(r.stderr).toContain(`${SHARD}: resuming at byte 50,000`);
    expect(r.stderr).toContain('sha256 checked');
    const resumed = hub.log.find((l) => l.path.endsWith(`/resolve/${sha}/${SHARD}`) && l.range === 'bytes=50000-');
    expect(resumed?.status).toBe(206);
    // The cache holds the repo's files at the commit, verified, with no .part left.
    const at = join(cache, 'test', 'qwen2-replica', sha);
    expect(readdirSync(at).sort()).toEqual(Object.keys(files).sort());
    expect(readFileSync(join(at, SHARD)).equals(readFileSync(FIX + SHARD))).toBe(true);

    // The same conversion from a folder holding the same files (the cache folder itself is such a folder).
    const direct = await rg(['convert', '--from', at, '--out', join(dir, 'direct')]);
    expect(direct.code, direct.stderr).toBe(0);
    const names = readdirSync(join(dir, 'direct')).sort();
    expect(readdirSync(join(dir, 'hub')).sort()).toEqual(names);
    for (const n of names)
      expect(readFileSync(join(dir, 'hub', n)).equals(readFileSync(join(dir, 'direct', n))), n).toBe(true);

    // A second run finds the verified files in the cache and downloads nothing.
    const before = hub.log.filter((l) => l.path.includes('/resolve/') && l.range === null).length;
    const again = await rg(['convert', '--from', 'test/qwen2-replica', '--out', join(dir, 'again'), '--cache', cache]);
    expect(again.code, again.stderr).toBe(0);
    expect(hub.log.filter((l) => l.path.includes('/resolve/') && l.range === null).length).toBe(before);
  });

  it('a tampered shard fails its sha256 check: refused, the bad copy deleted, --out not written', async () => {
    const cache = join(dir, 'cache2');
    const r = await rg(['convert', '--from', 'test/tampered', '--out', join(dir, 'bad'), '--cache', cache]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${SHARD} failed its sha256 check`);
    expect(existsSync(join(dir, 'bad'))).toBe(false);
    const at = join(cache, 'test', 'tampered', hub.sha('test/tampered'));
    expect(existsSync(join(at, SHARD))).toBe(false);
    expect(existsSync(join(at, `${SHARD}.part`))).toBe(false);
  });

  it('a gated repo and a name that is neither a folder nor a repo id exit 2 before any download', async () => {
    const cache = join(dir, 'cache3');
    const gated = await rg(['convert', '--from', 'test/gated', '--out', join(dir, 'g'), '--cache', cache]);
    expect(gated.code).toBe(2);
    expect(gated.stderr).toContain('rg: --from test/gated: test/gated is gated or private');
    expect(existsSync(cache)).toBe(false);
    const neither = await rg(['convert', '--from', 'no such thing', '--out', join(dir, 'n')]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('no such folder (nor a Hugging Face repo id');
  });
});
