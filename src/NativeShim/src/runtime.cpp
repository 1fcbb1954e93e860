// Process-wide state: errors, live-handle count, seeds, threads, CUDA, generators.
#include "shim.h"

#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace {
thread_local std::string last_error;
std::atomic<int64_t> live_tensor_handles{0};

// A dispose scope frees all of a training step's tensors at once. With glibc's default thresholds
// that memory goes back to the kernel at every step and is faulted in again by the next (tens of
// thousands of minor page faults per ResNet-20 step, measured by bench/ResNetBench --diagnose), where
// Python frees tensors one by one and keeps reusing them. Keeping large blocks in the heap makes the
// next step reuse them. A user's own MALLOC_*_THRESHOLD_ settings win.
const bool malloc_tuned = [] {
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  if (std::getenv("MALLOC_TRIM_THRESHOLD_") == nullptr) mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
  return true;
}();
}  // namespace

namespace shim {

void set_last_error(const char* message) { last_error = message == nullptr ? "" : message; }

TensorHandle wrap(at::Tensor tensor) {
  auto* handle = new at::Tensor(std::move(tensor));
  live_tensor_handles.fetch_add(1, std::memory_order_relaxed);
  return handle;
}

void release(TensorHandle handle) {
  if (handle == nullptr) return;
  delete handle;
  live_tensor_handles.fetch_sub(1, std::memory_order_relaxed);
}

at::ScalarType scalar_type_from_code(int32_t code) {
  switch (code) {
    case 0: return at::kFloat;
    case 1: return at::kDouble;
    case 2: return at::kLong;
    case 3: return at::kBool;
    case 4: return at::kByte;
    case 5: return at::kInt;
  }
  TORCH_CHECK(false, "unknown scalar type code ", code);
}

int32_t code_from_scalar_type(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return 0;
    case at::kDouble: return 1;
    case at::kLong: return 2;
    case at::kBool: return 3;
    case at::kByte: return 4;
    case at::kInt: return 5;
    default: return -1;
  }
}

c10::Device device_from_code(int32_t device_type, int32_t device_index) {
  switch (device_type) {
    case 0: return c10::Device(c10::kCPU);
    case 1: return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(device_index));
  }
  TORCH_CHECK(false, "unknown device type code ", device_type);
}

std::vector<at::Tensor> tensor_list(const TensorHandle* handles, int32_t count) {
  std::vector<at::Tensor> tensors;
  tensors.reserve(static_cast<size_t>(count));
  for (int32_t i = 0; i < count; ++i) tensors.push_back(*handles[i]);
  return tensors;
}

}  // namespace shim

MLN_EXPORT const char* mln_last_error() { return last_error.c_str(); }

MLN_EXPORT int64_t mln_live_tensor_count() {
  return live_tensor_handles.load(std::memory_order_relaxed);
}

MLN_EXPORT const char* mln_torch_version() { return TORCH_VERSION; }

MLN_EXPORT int32_t mln_manual_seed(uint64_t seed) {
  return shim::status_result([&] { torch::manual_seed(seed); });
}

// The global CPU stream (parameter init, dropout): saved in checkpoints so a resumed run draws what an
// uninterrupted one would have drawn.
MLN_EXPORT TensorHandle mln_default_generator_get_state() {
  return shim::tensor_result([] {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    return generator.get_state();
  });
}

MLN_EXPORT int32_t mln_default_generator_set_state(TensorHandle state) {
  return shim::status_result([&] {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(*state);
  });
}

MLN_EXPORT int32_t mln_set_num_threads(int32_t threads) {
  return shim::status_result([&] {
    TORCH_CHECK(threads > 0, "thread count must be positive, got ", threads);
    at::set_num_threads(threads);
  });
}

MLN_EXPORT int32_t mln_get_num_threads() { return at::get_num_threads(); }

MLN_EXPORT int32_t mln_cuda_is_available() { return torch::cuda::is_available() ? 1 : 0; }

MLN_EXPORT int32_t mln_cuda_device_count() {
  return static_cast<int32_t>(torch::cuda::device_count());
}

MLN_EXPORT int32_t mln_cuda_synchronize() {
  return shim::status_result([] { torch::cuda::synchronize(); });
}

// Seeded generators, so that data order and augmentation do not share the global stream.
MLN_EXPORT void* mln_generator_new(uint64_t seed) {
  try {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    return new at::Generator(std::move(generator));
  } catch (const std::exception& e) {
    shim::set_last_error(e.what());
    return nullptr;
  }
}

MLN_EXPORT void mln_generator_free(void* generator) { delete static_cast<at::Generator*>(generator); }

MLN_EXPORT TensorHandle mln_generator_get_state(void* generator) {
  return shim::tensor_result([&] {
    auto* gen = static_cast<at::Generator*>(generator);
    std::lock_guard<std::mutex> lock(gen->mutex());
    return gen->get_state();
  });
}

MLN_EXPORT int32_t mln_generator_set_state(void* generator, TensorHandle state) {
  return shim::status_result([&] {
    auto* gen = static_cast<at::Generator*>(generator);
    std::lock_guard<std::mutex> lock(gen->mutex());
    gen->set_state(*state);
  });
}
