// Autograd: leaf flags, backward, gradients, grad mode, detaching.
#include "shim.h"

MLN_EXPORT int32_t mln_requires_grad(TensorHandle tensor) { return tensor->requires_grad() ? 1 : 0; }

MLN_EXPORT int32_t mln_set_requires_grad(TensorHandle tensor, int32_t requires_grad) {
  return shim::status_result([&] { tensor->set_requires_grad(requires_grad != 0); });
}

// gradient may be null for a scalar output.
MLN_EXPORT int32_t mln_backward(TensorHandle tensor, TensorHandle gradient, int32_t retain_graph) {
  return shim::status_result([&] {
    tensor->backward(shim::tensor_or_undefined(gradient), retain_graph != 0 ? c10::optional<bool>(true)
                                                                            : c10::optional<bool>(false));
  });
}

// *gradient is set to null when the tensor has no gradient yet.
MLN_EXPORT int32_t mln_grad(TensorHandle tensor, TensorHandle* gradient) {
  return shim::status_result([&] {
    const auto& grad = tensor->grad();
    *gradient = grad.defined() ? shim::wrap(grad) : nullptr;
  });
}

// Drops the gradients of the given tensors (PyTorch's zero_grad(set_to_none=True)).
MLN_EXPORT int32_t mln_clear_grads(const TensorHandle* tensors, int32_t count) {
  return shim::status_result([&] {
    for (int32_t i = 0; i < count; ++i) tensors[i]->mutable_grad() = at::Tensor();
  });
}

MLN_EXPORT int32_t mln_grad_enabled() { return at::GradMode::is_enabled() ? 1 : 0; }

// Grad mode is per thread, as in libtorch.
MLN_EXPORT void mln_set_grad_enabled(int32_t enabled) { at::GradMode::set_enabled(enabled != 0); }

MLN_EXPORT TensorHandle mln_detach(TensorHandle tensor) {
  return shim::tensor_result([&] { return tensor->detach(); });
}

MLN_EXPORT int32_t mln_is_leaf(TensorHandle tensor) { return tensor->is_leaf() ? 1 : 0; }
