// Shared plumbing of the C ABI: tensor handles, the live-handle count, error capture.
// Every exported function catches every C++ exception and reports it through
// mln_last_error(); the C# binding turns that into a TorchException.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#define MLN_EXPORT extern "C" __attribute__((visibility("default")))

// A handle owns one at::Tensor reference; freed with mln_tensor_free.
using TensorHandle = at::Tensor*;

namespace shim {

void set_last_error(const char* message);

// Moves the tensor into a new handle (and counts it as live).
TensorHandle wrap(at::Tensor tensor);
void release(TensorHandle handle);

// Codes shared with the C# enums ScalarType and DeviceType.
at::ScalarType scalar_type_from_code(int32_t code);
int32_t code_from_scalar_type(at::ScalarType type);
c10::Device device_from_code(int32_t device_type, int32_t device_index);

inline at::IntArrayRef int_list(const int64_t* values, int32_t count) {
  return at::IntArrayRef(values, static_cast<size_t>(count));
}

inline c10::optional<at::Tensor> optional_tensor(TensorHandle handle) {
  if (handle == nullptr) return c10::nullopt;
  return *handle;
}

inline at::Tensor tensor_or_undefined(TensorHandle handle) {
  return handle == nullptr ? at::Tensor() : *handle;
}

std::vector<at::Tensor> tensor_list(const TensorHandle* handles, int32_t count);

// Runs fn, returning its tensor as a new handle, or nullptr with the error recorded.
template <typename Fn>
TensorHandle tensor_result(Fn&& fn) {
  try {
    return wrap(fn());
  } catch (const c10::Error& e) {
    set_last_error(e.what_without_backtrace());
  } catch (const std::exception& e) {
    set_last_error(e.what());
  } catch (...) {
    set_last_error("unknown native exception");
  }
  return nullptr;
}

// Runs fn for its effect: 0 on success, -1 with the error recorded.
template <typename Fn>
int32_t status_result(Fn&& fn) {
  try {
    fn();
    return 0;
  } catch (const c10::Error& e) {
    set_last_error(e.what_without_backtrace());
  } catch (const std::exception& e) {
    set_last_error(e.what());
  } catch (...) {
    set_last_error("unknown native exception");
  }
  return -1;
}

}  // namespace shim
