namespace MLNetNormalization.Samples.ImageFolderClassification;

/// <summary>A row of the image folder: the file and its class (the name of its folder).</summary>
public sealed class ImageInput
{
    public string ImagePath { get; set; } = "";

    public string Label { get; set; } = "";
}

/// <summary>What the model adds: the class probabilities and the predicted class name.</summary>
public sealed class ImagePrediction
{
    public float[] Score { get; set; } = [];

    public string PredictedLabelValue { get; set; } = "";
}
