// Understand (src/pipeline/understand.ts) on WebGPU: bad input is refused before any GPU work with nothing changed;
// a run streams phase/token events and reproduces the fixtures; through the worker, cancel(runId) stops a run
// mid-stream and the next run equals an uninterrupted one, and errors keep their code and field.
import { afterAll, describe, expect, it } from 'vitest';
import { proxy } from 'comlink';
import { acquireDevice, liveBufferCount } from '../../../src/gpu/device';
import { RgError } from '../../../src/errors';
import { understand, type UnderstandRequest } from '../../../src/pipeline/understand';
import { releaseReasoners } from '../../../src/models/reasoner';
import type { RgEvent } from '../../../src/worker/api';
import { WorkerHandle } from '../../../src/worker/client';
import { fixtureBytes, GREEDY, tinyRandom } from './reasoner_fixtures';

const plain = GREEDY.find((g) => g.name === 'plain')!;
const image = GREEDY.find((g) => g.name === 'image')!;
const base: UnderstandRequest = {
  runId: 'r',
  pack: 'tiny-random',
  prompt: 'What is two plus three?',
  cot: false,
  maxNewTokens: 16,
};

afterAll(async () => {
  await releaseReasoners();
});

async function runPage(req: UnderstandRequest, signal?: AbortSignal) {
  const events: RgEvent[] = [];
  const device = await acquireDevice();
  const result = understand(req, (e) => void events.push(e), {
    source: tinyRandom(),
    choice: { backend: 'webgpu', device },
    signal,
  });
  return { result, events };
}

describe('Understand in the page (WebGPU)', () => {
  const badInputTitle =
    'refuses bad input before any GPU work: BAD_INPUT with the field, one error event, no GPU buffer created';
  it(badInputTitle, async () => {
    const device = await acquireDevice();
    const before = liveBufferCount(device);
    const huge = new Uint8Array(32 * 1024 * 1024 + 1);
    const cases: [Partial<UnderstandRequest>, string, RegExp][] = [
      [{ prompt: '   ' }, 'prompt', /empty/],
      [{ prompt: 'x '.repeat(1100) }, 'prompt', /tokens, \d+ more than the reasoner's context of 1024 tokens/],
      [{ image: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]) }, 'image', /cannot decode/],
      [{ image: huge }, 'image', /32\.0 MiB/],
      [{ chatTemplate: '<|foo|>{{ messages[1].content }}' }, 'chatTemplate', /<\|foo\|>/],
      [{ temperature: -1 }, 'temperature', /temperature/],
      [{ maxNewTokens: 0 }, 'maxNewTokens', /max new tokens/],
    ];
    for (const [patch, field, message] of cases) {
      const { result, events } = await runPage({ ...base, ...patch });
      const err = await result.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(Object.keys(patch))).toBeInstanceOf(RgError);
      expect((err as RgError).code).toBe('BAD_INPUT');
      expect((err as RgError).field).toBe(field);
      expect((err as RgError).message).toMatch(message);
      expect(events).toEqual([{ type: 'error', error: expect.objectContaining({ code: 'BAD_INPUT', field }) }]);
    }
    expect(liveBufferCount(device)).toBe(before);
  });

  it('streams phase and token events; the answer reproduces the fixture (image question)', async () => {
    const png = await fixtureBytes('understand_image.png');
    const { result, events } = await runPage({
      ...base,
      prompt: 'How many shapes are in this picture?',
      image: new Blob([png as BlobPart], { type: 'image/png' }),
    });
    const r = await result;
    expect(r.tokenIds).toEqual(image.generated_ids);
    expect(r.promptTokens).toBe(image.prompt_length);
    expect(r.backend).toBe('webgpu');
    expect(r.stopReason).toBe('max_new_tokens');
    expect(r.formatOk).toBe(false); // random weights do not follow the format
    const kinds = events.map((e) => (e.type === 'phase' ? `phase:${e.phase}` : e.type));
    expect(kinds[0]).toBe('phase:loading');
    expect(kinds[1]).toBe('phase:answering'); // no CoT: answering from the start
    expect(kinds.slice(-2)).toEqual(['phase:done', 'done']);
    const streamed = events.flatMap((e) => (e.type === 'token' ? [e.text] : [])).join('');
    expect(streamed).toBe(image.generated_text);
    expect(r.text).toBe(image.generated_text);
  });

  it('with chain of thought the stream starts in the thinking phase', async () => {
    const { result, events } = await runPage({ ...base, cot: true, maxNewTokens: 2 });
    await result;
    expect(events.filter((e) => e.type === 'phase').map((e) => (e as { phase: string }).phase)).toEqual([
      'loading',
      'thinking',
      'done',
    ]);
    expect(events.filter((e) => e.type === 'token').every((e) => (e as { phase: string }).phase === 'thinking')).toBe(
      true,
    );
  });
});

describe('Understand through the worker', () => {
  const handle = new WorkerHandle();
  afterAll(() => handle.dispose());

  async function call(req: UnderstandRequest, onEvent?: (e: RgEvent, events: RgEvent[]) => void) {
    const events: RgEvent[] = [];
    const result = await handle.api
      .understand(
        req,
        proxy((e: RgEvent) => {
          events.push(e);
          onEvent?.(e, events);
        }),
      )
      .then(
        (r) => ({ ok: true as const, r }),
        (e: unknown) => ({ ok: false as const, e: e as RgError }),
      );
    return { ...result, events };
  }

  it('cancel(runId) mid-stream rejects with CANCELLED; the next run equals an uninterrupted one', async () => {
    const first = await call({ ...base, runId: 'whole' });
    if (!first.ok) throw first.e;
    expect(first.r.tokenIds).toEqual(plain.generated_ids);

    // A long budget, so the run is surely still going when the cancel arrives.
    const cancelled = await call({ ...base, runId: 'cut', maxNewTokens: 512 }, (e, events) => {
      if (e.type === 'token' && events.filter((x) => x.type === 'token').length === 3) void handle.api.cancel('cut');
    });
    expect(cancelled.ok).toBe(false);
    if (!cancelled.ok) expect(cancelled.e.code).toBe('CANCELLED');
    expect(cancelled.events.at(-1)).toMatchObject({ type: 'error', error: { code: 'CANCELLED' } });
    expect(await handle.api.cancel('cut')).toBe(false); // nothing left running under that id

    const again = await call({ ...base, runId: 'again' });
    if (!again.ok) throw again.e;
    expect(again.r.tokenIds).toEqual(first.r.tokenIds);
    expect(again.r.text).toBe(first.r.text);
  });

  it('bad input crosses the worker boundary as BAD_INPUT with its field', async () => {
    const res = await call({ ...base, runId: 'bad', prompt: '' });
    expect(res.ok).toBe(false);
    if (!res.ok) {
      expect(res.e.code).toBe('BAD_INPUT');
      expect(res.e.field).toBe('prompt');
    }
    const dup = await call({ ...base, runId: 'has space' });
    expect(dup.ok).toBe(false);
    if (!dup.ok) expect(dup.e.field).toBe('runId');
  });
});
