// The elementwise and reduction ops the CUDA backend runs, by code: the CPU side
// passes lambdas to its loops, a kernel switches on these (the switch is uniform
// across a warp, so it costs no divergence). Plain enums, no CUDA headers, so that
// host code in every build can name them.
#pragma once

namespace adx::cuda {

// v ↦ f(v) with up to two parameters p0, p1.
enum class Unary : int {
  Identity,   // (broadcast copies: expand)
  Neg,
  Pow,        // v^p0, with v·v for p0 = 2 and √v for p0 = ½ as on the CPU
  Exp,
  Log,
  Sqrt,
  Abs,
  Sign,       // 1, −1, or 0 at 0 (abs's derivative, as torch)
  Relu,
  LeakyRelu,  // slope p0
  Elu,        // α = p0
  Sigmoid,
  Tanh,
  Softplus,   // β = p0, threshold p1
  Clamp,      // [p0, p1]
  InRange,    // 1 where p0 ≤ v ≤ p1 (clamp's derivative)
};

// (x, y) ↦ f(x, y) with one parameter p.
enum class Binary : int {
  Add,
  Sub,
  Mul,
  Div,
  Gt,
  Lt,
  Ge,
  Le,
  Eq,
  LeakyReluBackward,  // x = g, y = the input: g where input > 0, else p·g
};

}  // namespace adx::cuda
