using MLNetNormalization.Data;

namespace MLNetNormalization.Tools.Mlnorm.Evidence;

/// <summary>Class-balanced, deterministic slices of a dataset, so that several disjoint subsets can be cut from one source without a random generator.</summary>
internal static class ClassSlices
{
    /// <summary>
    /// For every class, its examples ranked <paramref name="skip"/> to <paramref name="skip"/> + <paramref name="take"/> - 1
    /// in dataset order; the result keeps dataset order. Slices with ranges that do not overlap share no example.
    /// </summary>
    /// <exception cref="ArgumentException">When a class has fewer than <paramref name="skip"/> + <paramref name="take"/> examples (the message names it).</exception>
    public static ImageDataset Take(ImageDataset source, int skip, int take)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(skip);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(take);
        var seen = new int[source.ClassNames.Count];
        var indices = new List<int>();
        for (var i = 0; i < source.Count; i++)
        {
            var rank = seen[source.Labels[i]]++;
            if (rank >= skip && rank < skip + take) indices.Add(i);
        }
        var shortClass = Array.FindIndex(seen, count => count < skip + take);
        if (shortClass >= 0)
            throw new ArgumentException(
                $"Class '{source.ClassNames[shortClass]}' has {seen[shortClass]} examples; examples {skip} to {skip + take - 1} of every class were asked for. Take fewer per class.",
                nameof(take));
        return source.Subset(indices);
    }
}
