import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { findChromium } from '../../../src/cli/browser.mjs';

describe('browser discovery', () => {
  it('prefers CHROME_PATH', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rg-'));
    const fake = join(dir, 'my-chrome');
    writeFileSync(fake, '');
    chmodSync(fake, 0o755);
    expect(findChromium({ CHROME_PATH: fake, PATH: '' })).toBe(fake);
  });

  it('refuses a CHROME_PATH that does not exist', () => {
    expect(() => findChromium({ CHROME_PATH: '/nope/chrome', PATH: '' })).toThrow('CHROME_PATH is set to /nope/chrome');
  });

  it('falls back to /usr/bin/chromium, then PATH, else names the install command', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rg-'));
    const onPath = join(dir, 'google-chrome');
    writeFileSync(onPath, '');
    const found = findChromium({ PATH: dir });
    expect(found).toBe(existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : onPath);
    if (!existsSync('/usr/bin/chromium')) {
      expect(() => findChromium({ PATH: mkdtempSync(join(tmpdir(), 'rg-')) })).toThrow('apt-get install -y chromium');
    }
  });
});
