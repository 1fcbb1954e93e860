// Element-wise arithmetic (broadcasting, out-of-place and in-place) and reductions.
#include "shim.h"

namespace {

// Codes shared with the C# enum BinaryOp.
enum BinaryOp : int32_t { Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge };

// Codes shared with the C# enum UnaryOp.
enum UnaryOp : int32_t { Neg, Abs, Sqrt, Rsqrt, Exp, Log, Relu, Sigmoid, Tanh, Square, Reciprocal, Sign };

at::Tensor binary(int32_t op, const at::Tensor& a, const at::Tensor& b, double alpha) {
  switch (op) {
    case Add: return at::add(a, b, alpha);
    case Sub: return at::sub(a, b, alpha);
    case Mul: return at::mul(a, b);
    case Div: return at::div(a, b);
    case Pow: return at::pow(a, b);
    case Maximum: return at::maximum(a, b);
    case Minimum: return at::minimum(a, b);
    case Eq: return at::eq(a, b);
    case Ne: return at::ne(a, b);
    case Lt: return at::lt(a, b);
    case Le: return at::le(a, b);
    case Gt: return at::gt(a, b);
    case Ge: return at::ge(a, b);
  }
  TORCH_CHECK(false, "unknown binary op code ", op);
}

void binary_in_place(int32_t op, at::Tensor& a, const at::Tensor& b, double alpha) {
  switch (op) {
    case Add: a.add_(b, alpha); return;
    case Sub: a.sub_(b, alpha); return;
    case Mul: a.mul_(b); return;
    case Div: a.div_(b); return;
    case Pow: a.pow_(b); return;
  }
  TORCH_CHECK(false, "binary op code ", op, " has no in-place form");
}

at::Tensor binary_scalar(int32_t op, const at::Tensor& a, const at::Scalar& s) {
  switch (op) {
    case Add: return at::add(a, s);
    case Sub: return at::sub(a, s);
    case Mul: return at::mul(a, s);
    case Div: return at::div(a, s);
    case Pow: return at::pow(a, s);
    case Maximum: return at::clamp_min(a, s);
    case Minimum: return at::clamp_max(a, s);
    case Eq: return at::eq(a, s);
    case Ne: return at::ne(a, s);
    case Lt: return at::lt(a, s);
    case Le: return at::le(a, s);
    case Gt: return at::gt(a, s);
    case Ge: return at::ge(a, s);
  }
  TORCH_CHECK(false, "unknown binary op code ", op);
}

void binary_scalar_in_place(int32_t op, at::Tensor& a, const at::Scalar& s) {
  switch (op) {
    case Add: a.add_(s); return;
    case Sub: a.sub_(s); return;
    case Mul: a.mul_(s); return;
    case Div: a.div_(s); return;
    case Pow: a.pow_(s); return;
    case Maximum: a.clamp_min_(s); return;
    case Minimum: a.clamp_max_(s); return;
  }
  TORCH_CHECK(false, "binary op code ", op, " has no in-place form");
}

at::Tensor unary(int32_t op, const at::Tensor& a) {
  switch (op) {
    case Neg: return at::neg(a);
    case Abs: return at::abs(a);
    case Sqrt: return at::sqrt(a);
    case Rsqrt: return at::rsqrt(a);
    case Exp: return at::exp(a);
    case Log: return at::log(a);
    case Relu: return at::relu(a);
    case Sigmoid: return at::sigmoid(a);
    case Tanh: return at::tanh(a);
    case Square: return at::square(a);
    case Reciprocal: return at::reciprocal(a);
    case Sign: return at::sign(a);
  }
  TORCH_CHECK(false, "unknown unary op code ", op);
}

void unary_in_place(int32_t op, at::Tensor& a) {
  switch (op) {
    case Neg: a.neg_(); return;
    case Abs: a.abs_(); return;
    case Sqrt: a.sqrt_(); return;
    case Rsqrt: a.rsqrt_(); return;
    case Exp: a.exp_(); return;
    case Log: a.log_(); return;
    case Relu: a.relu_(); return;
    case Sigmoid: a.sigmoid_(); return;
    case Tanh: a.tanh_(); return;
    case Square: a.square_(); return;
    case Reciprocal: a.reciprocal_(); return;
    case Sign: a.sign_(); return;
  }
  TORCH_CHECK(false, "unknown unary op code ", op);
}

c10::optional<at::Scalar> optional_scalar(int32_t present, double value) {
  if (present == 0) return c10::nullopt;
  return at::Scalar(value);
}

}  // namespace

// alpha scales b for Add and Sub (a + alpha*b) and is ignored otherwise.
MLN_EXPORT TensorHandle mln_binary(int32_t op, TensorHandle a, TensorHandle b, double alpha) {
  return shim::tensor_result([&] { return binary(op, *a, *b, alpha); });
}

MLN_EXPORT int32_t mln_binary_(int32_t op, TensorHandle a, TensorHandle b, double alpha) {
  return shim::status_result([&] { binary_in_place(op, *a, *b, alpha); });
}

MLN_EXPORT TensorHandle mln_binary_scalar(int32_t op, TensorHandle a, double scalar) {
  return shim::tensor_result([&] { return binary_scalar(op, *a, at::Scalar(scalar)); });
}

MLN_EXPORT int32_t mln_binary_scalar_(int32_t op, TensorHandle a, double scalar) {
  return shim::status_result([&] { binary_scalar_in_place(op, *a, at::Scalar(scalar)); });
}

