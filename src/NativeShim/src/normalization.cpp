// The one big-tensor operation every normalizer ends with, with its own backward:
//   y[n,c,h,w] = (x[n,c,h,w] - mean[n,c]) * scale[n,c] + shift[n,c]
// Centring on the cell's own mean keeps the backward sums, sum_hw gy*(x - mean), free of
// cancellation when the data carries a large offset. Statistics tables are [N, C] in any float
// type; the per-plane sums are accumulated in double.
#include "shim.h"

#include <ATen/Parallel.h>

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Per-plane views of a contiguous NCHW tensor: planes = N*C, each of `plane` elements.
struct Planes {
  int64_t count;
  int64_t size;
};

Planes planes_of(const at::Tensor& x) { return {x.size(0) * x.size(1), x.numel() / std::max<int64_t>(1, x.size(0) * x.size(1))}; }

// y = (x - mean)*scale + shift per plane, the tables [N, C] float64 and contiguous.
template <typename scalar_t>
void plane_affine_cpu(const at::Tensor& x, const at::Tensor& mean, const at::Tensor& scale, const at::Tensor& shift,
                      at::Tensor& y) {
  const auto planes = planes_of(x);
  const scalar_t* xs = x.data_ptr<scalar_t>();
  scalar_t* ys = y.data_ptr<scalar_t>();
  const double* ms = mean.data_ptr<double>();
  const double* as = scale.data_ptr<double>();
  const double* bs = shift.data_ptr<double>();
  at::parallel_for(0, planes.count, 1, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const scalar_t m = static_cast<scalar_t>(ms[p]);
      const scalar_t a = static_cast<scalar_t>(as[p]);
      const scalar_t b = static_cast<scalar_t>(bs[p]);
      const scalar_t* xp = xs + p * planes.size;
      scalar_t* yp = ys + p * planes.size;
      for (int64_t i = 0; i < planes.size; ++i) yp[i] = (xp[i] - m) * a + b;
    }
  });
}

// Fills sum_gy[p] = sum gy and sum_gy_xc[p] = sum gy*(x - mean), and gx = gy*scale when wanted.
template <typename scalar_t>
void backward_cpu(const at::Tensor& x, const at::Tensor& mean, const at::Tensor& scale, const at::Tensor& gy,
                  at::Tensor& sum_gy, at::Tensor& sum_gy_xc, at::Tensor* gx) {
  const auto planes = planes_of(x);
  const scalar_t* xs = x.data_ptr<scalar_t>();
  const scalar_t* gys = gy.data_ptr<scalar_t>();
  scalar_t* gxs = gx != nullptr ? gx->data_ptr<scalar_t>() : nullptr;
  const double* ms = mean.data_ptr<double>();
  const double* as = scale.data_ptr<double>();
  double* sg = sum_gy.data_ptr<double>();
  double* sgx = sum_gy_xc.data_ptr<double>();
  at::parallel_for(0, planes.count, 1, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const scalar_t m = static_cast<scalar_t>(ms[p]);
      const scalar_t* xp = xs + p * planes.size;
      const scalar_t* gp = gys + p * planes.size;
      // Eight independent double accumulators per sum: the compiler can vectorize them (one chain cannot be reordered).
      double t8[8] = {0, 0, 0, 0, 0, 0, 0, 0}, x8[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int64_t i = 0;
      for (; i + 8 <= planes.size; i += 8)
        for (int k = 0; k < 8; ++k) {
          t8[k] += static_cast<double>(gp[i + k]);
          x8[k] += static_cast<double>(gp[i + k]) * static_cast<double>(xp[i + k] - m);
        }
      double total = ((t8[0] + t8[1]) + (t8[2] + t8[3])) + ((t8[4] + t8[5]) + (t8[6] + t8[7]));
      double total_xc = ((x8[0] + x8[1]) + (x8[2] + x8[3])) + ((x8[4] + x8[5]) + (x8[6] + x8[7]));
      for (; i < planes.size; ++i) {
        total += gp[i];
        total_xc += static_cast<double>(gp[i]) * static_cast<double>(xp[i] - m);
      }
      sg[p] = total;
      sgx[p] = total_xc;
      if (gxs != nullptr) {
        const scalar_t a = static_cast<scalar_t>(as[p]);
        scalar_t* gxp = gxs + p * planes.size;
        for (int64_t i = 0; i < planes.size; ++i) gxp[i] = gp[i] * a;
      }
    }
  });
}

