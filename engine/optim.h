// Optimisers, gradient clipping and learning-rate schedules. Updates follow
// torch.optim's formulas exactly, so that a run here and there can be compared.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace adx {

class Optimizer {
 public:
  Optimizer(std::vector<Tensor> params, float lr);
  virtual ~Optimizer() = default;

  virtual void step() = 0;  // one update of every parameter that has a gradient
  void zero_grad();         // drops every parameter's gradient

  float lr() const { return lr_; }
  void set_lr(float lr) { lr_ = lr; }
  int64_t steps() const { return steps_; }
  void set_steps(int64_t steps) { steps_ = steps; }
  const std::vector<Tensor>& params() const { return params_; }
  // Named state tensors ("momentum.3", "exp_avg.0", ...: a kind and a parameter
  // index) for checkpoints; only parameters that were updated have state.
  std::vector<std::pair<std::string, Tensor>> state();
  // Restores what state() gave (copies the values); names and shapes are checked.
  void load_state(const std::vector<std::pair<std::string, Tensor>>& state);

 protected:
  // The per-parameter state vectors of this optimiser, by kind.
  virtual std::vector<std::pair<std::string, std::vector<Tensor>*>> state_slots() { return {}; }

  std::vector<Tensor> params_;
  float lr_;
  int64_t steps_ = 0;
};

struct SGDOptions {
  float lr = 0.01f;
  float momentum = 0.0f;
  float dampening = 0.0f;
  float weight_decay = 0.0f;  // L2 penalty added to the gradient
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, const SGDOptions& opt);
  void step() override;

 private:
  std::vector<std::pair<std::string, std::vector<Tensor>*>> state_slots() override {
    return {{"momentum", &momentum_}};
  }
  SGDOptions opt_;
  std::vector<Tensor> momentum_;  // undefined until the first step
};

struct AdamOptions {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;  // L2 penalty added to the gradient, as torch.optim.Adam
};

// As in torch, the bias corrections use each parameter's own step count (the number
// of steps in which it had a gradient), not the optimiser's steps(): a parameter
// first updated at the optimiser's k-th step gets a first-step update.
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, const AdamOptions& opt);
  void step() override;

 private:
  // exp_avg.i, exp_avg_sq.i and step.i (a 0-d tensor, as torch keeps it).
  std::vector<std::pair<std::string, std::vector<Tensor>*>> state_slots() override {
    return {{"exp_avg", &m_}, {"exp_avg_sq", &v_}, {"step", &t_}};
  }
  AdamOptions opt_;
  std::vector<Tensor> m_, v_;  // first and second moment estimates
  std::vector<Tensor> t_;      // per-parameter step counts (0-d)
};

// Scales all gradients so that their joint L2 norm is at most max_norm; returns
// the norm before clipping (as torch.nn.utils.clip_grad_norm_).
float clip_grad_norm(const std::vector<Tensor>& params, float max_norm);

// Learning-rate schedules: call step() once per epoch, after the optimiser's steps.
class StepLR {
 public:
  StepLR(Optimizer& opt, int64_t step_size, float gamma = 0.1f);
  void step();
  int64_t epoch() const { return epoch_; }

 private:
  Optimizer& opt_;
  float base_lr_;
  int64_t step_size_;
  float gamma_;
  int64_t epoch_ = 0;
};

class MultiStepLR {
 public:
  MultiStepLR(Optimizer& opt, std::vector<int64_t> milestones, float gamma = 0.1f);
  void step();
  int64_t epoch() const { return epoch_; }

 private:
  Optimizer& opt_;
  float base_lr_;
  std::vector<int64_t> milestones_;
  float gamma_;
  int64_t epoch_ = 0;
};

}  // namespace adx
