#include "engine/autograd.h"

#include <algorithm>
#include <fmt/format.h>
#include <unordered_map>

#include "engine/ops.h"

namespace adx {
namespace {
thread_local bool g_grad_enabled = true;
}  // namespace

bool GradMode::enabled() { return g_grad_enabled; }
void GradMode::set(bool on) { g_grad_enabled = on; }

Node::Node(OpKind op, TensorList inputs) : op_(op), inputs_(std::move(inputs)) {
  saved_versions_.reserve(inputs_.size());
  for (const Tensor& t : inputs_) saved_versions_.push_back(t.defined() ? t.version() : 0);
}

void Node::save_output(const Tensor& out) {
  saved_output_ = make_view(out, out.shape(), 0);
  saved_output_version_ = out.version();
}

Tensor Node::output() const {
  if (!saved_output_.defined())
    throw Error(fmt::format("autograd: {} did not save its output", name()));
  if (saved_output_.version() != saved_output_version_)
    throw Error(fmt::format("autograd: the output of {} was modified in place after it was "
                            "saved for backward", name()));
  Tensor t = make_view(saved_output_, saved_output_.shape(), 0);
  if (GradMode::enabled()) {
    // Re-attach: a second-order pass differentiates through this node again.
    t.impl().grad_fn = std::const_pointer_cast<Node>(shared_from_this());
    t.impl().requires_grad = true;
  }
  return t;
}

TensorList Node::apply(const Tensor& grad_output, const PoolVector<bool>& needs) {
  for (size_t i = 0; i < inputs_.size(); ++i) {
    if (inputs_[i].defined() && inputs_[i].version() != saved_versions_[i])
      throw Error(fmt::format("autograd: input {} of {} was modified in place after it was "
                              "saved for backward", i, name()));
  }
  needs_ = &needs;
  struct Reset {  // needs_ points into the caller's frame: forget it on every exit
    const PoolVector<bool>*& needs;
    ~Reset() { needs = nullptr; }
  } reset{needs_};
  TensorList grads = backward(grad_output);
  if (grads.size() != inputs_.size())
    throw Error(fmt::format("autograd: {} returned {} gradients for {} inputs", name(),
                            grads.size(), inputs_.size()));
  for (size_t i = 0; i < grads.size(); ++i) {
    // A CPU scalar mixed with CUDA tensors gets its gradient on the GPU: move it home
    // (as torch does), so that no gradient reaches a tensor on another device.
    if (grads[i].defined() && inputs_[i].defined() && grads[i].device() != inputs_[i].device())
      grads[i] = grads[i].to(inputs_[i].device());
    if (grads[i].defined() && grads[i].shape() != inputs_[i].shape())
      throw Error(fmt::format("autograd: {} gave a gradient of shape {} for input {} of shape {}",
                              name(), shape_str(grads[i].shape()), i,
                              shape_str(inputs_[i].shape())));
  }
  return grads;
}

bool any_requires_grad(std::initializer_list<const Tensor*> inputs) {
  if (!GradMode::enabled()) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

bool any_requires_grad(const TensorList& inputs) {
  if (!GradMode::enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Tensor detail::attach(std::shared_ptr<Node> node, Tensor out, bool save_output) {
  if (save_output) node->save_output(out);
  out.impl().grad_fn = std::move(node);
  out.impl().requires_grad = true;
  return out;
}

namespace {

Tensor accumulate(const Tensor& acc, const Tensor& g) { return acc.defined() ? add(acc, g) : g; }

// One backward pass. In "leaf mode" (targets empty) gradients of every leaf that
// requires grad are accumulated into its .grad; otherwise only the gradients of the
// targets are computed and returned, and nodes that lead to no target are skipped.
class BackwardPass {
 public:
  BackwardPass(const TensorList& targets, bool create_graph)
      : leaf_mode_(targets.empty()), create_graph_(create_graph), results_(targets.size()) {
    for (size_t i = 0; i < targets.size(); ++i) {
      const Tensor& t = targets[i];
      if (!t.requires_grad())
        throw Error(fmt::format("grad(): input {} does not require grad", i));
      if (t.grad_fn()) target_nodes_[t.grad_fn().get()].push_back(i);
      else target_leaves_[t.impl_ptr()].push_back(i);
    }
  }

  TensorList run(const TensorList& roots, const TensorList& root_grads) {
    GradModeGuard mode(create_graph_);
    PoolVector<Node*> order;
    for (const Tensor& r : roots)
      if (r.grad_fn()) collect(r.grad_fn().get(), order);
    for (Node* n : order) compute_needed(n);
    for (size_t i = 0; i < roots.size(); ++i) seed(roots[i], root_grads[i]);

    PoolVector<Node*> ready;
    for (const Tensor& r : roots) {
      Node* n = r.grad_fn().get();
      if (n && dependencies_[n] == 0 && std::find(ready.begin(), ready.end(), n) == ready.end())
        ready.push_back(n);
    }
    while (!ready.empty()) {
      Node* node = ready.back();
      ready.pop_back();
      process(node, ready);
    }
    return results_;
  }

 private:
  // Depth-first walk that counts, for every node, how many edges point at it.
  void collect(Node* root, PoolVector<Node*>& order) {
    if (!visited_.emplace(root, true).second) return;
    PoolVector<Node*> stack = {root};
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      order.push_back(n);
      for (const Tensor& in : n->inputs()) {
        if (!in.defined() || !in.grad_fn()) continue;
        Node* child = in.grad_fn().get();
        ++dependencies_[child];
        if (visited_.emplace(child, true).second) stack.push_back(child);
      }
    }
  }

  // needed(n): n's gradient is wanted (leaf mode: always; else n leads to a target).
  bool compute_needed(Node* n) {
    auto it = needed_.find(n);
    if (it != needed_.end()) return it->second;
    // Iterative post-order to avoid deep recursion on long graphs.
    PoolVector<std::pair<Node*, size_t>> stack = {{n, 0}};
    needed_[n] = false;
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->inputs().size()) {
        const Tensor& in = node->inputs()[next++];
        if (in.defined() && in.grad_fn() && !needed_.count(in.grad_fn().get())) {
          needed_[in.grad_fn().get()] = false;
          stack.push_back({in.grad_fn().get(), 0});
        }
        continue;
      }
      bool need = leaf_mode_ || target_nodes_.count(node);
      for (size_t i = 0; i < node->inputs().size() && !need; ++i) need = input_needed(*node, i);
      needed_[node] = need;
      stack.pop_back();
    }
    return needed_[n];
  }

  bool input_needed(const Node& node, size_t i) const {
    const Tensor& in = node.input(i);
    if (!in.defined() || !in.requires_grad()) return false;
    if (in.grad_fn()) {
      auto it = needed_.find(in.grad_fn().get());
      return it != needed_.end() && it->second;
    }
    return leaf_mode_ || target_leaves_.count(in.impl_ptr());
  }

  void seed(const Tensor& root, const Tensor& g) {
    if (root.grad_fn()) grads_[root.grad_fn().get()] = accumulate(grads_[root.grad_fn().get()], g);
    else deliver_to_leaf(root, g);
  }

  void deliver_to_leaf(const Tensor& leaf, const Tensor& g) {
    if (!leaf.requires_grad() || !g.defined()) return;
    if (!leaf_mode_) {
      auto it = target_leaves_.find(leaf.impl_ptr());
      if (it != target_leaves_.end())
        for (size_t idx : it->second) results_[idx] = accumulate(results_[idx], g);
      return;
    }
    TensorImpl& impl = leaf.impl();
    if (create_graph_) {
      // A new tensor (with history) either way: g may be shared with other leaves'
      // gradients, and a later in-place accumulation must not write into it. As in
      // torch, a .grad with history references the graph until zero_grad().
      Tensor old = impl.grad ? Tensor(impl.grad) : Tensor();
      impl.grad = (old.defined() ? add(old, g) : g.clone()).impl_shared();
    } else if (!g.device().is_cpu()) {
      // On a GPU through ops (the loops below are the host's): a fresh buffer as well.
      Tensor old = impl.grad ? Tensor(impl.grad).detach() : Tensor();
      impl.grad = (old.defined() ? add(old, g) : g.clone()).detach().impl_shared();
    } else if (!impl.grad || impl.grad->grad_fn) {
      // Own a fresh buffer: g may alias another tensor's storage (and a .grad left
      // with history by a create_graph pass is replaced, not written into).
      Tensor sum = impl.grad ? Tensor(impl.grad).detach() : Tensor();
      Tensor copy = Tensor::empty(g.shape(), g.device());
      copy.copy_(g);
      if (sum.defined()) {
        float* a = copy.data();
        const float* b = sum.data();
        for (int64_t i = 0, n = copy.numel(); i < n; ++i) a[i] += b[i];
      }
      impl.grad = copy.impl_shared();
    } else {
      Tensor acc(impl.grad);
      float* a = acc.data();
      const float* b = g.data();
      for (int64_t i = 0, n = acc.numel(); i < n; ++i) a[i] += b[i];
    }
  }

  void process(Node* node, PoolVector<Node*>& ready) {
    Tensor g = std::move(grads_[node]);
    grads_.erase(node);
    if (auto it = target_nodes_.find(node); it != target_nodes_.end())
      for (size_t idx : it->second) results_[idx] = accumulate(results_[idx], g);

    const auto& inputs = node->inputs();
    PoolVector<bool> needs(inputs.size());
    bool any = false;
    for (size_t i = 0; i < inputs.size(); ++i) any |= (needs[i] = input_needed(*node, i));
    TensorList input_grads;
    if (any && g.defined()) input_grads = node->apply(g, needs);

    for (size_t i = 0; i < inputs.size(); ++i) {
      const Tensor& in = inputs[i];
      if (!in.defined()) continue;
      const Tensor gi = i < input_grads.size() && needs[i] ? input_grads[i] : Tensor();
      if (!in.grad_fn()) {
        deliver_to_leaf(in, gi);
        continue;
      }
      Node* child = in.grad_fn().get();
      if (gi.defined()) grads_[child] = accumulate(grads_[child], gi);
      if (--dependencies_[child] == 0) ready.push_back(child);
    }
  }

  bool leaf_mode_;
  bool create_graph_;
  TensorList results_;
  // Pooled (engine/pool.h), as are the lists below: a pass per training step.
  PoolMap<Node*, PoolVector<size_t>> target_nodes_;
  PoolMap<TensorImpl*, PoolVector<size_t>> target_leaves_;
  PoolMap<Node*, bool> visited_;
  PoolMap<Node*, int> dependencies_;
  PoolMap<Node*, bool> needed_;
  PoolMap<Node*, Tensor> grads_;
};

TensorList default_grad_outputs(const TensorList& outputs,
                                         const TensorList& grad_outputs) {
  if (!grad_outputs.empty() && grad_outputs.size() != outputs.size())
    throw Error(fmt::format("grad(): {} grad_outputs for {} outputs", grad_outputs.size(),
                            outputs.size()));
  TensorList result(outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    if (!out.requires_grad())
      throw Error(fmt::format("grad(): output {} does not require grad (no history)", i));
    if (!grad_outputs.empty() && grad_outputs[i].defined()) {
      if (grad_outputs[i].device() != out.device())
        throw Error(fmt::format("grad(): grad_output {} is on {}, output on {}", i,
                                grad_outputs[i].device().str(), out.device().str()));
      if (grad_outputs[i].shape() != out.shape())
        throw Error(fmt::format("grad(): grad_output {} has shape {}, output has {}", i,
                                shape_str(grad_outputs[i].shape()), shape_str(out.shape())));
      result[i] = grad_outputs[i];
    } else {
      if (out.numel() != 1)
        throw Error(fmt::format("grad(): output {} of shape {} is not a scalar: give grad_outputs",
                                i, shape_str(out.shape())));
      result[i] = Tensor::ones(out.shape(), out.device());
    }
  }
  return result;
}

}  // namespace

TensorList grad(const TensorList& outputs, const TensorList& inputs,
                         const TensorList& grad_outputs, bool create_graph,
                         bool allow_unused) {
  if (inputs.empty()) throw Error("grad(): no inputs given");
  const TensorList seeds = default_grad_outputs(outputs, grad_outputs);
  TensorList result = BackwardPass(inputs, create_graph).run(outputs, seeds);
  for (size_t i = 0; i < result.size(); ++i) {
    if (!result[i].defined() && !allow_unused)
      throw Error(fmt::format("grad(): input {} was not used to compute the outputs "
                              "(pass allow_unused to get an undefined gradient)", i));
  }
  return result;
}

void backward(const Tensor& root, const Tensor& grad_output, bool create_graph) {
  const TensorList seeds = default_grad_outputs({root}, {grad_output});
  BackwardPass({}, create_graph).run({root}, seeds);
}

}  // namespace adx
