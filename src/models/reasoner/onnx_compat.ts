/**
 * @file A load-time repair for ONNX graphs that onnxruntime-web's browser builds cannot load.
 *
 * PyTorch exports `torch.where(mask, 0.0, MASK_VALUE).to(torch.float32)` with the two Python floats as DOUBLE
 * constants, i.e. a `Where` on float64 followed by a `Cast` to float32. The browser builds of onnxruntime-web
 * (WASM CPU kernels with reduced types, and the WebGPU EP) have no float64 `Where`, so the session fails to load
 * ("Could not find an implementation for Where(16)" on WASM; "Provider type for Where node … is not set" on
 * WebGPU). Node's build has it, which is why the node-side tests pass. When such a pattern is found, the two
 * constants are narrowed to float32 (the Cast after it then casts float32 to float32): the values the graph
 * computes are the same (0 and the mask value are exact in float32). The packs' exporter should emit float32
 * constants instead; this repair is then a no-op that costs one protobuf parse of a small file.
 */
import { onnx } from 'onnx-proto';

const DOUBLE = onnx.TensorProto.DataType.DOUBLE;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
/** Bigger graphs are left alone (parsing them costs memory; exports of real packs do not have the pattern). */
const MAX_REPAIR_BYTES = 64 * 1024 * 1024;

/** The constant's value, when `t` is a DOUBLE scalar. */
function doubleScalar(t: onnx.ITensorProto | null | undefined): number | null {
  if (!t || t.dataType !== DOUBLE || (t.dims?.length ?? 0) !== 0) return null;
  if (t.doubleData?.length === 1) return t.doubleData[0]!;
  const raw = t.rawData;
  if (raw && raw.length === 8) return new DataView(raw.buffer, raw.byteOffset, 8).getFloat64(0, true);
  return null;
}

export interface CompatReport {
  /** The (possibly repaired) model bytes. */
  bytes: Uint8Array;
  /** Names of the Where nodes that were narrowed to float32. */
  repaired: string[];
}

/**
 * Narrows `Where(cond, <double const>, <double const>) → Cast(to=float)` to float32 constants. Returns the original
 * bytes untouched when there is nothing to repair.
 */
export function repairForWeb(bytes: Uint8Array): CompatReport {
  if (bytes.byteLength > MAX_REPAIR_BYTES) return { bytes, repaired: [] };
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch {
    return { bytes, repaired: [] }; // not ours to judge: ORT reports a broken file itself
  }
  const graph = model.graph;
  if (!graph) return { bytes, repaired: [] };
  const nodes = graph.node ?? [];
  const ins = (n: onnx.INodeProto) => n.input ?? [];
  const outs = (n: onnx.INodeProto) => n.output ?? [];
  const attrs = (n: onnx.INodeProto) => n.attribute ?? [];
  const constants = new Map<string, onnx.INodeProto>();
  const consumers = new Map<string, onnx.INodeProto[]>();
  for (const n of nodes) {
    if (n.opType === 'Constant' && outs(n).length === 1) constants.set(outs(n)[0]!, n);
    for (const i of ins(n)) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  }
  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name));
  const repaired: string[] = [];
  for (const n of nodes) {
    if (n.opType !== 'Where' || ins(n).length !== 3 || outs(n).length !== 1) continue;
    const out = outs(n)[0]!;
    if (graphOutputs.has(out)) continue;
    const users = consumers.get(out) ?? [];
    const castsToFloat = users.length > 0 && users.every((u) => u.opType === 'Cast' && attrs(u).some((a) => a.name === 'to' && Number(a.i) === FLOAT));
    if (!castsToFloat) continue;
    const branches = [ins(n)[1]!, ins(n)[2]!].map((name) => constants.get(name));
    const values = branches.map((c) => (c ? doubleScalar(attrs(c).find((a) => a.name === 'value')?.t) : null));
    // The constants must feed nothing but this Where, and be float32-exact.
    if (values.some((v) => v === null || Math.fround(v) !== v)) continue;
    if (branches.some((c) => (consumers.get(outs(c!)[0]!) ?? []).length !== 1)) continue;
    branches.forEach((c, k) => {
      const attr = attrs(c!).find((a) => a.name === 'value')!;
      attr.t = onnx.TensorProto.create({ dataType: FLOAT, dims: [], floatData: [values[k]!] });
    });
    for (const vi of graph.valueInfo ?? []) {
      if (vi.name === out && vi.type?.tensorType) vi.type.tensorType.elemType = FLOAT;
    }
    repaired.push(n.name ?? out);
  }
  if (!repaired.length) return { bytes, repaired };
  return { bytes: onnx.ModelProto.encode(model).finish(), repaired };
}
