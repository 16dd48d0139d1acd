// Define-by-run autograd.
//
// Every op that sees an input with requires_grad (while grad mode is on) records a
// Node: its inputs, the storage versions of what it saved, and a backward function.
// Backward functions are written with the engine's own differentiable ops, never
// with raw kernels, so running them with grad mode on (create_graph=true) records
// the backward pass like any other computation: a gradient of a gradient needs no
// special code (WGAN-GP's gradient penalty relies on this).
#pragma once

#include <memory>
#include <vector>

#include "engine/op_kind.h"
#include "engine/pool.h"
#include "engine/tensor.h"

namespace adx {

// Grad mode is a thread-local flag; ops record history only while it is on.
class GradMode {
 public:
  static bool enabled();
  static void set(bool on);
};

// RAII: sets grad mode for a scope and restores it afterwards.
class GradModeGuard {
 public:
  explicit GradModeGuard(bool on) : previous_(GradMode::enabled()) { GradMode::set(on); }
  ~GradModeGuard() { GradMode::set(previous_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

struct NoGradGuard : GradModeGuard {
  NoGradGuard() : GradModeGuard(false) {}
};

// A recorded op. The backward function, written by the op (a lambda given to
// record()), receives the gradient of the op's output and returns one gradient per
// input: an undefined Tensor where node.needs_grad(i) is false or the gradient is zero.
class Node : public std::enable_shared_from_this<Node> {
 public:
  Node(OpKind op, TensorList inputs);
  virtual ~Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  OpKind op() const { return op_; }
  const char* name() const { return op_name(op_); }
  const TensorList& inputs() const { return inputs_; }
  const Tensor& input(size_t i) const { return inputs_[i]; }
  // Valid inside the backward function: whether input i's gradient is wanted.
  bool needs_grad(size_t i) const { return needs_ && i < needs_->size() && (*needs_)[i]; }

  // The op's output, re-attached to this node, for backward formulas that use it
  // (tanh, sigmoid, exp, sqrt). Holding it detached avoids a reference cycle.
  Tensor output() const;
  void save_output(const Tensor& out);

  TensorList apply(const Tensor& grad_output, const PoolVector<bool>& needs);

 protected:
  virtual TensorList backward(const Tensor& grad_output) = 0;

 private:
  OpKind op_;
  TensorList inputs_;
  PoolVector<uint64_t> saved_versions_;
  const PoolVector<bool>* needs_ = nullptr;  // set during apply()
  Tensor saved_output_;
  uint64_t saved_output_version_ = 0;
};

namespace detail {
// A node whose backward is the closure `F` (a lambda), stored inline: no
// std::function, whose captures would be one more heap block per op.
template <class F>
class ClosureNode final : public Node {
 public:
  ClosureNode(OpKind op, TensorList inputs, F fn) : Node(op, std::move(inputs)), fn_(std::move(fn)) {}

 private:
  TensorList backward(const Tensor& grad_output) override { return fn_(grad_output, *this); }
  F fn_;
};

Tensor attach(std::shared_ptr<Node> node, Tensor out, bool save_output);
}  // namespace detail

// True when grad mode is on and any input requires a gradient.
bool any_requires_grad(std::initializer_list<const Tensor*> inputs);
bool any_requires_grad(const TensorList& inputs);

// Attach history to `out` if needed. `inputs` are what the backward function may
// read through node.input(i); `fn(grad_output, node)` returns their gradients in the
// same order.
template <class F>
Tensor record(OpKind op, Tensor out, TensorList inputs, F&& fn, bool save_output = false) {
  if (!any_requires_grad(inputs)) return out;
  using NodeType = detail::ClosureNode<std::decay_t<F>>;
  return detail::attach(make_pooled<NodeType>(op, std::move(inputs), std::forward<F>(fn)),
                        std::move(out), save_output);
}

// d(outputs)/d(inputs), weighted by grad_outputs (ones for scalar outputs when
// empty). With create_graph the result has history and can be differentiated again.
// Inputs that the outputs do not depend on give undefined tensors if allow_unused,
// else an error.
TensorList grad(const TensorList& outputs, const TensorList& inputs,
                const TensorList& grad_outputs = {}, bool create_graph = false,
                bool allow_unused = false);

// Accumulates d(root)/d(leaf) into leaf.grad() for every leaf that requires grad.
void backward(const Tensor& root, const Tensor& grad_output = Tensor(),
              bool create_graph = false);

}  // namespace adx
