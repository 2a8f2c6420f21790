// @file Finds a Chromium for every test and tool that drives a browser: CHROME_PATH, else /usr/bin/chromium,
// else chromium / google-chrome on PATH. Throws a clear error naming the install command when none is found.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Chromium arguments that give a real (software) WebGPU adapter in headless mode on machines without a GPU. */
export const WEBGPU_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  '--use-webgpu-adapter=swiftshader',
];

/** Arguments that keep Chromium off the network it cannot reach here. */
export const QUIET_ARGS = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** @returns {string} the path of a Chromium executable */
export function findChromium(env = process.env) {
  if (env.CHROME_PATH) {
    if (!existsSync(env.CHROME_PATH)) throw new Error(`CHROME_PATH is set to ${env.CHROME_PATH}, which does not exist`);
    return env.CHROME_PATH;
  }
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
      const p = join(dir, name);
      if (dir && existsSync(p)) return p;
    }
  }
  throw new Error(
    'No Chromium found. Install one (Debian/Ubuntu: `sudo apt-get install -y chromium`) ' +
      'or set CHROME_PATH to a Chrome/Chromium executable.',
  );
}
