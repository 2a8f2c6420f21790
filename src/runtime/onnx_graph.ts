/**
 * @file Builds tiny ONNX graphs in code (through the `onnx-proto` protobuf bindings), so tests, benchmarks and the
 * self-test never need a downloaded or checked-in model file.
 */
import * as onnxProto from 'onnx-proto';
import type { onnx as P } from 'onnx-proto';

// onnx-proto is CommonJS: Node's ESM loader (rg's Vite SSR) exposes it only as `default`; bundlers add `onnx` too.
const { onnx } = ((onnxProto as { default?: typeof onnxProto }).default ?? onnxProto) as typeof onnxProto;

export type ElemType = 'float32' | 'float16' | 'int64' | 'int32' | 'uint8' | 'bool';
const DT = onnx.TensorProto.DataType;
const ELEM: Record<ElemType, number> = {
  float32: DT.FLOAT,
  float16: DT.FLOAT16,
  int64: DT.INT64,
  int32: DT.INT32,
  uint8: DT.UINT8,
  bool: DT.BOOL,
};

/** Initializer data: numbers are f32; a typed array goes in as its little-endian bytes. */
export type InitData = number[] | Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;

export interface InitializerSpec {
  name: string;
  dims: number[];
  /** Default float32. float16 takes the binary16 bits as a Uint16Array; bool takes 0/1 bytes. */
  type?: ElemType;
  data: InitData;
}

export interface ValueSpec {
  name: string;
  type: ElemType;
  /** Dimensions; a string is a symbolic (dynamic) dimension. */
  dims: (number | string)[];
}

/** An integer number is an INT attribute; `{ f }` forces FLOAT (for float values that happen to be whole). */
export type AttrValue = number | number[] | string | { f: number };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  domain?: string;
  attrs?: Record<string, AttrValue>;
}

export interface GraphSpec {
  name: string;
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  nodes: NodeSpec[];
  /** Constant tensors (f32 unless typed otherwise). */
  initializers?: InitializerSpec[];
  opset?: number;
  /** Extra opset imports, e.g. { 'com.microsoft': 1 }. */
  domains?: Record<string, number>;
}

/**
 * Collects the nodes and initializers of a graph built in code: each node gets a fresh output name, so a builder
 * reads as expressions (`op('Add', [a, b])`). Hand `nodes` and `inits` to `buildModel`.
 */
export class GraphBuilder {
  readonly nodes: NodeSpec[] = [];
  readonly inits: InitializerSpec[] = [];
  private n = 0;

  /** Adds a node with one output and returns the output's name. */
  readonly op = (type: string, inputs: string[], attrs?: Record<string, AttrValue>, domain?: string): string => {
    const out = `${type}_${this.n++}`;
    this.nodes.push({ op: type, inputs, outputs: [out], attrs, domain });
    return out;
  };

  /** Adds a node with `outs` outputs and returns their names. */
  readonly multi = (type: string, inputs: string[], outs: number, attrs?: Record<string, AttrValue>): string[] => {
    const k = this.n++;
    const outputs = Array.from({ length: outs }, (_, i) => `${type}_${k}_${i}`);
    this.nodes.push({ op: type, inputs, outputs, attrs });
    return outputs;
  };

  /** Adds an initializer and returns its name. */
  readonly init = (name: string, t: Omit<InitializerSpec, 'name'>): string => {
    this.inits.push({ name, ...t });
    return name;
  };

  /** An int64 vector initializer (shapes, axes, split sizes). */
  readonly i64 = (name: string, v: number[]): string =>
    this.init(name, { dims: [v.length], type: 'int64', data: BigInt64Array.from(v, BigInt) });

  /** An f32 scalar initializer. */
  readonly scalar = (name: string, v: number): string => this.init(name, { dims: [], data: [v] });
}

