import { describe, expect, it } from 'vitest';
import { DEFAULT_VIEW, hashOf, parseHash } from '../../../src/ui/state/router.svelte';
import { decodeConfig, encodeConfig, type CompareConfig } from '../../../src/ui/state/compare_config';
import { etaText } from '../../../src/ui/state/run.svelte';

describe('hash routes', () => {
  it('reads the view and its query', () => {
    const r = parseHash('#/compare?c=abc&x=1');
    expect(r.view).toBe('compare');
    expect(r.query.get('c')).toBe('abc');
    expect(parseHash('#/device').view).toBe('device');
    expect(parseHash('#/models/').view).toBe('models');
  });
  it('sends anything unknown to the default view', () => {
    for (const h of ['', '#', '#/', '#/nope', '#/../etc', '#javascript:alert(1)'])
      expect(parseHash(h).view).toBe(DEFAULT_VIEW);
  });
  it('writes what it reads', () => {
    const h = hashOf('compare', { c: 'a b+c' });
    expect(h).toBe('#/compare?c=a+b%2Bc');
    expect(parseHash(h).query.get('c')).toBe('a b+c');
    expect(hashOf('imagine')).toBe('#/imagine');
  });
});

const CONFIG: CompareConfig = {
  v: 1,
  grid: 'g123',
  seeds: '42, 7',
  variants: [
    {
      label: 'CoT ✓',
      prompt: 'draw <b>3</b> apples + 2 “apples”',
      cot: true,
      systemPrompt: 'You are…',
      steps: '2',
      guidance: '3',
      width: '32',
      height: '32',
      maxNewTokens: '8',
    },
    {
      label: '',
      prompt: 'x',
      cot: false,
      systemPrompt: 'You are a helpful assistant.',
      steps: '50',
      guidance: '3',
      width: '64',
      height: '64',
    },
  ],
};

describe('shareable Compare links', () => {
  it('round-trip the configuration through a URL-safe string', () => {
    const s = encodeConfig(CONFIG);
    expect(s).toMatch(/^[\w-]+$/);
    expect(decodeConfig(s)).toEqual({ ok: true, value: CONFIG });
    expect(decodeConfig(parseHash(hashOf('compare', { c: s })).query.get('c')!)).toEqual({ ok: true, value: CONFIG });
  });
  it('refuse damaged or hand-edited links with a message', () => {
    const bad = decodeConfig('not-a-config');
    expect(bad.ok).toBe(false);
    const unknownKey = encodeConfig({ ...CONFIG, images: ['data:…'] } as unknown as CompareConfig);
    const r = decodeConfig(unknownKey);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain('not valid');
    const tooMany = encodeConfig({ ...CONFIG, variants: Array(7).fill(CONFIG.variants[0]) });
    expect(decodeConfig(tooMany).ok).toBe(false);
    expect(decodeConfig(encodeConfig({ ...CONFIG, grid: '../x' })).ok).toBe(false);
  });
});

describe('ETA wording', () => {
  it('says seconds, minutes or almost done', () => {
    expect(etaText(null)).toBe('');
    expect(etaText(0.4)).toBe('almost done');
    expect(etaText(12.2)).toBe('about 13 s left');
    expect(etaText(300)).toBe('about 5 min left');
  });
});
