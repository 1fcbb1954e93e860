using System.Runtime.InteropServices;

namespace MLNetNormalization.TorchBinding;

/// <summary>The C ABI of libmlnorm_shim: the only place in the project that declares P/Invokes.</summary>
/// <remarks>
/// Functions returning a tensor handle return <see cref="IntPtr.Zero"/> on failure; functions returning
/// a status return -1. Either way the message is in <c>mln_last_error</c>; <see cref="Check(IntPtr)"/>
/// and <see cref="Check(int)"/> turn it into a <see cref="TorchException"/>.
/// </remarks>
internal static unsafe partial class Native
{
    internal const string Library = "mlnorm_shim";

    // Runs before the first P/Invoke: the shim is found beside this assembly (or a fix is named), and
    // libtorch gets one intra-op thread per core, since Debian's build starts with one thread in all.
    // An explicit OMP_NUM_THREADS is left to libtorch.
    static Native()
    {
        NativeLibraryLoader.Register();
        if (Environment.GetEnvironmentVariable("OMP_NUM_THREADS") is null)
            Check(mln_set_num_threads(Environment.ProcessorCount));
    }

    internal static IntPtr Check(IntPtr handle) => handle != IntPtr.Zero ? handle : throw LastError();

    internal static void Check(int status)
    {
        if (status != 0) throw LastError();
    }

    private static TorchException LastError() =>
        new(Marshal.PtrToStringUTF8(mln_last_error()) ?? "unknown native error");

    // runtime.cpp
    [LibraryImport(Library)] internal static partial IntPtr mln_last_error();
    [LibraryImport(Library)] internal static partial long mln_live_tensor_count();
    [LibraryImport(Library)] internal static partial IntPtr mln_torch_version();
    [LibraryImport(Library)] internal static partial int mln_manual_seed(ulong seed);
    [LibraryImport(Library)] internal static partial IntPtr mln_default_generator_get_state();
    [LibraryImport(Library)] internal static partial int mln_default_generator_set_state(IntPtr state);
    [LibraryImport(Library)] internal static partial int mln_set_num_threads(int threads);
    [LibraryImport(Library)] internal static partial int mln_get_num_threads();
    [LibraryImport(Library)] internal static partial int mln_cuda_is_available();
    [LibraryImport(Library)] internal static partial int mln_cuda_device_count();
    [LibraryImport(Library)] internal static partial int mln_cuda_synchronize();
    [LibraryImport(Library)] internal static partial IntPtr mln_generator_new(ulong seed);
    [LibraryImport(Library)] internal static partial void mln_generator_free(IntPtr generator);
    [LibraryImport(Library)] internal static partial IntPtr mln_generator_get_state(IntPtr generator);
    [LibraryImport(Library)] internal static partial int mln_generator_set_state(IntPtr generator, IntPtr state);

