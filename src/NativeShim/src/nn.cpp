// Neural-network kernels: linear algebra, convolution, pooling, activations, losses, and
// libtorch's own normalizations (which also serve as test oracles for our normalizers).
#include "shim.h"

namespace {
// Codes shared with the C# enum Reduction.
at::Reduction::Reduction reduction_from_code(int32_t code) {
  switch (code) {
    case 0: return at::Reduction::None;
    case 1: return at::Reduction::Mean;
    case 2: return at::Reduction::Sum;
  }
  TORCH_CHECK(false, "unknown reduction code ", code);
}
}  // namespace

MLN_EXPORT TensorHandle mln_matmul(TensorHandle a, TensorHandle b) {
  return shim::tensor_result([&] { return at::matmul(*a, *b); });
}

MLN_EXPORT TensorHandle mln_linear(TensorHandle input, TensorHandle weight, TensorHandle bias) {
  return shim::tensor_result([&] { return at::linear(*input, *weight, shim::optional_tensor(bias)); });
}

// stride, padding and dilation are (height, width) pairs.
MLN_EXPORT TensorHandle mln_conv2d(TensorHandle input, TensorHandle weight, TensorHandle bias,
                                   const int64_t* stride, const int64_t* padding, const int64_t* dilation,
                                   int64_t groups) {
  return shim::tensor_result([&] {
    return at::conv2d(*input, *weight, shim::optional_tensor(bias), shim::int_list(stride, 2),
                      shim::int_list(padding, 2), shim::int_list(dilation, 2), groups);
  });
}

MLN_EXPORT TensorHandle mln_max_pool2d(TensorHandle input, const int64_t* kernel, const int64_t* stride,
                                       const int64_t* padding, int32_t ceil_mode) {
  return shim::tensor_result([&] {
    const int64_t dilation[2] = {1, 1};
    return at::max_pool2d(*input, shim::int_list(kernel, 2), shim::int_list(stride, 2),
                          shim::int_list(padding, 2), shim::int_list(dilation, 2), ceil_mode != 0);
  });
}

MLN_EXPORT TensorHandle mln_avg_pool2d(TensorHandle input, const int64_t* kernel, const int64_t* stride,
                                       const int64_t* padding, int32_t ceil_mode, int32_t count_include_pad) {
  return shim::tensor_result([&] {
    return at::avg_pool2d(*input, shim::int_list(kernel, 2), shim::int_list(stride, 2),
                          shim::int_list(padding, 2), ceil_mode != 0, count_include_pad != 0);
  });
}

MLN_EXPORT TensorHandle mln_adaptive_avg_pool2d(TensorHandle input, const int64_t* output_size) {
  return shim::tensor_result([&] { return at::adaptive_avg_pool2d(*input, shim::int_list(output_size, 2)); });
}

MLN_EXPORT TensorHandle mln_dropout(TensorHandle input, double probability, int32_t training) {
  return shim::tensor_result([&] { return at::dropout(*input, probability, training != 0); });
}

MLN_EXPORT TensorHandle mln_softmax(TensorHandle input, int64_t dim) {
  return shim::tensor_result([&] { return at::softmax(*input, dim); });
}

MLN_EXPORT TensorHandle mln_log_softmax(TensorHandle input, int64_t dim) {
  return shim::tensor_result([&] { return at::log_softmax(*input, dim); });
}

// Class-index targets; weight may be null.
MLN_EXPORT TensorHandle mln_cross_entropy(TensorHandle logits, TensorHandle target, TensorHandle weight,
                                          int32_t reduction, int64_t ignore_index, double label_smoothing) {
  return shim::tensor_result([&] {
    return at::cross_entropy_loss(*logits, *target, shim::optional_tensor(weight),
                                  reduction_from_code(reduction), ignore_index, label_smoothing);
  });
}

MLN_EXPORT TensorHandle mln_nll_loss(TensorHandle log_probabilities, TensorHandle target, int32_t reduction) {
  return shim::tensor_result([&] {
    return at::nll_loss(*log_probabilities, *target, c10::nullopt, reduction_from_code(reduction));
  });
}

// weight, bias, running_mean and running_var may each be null.
MLN_EXPORT TensorHandle mln_batch_norm(TensorHandle input, TensorHandle weight, TensorHandle bias,
                                       TensorHandle running_mean, TensorHandle running_var, int32_t training,
                                       double momentum, double eps) {
  return shim::tensor_result([&] {
    return at::batch_norm(*input, shim::optional_tensor(weight), shim::optional_tensor(bias),
                          shim::optional_tensor(running_mean), shim::optional_tensor(running_var),
                          training != 0, momentum, eps, at::globalContext().userEnabledCuDNN());
  });
}

MLN_EXPORT TensorHandle mln_group_norm(TensorHandle input, int64_t groups, TensorHandle weight,
                                       TensorHandle bias, double eps) {
  return shim::tensor_result([&] {
    return at::group_norm(*input, groups, shim::optional_tensor(weight), shim::optional_tensor(bias), eps,
                          at::globalContext().userEnabledCuDNN());
  });
}

MLN_EXPORT TensorHandle mln_instance_norm(TensorHandle input, TensorHandle weight, TensorHandle bias,
                                          TensorHandle running_mean, TensorHandle running_var,
                                          int32_t use_input_stats, double momentum, double eps) {
  return shim::tensor_result([&] {
    return at::instance_norm(*input, shim::optional_tensor(weight), shim::optional_tensor(bias),
                             shim::optional_tensor(running_mean), shim::optional_tensor(running_var),
                             use_input_stats != 0, momentum, eps, at::globalContext().userEnabledCuDNN());
  });
}

MLN_EXPORT TensorHandle mln_layer_norm(TensorHandle input, const int64_t* normalized_shape, int32_t count,
                                       TensorHandle weight, TensorHandle bias, double eps) {
  return shim::tensor_result([&] {
    return at::layer_norm(*input, shim::int_list(normalized_shape, count), shim::optional_tensor(weight),
                          shim::optional_tensor(bias), eps, at::globalContext().userEnabledCuDNN());
  });
}
