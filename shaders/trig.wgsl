// trig: sin and cos accurate to about one f32 ulp for |x| < 1e5, independent of the GPU's own sin/cos
// (WGSL only promises an absolute error of 2^-11 inside [-pi, pi] and nothing outside, and real drivers lose
// precision on large arguments such as rope angles of long sequences or timestep arguments of up to 1000 rad).
// A snippet, not a kernel (named after the sincos2d kernel only to stay in that file namespace): the rope,
// sincos2d, timestep and noise shaders are compiled with this text in front.
//
// x is reduced to r = x - k * pi/2 (Cody-Waite with pi/2 split in four parts, the first three of 8 significant
// bits, so every k * TRIG_Pn is exact while |k| < 2^16 and the reduction is exact to about 2^-40) and r in about
// [-pi/4, pi/4] goes through the Cephes sinf/cosf minimax polynomials.

const TRIG_2_OVER_PI: f32 = 0.63661977236758134f;
const TRIG_PI_OVER_2: f32 = 1.5707963267948966f;
const TRIG_P1: f32 = 1.5703125f;
const TRIG_P2: f32 = 4.84466552734375e-4f;
const TRIG_P3: f32 = -6.407499313354492e-7f;
const TRIG_P4: f32 = 9.92093629470503e-10f;

// (sin, cos) of q * pi/2 + a for |a| <= about pi/4.
fn sincos_quadrant(a: f32, q: i32) -> vec2f {
  let z = a * a;
  let s = a + a * z * ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f);
  let c = 1.0f - 0.5f * z + z * z * ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z + 4.166664568298827e-2f);
  switch (q & 3) {
    case 0: { return vec2f(s, c); }
    case 1: { return vec2f(c, -s); }
    case 2: { return vec2f(-s, -c); }
    default: { return vec2f(-c, s); }
  }
}

// (sin x, cos x).
fn sincos(x: f32) -> vec2f {
  let k = floor(x * TRIG_2_OVER_PI + 0.5f);
  let r = (((x - k * TRIG_P1) - k * TRIG_P2) - k * TRIG_P3) - k * TRIG_P4;
  return sincos_quadrant(r, i32(k));
}