    // tensor.cpp
    [LibraryImport(Library)] internal static partial void mln_tensor_free(IntPtr tensor);
    [LibraryImport(Library)] internal static partial IntPtr mln_tensor_share(IntPtr tensor);
    [LibraryImport(Library)] internal static partial int mln_tensor_ndim(IntPtr tensor);
    [LibraryImport(Library)] internal static partial void mln_tensor_shape(IntPtr tensor, long* shape);
    [LibraryImport(Library)] internal static partial long mln_tensor_numel(IntPtr tensor);
    [LibraryImport(Library)] internal static partial int mln_tensor_dtype(IntPtr tensor);
    [LibraryImport(Library)] internal static partial int mln_tensor_device_type(IntPtr tensor);
    [LibraryImport(Library)] internal static partial int mln_tensor_device_index(IntPtr tensor);
    [LibraryImport(Library)] internal static partial int mln_tensor_is_contiguous(IntPtr tensor);
    [LibraryImport(Library)] internal static partial IntPtr mln_tensor_from_data(void* data, long* shape, int ndim, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial int mln_tensor_copy_to(IntPtr tensor, void* destination, long byteCount);
    [LibraryImport(Library)] internal static partial void* mln_tensor_data_ptr(IntPtr tensor);
    [LibraryImport(Library)] internal static partial IntPtr mln_zeros(long* shape, int ndim, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial IntPtr mln_full(long* shape, int ndim, double value, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial IntPtr mln_arange(double start, double end, double step, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial IntPtr mln_rand(long* shape, int ndim, IntPtr generator, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial IntPtr mln_randn(long* shape, int ndim, IntPtr generator, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial IntPtr mln_randint(long low, long high, long* shape, int ndim, IntPtr generator, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial IntPtr mln_randperm(long n, IntPtr generator);
    [LibraryImport(Library)] internal static partial IntPtr mln_to(IntPtr tensor, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Library)] internal static partial IntPtr mln_clone(IntPtr tensor);
    [LibraryImport(Library)] internal static partial int mln_copy_(IntPtr destination, IntPtr source);
    [LibraryImport(Library)] internal static partial int mln_fill_(IntPtr tensor, double value);
    [LibraryImport(Library)] internal static partial int mln_uniform_(IntPtr tensor, double low, double high, IntPtr generator);
    [LibraryImport(Library)] internal static partial int mln_normal_(IntPtr tensor, double mean, double std, IntPtr generator);

    // math.cpp
    [LibraryImport(Library)] internal static partial IntPtr mln_binary(int op, IntPtr a, IntPtr b, double alpha);
    [LibraryImport(Library)] internal static partial int mln_binary_(int op, IntPtr a, IntPtr b, double alpha);
    [LibraryImport(Library)] internal static partial IntPtr mln_binary_scalar(int op, IntPtr a, double scalar);
    [LibraryImport(Library)] internal static partial int mln_binary_scalar_(int op, IntPtr a, double scalar);
    [LibraryImport(Library)] internal static partial IntPtr mln_scalar_binary(int op, double scalar, IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr mln_unary(int op, IntPtr a);
    [LibraryImport(Library)] internal static partial int mln_unary_(int op, IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr mln_clamp(IntPtr a, int hasMin, double min, int hasMax, double max);
    [LibraryImport(Library)] internal static partial int mln_clamp_(IntPtr a, int hasMin, double min, int hasMax, double max);
    [LibraryImport(Library)] internal static partial IntPtr mln_addcmul(IntPtr self, IntPtr t1, IntPtr t2, double value);
    [LibraryImport(Library)] internal static partial int mln_addcmul_(IntPtr self, IntPtr t1, IntPtr t2, double value);
    [LibraryImport(Library)] internal static partial IntPtr mln_addcdiv(IntPtr self, IntPtr t1, IntPtr t2, double value);
    [LibraryImport(Library)] internal static partial IntPtr mln_where(IntPtr condition, IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial IntPtr mln_sum(IntPtr a, long* dims, int count, int keepdim);
    [LibraryImport(Library)] internal static partial IntPtr mln_mean(IntPtr a, long* dims, int count, int keepdim);
    [LibraryImport(Library)] internal static partial int mln_var_mean(IntPtr a, long* dims, int count, long correction, int keepdim, IntPtr* variance, IntPtr* mean);
    [LibraryImport(Library)] internal static partial int mln_max_dim(IntPtr a, long dim, int keepdim, IntPtr* values, IntPtr* indices);
    [LibraryImport(Library)] internal static partial IntPtr mln_max_all(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr mln_min_all(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr mln_argmax(IntPtr a, long dim, int keepdim);
    [LibraryImport(Library)] internal static partial int mln_topk(IntPtr a, long k, long dim, int largest, int sorted, IntPtr* values, IntPtr* indices);
    [LibraryImport(Library)] internal static partial int mln_all_close(IntPtr a, IntPtr b, double rtol, double atol, int* result);
    [LibraryImport(Library)] internal static partial int mln_equal(IntPtr a, IntPtr b, int* result);
    [LibraryImport(Library)] internal static partial int mln_all_finite(IntPtr a, int* result);

    // shape.cpp
    [LibraryImport(Library)] internal static partial IntPtr mln_reshape(IntPtr a, long* shape, int ndim);
    [LibraryImport(Library)] internal static partial IntPtr mln_view(IntPtr a, long* shape, int ndim);
    [LibraryImport(Library)] internal static partial IntPtr mln_permute(IntPtr a, long* dims, int ndim);
    [LibraryImport(Library)] internal static partial IntPtr mln_transpose(IntPtr a, long dim0, long dim1);
    [LibraryImport(Library)] internal static partial IntPtr mln_contiguous(IntPtr a);
    [LibraryImport(Library)] internal static partial IntPtr mln_expand(IntPtr a, long* shape, int ndim);
    [LibraryImport(Library)] internal static partial IntPtr mln_squeeze(IntPtr a, long dim);
    [LibraryImport(Library)] internal static partial IntPtr mln_unsqueeze(IntPtr a, long dim);
    [LibraryImport(Library)] internal static partial IntPtr mln_flatten(IntPtr a, long startDim, long endDim);
    [LibraryImport(Library)] internal static partial IntPtr mln_narrow(IntPtr a, long dim, long start, long length);
    [LibraryImport(Library)] internal static partial IntPtr mln_slice(IntPtr a, long dim, long start, long end, long step);
    [LibraryImport(Library)] internal static partial IntPtr mln_index_select(IntPtr a, long dim, IntPtr index);
    [LibraryImport(Library)] internal static partial IntPtr mln_cat(IntPtr* tensors, int count, long dim);
    [LibraryImport(Library)] internal static partial IntPtr mln_stack(IntPtr* tensors, int count, long dim);
    [LibraryImport(Library)] internal static partial IntPtr mln_constant_pad(IntPtr a, long* pad, int count, double value);
    [LibraryImport(Library)] internal static partial IntPtr mln_flip(IntPtr a, long* dims, int count);

    // nn.cpp
    [LibraryImport(Library)] internal static partial IntPtr mln_matmul(IntPtr a, IntPtr b);
    [LibraryImport(Library)] internal static partial IntPtr mln_linear(IntPtr input, IntPtr weight, IntPtr bias);
    [LibraryImport(Library)] internal static partial IntPtr mln_conv2d(IntPtr input, IntPtr weight, IntPtr bias, long* stride, long* padding, long* dilation, long groups);
    [LibraryImport(Library)] internal static partial IntPtr mln_max_pool2d(IntPtr input, long* kernel, long* stride, long* padding, int ceilMode);
    [LibraryImport(Library)] internal static partial IntPtr mln_avg_pool2d(IntPtr input, long* kernel, long* stride, long* padding, int ceilMode, int countIncludePad);
    [LibraryImport(Library)] internal static partial IntPtr mln_adaptive_avg_pool2d(IntPtr input, long* outputSize);
    [LibraryImport(Library)] internal static partial IntPtr mln_dropout(IntPtr input, double probability, int training);
    [LibraryImport(Library)] internal static partial IntPtr mln_softmax(IntPtr input, long dim);
    [LibraryImport(Library)] internal static partial IntPtr mln_log_softmax(IntPtr input, long dim);
    [LibraryImport(Library)] internal static partial IntPtr mln_cross_entropy(IntPtr logits, IntPtr target, IntPtr weight, int reduction, long ignoreIndex, double labelSmoothing);
    [LibraryImport(Library)] internal static partial IntPtr mln_nll_loss(IntPtr logProbabilities, IntPtr target, int reduction);
    [LibraryImport(Library)] internal static partial IntPtr mln_batch_norm(IntPtr input, IntPtr weight, IntPtr bias, IntPtr runningMean, IntPtr runningVar, int training, double momentum, double eps);
    [LibraryImport(Library)] internal static partial IntPtr mln_group_norm(IntPtr input, long groups, IntPtr weight, IntPtr bias, double eps);
    [LibraryImport(Library)] internal static partial IntPtr mln_instance_norm(IntPtr input, IntPtr weight, IntPtr bias, IntPtr runningMean, IntPtr runningVar, int useInputStats, double momentum, double eps);
    [LibraryImport(Library)] internal static partial IntPtr mln_layer_norm(IntPtr input, long* normalizedShape, int count, IntPtr weight, IntPtr bias, double eps);

    // normalization.cpp
    [LibraryImport(Library)] internal static partial IntPtr mln_centered_plane_affine(IntPtr input, IntPtr mean, IntPtr scale, IntPtr shift);
    [LibraryImport(Library)] internal static partial int mln_cell_moments(IntPtr input, IntPtr* mean, IntPtr* variance);


    // autograd.cpp
    [LibraryImport(Library)] internal static partial int mln_requires_grad(IntPtr tensor);
    [LibraryImport(Library)] internal static partial int mln_set_requires_grad(IntPtr tensor, int requiresGrad);
    [LibraryImport(Library)] internal static partial int mln_backward(IntPtr tensor, IntPtr gradient, int retainGraph);
    [LibraryImport(Library)] internal static partial int mln_grad(IntPtr tensor, IntPtr* gradient);
    [LibraryImport(Library)] internal static partial int mln_clear_grads(IntPtr* tensors, int count);
    [LibraryImport(Library)] internal static partial int mln_grad_enabled();
    [LibraryImport(Library)] internal static partial void mln_set_grad_enabled(int enabled);
    [LibraryImport(Library)] internal static partial IntPtr mln_detach(IntPtr tensor);
    [LibraryImport(Library)] internal static partial int mln_is_leaf(IntPtr tensor);

    // optim.cpp
    [LibraryImport(Library)] internal static partial int mln_sgd_step(IntPtr* parameters, IntPtr* momentumBuffers, int count, double learningRate, double momentum, double dampening, double weightDecay, int nesterov);
}
