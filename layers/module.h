// Module: named parameters, buffers and children, dot-joined into full names as in
// torchvision (layer1.0.conv1.weight, bn1.running_mean), so that converted state
// dicts load by name. Layers hold no kernels: their forward calls engine ops.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace adx {

class Module {
 public:
  virtual ~Module() = default;
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }

  // train() / eval() switch batch norm and dropout, recursively.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  using Named = std::vector<std::pair<std::string, Tensor>>;
  Named named_parameters() const;
  Named named_buffers() const;
  std::vector<Tensor> parameters() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const {
    return children_;
  }
  std::shared_ptr<Module> child(const std::string& name) const;  // nullptr if absent
  void zero_grad();
  // Moves every parameter and buffer to `device`, in place (Tensor::move_to_), so that
  // optimisers made before keep working (their state follows at their next step).
  // Call it between steps: a graph recorded before the move refers to the old memory.
  void to(Device device);
  int64_t parameter_count() const;
  virtual std::string type_name() const = 0;

 protected:
  Tensor& register_parameter(const std::string& name, Tensor value);
  Tensor& register_buffer(const std::string& name, Tensor value);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    children_.emplace_back(name, module);
    return module;
  }

 private:
  void collect(const std::string& prefix, bool buffers, Named& out) const;
  bool training_ = true;
  Named parameters_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

using ModulePtr = std::shared_ptr<Module>;

}  // namespace adx
