/**
 * @file A CheckpointReader over HTTP(S): `base` + path, each read one `Range` request (a Hugging Face resolve URL or
 * any static server with Range). The size comes from the Content-Range of a one-byte read; a 404 means the file is
 * not there (so a shard the index names but the server lacks is refused before anything is written).
 */
import { RgError } from '../errors';
import type { CheckpointReader } from './qwen2';

export function urlReader(base: string, fetchFn: typeof fetch = fetch): CheckpointReader {
  const url = (path: string) => base.replace(/\/?$/, '/') + path.split('/').map(encodeURIComponent).join('/');
  const get = async (path: string, begin: number, end: number): Promise<Response | null> => {
    let r: Response;
    try {
      r = await fetchFn(url(path), { headers: { Range: `bytes=${begin}-${end - 1}` } });
    } catch (e) {
      throw new RgError('NETWORK', `${url(path)}: ${(e as Error).message}`, { cause: e });
    }
    if (r.status === 404) return null;
    if (r.status !== 206)
      throw new RgError('NETWORK', `${url(path)} answered ${r.status} to a Range request (206 expected)`);
    return r;
  };
  return {
    async size(path) {
      const r = await get(path, 0, 1);
      if (!r) return null;
      await r.arrayBuffer();
      const m = /\/(\d+)$/.exec(r.headers.get('Content-Range') ?? '');
      if (!m) throw new RgError('NETWORK', `${url(path)}: no Content-Range with a size`);
      return Number(m[1]);
    },
    async read(path, begin, end) {
      if (end <= begin) return new Uint8Array(0);
      const r = await get(path, begin, end);
      if (!r) throw new RgError('NETWORK', `${url(path)} disappeared while converting`);
      const b = new Uint8Array(await r.arrayBuffer());
      if (b.byteLength !== end - begin)
        throw new RgError('NETWORK', `${url(path)}: ${b.byteLength} bytes for the range [${begin}, ${end})`);
      return b;
    },
  };
}
