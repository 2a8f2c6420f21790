// embed: out[r, c] = table[ids[idOffset + r], c] for r < rows, c < dim (an embedding lookup); an id at or beyond
// vocab gives a zero row. The ids live in a GPU buffer, so a decode step can embed the token the `sample` kernel has
// just written without the id going through the CPU.
// The table is stored in any weight format of the matmul kernel (matmul_common.wgsl, docs/formats.md), so a tied
// lm_head and the embedding gather read one buffer: FORMAT 0 f32, 1 f16, 2 int8 (scale per row = per token),
// 3 int4 block-32 (scale per 32 elements of a row), 4 bf16; each element is dequantised to f32 on the way out.
// A table larger than one binding is split into row shards: one dispatch per shard, which writes the rows whose id
// falls in [row0, row0 + shard_rows) and leaves the others alone; the shard at row0 = 0 also writes the zero rows of
// out-of-range ids.
// One invocation per output element, 256 per workgroup: consecutive invocations copy consecutive elements of a row.
// Outputs beyond 65535 workgroups fold into the y dimension (flat index = x + y · stride).

struct Params {
  rows: u32,
  dim: u32,
  vocab: u32,
  idOffset: u32,
  total: u32,
  stride: u32,
  row0: u32,
  shard_rows: u32,
}

@group(0) @binding(0) var<storage, read> table: array<u32>;
@group(0) @binding(1) var<storage, read> scale: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

override FORMAT: u32;

// Element c of row r of this shard's table, as f32.
fn element(r: u32, c: u32) -> f32 {
  let e = r * p.dim + c;
  switch FORMAT {
    case 0u: {
      return bitcast<f32>(table[e]);
    }
    case 1u: {
      let h = unpack2x16float(table[e / 2u]);
      return select(h.x, h.y, (e & 1u) == 1u);
    }
    case 2u: {
      return f32(extractBits(bitcast<i32>(table[e / 4u]), (e % 4u) * 8u, 8u)) * scale[r];
    }
    case 4u: {
      let word = table[e / 2u];
      return bitcast<f32>(select(word << 16u, word & 0xffff0000u, (e & 1u) == 1u));
    }
    default: {
      return f32(i32(extractBits(table[e / 8u], (e % 8u) * 4u, 4u)) - 8) * scale[e / 32u];
    }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.total) {
    return;
  }
  let r = i / p.dim;
  let c = i % p.dim;
  let id = ids[p.idOffset + r];
  if (id >= p.vocab) {
    if (p.row0 == 0u) {
      out[i] = 0.0;
    }
  } else if (id >= p.row0 && id - p.row0 < p.shard_rows) {
    out[i] = element(id - p.row0, c);
  }
}
