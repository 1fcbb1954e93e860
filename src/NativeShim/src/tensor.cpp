// Tensor handles: lifetime, properties, creation, data in and out, dtype and device moves.
#include "shim.h"

#include <cstring>

namespace {

at::TensorOptions options_for(int32_t dtype, int32_t device_type, int32_t device_index) {
  return at::TensorOptions()
      .dtype(shim::scalar_type_from_code(dtype))
      .device(shim::device_from_code(device_type, device_index));
}

c10::optional<at::Generator> optional_generator(void* generator) {
  if (generator == nullptr) return c10::nullopt;
  return *static_cast<at::Generator*>(generator);
}

}  // namespace

MLN_EXPORT void mln_tensor_free(TensorHandle tensor) { shim::release(tensor); }

// A second handle to the same tensor (shared storage and autograd identity).
MLN_EXPORT TensorHandle mln_tensor_share(TensorHandle tensor) {
  return shim::tensor_result([&] { return *tensor; });
}

MLN_EXPORT int32_t mln_tensor_ndim(TensorHandle tensor) { return static_cast<int32_t>(tensor->dim()); }

MLN_EXPORT void mln_tensor_shape(TensorHandle tensor, int64_t* shape) {
  for (int64_t i = 0; i < tensor->dim(); ++i) shape[i] = tensor->size(i);
}

MLN_EXPORT int64_t mln_tensor_numel(TensorHandle tensor) { return tensor->numel(); }

MLN_EXPORT int32_t mln_tensor_dtype(TensorHandle tensor) {
  return shim::code_from_scalar_type(tensor->scalar_type());
}

MLN_EXPORT int32_t mln_tensor_device_type(TensorHandle tensor) { return tensor->is_cuda() ? 1 : 0; }

MLN_EXPORT int32_t mln_tensor_device_index(TensorHandle tensor) { return tensor->device().index(); }

MLN_EXPORT int32_t mln_tensor_is_contiguous(TensorHandle tensor) { return tensor->is_contiguous() ? 1 : 0; }

// Copies element data (row-major) into a new tensor: the one copy that hands ownership to libtorch.
MLN_EXPORT TensorHandle mln_tensor_from_data(const void* data, const int64_t* shape, int32_t ndim,
                                            int32_t dtype, int32_t device_type, int32_t device_index) {
  return shim::tensor_result([&] {
    auto sizes = shim::int_list(shape, ndim);
    auto cpu_options = options_for(dtype, 0, -1);
    auto tensor = at::empty(sizes, cpu_options);
    std::memcpy(tensor.data_ptr(), data, tensor.nbytes());
    auto device = shim::device_from_code(device_type, device_index);
    return device.is_cpu() ? tensor : tensor.to(device);
  });
}

// Copies the elements (row-major) into dst, which holds byte_count bytes.
MLN_EXPORT int32_t mln_tensor_copy_to(TensorHandle tensor, void* dst, int64_t byte_count) {
  return shim::status_result([&] {
    auto source = tensor->detach();
    if (!source.is_cpu()) source = source.cpu();
    source = source.contiguous();
    TORCH_CHECK(static_cast<int64_t>(source.nbytes()) == byte_count, "destination holds ", byte_count,
                " bytes but the tensor has ", source.nbytes());
    std::memcpy(dst, source.data_ptr(), source.nbytes());
  });
}

// Address of a contiguous CPU tensor's elements, for reading without a copy (null otherwise).
MLN_EXPORT void* mln_tensor_data_ptr(TensorHandle tensor) {
  if (!tensor->is_cpu() || !tensor->is_contiguous()) return nullptr;
  return tensor->data_ptr();
}

MLN_EXPORT TensorHandle mln_zeros(const int64_t* shape, int32_t ndim, int32_t dtype,
                                  int32_t device_type, int32_t device_index) {
  return shim::tensor_result(
      [&] { return at::zeros(shim::int_list(shape, ndim), options_for(dtype, device_type, device_index)); });
}

MLN_EXPORT TensorHandle mln_full(const int64_t* shape, int32_t ndim, double value, int32_t dtype,
                                 int32_t device_type, int32_t device_index) {
  return shim::tensor_result([&] {
    return at::full(shim::int_list(shape, ndim), value, options_for(dtype, device_type, device_index));
  });
}

MLN_EXPORT TensorHandle mln_arange(double start, double end, double step, int32_t dtype,
                                   int32_t device_type, int32_t device_index) {
  return shim::tensor_result(
      [&] { return at::arange(start, end, step, options_for(dtype, device_type, device_index)); });
}

// Uniform [0,1) values; generator may be null for the global one.
MLN_EXPORT TensorHandle mln_rand(const int64_t* shape, int32_t ndim, void* generator, int32_t dtype,
                                 int32_t device_type, int32_t device_index) {
  return shim::tensor_result([&] {
    return at::rand(shim::int_list(shape, ndim), optional_generator(generator),
                    options_for(dtype, device_type, device_index));
  });
}

MLN_EXPORT TensorHandle mln_randn(const int64_t* shape, int32_t ndim, void* generator, int32_t dtype,
                                  int32_t device_type, int32_t device_index) {
  return shim::tensor_result([&] {
    return at::randn(shim::int_list(shape, ndim), optional_generator(generator),
                     options_for(dtype, device_type, device_index));
  });
}

MLN_EXPORT TensorHandle mln_randint(int64_t low, int64_t high, const int64_t* shape, int32_t ndim,
                                    void* generator, int32_t device_type, int32_t device_index) {
  return shim::tensor_result([&] {
    return at::randint(low, high, shim::int_list(shape, ndim), optional_generator(generator),
                       options_for(2, device_type, device_index));
  });
}

MLN_EXPORT TensorHandle mln_randperm(int64_t n, void* generator) {
  return shim::tensor_result(
      [&] { return at::randperm(n, optional_generator(generator), at::TensorOptions().dtype(at::kLong)); });
}

MLN_EXPORT TensorHandle mln_to(TensorHandle tensor, int32_t dtype, int32_t device_type, int32_t device_index) {
  return shim::tensor_result([&] {
    return tensor->to(shim::device_from_code(device_type, device_index), shim::scalar_type_from_code(dtype));
  });
}

MLN_EXPORT TensorHandle mln_clone(TensorHandle tensor) {
  return shim::tensor_result([&] { return tensor->clone(); });
}

MLN_EXPORT int32_t mln_copy_(TensorHandle destination, TensorHandle source) {
  return shim::status_result([&] { destination->copy_(*source); });
}

MLN_EXPORT int32_t mln_fill_(TensorHandle tensor, double value) {
  return shim::status_result([&] { tensor->fill_(value); });
}

MLN_EXPORT int32_t mln_uniform_(TensorHandle tensor, double low, double high, void* generator) {
  return shim::status_result([&] { tensor->uniform_(low, high, optional_generator(generator)); });
}

MLN_EXPORT int32_t mln_normal_(TensorHandle tensor, double mean, double std, void* generator) {
  return shim::status_result([&] { tensor->normal_(mean, std, optional_generator(generator)); });
}
