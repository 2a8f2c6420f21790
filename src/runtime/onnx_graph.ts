/**
 * @file Builds tiny ONNX graphs in code (through the `onnx-proto` protobuf bindings), so tests, benchmarks and the
 * self-test never need a downloaded or checked-in model file.
 */
import { onnx } from 'onnx-proto';

export type ElemType = 'float32' | 'int64' | 'int32';
const ELEM: Record<ElemType, number> = { float32: onnx.TensorProto.DataType.FLOAT, int64: 7, int32: 6 };

export interface ValueSpec {
  name: string;
  type: ElemType;
  /** Dimensions; a string is a symbolic (dynamic) dimension. */
  dims: (number | string)[];
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  domain?: string;
  attrs?: Record<string, number | number[] | string>;
}

export interface GraphSpec {
  name: string;
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  nodes: NodeSpec[];
  /** Constant f32 tensors. */
  initializers?: { name: string; dims: number[]; data: Float32Array | number[] }[];
  opset?: number;
  /** Extra opset imports, e.g. { 'com.microsoft': 1 }. */
  domains?: Record<string, number>;
}

function valueInfo(v: ValueSpec): onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ELEM[v.type],
        shape: { dim: v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: number | number[] | string): onnx.IAttributeProto {
  if (typeof v === 'string')
    return { name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v };
  if (Number.isInteger(v)) return { name, type: onnx.AttributeProto.AttributeType.INT, i: v };
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v };
}

/** Serialises `spec` to ONNX model bytes (IR version 8). */
export function buildModel(spec: GraphSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'rg-vlm-web',
    opsetImport: [
      { domain: '', version: spec.opset ?? 17 },
      ...Object.entries(spec.domains ?? {}).map(([domain, version]) => ({ domain, version })),
    ],
    graph: {
      name: spec.name,
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
      node: spec.nodes.map((n, i) => ({
        name: `${n.op}_${i}`,
        opType: n.op,
        domain: n.domain ?? '',
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      })),
      initializer: (spec.initializers ?? []).map((t) => ({
        name: t.name,
        dims: t.dims,
        dataType: onnx.TensorProto.DataType.FLOAT,
        floatData: Array.from(t.data),
      })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** The self-test graph: Y = X · 2 + 1 over a dynamic-length f32 vector. */
export function affineModel(): Uint8Array {
  return buildModel({
    name: 'affine',
    inputs: [{ name: 'X', type: 'float32', dims: ['n'] }],
    outputs: [{ name: 'Y', type: 'float32', dims: ['n'] }],
    nodes: [
      { op: 'Mul', inputs: ['X', 'two'], outputs: ['X2'] },
      { op: 'Add', inputs: ['X2', 'one'], outputs: ['Y'] },
    ],
    initializers: [
      { name: 'two', dims: [], data: [2] },
      { name: 'one', dims: [], data: [1] },
    ],
  });
}
