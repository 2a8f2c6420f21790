// The command line never deletes or writes what it did not create (#17): --force replaces only an rg result, never
// the current folder; a JSONL name is never a path; RG_DIST never names a folder that is not a build of this app;
// an --image the pipeline would refuse is refused before the browser starts. Real files in a temporary folder.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, Staging, checkOut, readImage } from '../../../src/cli/files.mjs';
import { parsePromptsFile } from '../../../src/cli/jsonl.mjs';
import { ROOT, checkDist } from '../../../src/cli/app.mjs';
import * as limits from '../../../src/limits';

let dir = '';
let cwd = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rg-files-'));
  cwd = process.cwd();
});
afterEach(() => {
  process.chdir(cwd);
  rmSync(dir, { recursive: true, force: true });
});

/** A PNG whose IHDR declares `width`×`height` (one tiny IDAT: the header is all rg reads before the browser). */
function pngHeader(width: number, height: number): Uint8Array {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    sig,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(4))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('--out and --force', () => {
  it('refuses --out . --force (and any folder holding the current one), changing nothing', () => {
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    process.chdir(dir);
    expect(() => checkOut('.', true)).toThrow(/holds the current folder/);
    mkdirSync(join(dir, 'sub'));
    process.chdir(join(dir, 'sub'));
    expect(() => checkOut('..', true)).toThrow(/holds the current folder/);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('--force replaces only a folder with an rg result.json or summary.json', () => {
    const foreign = join(dir, 'photos');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'result.json'), JSON.stringify({ format: 'something-else' }));
    expect(() => checkOut(foreign, true)).toThrow(/replaces only a folder rg wrote/);
    const ours = join(dir, 'out');
    mkdirSync(ours);
    writeFileSync(join(ours, 'summary.json'), JSON.stringify({ format: 'rg-cli-compare', version: 1 }));
    writeFileSync(join(ours, 'image.png'), 'old');
    expect(checkOut(ours, true)).toBe(ours);
    const s = new Staging(ours, true);
    s.write('result.json', JSON.stringify({ format: 'rg-cli-result', version: 1 }));
    s.commit();
    expect(readdirSync(ours)).toEqual(['result.json']);
    expect(readdirSync(foreign)).toEqual(['result.json']);
  });

  it('a folder that stops being an rg result while rg runs is not replaced; the results stay beside it', () => {
    const out = join(dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'result.json'), JSON.stringify({ format: 'rg-cli-result' }));
    const s = new Staging(out, true);
    s.write('result.json', '{}');
    writeFileSync(join(out, 'result.json'), 'someone else wrote here');
    expect(() => s.commit()).toThrow(/changed while rg ran/);
    expect(readFileSync(join(out, 'result.json'), 'utf8')).toBe('someone else wrote here');
  });
});

describe('JSONL names', () => {
  it.each(['..', '.', '...', '/etc', 'a/b', 'a\\b', '../x'])('refuses the name %j with its line number', (name) => {
    const text = `{"prompt": "ok"}\n${JSON.stringify({ prompt: 'p', name })}\n`;
    expect(() => parsePromptsFile(text, 'runs.jsonl', {})).toThrow(/runs\.jsonl:2: "name" must be/);
  });
});

describe('RG_DIST', () => {
  it('refuses the project, a folder above it, and a non-empty folder that is not a build of this app', () => {
    expect(() => checkDist(ROOT.replace(/\/$/, ''))).toThrow(/holds the project itself/);
    expect(() => checkDist('/')).toThrow(/holds the project itself/);
    writeFileSync(join(dir, 'thesis.tex'), 'x');
    expect(() => checkDist(dir)).toThrow(/not a build of this app/);
    expect(readdirSync(dir)).toEqual(['thesis.tex']);
    const build = join(dir, 'build');
    mkdirSync(build);
    for (const f of ['index.html', 'cli.html', 'sw.js']) writeFileSync(join(build, f), '');
    expect(() => checkDist(build)).not.toThrow();
    expect(() => checkDist(join(dir, 'new'))).not.toThrow();
  });
});

describe('--image', () => {
  it('uses the pipelines limits', () => {
    expect(MAX_IMAGE_BYTES).toBe(limits.MAX_IMAGE_BYTES);
    expect(MAX_IMAGE_PIXELS).toBe(limits.MAX_IMAGE_PIXELS);
  });

  it('refuses an image whose header declares more pixels than the pipeline takes, from the header alone', () => {
    const big = join(dir, 'big.png');
    writeFileSync(big, pngHeader(20_000, 20_000));
    expect(() => readImage('--image', big)).toThrow(
      /20000×20000 is 400,000,000 pixels, over the 33,554,432-pixel limit/,
    );
    const ok = join(dir, 'ok.png');
    writeFileSync(ok, pngHeader(64, 48));
    expect(readImage('--image', ok).type).toBe('image/png');
  });

  it('refuses a file over the byte limit before reading it', () => {
    const huge = join(dir, 'huge.png');
    writeFileSync(huge, Buffer.alloc(MAX_IMAGE_BYTES + 1));
    expect(() => readImage('--image', huge)).toThrow(/over the 32 MiB limit/);
  });
});
