// Elementwise ops. Each primitive's backward sits right after its forward and is
// written in engine ops, so it can itself be differentiated.
#include <algorithm>
#include <cmath>

#include <Eigen/Core>

#include "engine/autograd.h"
#include "engine/cpu/broadcast.h"
#include "engine/cuda/ops.h"
#include "engine/ops/common.h"
#include "engine/ops.h"

namespace adx {
namespace {

using cpu::broadcast_map;
using cpu::broadcast_shapes;
using Grads = TensorList;

using cuda::Binary;
using cuda::Unary;
using detail::check_cpu;

// f(a, b) with broadcasting: the CPU loop runs the lambda, a CUDA kernel the same
// formula by its code (engine/cuda/elementwise.cu).
template <class F>
Tensor map_binary(const Tensor& a, const Tensor& b, const char* op, Binary code, F f) {
  if (cuda::any_on_cuda({&a, &b})) return cuda::binary(code, a, b, op);
  check_cpu(a, op);
  check_cpu(b, op);
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), op));
  broadcast_map<2>({&a, &b}, out, f);
  return out;
}

template <class F>
Tensor map_unary(const Tensor& x, const char* op, Unary code, F f, float p0 = 0.0f, float p1 = 0.0f) {
  if (cuda::any_on_cuda({&x})) return cuda::unary(code, x, p0, p1);
  check_cpu(x, op);
  Tensor out = Tensor::empty(x.shape());
  const float* in = x.data();
  float* o = out.data();
  cpu::parallel_blocks(x.numel(), [&](int64_t lo, int64_t hi) {
    const float* __restrict src = in;
    float* __restrict dst = o;
    const F fn = f;  // a local copy: through the reference, a captured constant such as
                     // leaky ReLU's slope is reloaded every element and the loop stays scalar
    for (int64_t i = lo; i < hi; ++i) dst[i] = fn(src[i]);
  });
  return out;
}

// A gradient flowing into a broadcast operand is summed back to its shape.
Tensor reduce_grad(const Tensor& g, const Tensor& input) {
  return g.shape() == input.shape() ? g : sum_to(g, input.shape());
}

}  // namespace

