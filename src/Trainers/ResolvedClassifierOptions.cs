using MLNetNormalization.Backbones;
using MLNetNormalization.Training;
using static TorchSharp.torch;

namespace MLNetNormalization;

/// <summary>
/// What checked <see cref="ImageClassifierWithNormOptions"/> come to: the backbone, its normalizers, the engine (made from
/// the engine's options, which it checked), the inference alpha and the device, with what the log should say about the
/// device's choice (null: nothing).
/// </summary>
internal sealed record ResolvedClassifierOptions(Architecture Architecture, NormalizerPlan Plan, ClassifierTrainer Trainer, double? InferenceAlpha, Device Device,
                                                 string? DeviceNote)
{
    /// <summary>The engine's options.</summary>
    public TrainingOptions Training => Trainer.Options;
}
