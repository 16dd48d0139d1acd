// Define-by-run autograd.
//
// Every op that sees an input with requires_grad (while grad mode is on) records a
// Node: its inputs, the storage versions of what it saved, and a backward function.
// Backward functions are written with the engine's own differentiable ops, never
// with raw kernels, so running them with grad mode on (create_graph=true) records
// the backward pass like any other computation: a gradient of a gradient needs no
// special code (WGAN-GP's gradient penalty relies on this).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "engine/op_kind.h"
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

class Node;
// Given the gradient of the op's output, return one gradient per input (an
// undefined Tensor where node.needs_grad(i) is false or the gradient is zero).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output, Node& node)>;

class Node : public std::enable_shared_from_this<Node> {
 public:
  Node(OpKind op, std::vector<Tensor> inputs, BackwardFn fn);

  OpKind op() const { return op_; }
  const char* name() const { return op_name(op_); }
  const std::vector<Tensor>& inputs() const { return inputs_; }
  const Tensor& input(size_t i) const { return inputs_[i]; }
  bool needs_grad(size_t i) const { return i < needs_.size() && needs_[i]; }

  // The op's output, re-attached to this node, for backward formulas that use it
  // (tanh, sigmoid, exp, sqrt). Holding it detached avoids a reference cycle.
  Tensor output() const;
  void save_output(const Tensor& out);

  std::vector<Tensor> apply(const Tensor& grad_output, const std::vector<bool>& needs);

 private:
  OpKind op_;
  std::vector<Tensor> inputs_;
  std::vector<uint64_t> saved_versions_;
  BackwardFn fn_;
  std::vector<bool> needs_;
  Tensor saved_output_;
  uint64_t saved_output_version_ = 0;
};

// True when grad mode is on and any input requires a gradient.
bool any_requires_grad(std::initializer_list<const Tensor*> inputs);
bool any_requires_grad(const std::vector<Tensor>& inputs);

// Attach history to `out` if needed. `inputs` are what the backward function may
// read through node.input(i); gradients are returned in the same order.
Tensor record(OpKind op, Tensor out, std::vector<Tensor> inputs, BackwardFn fn,
              bool save_output = false);

// d(outputs)/d(inputs), weighted by grad_outputs (ones for scalar outputs when
// empty). With create_graph the result has history and can be differentiated again.
// Inputs that the outputs do not depend on give undefined tensors if allow_unused,
// else an error.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool create_graph = false,
                         bool allow_unused = false);

// Accumulates d(root)/d(leaf) into leaf.grad() for every leaf that requires grad.
void backward(const Tensor& root, const Tensor& grad_output = Tensor(),
              bool create_graph = false);

}  // namespace adx
