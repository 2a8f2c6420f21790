/**
 * @file The `cascade` kind's condition (docs/cascade.md): OmniGen's native text conditioning. A text (the reasoner's
 * answer, or the negative prompt) is wrapped as `painter_text.template_prefix` + text + `template_suffix`, tokenized by
 * the painter's own tokenizer (its post-processor adds what the model expects: Phi-3's adds BOS), and each id's row of
 * the painter's embedding table `painter.embed_tokens` is gathered on the GPU by the embed kernel (dequantised as the
 * matmul kernel does) into an F32 [rows, hidden] buffer: the condition the painter's DiT reads without a connector.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { RgError } from '../../errors';
import { GpuBatch } from '../../gpu/batch';
import { emptyBuffer, uploadBuffer } from '../../gpu/readback';
import { embed } from '../../kernels/embed';
import type { AnyWeight } from '../../kernels/matmul';
import { CONFIG_FILE_SCHEMAS, parseWith, tokenizerTopId, type Manifest } from '../../packs/manifest';
import { readJson, type PackSource } from '../../packs/source';
import type { Condition } from './dit';

type PainterTextConfig = NonNullable<Manifest['painter_text']>;

/** The painter's tokenizer and its wrapping of a text. */
export class PainterTextEncoder {
  private readonly tok: Tokenizer;

  constructor(
    tokenizerJson: unknown,
    tokenizerConfig: unknown,
    readonly config: PainterTextConfig,
  ) {
    this.tok = new Tokenizer(tokenizerJson as object, tokenizerConfig as object);
  }

  /** The painter's tokenizer files of `source`'s pack (verified as every pack file), checked against its rows. */
  static async load(source: PackSource): Promise<PainterTextEncoder> {
    const m = await source.manifest();
    const c = m.painter_text;
    if (!c) throw new RgError('INTERNAL', `pack ${m.id} has no painter_text`);
    const [tj, tc] = await Promise.all([readJson(source, c.tokenizer), readJson(source, c.tokenizer_config)]);
    const json = parseWith(CONFIG_FILE_SCHEMAS.tokenizer, tj, `${m.id}/${c.tokenizer}`);
    if (typeof tc !== 'object' || tc === null || Array.isArray(tc))
      throw new RgError('INTEGRITY', `${m.id}/${c.tokenizer_config} is not a JSON object`);
    const top = tokenizerTopId(json);
    if (top >= c.vocab_size)
      throw new RgError(
        'INTEGRITY',
        `${m.id}/${c.tokenizer} has token id ${top}, beyond the painter's ${c.vocab_size} embedding rows`,
        { hint: "The painter's tokenizer is not its own; convert the painter's checkpoint again with its files." },
      );
    return new PainterTextEncoder(json, tc, c);
  }

  /** The wrapped text, as the painter reads it. */
  wrap(text: string): string {
    return this.config.template_prefix + text + this.config.template_suffix;
  }

  /** Token ids of the wrapped `text`, with the tokenizer's own special tokens (BOS) added. */
  ids(text: string): number[] {
    return this.tok.encode(this.wrap(text), { add_special_tokens: true }).ids;
  }
}

/** A condition the painter owns the buffer of: `dispose()` frees it. */
export interface OwnedCondition extends Condition {
  readonly buffer: GPUBuffer;
  readonly ids: readonly number[];
  readonly disposed: boolean;
  dispose(): void;
}

/** Gathers the embedding rows of `ids` into a new F32 [rows, hidden] buffer (submitted; the caller owns it). */
export function gatherCondition(
  device: GPUDevice,
  table: AnyWeight,
  ids: readonly number[],
  vocab: number,
  hidden: number,
): OwnedCondition {
  if (ids.length === 0) throw new RgError('INTERNAL', 'painter text: no token to embed');
  for (const id of ids)
    if (!(Number.isInteger(id) && id >= 0 && id < vocab))
      throw new RgError('INTEGRITY', `painter text: token id ${id} is outside the ${vocab} embedding rows`);
  const idBuf = uploadBuffer(device, Uint32Array.from(ids), 'painter text ids');
  const out = emptyBuffer(device, ids.length * hidden * 4, 'painter text condition');
  try {
    const b = new GpuBatch(device, 'painter text condition');
    embed(b, { table, ids: idBuf, out, rows: ids.length, dim: hidden, vocab });
    b.submit();
  } catch (e) {
    out.destroy();
    throw e;
  } finally {
    idBuf.destroy(); // destroyed after the submitted work that reads it completes
  }
  let disposed = false;
  return {
    rows: ids.length,
    hidden,
    buffer: out,
    ids,
    get disposed() {
      return disposed;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      out.destroy();
    },
  };
}
