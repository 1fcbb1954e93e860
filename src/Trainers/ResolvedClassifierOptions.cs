using MLNetNormalization.Backbones;
using MLNetNormalization.Training;
using static TorchSharp.torch;

namespace MLNetNormalization;

/// <summary>
/// What checked <see cref="ImageClassifierWithNormOptions"/> come to: the backbone (its name in
/// <see cref="BackboneRegistry"/>), its normalizers, the engine (made from
/// the engine's options, which it checked), the inference alpha and the device, with what the log should say about the
/// device's choice (null: nothing).
/// </summary>
internal sealed record ResolvedClassifierOptions(string Backbone, NormalizerPlan Plan, ClassifierTrainer Trainer, double? InferenceAlpha, Device Device,
                                                 string? DeviceNote)
{
    /// <summary>The built-in architecture, or null for a registered backbone of the user's own.</summary>
    public Architecture? Architecture => BackboneRegistry.BuiltIn(Backbone);

    /// <summary>The engine's options.</summary>
    public TrainingOptions Training => Trainer.Options;
}
