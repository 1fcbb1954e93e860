namespace MLNetNormalization;

/// <summary>The normalizers, typed; <see cref="ImageClassifierWithNormOptions"/> turns one with its parameters into a factory string.</summary>
public enum NormalizerKind
{
    /// <summary>"bn": batch normalization.</summary>
    BatchNorm,

    /// <summary>"ghost:b=GhostBatchSize": BN within chunks of GhostBatchSize examples in training.</summary>
    GhostBatchNorm,

    /// <summary>"bgn:g=Groups,b=ExamplesPerGroup": one of Groups channel groups over ExamplesPerGroup examples.</summary>
    BatchGroupNorm,

    /// <summary>"mn:k=Modes": mode normalization.</summary>
    ModeNorm,

    /// <summary>"mgn:k=Modes": mode group normalization.</summary>
    ModeGroupNorm,

    /// <summary>"hn:g=Groups": heterologous normalization, the mean of BN and the std of EN(Groups).</summary>
    HeterologousNorm,

    /// <summary>"en:g=Groups": extended normalization.</summary>
    ExtendedNorm,

    /// <summary>"gn:g=Groups": group normalization.</summary>
    GroupNorm,

    /// <summary>"ln": layer normalization.</summary>
    LayerNorm,

    /// <summary>"in": instance normalization.</summary>
    InstanceNorm,

    /// <summary>"sn": switchable normalization.</summary>
    SwitchableNorm,
}
