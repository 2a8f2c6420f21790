// The catalogue of known real checkpoints (src/packs/catalogue.ts): every entry passes the schema, the download
// sizes are the parameters of the configs × the dtype (one entry worked out by hand below, every part checked against
// the tensor lists the converters and the SDXL helper build independently), every entry's memory plan computes at
// f16 / int8 / int4, and a broken entry is refused naming its field.
import { describe, expect, it } from 'vitest';
import {
  CATALOGUE,
  CATALOGUE_PRECISIONS,
  RAW_CATALOGUE,
  catalogueParams,
  cataloguePlans,
  connectorParams,
  convertCommand,
  downloadBytes,
  imageDecoderParams,
  parseCatalogueEntry,
  qwen2Params,
  vaeParams,
  visionParams,
  type CatalogueEntry,
} from '../../../src/packs/catalogue';
import { allowanceOf, formatPlanBytes } from '../../../src/packs/plan';
import { KERNEL_SUPPORT } from '../../../src/models/support';
import { catalogueReport, setPlanSettings } from '../../../src/models/plan';
import { qwen2Mappings, type Qwen2Dims } from '../../../src/convert/qwen2';
import { mindomniPainterMappings } from '../../../src/convert/mindomni';
import type { Mapping } from '../../../src/convert/checkpoint';
import { RgError } from '../../../src/errors';
import { SDXL_VAE_PARAMS, sdxlTensors } from '../../helpers/vae_sdxl';

const GiB = 1024 ** 3;
const entry = (id: string): CatalogueEntry => CATALOGUE.find((e) => e.id === id)!;
const elements = (m: Mapping[]) => m.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
const copy = (id: string) => structuredClone(RAW_CATALOGUE.find((e) => (e as { id: string }).id === id)) as never;

/** The fields the refusal cases break. */
interface Raw {
  reasoner: Record<string, unknown>;
  connector: Record<string, unknown>;
  repos: string[];
  licence: string;
  vae?: unknown;
}

describe('catalogue: the entries', () => {
  it('holds the checkpoints the converters target, each valid against the schema', () => {
    expect(CATALOGUE.map((e) => e.repos[0])).toEqual([
      'Qwen/Qwen2.5-0.5B-Instruct',
      'Qwen/Qwen2.5-1.5B-Instruct',
      'deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B',
      'TencentARC/MindOmni',
    ]);
    expect(new Set(CATALOGUE.map((e) => e.id)).size).toBe(CATALOGUE.length);
    for (const raw of RAW_CATALOGUE) expect(() => parseCatalogueEntry(raw)).not.toThrow();
    // The differences between the two 1.5B configs the plan and the size depend on.
    expect(entry('qwen2.5-1.5b-instruct').reasoner).toMatchObject({ tie_word_embeddings: true, rope_theta: 1e6 });
    expect(entry('deepseek-r1-distill-qwen-1.5b').reasoner).toMatchObject({
      tie_word_embeddings: false,
      rope_theta: 1e4,
    });
    expect(convertCommand(entry('qwen2.5-0.5b-instruct'))).toBe(
      'npm run rg -- convert --from path/to/Qwen2.5-0.5B-Instruct --out out/qwen2.5-0.5b-instruct-int4 --weights int4',
    );
  });

  it('refuses a broken entry, naming the field', () => {
    const refusal = (raw: unknown): RgError => {
      try {
        parseCatalogueEntry(raw);
      } catch (e) {
        return e as RgError;
      }
      throw new Error('accepted');
    };
    const cases: [string, (e: Raw) => void, string][] = [
      ['a negative vocab', (e) => (e.reasoner.vocab_size = -1), 'reasoner.vocab_size'],
      ['heads × head_dim ≠ hidden', (e) => (e.reasoner.head_dim = 32), 'reasoner.head_dim'],
      ['a repo id without owner', (e) => (e.repos = ['MindOmni']), 'repos.0'],
      ['no licence', (e) => (e.licence = ''), 'licence'],
      ['a MindOmni entry without its VAE', (e) => delete e.vae, 'vae'],
      ['a connector from another width', (e) => (e.connector.input_size = 4096), 'connector.input_size'],
      ['an unknown field', (e) => (e.reasoner.rope_scaling = null), 'reasoner'],
    ];
    for (const [what, breakIt, field] of cases) {
      const raw = copy('mindomni') as Raw;
      breakIt(raw);
      const e = refusal(raw);
      expect(e, what).toBeInstanceOf(RgError);
      expect(e, what).toMatchObject({ code: 'BAD_INPUT', field });
      expect(e.message, what).toContain(`catalogue entry "mindomni": ${field}`);
    }
  });
});

