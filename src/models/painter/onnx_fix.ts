/**
 * @file Load-time repair of painter.onnx for onnxruntime-web's browser builds, which lack a float64 `Where`.
 *
 * The PyTorch export writes the attention masks as `Where(cond, 0.0, −1e9)` on DOUBLE scalar constants followed by
 * `Cast(to = float)`. In painter.onnx the connector's and the painter's masks *share* the two constants, which the
 * reasoner's repair (src/models/reasoner/onnx_compat.ts) deliberately skips (it requires a constant to feed a single
 * Where). Here a DOUBLE scalar constant is narrowed to float32 when it is float32-exact and every node it feeds is
 * a Where whose value inputs are both such constants and whose outputs feed only Cast(to = float): the graph then
 * computes the same values.
 */
import { onnx } from 'onnx-proto';

const DOUBLE = onnx.TensorProto.DataType.DOUBLE;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

function doubleScalar(t: onnx.ITensorProto | null | undefined): number | null {
  if (!t || t.dataType !== DOUBLE || (t.dims?.length ?? 0) !== 0) return null;
  if (t.doubleData?.length === 1) return t.doubleData[0]!;
  const raw = t.rawData;
  if (raw && raw.length === 8) return new DataView(raw.buffer, raw.byteOffset, 8).getFloat64(0, true);
  return null;
}

/** The repaired model bytes (the input unchanged when there is nothing to repair) and the Where nodes narrowed. */
export function narrowSharedDoubleWheres(bytes: Uint8Array): { bytes: Uint8Array; repaired: string[] } {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch {
    return { bytes, repaired: [] };
  }
  const graph = model.graph;
  if (!graph) return { bytes, repaired: [] };
  const nodes = graph.node ?? [];
  const consumers = new Map<string, onnx.INodeProto[]>();
  for (const n of nodes) for (const i of n.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name));
  const candidates = new Map<string, { node: onnx.INodeProto; value: number }>();
  for (const n of nodes) {
    if (n.opType !== 'Constant' || (n.output ?? []).length !== 1) continue;
    const v = doubleScalar((n.attribute ?? []).find((a) => a.name === 'value')?.t);
    if (v !== null && Math.fround(v) === v) candidates.set(n.output![0]!, { node: n, value: v });
  }
  const whereOk = (w: onnx.INodeProto): boolean => {
    const ins = w.input ?? [];
    const outs = w.output ?? [];
    if (w.opType !== 'Where' || ins.length !== 3 || outs.length !== 1 || graphOutputs.has(outs[0]!)) return false;
    if (!candidates.has(ins[1]!) || !candidates.has(ins[2]!) || candidates.has(ins[0]!)) return false;
    const users = consumers.get(outs[0]!) ?? [];
    return users.length > 0 && users.every((u) => u.opType === 'Cast' && (u.attribute ?? []).some((a) => a.name === 'to' && Number(a.i) === FLOAT));
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name] of candidates) {
      const users = consumers.get(name) ?? [];
      if (!users.length || !users.every(whereOk)) {
        candidates.delete(name);
        changed = true;
      }
    }
  }
  if (!candidates.size) return { bytes, repaired: [] };
  const repaired = new Set<string>();
  for (const [name, { node, value }] of candidates) {
    const attr = node.attribute!.find((a) => a.name === 'value')!;
    attr.t = onnx.TensorProto.create({ dataType: FLOAT, dims: [], floatData: [value] });
    for (const w of consumers.get(name) ?? []) repaired.add(w.name ?? w.output![0]!);
  }
  const whereOuts = new Set(nodes.filter((n) => repaired.has(n.name ?? n.output![0]!)).map((n) => n.output![0]!));
  for (const vi of graph.valueInfo ?? []) if (vi.name && whereOuts.has(vi.name) && vi.type?.tensorType) vi.type.tensorType.elemType = FLOAT;
  return { bytes: onnx.ModelProto.encode(model).finish(), repaired: [...repaired] };
}