at::Tensor as_planes(const at::Tensor& table, const at::Tensor& x) {
  return table.to(x.scalar_type()).view({x.size(0), x.size(1), 1, 1});
}

// (x - mean)*scale + shift per (n, c) plane: one pass on the CPU, composed ops elsewhere.
at::Tensor plane_affine(const at::Tensor& x, const at::Tensor& mean, const at::Tensor& scale, const at::Tensor& shift) {
  if (!x.is_cpu()) return (x - as_planes(mean, x)) * as_planes(scale, x) + as_planes(shift, x);
  auto y = at::empty_like(x);
  auto m = mean.to(at::kDouble).contiguous(), a = scale.to(at::kDouble).contiguous(),
       b = shift.to(at::kDouble).contiguous();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "plane_affine", [&] { plane_affine_cpu<scalar_t>(x, m, a, b, y); });
  return y;
}

// Per-plane mean and biased variance, two passes over each plane (in cache) in double with eight
// independent accumulators (vectorizable; libtorch 1.13's var_mean runs a scalar Welford loop).
template <typename scalar_t>
void plane_moments_cpu(const at::Tensor& x, at::Tensor& mean, at::Tensor& var) {
  const auto planes = planes_of(x);
  const scalar_t* xs = x.data_ptr<scalar_t>();
  double* ms = mean.data_ptr<double>();
  double* vs = var.data_ptr<double>();
  const int64_t L = planes.size;
  at::parallel_for(0, planes.count, 1, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const scalar_t* xp = xs + p * L;
      double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int64_t i = 0;
      for (; i + 8 <= L; i += 8)
        for (int k = 0; k < 8; ++k) s[k] += static_cast<double>(xp[i + k]);
      double total = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
      for (; i < L; ++i) total += static_cast<double>(xp[i]);
      const double m = total / static_cast<double>(L);
      double q[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      i = 0;
      for (; i + 8 <= L; i += 8)
        for (int k = 0; k < 8; ++k) {
          const double d = static_cast<double>(xp[i + k]) - m;
          q[k] += d * d;
        }
      double squares = ((q[0] + q[1]) + (q[2] + q[3])) + ((q[4] + q[5]) + (q[6] + q[7]));
      for (; i < L; ++i) {
        const double d = static_cast<double>(xp[i]) - m;
        squares += d * d;
      }
      ms[p] = m;
      vs[p] = squares / static_cast<double>(L);
    }
  });
}

// Per-(n, c) mean and biased variance over the remaining dimensions, as [N, C] float64 tables, with a
// one-pass backward gx = gm/L + gv·2(x - m)/L, itself a plane affine. (libtorch 1.13's var_mean runs
// a scalar Welford loop, and its backward is composed of several passes and temporaries.)
struct CellMomentsFunction : public torch::autograd::Function<CellMomentsFunction> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& input) {
    auto x = input.contiguous();
    at::Tensor mean, var;
    if (x.is_cpu()) {
      auto options = at::TensorOptions().dtype(at::kDouble);
      mean = at::empty({x.size(0), x.size(1)}, options);
      var = at::empty({x.size(0), x.size(1)}, options);
      AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "cell_moments", [&] { plane_moments_cpu<scalar_t>(x, mean, var); });
    } else {
      auto moments = at::var_mean(x.flatten(2), {2}, /*correction=*/0, /*keepdim=*/false);
      mean = std::get<1>(moments).to(at::kDouble);
      var = std::get<0>(moments).to(at::kDouble);
    }
    ctx->save_for_backward({x, mean});
    return {mean, var};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& mean = saved[1];
    const double pixels = static_cast<double>(x.numel() / std::max<int64_t>(1, x.size(0) * x.size(1)));
    auto slope = grad_outputs[1].to(at::kDouble) * (2.0 / pixels);
    auto offset = grad_outputs[0].to(at::kDouble) / pixels;
    return {plane_affine(x, mean, slope, offset)};
  }
};

