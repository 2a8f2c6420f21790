// @ts-check
// @file Files on the Node side of `rg`: input images checked before the browser starts (exists, readable, looks like
// an image), the --out folder checked up front, and results written all at once: into a temporary folder next to
// --out, renamed into place only when everything is there, so a failed or interrupted run leaves nothing behind.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { imageSize } from 'image-size';
import { UsageError } from './args.mjs';

/**
 * The pipelines' input limits (src/limits.ts: MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS), stated again for plain Node ESM;
 * tests/unit/cli/files.test.ts keeps them equal. An image over them is refused here, before the browser starts.
 */
export const MAX_IMAGE_BYTES = 32 * 1024 * 1024;
export const MAX_IMAGE_PIXELS = 8192 * 4096;

/** @param {Uint8Array} b @returns {string | null} the image type the leading bytes announce */
export function sniffImage(b) {
  const at = (/** @type {number[]} */ sig, off = 0) => sig.every((x, i) => b[off + i] === x);
  if (at([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (at([0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (at([0x52, 0x49, 0x46, 0x46]) && at([0x57, 0x45, 0x42, 0x50], 8)) return 'image/webp';
  if (at([0x47, 0x49, 0x46, 0x38])) return 'image/gif';
  if (at([0x42, 0x4d])) return 'image/bmp';
  return null;
}

/**
 * Reads an input image, or throws a UsageError saying why it cannot be one.
 * @param {string} flag e.g. '--image'
 * @param {string} path
 * @returns {{ path: string, bytes: Uint8Array, type: string }}
 */
export function readImage(flag, path) {
  const abs = resolve(path);
  let st;
  try {
    st = statSync(abs);
  } catch {
    throw new UsageError(`${flag} ${path}: no such file`);
  }
  if (!st.isFile()) throw new UsageError(`${flag} ${path}: not a file`);
  if (st.size === 0) throw new UsageError(`${flag} ${path}: the file is empty`);
  if (st.size > MAX_IMAGE_BYTES)
    throw new UsageError(
      `${flag} ${path}: ${(st.size / 2 ** 20).toFixed(1)} MiB is over the ${MAX_IMAGE_BYTES / 2 ** 20} MiB limit`,
    );
  let bytes;
  try {
    bytes = new Uint8Array(readFileSync(abs));
  } catch (e) {
    const why = /** @type {NodeJS.ErrnoException} */ (e).code ?? /** @type {Error} */ (e).message;
    throw new UsageError(`${flag} ${path}: cannot read it (${why})`);
  }
  const type = sniffImage(bytes);
  if (!type) throw new UsageError(`${flag} ${path}: not an image (expected PNG, JPEG, WebP, GIF or BMP)`);
  // The size from the header alone (no decode), so a small file that declares huge dimensions is refused here.
  let size;
  try {
    size = imageSize(bytes);
  } catch (e) {
    throw new UsageError(`${flag} ${path}: the ${type} header cannot be read (${/** @type {Error} */ (e).message})`);
  }
  const pixels = size.width * size.height;
  if (pixels > MAX_IMAGE_PIXELS) {
    throw new UsageError(
      `${flag} ${path}: ${size.width}×${size.height} is ${pixels.toLocaleString('en-US')} pixels, ` +
        `over the ${MAX_IMAGE_PIXELS.toLocaleString('en-US')}-pixel limit (scale it down first)`,
    );
  }
  return { path: abs, bytes, type };
}

/**
 * Reads a text input file, or throws a UsageError.
 * @param {string} flag @param {string} path
 */
export function readText(flag, path) {
  try {
    if (!statSync(path).isFile()) throw new UsageError(`${flag} ${path}: not a file`);
    return readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const why =
      /** @type {NodeJS.ErrnoException} */ (e).code === 'ENOENT'
        ? 'no such file'
        : `cannot read it (${/** @type {Error} */ (e).message})`;
    throw new UsageError(`${flag} ${path}: ${why}`);
  }
}

/**
 * Checks that --out can receive the results: absent, an empty folder, or (with --force) a folder to replace.
 * Its parent folder is created at the end, when the results are written.
 * @param {string} out @param {boolean} force
 */
export function checkOut(out, force) {
  const abs = resolve(out);
  if (!existsSync(abs)) {
    const parent = nearestExisting(dirname(abs));
    if (!statSync(parent).isDirectory()) throw new UsageError(`--out ${out}: ${parent} is not a folder`);
    return abs;
  }
  const cwd = process.cwd();
  if (cwd === abs || cwd.startsWith(abs.endsWith(sep) ? abs : abs + sep)) {
    throw new UsageError(`--out ${out}: it holds the current folder, which rg never replaces; choose a new folder`);
  }
  const st = statSync(abs);
  if (!st.isDirectory()) throw new UsageError(`--out ${out}: exists and is not a folder`);
  if (readdirSync(abs).length > 0) {
    if (!force)
      throw new UsageError(`--out ${out}: the folder is not empty (choose a new one, or --force to replace it)`);
    if (!isRgOutput(abs)) {
      throw new UsageError(
        `--out ${out}: --force replaces only a folder rg wrote (with rg's result.json or summary.json), ` +
          'and this one is not; nothing was changed. Choose a new folder.',
      );
    }
  }
  return abs;
}

/**
 * Whether `dir` holds an rg result: a result.json or summary.json that rg wrote (a JSON object whose `format` is one
 * of rg's, `rg-cli-…`). Only such a folder may be replaced with --force.
 * @param {string} dir
 */
export function isRgOutput(dir) {
  for (const name of ['result.json', 'summary.json']) {
    try {
      const o = JSON.parse(readFileSync(join(dir, name), 'utf8'));
      if (o && typeof o === 'object' && typeof o.format === 'string' && o.format.startsWith('rg-cli-')) return true;
    } catch {
      // absent or not JSON: not rg's
    }
  }
  return false;
}

/** @param {string} p */
function nearestExisting(p) {
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}

/**
 * A folder that becomes `out` only on `commit()`: files go into a hidden temporary folder beside it; `discard()`
 * (failure, Ctrl-C) removes that folder, so nothing partial is ever left at `out`.
 */
export class Staging {
  /** @param {string} out absolute path of the final folder @param {boolean} force may replace a non-empty `out` */
  constructor(out, force) {
    this.out = out;
    this.force = force;
    mkdirSync(dirname(out), { recursive: true });
    this.dir = join(dirname(out), `.${basename(out)}.rg-tmp-${process.pid}-${Date.now().toString(36)}`);
    mkdirSync(this.dir);
    this.done = false;
  }

  /** @param {string} rel path inside the folder @param {string | Uint8Array} data */
  write(rel, data) {
    const p = join(this.dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, data);
    return join(this.out, rel);
  }

  /** Moves the finished folder into place (replacing an empty or --force'd `out`). */
  commit() {
    let old = null;
    if (existsSync(this.out)) {
      // Checked again: something may have appeared there while we ran.
      if (readdirSync(this.out).length > 0 && (!this.force || !isRgOutput(this.out))) {
        this.done = true; // keep the finished results where they are
        throw new Error(
          `${this.out} changed while rg ran (not empty, or not an rg result); the results are left in ${this.dir}`,
        );
      }
      old = `${this.dir}-old`;
      renameSync(this.out, old);
    }
    try {
      renameSync(this.dir, this.out);
    } catch (e) {
      if (old) renameSync(old, this.out);
      throw e;
    }
    if (old) rmSync(old, { recursive: true, force: true });
    this.done = true;
  }

  discard() {
    if (!this.done) rmSync(this.dir, { recursive: true, force: true });
    this.done = true;
  }
}
