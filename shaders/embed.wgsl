// embed: out[r, c] = table[ids[idOffset + r], c] for r < rows, c < dim (an embedding lookup); an id at or beyond
// vocab gives a zero row. The ids live in a GPU buffer, so a decode step can embed the token the `sample` kernel has
// just written without the id going through the CPU.
// One invocation per output element, 256 per workgroup: consecutive invocations copy consecutive floats of a row.
// Outputs beyond 65535 workgroups fold into the y dimension (flat index = x + y · stride).

struct Params {
  rows: u32,
  dim: u32,
  vocab: u32,
  idOffset: u32,
  total: u32,
  stride: u32,
}

@group(0) @binding(0) var<storage, read> table: array<f32>;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

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
    out[i] = 0.0;
  } else {
    out[i] = table[id * p.dim + c];
  }
}
