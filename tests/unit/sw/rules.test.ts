// The service worker's update rules (src/sw/rules.ts, #17 item 10): a new version takes over at once only when no
// page of the previous one is open; once active it deletes the previous versions' caches only when no page that was
// open at the take-over is still open (or never, while that is unknown); it never deletes a cache that is not ours.
import { describe, expect, it } from 'vitest';
import { MESSAGES, oldPagesOpen, staleCaches, takeOverAtOnce } from '../../../src/sw/rules';
import { PAGE_LOADED, PRECACHES, TAKE_OVER } from '../../../src/store/sw_register';

describe('service worker update rules', () => {
  it('takes over at once on the first install or with no page open, otherwise waits', () => {
    expect(takeOverAtOnce(false, 3)).toBe(true); // first install: nothing to protect
    expect(takeOverAtOnce(true, 0)).toBe(true);
    expect(takeOverAtOnce(true, 1)).toBe(false); // a page of the previous version is open
  });

  it('keeps the previous caches while a page open at the take-over is still open', () => {
    const names = ['rg-shell-aaa', 'rg-shell-bbb', 'other-app'];
    const old = new Set(['tab-1', 'tab-2']);
    expect(oldPagesOpen(old, ['tab-2', 'tab-9'])).toBe(true);
    expect(staleCaches(names, 'rg-shell-bbb', oldPagesOpen(old, ['tab-2', 'tab-9']))).toEqual([]);
    // Every old page closed (reloaded pages get new ids): only our other versions go.
    expect(oldPagesOpen(old, ['tab-9'])).toBe(false);
    expect(staleCaches(names, 'rg-shell-bbb', oldPagesOpen(old, ['tab-9']))).toEqual(['rg-shell-aaa']);
    // Not known (the service worker restarted): keep.
    expect(oldPagesOpen(null, [])).toBe(true);
    expect(staleCaches(names, 'rg-shell-bbb', oldPagesOpen(null, []))).toEqual([]);
  });

  it('the page and the service worker spell their messages alike', () => {
    expect({ takeOver: TAKE_OVER, pageLoaded: PAGE_LOADED, precaches: PRECACHES }).toEqual(MESSAGES);
  });
});