describe('catalogue: download sizes, computed from the configs', () => {
  it('Qwen2.5-0.5B by hand: 494,032,768 parameters, 988,065,536 bytes in bf16', () => {
    // embed 151,936·896 = 136,134,656 (tied: no lm_head); per layer: norms 2·896 = 1,792, qkv (896 + 2·128)·896 =
    // 1,032,192 + biases 1,152, o 896·896 = 802,816, gate/up/down 3·896·4,864 = 13,074,432 → 14,912,384;
    // 24 layers = 357,897,216; final norm 896.
    expect(136_134_656 + 24 * (1792 + 1_032_192 + 1152 + 802_816 + 13_074_432) + 896).toBe(494_032_768);
    const e = entry('qwen2.5-0.5b-instruct');
    expect(qwen2Params(e.reasoner)).toBe(494_032_768);
    expect(downloadBytes(e)).toBe(988_065_536);
  });

  it('every Qwen2 decoder has the tensors the converter reads, no more', () => {
    for (const e of CATALOGUE) {
      const d = { ...e.reasoner, rms_norm_eps: 1e-6 } as Qwen2Dims;
      expect(qwen2Params(e.reasoner), e.id).toBe(elements(qwen2Mappings(d)));
    }
    // The untied R1 distill carries one more vocab × hidden matrix than Qwen2.5-1.5B.
    expect(downloadBytes(entry('deepseek-r1-distill-qwen-1.5b')) - downloadBytes(entry('qwen2.5-1.5b-instruct'))).toBe(
      151_936 * 1536 * 2,
    );
  });

  it("MindOmni: the converter's connector and image decoder tensors, plus what it skips; the SDXL VAE", () => {
    const e = entry('mindomni');
    const { connector: cc, painter: pc } = e;
    const converted = elements(mindomniPainterMappings(cc as never, pc as never));
    // Stored but not converted: OmniGen's text embeddings, its input-image embedder, the position table.
    const skipped = 32_064 * 3072 + (3072 * 16 + 3072) + 192 ** 2 * 3072;
    expect(connectorParams(cc!) + imageDecoderParams(pc!)).toBe(converted + skipped);
    // The VAE against the SDXL helper's state dict, written out from the architecture on its own.
    const sdxl = [...sdxlTensors().values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
    expect(vaeParams(e.vae!)).toBe(SDXL_VAE_PARAMS);
    expect(sdxl).toBe(SDXL_VAE_PARAMS);
    // Qwen2.5-VL-7B whole (text decoder + vision tower): 8,292,166,656 parameters.
    expect(qwen2Params(e.reasoner) + visionParams(e.vision!)).toBe(8_292_166_656);
    expect(catalogueParams(e).map((p) => p.part)).toEqual([
      'mllm text decoder',
      'mllm vision tower (not converted)',
      'connector',
      'image decoder',
      'VAE',
    ]);
    expect(downloadBytes(e)).toBe(2 * catalogueParams(e).reduce((a, p) => a + p.params, 0));
  });
});

describe('catalogue: memory plans', () => {
  const desktop = allowanceOf(
    { limits: { maxBufferSize: 4 * GiB, maxStorageBufferBindingSize: 2 * GiB }, features: [] },
    24 * GiB,
  );
  it('every entry plans at f16, int8 and int4: reasoners alone at 4,096 tokens, MindOmni at 512² too', () => {
    for (const e of CATALOGUE) {
      const plans = cataloguePlans(e, desktop, KERNEL_SUPPORT);
      expect(plans.map((p) => p.precision)).toEqual([...CATALOGUE_PRECISIONS]);
      for (const { precision, plan } of plans) {
        expect(plan.context, e.id).toBe(4096);
        expect(plan.reasonerPrecision).toBe(precision);
        expect(
          plan.issues.filter((i) => i.kind === 'dims'),
          e.id,
        ).toEqual([]);
        if (e.kind === 'reasoner') expect(plan.painterPrecision).toBeNull();
        else expect(plan).toMatchObject({ painterPrecision: precision, width: 512, height: 512, imageTokens: 1024 });
      }
      const total = plans.map((p) => p.plan.totalBytes);
      expect(total[0]! > total[1]! && total[1]! > total[2]!, e.id).toBe(true);
    }
    // The README's figure for the 0.5B shape in int4 at 4,096 tokens.
    expect(
      formatPlanBytes(cataloguePlans(entry('qwen2.5-0.5b-instruct'), desktop, KERNEL_SUPPORT)[2]!.plan.totalBytes),
    ).toBe('467 MB');
  });

  it('says why MindOmni does not fit the default budget, and the small reasoners fit it in int4', () => {
    const dflt = allowanceOf({ limits: {}, features: [] });
    const omni = cataloguePlans(entry('mindomni'), dflt, KERNEL_SUPPORT);
    for (const { plan } of omni) {
      expect(plan.fits).toBe(false);
      expect(plan.issues.map((i) => i.field)).toContain('budget');
    }
    for (const id of ['qwen2.5-0.5b-instruct', 'qwen2.5-1.5b-instruct', 'deepseek-r1-distill-qwen-1.5b'])
      expect(cataloguePlans(entry(id), dflt, KERNEL_SUPPORT)[2]!.plan.fits, id).toBe(true);
  });
});

describe('catalogue: the report the Model manager shows', () => {
  it('without a WebGPU adapter (Node): every entry planned at the default limits, said unchecked', async () => {
    setPlanSettings({});
    const r = await catalogueReport();
    expect(r.noGpuReason).toBeTruthy();
    expect(r.allows).toContain('the default budget');
    expect(r.entries.map((e) => e.id)).toEqual(CATALOGUE.map((e) => e.id));
    for (const e of r.entries) {
      expect(e.plans.map((p) => p.precision)).toEqual([...CATALOGUE_PRECISIONS]);
      for (const p of e.plans) expect(p.summary).toMatch(/^needs ≈ [\d.]+ [MG]B GPU/);
    }
    expect(r.entries[0]!.plans[2]!.summary).toContain('needs ≈ 467 MB GPU');
  });
});
