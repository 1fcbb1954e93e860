using System.Globalization;

namespace MLNetNormalization.Tools.Mlnorm.Evidence;

/// <summary>
/// How much data, how many epochs and seeds `mlnorm evidence` uses, and the training settings every run shares.
/// <see cref="Full"/> is sized to finish within 90 minutes on a 2-core machine (see <see cref="SizingNote"/>);
/// <see cref="Quick"/> runs every block on tiny data to check the pipeline in a few minutes.
/// </summary>
/// <param name="FashionTrainPerClass">Fashion-MNIST training images per class (blocks 2 and 3), from the 60,000 training images.</param>
/// <param name="FashionValidationPerClass">Held-out training images per class on which inference alpha is tuned (block 2).</param>
/// <param name="FashionTestPerClass">Test images per class, from the 10,000 test images.</param>
/// <param name="DomainTrainPerClass">Training images per class of each of the four domains (block 1).</param>
/// <param name="DomainTestPerClass">Test images per class of each domain.</param>
internal sealed record EvidencePlan(
    bool IsQuick, int Seeds,
    int FashionTrainPerClass, int FashionValidationPerClass, int FashionTestPerClass, int FashionEpochs,
    int DomainTrainPerClass, int DomainTestPerClass, int DomainEpochs)
{
    /// <summary>Learning rate at batch 128; other batches scale it linearly (the heterologous paper's rule, 4.1).</summary>
    public const double LearningRateAt128 = 0.1;

    /// <summary>Weight decay of convolution and linear weights, and of gamma/beta where a run turns that on (the heterologous paper's 5e-4).</summary>
    public const double WeightDecay = 5e-4;

    public const double Momentum = 0.9;

    /// <summary>Inference alphas tried on the validation images after training ("Four Things Everyone Should Know to Improve Batch Normalization", arXiv:1906.03548, section 3.1).</summary>
    public static IReadOnlyList<double> Alphas { get; } = [0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1];

    /// <summary>Batch size of evaluation passes: eval-mode outputs are per example, so it changes only the speed.</summary>
    public const int EvaluationBatchSize = 256;

    public static EvidencePlan Full(int seeds) => new(false, seeds,
        FashionTrainPerClass: 1000, FashionValidationPerClass: 200, FashionTestPerClass: 1000, FashionEpochs: 3,
        DomainTrainPerClass: 300, DomainTestPerClass: 100, DomainEpochs: 4);

    public static EvidencePlan Quick(int seeds) => new(true, seeds,
        FashionTrainPerClass: 24, FashionValidationPerClass: 12, FashionTestPerClass: 24, FashionEpochs: 1,
        DomainTrainPerClass: 8, DomainTestPerClass: 4, DomainEpochs: 1);

    public double LearningRate(int batchSize) => LearningRateAt128 * batchSize / 128;

    public int Epochs(EvidenceTask task) => task == EvidenceTask.Fashion ? FashionEpochs : DomainEpochs;

    /// <summary>What the doc says about the sizes: what was chosen, why, and what was cut relative to the papers.</summary>
    public IReadOnlyList<string> SizingNote()
    {
        var lines = new List<string>
        {
            Invariant($"Seeds: {Seeds} per cell (a seed fixes the initial weights and the order of the training images)."),
            Invariant($"Blocks 2 and 3 (Fashion-MNIST, 10 classes): {FashionTrainPerClass * 10:N0} training images ({FashionTrainPerClass} per class), {FashionValidationPerClass * 10:N0} held-out training images for tuning alpha, {FashionTestPerClass * 10:N0} test images; {FashionEpochs} epoch(s)."),
            Invariant($"Block 1 (four domains, 40 classes): {DomainTrainPerClass * 40:N0} training images ({DomainTrainPerClass} per class and domain), {DomainTestPerClass * 40:N0} test images; {DomainEpochs} epoch(s)."),
            Invariant($"Every run: LeNet, SGD with momentum {Momentum}, learning rate {LearningRateAt128} x batch/128 (the heterologous paper's linear scaling), cosine decay to 0, weight decay {WeightDecay} on convolution and linear weights (and on gamma/beta only where the table says so), no augmentation, pixels standardized by the training images' mean and standard deviation."),
        };
        if (IsQuick)
            lines.Add("Quick run (--quick): tiny data and one epoch, to check that every block runs end to end. Its numbers say nothing about the papers.");
        else
            lines.AddRange(
            [
                "Sized to finish within 90 minutes on 2 cores shared with other work. Each run is single-threaded (on a busy 2-core machine libtorch's two threads made a batch-2 step 7 times slower than one thread), in one of as many worker processes as there are cores. A probe of 2026-11-29 with this command's own workers (1,000 training images per task, one epoch, load average 5.5 to 6.8 from other work) measured, per training image and run: 0.7 to 1.0 ms at batch 128, 1.2 to 1.6 at batch 16, 1.9 to 2.1 at batch 8, 2.6 to 6.0 at batch 4 and 3.7 to 6.5 at batch 2 (BN fastest, BGN, GN and HN slowest): 0.127 run-seconds per training image and epoch for blocks 2 and 3 together, 0.035 for block 1. At those rates the runs below take about 46 minutes of training, and their 1.24 million evaluated images (test, held-out, every alpha, gates) about 4 more: 50 minutes, leaving room for a busier machine.",
                "Cut relative to the papers: LeNet everywhere (the four-things and heterologous papers train ResNets and Inception on CIFAR-100, SVHN, Caltech-256 and ImageNet); 3 or 4 epochs on a subset (the mode-normalization paper trains 15 epochs on the full sets, the others 100 to 200 epochs); 3 seeds (the mode-normalization paper 5, the four-things paper up to 10); the multi-domain task is built from MNIST and Fashion-MNIST plus two derived domains instead of MNIST, CIFAR-10, SVHN and Fashion-MNIST; ghost batch norm at 16 of 128 rather than a sweep of ghost sizes; one group count per normalizer rather than a sweep.",
            ]);
        return lines;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The two tasks runs train on.</summary>
internal enum EvidenceTask
{
    /// <summary>Fashion-MNIST alone (blocks 2 and 3).</summary>
    Fashion,

    /// <summary>Four domains with disjoint label sets in one 40-way classifier (block 1).</summary>
    MultiDomain,
}
