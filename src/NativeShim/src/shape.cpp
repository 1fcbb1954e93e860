// Views and layout: reshape, permute, slicing, joining, gathering.
#include "shim.h"

MLN_EXPORT TensorHandle mln_reshape(TensorHandle a, const int64_t* shape, int32_t ndim) {
  return shim::tensor_result([&] { return a->reshape(shim::int_list(shape, ndim)); });
}

MLN_EXPORT TensorHandle mln_view(TensorHandle a, const int64_t* shape, int32_t ndim) {
  return shim::tensor_result([&] { return a->view(shim::int_list(shape, ndim)); });
}

MLN_EXPORT TensorHandle mln_permute(TensorHandle a, const int64_t* dims, int32_t ndim) {
  return shim::tensor_result([&] { return a->permute(shim::int_list(dims, ndim)); });
}

MLN_EXPORT TensorHandle mln_transpose(TensorHandle a, int64_t dim0, int64_t dim1) {
  return shim::tensor_result([&] { return a->transpose(dim0, dim1); });
}

MLN_EXPORT TensorHandle mln_contiguous(TensorHandle a) {
  return shim::tensor_result([&] { return a->contiguous(); });
}

MLN_EXPORT TensorHandle mln_expand(TensorHandle a, const int64_t* shape, int32_t ndim) {
  return shim::tensor_result([&] { return a->expand(shim::int_list(shape, ndim)); });
}

MLN_EXPORT TensorHandle mln_squeeze(TensorHandle a, int64_t dim) {
  return shim::tensor_result([&] { return a->squeeze(dim); });
}

MLN_EXPORT TensorHandle mln_unsqueeze(TensorHandle a, int64_t dim) {
  return shim::tensor_result([&] { return a->unsqueeze(dim); });
}

MLN_EXPORT TensorHandle mln_flatten(TensorHandle a, int64_t start_dim, int64_t end_dim) {
  return shim::tensor_result([&] { return a->flatten(start_dim, end_dim); });
}

MLN_EXPORT TensorHandle mln_narrow(TensorHandle a, int64_t dim, int64_t start, int64_t length) {
  return shim::tensor_result([&] { return a->narrow(dim, start, length); });
}

MLN_EXPORT TensorHandle mln_slice(TensorHandle a, int64_t dim, int64_t start, int64_t end, int64_t step) {
  return shim::tensor_result([&] { return a->slice(dim, start, end, step); });
}

MLN_EXPORT TensorHandle mln_index_select(TensorHandle a, int64_t dim, TensorHandle index) {
  return shim::tensor_result([&] { return a->index_select(dim, *index); });
}

MLN_EXPORT TensorHandle mln_cat(const TensorHandle* tensors, int32_t count, int64_t dim) {
  return shim::tensor_result([&] { return at::cat(shim::tensor_list(tensors, count), dim); });
}

MLN_EXPORT TensorHandle mln_stack(const TensorHandle* tensors, int32_t count, int64_t dim) {
  return shim::tensor_result([&] { return at::stack(shim::tensor_list(tensors, count), dim); });
}

// pad lists (before, after) pairs starting from the last dimension, as torch.nn.functional.pad.
MLN_EXPORT TensorHandle mln_constant_pad(TensorHandle a, const int64_t* pad, int32_t count, double value) {
  return shim::tensor_result([&] { return at::constant_pad_nd(*a, shim::int_list(pad, count), value); });
}

MLN_EXPORT TensorHandle mln_flip(TensorHandle a, const int64_t* dims, int32_t count) {
  return shim::tensor_result([&] { return at::flip(*a, shim::int_list(dims, count)); });
}