// ---- binary arithmetic ---------------------------------------------------------

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = map_binary(a, b, "add", Binary::Add, [](float x, float y) { return x + y; });
  return record(OpKind::Add, out, {a, b}, [](const Tensor& g, Node& n) {
    return Grads{n.needs_grad(0) ? reduce_grad(g, n.input(0)) : Tensor(),
                 n.needs_grad(1) ? reduce_grad(g, n.input(1)) : Tensor()};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = map_binary(a, b, "sub", Binary::Sub, [](float x, float y) { return x - y; });
  return record(OpKind::Sub, out, {a, b}, [](const Tensor& g, Node& n) {
    return Grads{n.needs_grad(0) ? reduce_grad(g, n.input(0)) : Tensor(),
                 n.needs_grad(1) ? reduce_grad(neg(g), n.input(1)) : Tensor()};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = map_binary(a, b, "mul", Binary::Mul, [](float x, float y) { return x * y; });
  return record(OpKind::Mul, out, {a, b}, [](const Tensor& g, Node& n) {
    return Grads{n.needs_grad(0) ? reduce_grad(mul(g, n.input(1)), n.input(0)) : Tensor(),
                 n.needs_grad(1) ? reduce_grad(mul(g, n.input(0)), n.input(1)) : Tensor()};
  });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = map_binary(a, b, "div", Binary::Div, [](float x, float y) { return x / y; });
  return record(OpKind::Div, out, {a, b}, [](const Tensor& g, Node& n) {
    const Tensor& x = n.input(0);
    const Tensor& y = n.input(1);
    // d(x/y)/dy = −x / y²
    return Grads{n.needs_grad(0) ? reduce_grad(div(g, y), x) : Tensor(),
                 n.needs_grad(1) ? reduce_grad(neg(div(mul(g, x), mul(y, y))), y) : Tensor()};
  });
}

// ---- unary ---------------------------------------------------------------------

Tensor neg(const Tensor& x) {
  Tensor out = map_unary(x, "neg", Unary::Neg, [](float v) { return -v; });
  return record(OpKind::Neg, out, {x}, [](const Tensor& g, Node&) { return Grads{neg(g)}; });
}

Tensor pow(const Tensor& x, float p) {
  Tensor out = map_unary(x, "pow", Unary::Pow, [p](float v) {
    return p == 2.0f ? v * v : p == 0.5f ? std::sqrt(v) : std::pow(v, p);
  }, p);
  return record(OpKind::PowScalar, out, {x}, [p](const Tensor& g, Node& n) {
    if (p == 0.0f) return Grads{mul(g, Tensor::scalar(0.0f))};
    if (p == 1.0f) return Grads{g};
    // d(x^p)/dx = p · x^(p−1)
    return Grads{mul(g, mul(Tensor::scalar(p), pow(n.input(0), p - 1.0f)))};
  });
}

Tensor pow(const Tensor& x, const Tensor& e) { return exp(mul(e, log(x))); }

Tensor exp(const Tensor& x) {
  Tensor out = map_unary(x, "exp", Unary::Exp, [](float v) { return std::exp(v); });
  return record(OpKind::Exp, out, {x},
                [](const Tensor& g, Node& n) { return Grads{mul(g, n.output())}; }, true);
}

Tensor log(const Tensor& x) {
  Tensor out = map_unary(x, "log", Unary::Log, [](float v) { return std::log(v); });
  return record(OpKind::Log, out, {x},
                [](const Tensor& g, Node& n) { return Grads{div(g, n.input(0))}; });
}

Tensor sqrt(const Tensor& x) {
  Tensor out = map_unary(x, "sqrt", Unary::Sqrt, [](float v) { return std::sqrt(v); });
  // d√x/dx = 1 / (2√x), written with the saved output.
  return record(OpKind::Sqrt, out, {x}, [](const Tensor& g, Node& n) {
    return Grads{div(mul(g, Tensor::scalar(0.5f)), n.output())};
  }, true);
}

Tensor abs(const Tensor& x) {
  Tensor out = map_unary(x, "abs", Unary::Abs, [](float v) { return std::fabs(v); });
  return record(OpKind::Abs, out, {x}, [](const Tensor& g, Node& n) {
    // sign(x), with 0 at the kink as torch does.
    Tensor sign = map_unary(n.input(0), "abs", Unary::Sign, [](float v) {
      return v > 0.0f ? 1.0f : v < 0.0f ? -1.0f : 0.0f;
    });
    return Grads{mul(g, sign)};
  });
}

namespace {

// g·(x > 0 ? 1 : slope): leaky ReLU's (and, with slope 0, ReLU's) backward as one
// pass. An op of its own with its own rule, as torch's threshold_backward: it is
// linear in g, and its derivative in x is zero almost everywhere.
Tensor leaky_relu_backward_cpu(const Tensor& g, const Tensor& x, float slope) {
  check_cpu(g, "leaky_relu_backward");
  check_cpu(x, "leaky_relu_backward");
  Tensor out = Tensor::empty(x.shape());
  const float* gd = g.data();
  const float* xd = x.data();
  float* o = out.data();
  cpu::parallel_blocks(x.numel(), [&](int64_t lo, int64_t hi) {
    const float* __restrict gg = gd;
    const float* __restrict xx = xd;
    float* __restrict dst = o;
    const float s = slope;  // a local: see map_unary
    for (int64_t i = lo; i < hi; ++i) dst[i] = xx[i] > 0.0f ? gg[i] : s * gg[i];
  });
  return out;
}

Tensor leaky_relu_backward(const Tensor& g, const Tensor& x, float slope) {
  Tensor out = cuda::any_on_cuda({&g, &x})
                   ? cuda::binary(Binary::LeakyReluBackward, g, x, "leaky_relu_backward", slope)
                   : leaky_relu_backward_cpu(g, x, slope);
  return record(OpKind::LeakyReluBackward, out, {g, x}, [slope](const Tensor& gg, Node& n) {
    return Grads{n.needs_grad(0) ? leaky_relu_backward(gg, n.input(1), slope) : Tensor(), Tensor()};
  });
}

}  // namespace

Tensor relu(const Tensor& x) {
  Tensor out = map_unary(x, "relu", Unary::Relu, [](float v) { return v > 0.0f ? v : 0.0f; });
  // The gradient at 0 is 0 (torch's choice).
  return record(OpKind::Relu, out, {x}, [](const Tensor& g, Node& n) {
    return Grads{leaky_relu_backward(g, n.input(0), 0.0f)};
  });
}

Tensor leaky_relu(const Tensor& x, float slope) {
  Tensor out = map_unary(x, "leaky_relu", Unary::LeakyRelu, [slope](float v) { return v > 0.0f ? v : slope * v; }, slope);
  return record(OpKind::LeakyRelu, out, {x}, [slope](const Tensor& g, Node& n) {
    return Grads{leaky_relu_backward(g, n.input(0), slope)};
  });
}

Tensor elu(const Tensor& x, float alpha) {
  Tensor out = map_unary(x, "elu", Unary::Elu, [alpha](float v) { return v > 0.0f ? v : alpha * std::expm1(v); }, alpha);
  // For x ≤ 0, d/dx α(eˣ − 1) = αeˣ = y + α: written with the output so that the
  // second derivative flows through it.
  return record(OpKind::Elu, out, {x}, [alpha](const Tensor& g, Node& n) {
    Tensor positive = gt(n.input(0), Tensor::scalar(0.0f));
    return Grads{mul(g, where(positive, Tensor::scalar(1.0f), add(n.output(), Tensor::scalar(alpha))))};
  }, true);
}

Tensor sigmoid(const Tensor& x) {
  Tensor out = map_unary(x, "sigmoid", Unary::Sigmoid, [](float v) {
    // Split by sign so that exp never overflows.
    if (v >= 0.0f) return 1.0f / (1.0f + std::exp(-v));
    const float e = std::exp(v);
    return e / (1.0f + e);
  });
  return record(OpKind::Sigmoid, out, {x}, [](const Tensor& g, Node& n) {
    Tensor y = n.output();
    return Grads{mul(g, mul(y, sub(Tensor::scalar(1.0f), y)))};
  }, true);
}

namespace {
Tensor tanh_cpu(const Tensor& x) {
  check_cpu(x, "tanh");
  Tensor out = Tensor::empty(x.shape());
  const float* in = x.data();
  float* o = out.data();
  // Eigen's vectorised tanh (a rational approximation, within 1e-6 relative of libm's
  // tanhf, tested; torch's own vectorised CPU tanh is not libm's either): libm's
  // scalar tanhf was 2.5 % of an f-AnoGAN encoder step, whose generator ends in a tanh.
  cpu::parallel_blocks(x.numel(), [&](int64_t lo, int64_t hi) {
    const Eigen::Map<const Eigen::ArrayXf> src(in + lo, hi - lo);
    Eigen::Map<Eigen::ArrayXf>(o + lo, hi - lo) = src.tanh();
  });
  return out;
}
}  // namespace

Tensor tanh(const Tensor& x) {
  Tensor out = cuda::any_on_cuda({&x}) ? cuda::unary(Unary::Tanh, x) : tanh_cpu(x);
  return record(OpKind::Tanh, out, {x}, [](const Tensor& g, Node& n) {
    Tensor y = n.output();
    return Grads{mul(g, sub(Tensor::scalar(1.0f), mul(y, y)))};
  }, true);
}

Tensor softplus(const Tensor& x, float beta, float threshold) {
  // y = log(1 + e^{βx}) / β, and y = x where βx > threshold (torch's linear regime).
  // Computed as max(βx, 0) + log1p(e^{−|βx|}) so that e^{βx} never overflows when the
  // threshold is set above ~88.
  Tensor out = map_unary(x, "softplus", Unary::Softplus, [beta, threshold](float v) {
    const float bx = beta * v;
    return bx > threshold ? v : (std::max(bx, 0.0f) + std::log1p(std::exp(-std::fabs(bx)))) / beta;
  }, beta, threshold);
  return record(OpKind::Softplus, out, {x}, [beta, threshold](const Tensor& g, Node& n) {
    const Tensor& in = n.input(0);
    Tensor linear = gt(mul(in, Tensor::scalar(beta)), Tensor::scalar(threshold));
    Tensor slope = sigmoid(mul(in, Tensor::scalar(beta)));  // dy/dx = σ(βx)
    return Grads{mul(g, where(linear, Tensor::scalar(1.0f), slope))};
  });
}

Tensor clamp(const Tensor& x, float lo, float hi) {
  if (lo > hi) throw Error(fmt::format("clamp: lower bound {} > upper bound {}", lo, hi));
  Tensor out = map_unary(x, "clamp", Unary::Clamp, [lo, hi](float v) { return v < lo ? lo : v > hi ? hi : v; }, lo, hi);
  return record(OpKind::Clamp, out, {x}, [lo, hi](const Tensor& g, Node& n) {
    return Grads{mul(g, map_unary(n.input(0), "clamp", Unary::InRange, [lo, hi](float v) {
                   return v >= lo && v <= hi ? 1.0f : 0.0f;
                 }, lo, hi))};
  });
}

namespace {
Tensor where_cpu(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_cpu(cond, "where");
  check_cpu(a, "where");
  check_cpu(b, "where");
  const Shape shape =
      broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = Tensor::empty(shape);
  broadcast_map<3>({&cond, &a, &b}, out, [](float c, float x, float y) { return c != 0.0f ? x : y; });
  return out;
}
}  // namespace

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  Tensor out = cuda::any_on_cuda({&cond, &a, &b}) ? cuda::where(cond, a, b) : where_cpu(cond, a, b);
  return record(OpKind::Where, out, {cond, a, b}, [](const Tensor& g, Node& n) {
    const Tensor& c = n.input(0);
    Tensor zero = Tensor::scalar(0.0f);
    return Grads{Tensor(),
                 n.needs_grad(1) ? reduce_grad(where(c, g, zero), n.input(1)) : Tensor(),
                 n.needs_grad(2) ? reduce_grad(where(c, zero, g), n.input(2)) : Tensor()};
  });
}

// ---- comparisons (no history) ----------------------------------------------------

Tensor gt(const Tensor& a, const Tensor& b) {
  return map_binary(a, b, "gt", Binary::Gt, [](float x, float y) { return x > y ? 1.0f : 0.0f; });
}
Tensor lt(const Tensor& a, const Tensor& b) {
  return map_binary(a, b, "lt", Binary::Lt, [](float x, float y) { return x < y ? 1.0f : 0.0f; });
}
Tensor ge(const Tensor& a, const Tensor& b) {
  return map_binary(a, b, "ge", Binary::Ge, [](float x, float y) { return x >= y ? 1.0f : 0.0f; });
}
Tensor le(const Tensor& a, const Tensor& b) {
  return map_binary(a, b, "le", Binary::Le, [](float x, float y) { return x <= y ? 1.0f : 0.0f; });
}
Tensor eq(const Tensor& a, const Tensor& b) {
  return map_binary(a, b, "eq", Binary::Eq, [](float x, float y) { return x == y ? 1.0f : 0.0f; });
}

}  // namespace adx
