using MLNetNormalization.Backbones;
using MLNetNormalization.Training;
using static TorchSharp.torch;

namespace MLNetNormalization;

/// <summary>
/// What checked <see cref="ImageClassifierWithNormOptions"/> come to: the backbone, its normalizers, the engine's options,
/// the inference alpha and the device, with what the log should say about the device's choice (null: nothing).
/// </summary>
internal sealed record ResolvedClassifierOptions(Architecture Architecture, NormalizerPlan Plan, TrainingOptions Training, double? InferenceAlpha, Device Device,
                                                 string? DeviceNote);