struct CenteredPlaneAffine : public torch::autograd::Function<CenteredPlaneAffine> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& mean,
                            const at::Tensor& scale, const at::Tensor& shift) {
    auto x = input.contiguous();
    ctx->save_for_backward({x, mean, scale});
    if (!x.is_cpu()) return (x - as_planes(mean, x)) * as_planes(scale, x) + as_planes(shift, x);
    return plane_affine(x, mean, scale, shift);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& mean = saved[1];
    const auto& scale = saved[2];
    auto gy = grad_outputs[0].contiguous();
    at::Tensor gx, sum_gy, sum_gy_xc;
    if (!x.is_cpu()) {
      auto gy_planes = gy.flatten(2);
      sum_gy = gy_planes.sum(2, false, at::kDouble);
      sum_gy_xc = (gy * (x - as_planes(mean, x))).flatten(2).sum(2, false, at::kDouble);
      if (ctx->needs_input_grad(0)) gx = gy * as_planes(scale, x);
    } else {
      auto options = at::TensorOptions().dtype(at::kDouble);
      sum_gy = at::empty({x.size(0), x.size(1)}, options);
      sum_gy_xc = at::empty({x.size(0), x.size(1)}, options);
      auto m = mean.to(at::kDouble).contiguous(), a = scale.to(at::kDouble).contiguous();
      if (ctx->needs_input_grad(0)) gx = at::empty_like(x);
      AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "centered_plane_affine_backward", [&] {
        backward_cpu<scalar_t>(x, m, a, gy, sum_gy, sum_gy_xc, gx.defined() ? &gx : nullptr);
      });
    }
    auto grad_scale = sum_gy_xc.to(scale.scalar_type());
    auto grad_shift = sum_gy.to(scale.scalar_type());
    auto grad_mean = (-scale * sum_gy.to(scale.scalar_type())).to(mean.scalar_type());
    return {gx, grad_mean, grad_scale, grad_shift};
  }
};

}  // namespace

// Mean and biased variance of every (n, c) plane of x [N, C, ...], as [N, C] float64 tables.
MLN_EXPORT int32_t mln_cell_moments(TensorHandle input, TensorHandle* mean, TensorHandle* variance) {
  return shim::status_result([&] {
    TORCH_CHECK(input->dim() >= 3, "cell moments: expected input of rank >= 3 (got ", input->dim(), "D input)");
    auto moments = CellMomentsFunction::apply(*input);
    *mean = shim::wrap(moments[0]);
    *variance = shim::wrap(moments[1]);
  });
}

// x: [N, C, ...]; mean, scale, shift: [N, C]. Differentiable in all four.
MLN_EXPORT TensorHandle mln_centered_plane_affine(TensorHandle input, TensorHandle mean, TensorHandle scale,
                                                  TensorHandle shift) {
  return shim::tensor_result([&] {
    const auto& x = *input;
    TORCH_CHECK(x.dim() >= 2, "centered affine: expected input of rank >= 2 (got ", x.dim(), "D input)");
    const std::vector<int64_t> table{x.size(0), x.size(1)};
    for (auto* t : {mean, scale, shift})
      TORCH_CHECK(t->sizes() == at::IntArrayRef(table), "centered affine: expected [N, C] = [", table[0], ", ",
                  table[1], "] statistics, got ", t->sizes());
    return CenteredPlaneAffine::apply(x, *mean, *scale, *shift);
  });
}
