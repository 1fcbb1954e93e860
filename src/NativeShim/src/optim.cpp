// SGD update over a parameter group in one call, with PyTorch's semantics:
//   d = grad + weight_decay * p
//   buf = d (first step) or momentum * buf + (1 - dampening) * d
//   d = d + momentum * buf (nesterov) or buf
//   p -= lr * d
#include "shim.h"

// momentum_buffers[i] is created on a parameter's first step and owned by the caller after.
// Parameters without a gradient are skipped, as in PyTorch.
MLN_EXPORT int32_t mln_sgd_step(const TensorHandle* parameters, TensorHandle* momentum_buffers, int32_t count,
                                double learning_rate, double momentum, double dampening, double weight_decay,
                                int32_t nesterov) {
  return shim::status_result([&] {
    TORCH_CHECK(nesterov == 0 || (momentum > 0 && dampening == 0),
                "Nesterov momentum requires a momentum and zero dampening");
    at::NoGradGuard no_grad;
    for (int32_t i = 0; i < count; ++i) {
      at::Tensor& parameter = *parameters[i];
      const at::Tensor& grad = parameter.grad();
      if (!grad.defined()) continue;
      at::Tensor step = weight_decay != 0 ? grad.add(parameter, weight_decay) : grad;
      if (momentum != 0) {
        if (momentum_buffers[i] == nullptr) {
          momentum_buffers[i] = shim::wrap(step.clone());
        } else {
          momentum_buffers[i]->mul_(momentum).add_(step, 1 - dampening);
        }
        const at::Tensor& buffer = *momentum_buffers[i];
        step = nesterov != 0 ? step.add(buffer, momentum) : buffer;
      }
      parameter.add_(step, -learning_rate);
    }
  });
}
