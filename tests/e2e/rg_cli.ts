/** Running the real `rg` command line (bin/rg.mjs) in a child process, shared by the CLI end-to-end specs. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin/rg.mjs');

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `rg …`; the build this Playwright run made is used as it is (built only when dist/ has no cli.html). */
export function rg(args: string[], timeoutMs = 280_000): Promise<Ran> {
  const dist = process.env.RG_DIST ?? join(ROOT, 'dist');
  const env = { ...process.env, RG_BUILD: existsSync(join(dist, 'cli.html')) ? 'never' : 'auto' };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, env, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
      },
    );
  });
}
