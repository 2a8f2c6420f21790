// @ts-check
// @file `rg convert --from owner/name[@revision]`: the files a conversion reads, downloaded from the Hub into a cache
// folder at the commit the revision resolved to, then converted from there like any folder. Each file goes to
// `<path>.part` first and is renamed into place only once its size (and, for LFS files, the sha256 the Hub lists)
// matches, so a file in the cache is a verified one; a `.part` left by a dropped connection or an interrupted run is
// resumed with a Range request. A file whose bytes do not hash to the listed sha256 is deleted and refused.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Attempts per file (each resumes where the last one stopped). */
const ATTEMPTS = 4;

/**
 * @typedef {{ path: string, bytes: number, sha256: string | null }} HubFile
 * @typedef {{ code: string, message: string, hint?: string }} Refusal
 */

/** @param {string} code @param {string} message @param {string} [hint] */
function refusal(code, message, hint) {
  return Object.assign(new Error(message), { code, hint });
}

/** sha256 of the first `n` bytes of `file` (a partial download being resumed). @param {string} file */
async function hashPrefix(file) {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk);
  return h;
}

/**
 * Downloads `files` of `repo` at commit `sha` from `hub` into `dir` (skipping those already there).
 * @param {{ hub: string, repo: string, sha: string, files: HubFile[], dir: string,
 *   log: (line: string) => void, fetch?: typeof fetch }} o
 * @returns {Promise<{ fetched: number, resumed: number }>}
 */
export async function downloadHubFiles(o) {
  const f = o.fetch ?? fetch;
  let fetched = 0;
  let resumed = 0;
  const total = o.files.reduce((a, x) => a + x.bytes, 0);
  let done = 0;
  for (const file of o.files) {
    const final = join(o.dir, file.path);
    if (!final.startsWith(o.dir + '/'))
      throw refusal('BAD_INPUT', `the Hub lists a file outside the repo: ${file.path}`);
    const have = existsSync(final) ? (await stat(final)).size : -1;
    if (have === file.bytes) {
      done += file.bytes;
      continue;
    }
    await mkdir(dirname(final), { recursive: true });
    const part = `${final}.part`;
    const url = `${o.hub}${o.repo}/resolve/${o.sha}/${file.path.split('/').map(encodeURIComponent).join('/')}`;
    for (let attempt = 1; ; attempt++) {
      let at = existsSync(part) ? (await stat(part)).size : 0;
      if (at > file.bytes) {
        await rm(part);
        at = 0;
      }
      const hash = at > 0 ? await hashPrefix(part) : createHash('sha256');
      if (at > 0) {
        resumed++;
        o.log(`  ${file.path}: resuming at byte ${at.toLocaleString('en-US')}`);
      }
      try {
        if (at < file.bytes) {
          const res = await f(url, at > 0 ? { headers: { Range: `bytes=${at}-` } } : {});
          if (res.status === 401 || res.status === 403 || res.status === 404)
            throw refusal('BAD_INPUT', `${url} answered HTTP ${res.status}`, 'The repo or the file is gone or gated.');
          if (!(res.status === 200 || (at > 0 && res.status === 206)) || !res.body)
            throw new Error(`${url} answered HTTP ${res.status}`);
          const fh = await open(part, res.status === 200 ? 'w' : 'a');
          // A 200 to a Range request: the server sends the whole file again, from byte 0.
          if (res.status === 200) at = 0;
          const h = res.status === 200 ? createHash('sha256') : hash;
          try {
            for await (const chunk of /** @type {AsyncIterable<Uint8Array>} */ (/** @type {unknown} */ (res.body))) {
              await fh.write(chunk);
              h.update(chunk);
              fetched += chunk.byteLength;
              at += chunk.byteLength;
              if (at > file.bytes)
                throw refusal('INTEGRITY', `${file.path} is longer than the ${file.bytes} bytes the Hub lists`);
            }
          } finally {
            await fh.close();
          }
          if (at !== file.bytes) throw new Error(`${file.path}: the connection ended at byte ${at} of ${file.bytes}`);
          await verifyAndPlace(file, h.digest('hex'), part, final);
        } else {
          await verifyAndPlace(file, hash.digest('hex'), part, final);
        }
        done += file.bytes;
        o.log(
          `  ${file.path}: ${file.bytes.toLocaleString('en-US')} bytes${file.sha256 ? ', sha256 checked' : ''} ` +
            `(${Math.floor((done / Math.max(total, 1)) * 100)}% of ${total.toLocaleString('en-US')})`,
        );
        break;
      } catch (e) {
        const err = /** @type {Error & { code?: string }} */ (e);
        if (err.code === 'BAD_INPUT' || err.code === 'INTEGRITY' || attempt >= ATTEMPTS) throw e;
        o.log(`  ${file.path}: ${err.message}; trying again (${attempt + 1} of ${ATTEMPTS})`);
      }
    }
  }
  return { fetched, resumed };
}

/** @param {HubFile} file @param {string} digest @param {string} part @param {string} final */
async function verifyAndPlace(file, digest, part, final) {
  if (file.sha256 && digest !== file.sha256) {
    await rm(part, { force: true });
    throw refusal(
      'INTEGRITY',
      `${file.path} failed its sha256 check (got ${digest.slice(0, 12)}…, ` +
        `the Hub lists ${file.sha256.slice(0, 12)}…); the bad copy was deleted`,
      'The download was corrupted or the server sent other bytes. Run the command again.',
    );
  }
  await rename(part, final);
}