function valueInfo(v: ValueSpec): P.IValueInfoProto {
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

function attribute(name: string, v: AttrValue): P.IAttributeProto {
  if (typeof v === 'object' && !Array.isArray(v))
    return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v.f };
  if (typeof v === 'string')
    return { name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v };
  if (Number.isInteger(v)) return { name, type: onnx.AttributeProto.AttributeType.INT, i: v };
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v };
}

const ELEM_BYTES: Record<ElemType, number> = { float32: 4, float16: 2, int64: 8, int32: 4, uint8: 1, bool: 1 };

// Raw bytes rather than the repeated fields: a weight of millions of elements stays one copy.
function initializer(t: InitializerSpec): P.ITensorProto {
  const type = t.type ?? 'float32';
  const data = Array.isArray(t.data) ? new Float32Array(t.data) : t.data;
  const n = t.dims.reduce((a, d) => a * d, 1);
  if (data.byteLength !== n * ELEM_BYTES[type])
    throw new RangeError(
      `initializer ${t.name}: ${data.byteLength} bytes for ${type} [${t.dims.join(', ')}] (${n * ELEM_BYTES[type]})`,
    );
  return {
    name: t.name,
    dims: t.dims,
    dataType: ELEM[type],
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

function graphProto(spec: GraphSpec): P.IGraphProto {
  return {
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
    initializer: (spec.initializers ?? []).map(initializer),
  };
}

function modelProto(spec: GraphSpec, graph?: P.IGraphProto): P.ModelProto {
  return onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'rg-vlm-web',
    opsetImport: [
      { domain: '', version: spec.opset ?? 17 },
      ...Object.entries(spec.domains ?? {}).map(([domain, version]) => ({ domain, version })),
    ],
    graph,
  });
}

/** Serialises `spec` to ONNX model bytes (IR version 8). */
export function buildModel(spec: GraphSpec): Uint8Array {
  return onnx.ModelProto.encode(modelProto(spec, graphProto(spec))).finish();
}

/** An initializer whose bytes come later (streamed): its name, shape and element type. */
export interface StreamedInit {
  name: string;
  dims: number[];
  type: 'float32' | 'float16';
}

/**
 * A model whose initializers' raw bytes are written by the caller: the file is `prefix`, then for each initializer
 * `heads[i]` followed by exactly `dims`' bytes of its data, in order. Protobuf lets a message's fields come in any
 * order and a repeated field be spread out, so the graph's nodes and values go first and each initializer is a
 * length-delimited TensorProto whose last field is its raw_data; every length is known from the dims up front.
 * Nothing but the small parts is held: a weight passes through once.
 */
export function streamedModel(
  spec: GraphSpec,
  inits: StreamedInit[],
): { prefix: Uint8Array; heads: Uint8Array[]; bytes: number } {
  const heads = inits.map((t) => {
    const n = t.dims.reduce((a, d) => a * d, 1) * ELEM_BYTES[t.type];
    const meta = onnx.TensorProto.encode({ name: t.name, dims: t.dims, dataType: ELEM[t.type] }).finish();
    const rawTag = [(9 << 3) | 2, ...varint(n)]; // TensorProto.raw_data = 9
    const len = meta.byteLength + rawTag.length + n;
    const tag = Uint8Array.of((5 << 3) | 2, ...varint(len)); // GraphProto.initializer = 5
    return { head: concat([tag, meta, Uint8Array.from(rawTag)]), n };
  });
  const graph = onnx.GraphProto.encode(graphProto(spec)).finish(); // with `spec.initializers`, the small constants
  const graphBytes = graph.byteLength + heads.reduce((a, h) => a + h.head.byteLength + h.n, 0);
  const model = onnx.ModelProto.encode(modelProto(spec)).finish();
  const prefix = concat([model, Uint8Array.of((7 << 3) | 2, ...varint(graphBytes)), graph]); // ModelProto.graph = 7
  return { prefix, heads: heads.map((h) => h.head), bytes: prefix.byteLength + graphBytes - graph.byteLength };
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
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