// scalar - a, scalar / a, scalar ^ a.
MLN_EXPORT TensorHandle mln_scalar_binary(int32_t op, double scalar, TensorHandle a) {
  return shim::tensor_result([&]() -> at::Tensor {
    switch (op) {
      case Sub: return at::rsub(*a, scalar);
      case Div: return at::mul(at::reciprocal(*a), scalar);
      case Pow: return at::pow(at::Scalar(scalar), *a);
    }
    TORCH_CHECK(false, "binary op code ", op, " has no scalar-first form");
  });
}

MLN_EXPORT TensorHandle mln_unary(int32_t op, TensorHandle a) {
  return shim::tensor_result([&] { return unary(op, *a); });
}

MLN_EXPORT int32_t mln_unary_(int32_t op, TensorHandle a) {
  return shim::status_result([&] { unary_in_place(op, *a); });
}

MLN_EXPORT TensorHandle mln_clamp(TensorHandle a, int32_t has_min, double min, int32_t has_max, double max) {
  return shim::tensor_result(
      [&] { return at::clamp(*a, optional_scalar(has_min, min), optional_scalar(has_max, max)); });
}

MLN_EXPORT int32_t mln_clamp_(TensorHandle a, int32_t has_min, double min, int32_t has_max, double max) {
  return shim::status_result(
      [&] { a->clamp_(optional_scalar(has_min, min), optional_scalar(has_max, max)); });
}

// self + value * t1 * t2 in one pass.
MLN_EXPORT TensorHandle mln_addcmul(TensorHandle self, TensorHandle t1, TensorHandle t2, double value) {
  return shim::tensor_result([&] { return at::addcmul(*self, *t1, *t2, value); });
}

MLN_EXPORT int32_t mln_addcmul_(TensorHandle self, TensorHandle t1, TensorHandle t2, double value) {
  return shim::status_result([&] { self->addcmul_(*t1, *t2, value); });
}

MLN_EXPORT TensorHandle mln_addcdiv(TensorHandle self, TensorHandle t1, TensorHandle t2, double value) {
  return shim::tensor_result([&] { return at::addcdiv(*self, *t1, *t2, value); });
}

MLN_EXPORT TensorHandle mln_where(TensorHandle condition, TensorHandle a, TensorHandle b) {
  return shim::tensor_result([&] { return at::where(*condition, *a, *b); });
}

// Reductions: dims == nullptr (count 0) reduces over every dimension.
MLN_EXPORT TensorHandle mln_sum(TensorHandle a, const int64_t* dims, int32_t count, int32_t keepdim) {
  return shim::tensor_result([&] {
    return count == 0 ? at::sum(*a) : at::sum(*a, shim::int_list(dims, count), keepdim != 0);
  });
}

MLN_EXPORT TensorHandle mln_mean(TensorHandle a, const int64_t* dims, int32_t count, int32_t keepdim) {
  return shim::tensor_result([&] {
    return count == 0 ? at::mean(*a) : at::mean(*a, shim::int_list(dims, count), keepdim != 0);
  });
}

// Variance with the given correction (0: biased, 1: unbiased) and the mean, in one pass.
MLN_EXPORT int32_t mln_var_mean(TensorHandle a, const int64_t* dims, int32_t count, int64_t correction,
                                int32_t keepdim, TensorHandle* variance, TensorHandle* mean) {
  return shim::status_result([&] {
    at::OptionalIntArrayRef dim_list =
        count == 0 ? at::OptionalIntArrayRef() : at::OptionalIntArrayRef(shim::int_list(dims, count));
    auto result = at::var_mean(*a, dim_list, correction, keepdim != 0);
    *variance = shim::wrap(std::get<0>(result));
    *mean = shim::wrap(std::get<1>(result));
  });
}

MLN_EXPORT int32_t mln_max_dim(TensorHandle a, int64_t dim, int32_t keepdim, TensorHandle* values,
                               TensorHandle* indices) {
  return shim::status_result([&] {
    auto result = at::max(*a, dim, keepdim != 0);
    *values = shim::wrap(std::get<0>(result));
    *indices = shim::wrap(std::get<1>(result));
  });
}

MLN_EXPORT TensorHandle mln_max_all(TensorHandle a) {
  return shim::tensor_result([&] { return at::max(*a); });
}

MLN_EXPORT TensorHandle mln_min_all(TensorHandle a) {
  return shim::tensor_result([&] { return at::min(*a); });
}

MLN_EXPORT TensorHandle mln_argmax(TensorHandle a, int64_t dim, int32_t keepdim) {
  return shim::tensor_result([&] { return at::argmax(*a, dim, keepdim != 0); });
}

MLN_EXPORT int32_t mln_topk(TensorHandle a, int64_t k, int64_t dim, int32_t largest, int32_t sorted,
                            TensorHandle* values, TensorHandle* indices) {
  return shim::status_result([&] {
    auto result = at::topk(*a, k, dim, largest != 0, sorted != 0);
    *values = shim::wrap(std::get<0>(result));
    *indices = shim::wrap(std::get<1>(result));
  });
}

MLN_EXPORT int32_t mln_all_close(TensorHandle a, TensorHandle b, double rtol, double atol, int32_t* result) {
  return shim::status_result([&] { *result = at::allclose(*a, *b, rtol, atol) ? 1 : 0; });
}

MLN_EXPORT int32_t mln_equal(TensorHandle a, TensorHandle b, int32_t* result) {
  return shim::status_result([&] { *result = at::equal(*a, *b) ? 1 : 0; });
}

// 1 when no element is NaN or infinite (a cheap guard on small statistics tables).
MLN_EXPORT int32_t mln_all_finite(TensorHandle a, int32_t* result) {
  return shim::status_result([&] { *result = at::isfinite(*a).all().item<bool>() ? 1 : 0; });
}
