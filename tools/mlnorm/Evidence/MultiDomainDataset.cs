using MLNetNormalization.Data;

namespace MLNetNormalization.Tools.Mlnorm.Evidence;

/// <summary>One visual domain of a multi-domain task: a name and its images, labelled with the domain's own classes.</summary>
internal sealed record ImageDomain(string Name, ImageDataset Images);

/// <summary>
/// Several image domains in one classification task with disjoint label sets, as in the mode-normalization paper's
/// multi-task experiment ("Mode Normalization", arXiv:1810.05466, section 4.1: four datasets, one 40-way classifier): domain d's class c
/// becomes label <c>LabelOffsets[d] + c</c>, named "domain: class". The images keep their order, domain after domain.
/// </summary>
internal sealed class MultiDomainDataset
{
    private MultiDomainDataset(ImageDataset images, IReadOnlyList<string> domainNames, IReadOnlyList<int> labelOffsets)
    {
        Images = images;
        DomainNames = domainNames;
        LabelOffsets = labelOffsets;
    }

    /// <summary>All the domains' images with their combined labels.</summary>
    public ImageDataset Images { get; }

    public IReadOnlyList<string> DomainNames { get; }

    /// <summary>The first combined label of each domain.</summary>
    public IReadOnlyList<int> LabelOffsets { get; }

    /// <summary>The domain a combined label belongs to.</summary>
    public int DomainOfLabel(int label)
    {
        if (label < 0 || label >= Images.ClassNames.Count)
            throw new ArgumentOutOfRangeException(nameof(label), label, $"Labels here are 0 to {Images.ClassNames.Count - 1}.");
        var domain = LabelOffsets.Count - 1;
        while (LabelOffsets[domain] > label) domain--;
        return domain;
    }

    /// <summary>The indices of domain <paramref name="domain"/>'s examples in <see cref="Images"/>.</summary>
    public IReadOnlyList<int> IndicesOf(int domain) =>
        [.. Enumerable.Range(0, Images.Count).Where(i => DomainOfLabel(Images.Labels[i]) == domain)];

    /// <summary>Joins <paramref name="domains"/> (images of one shape, at most 256 classes in all, distinct names).</summary>
    public static MultiDomainDataset Combine(IReadOnlyList<ImageDomain> domains)
    {
        if (domains.Count == 0) throw new ArgumentException("A multi-domain task needs at least one domain.", nameof(domains));
        var shape = domains[0].Images.Shape;
        if (domains.FirstOrDefault(d => d.Images.Shape != shape) is { } odd)
            throw new ArgumentException($"Domain '{odd.Name}' has {odd.Images.Shape} images where '{domains[0].Name}' has {shape}; resize them to one shape first.", nameof(domains));
        if (domains.GroupBy(d => d.Name).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new ArgumentException($"Two domains are named '{twice.Key}'; give each domain its own name.", nameof(domains));
        var classCount = domains.Sum(d => d.Images.ClassNames.Count);
        if (classCount > 256)
            throw new ArgumentException($"The domains have {classCount} classes in all; labels are bytes, so at most 256.", nameof(domains));

        var offsets = new List<int>();
        var classNames = new List<string>();
        var pixels = new byte[domains.Sum(d => (long)d.Images.Pixels.Length)];
        var labels = new byte[domains.Sum(d => d.Images.Count)];
        var (pixelAt, labelAt) = (0, 0);
        foreach (var domain in domains)
        {
            var offset = classNames.Count;
            offsets.Add(offset);
            classNames.AddRange(domain.Images.ClassNames.Select(name => $"{domain.Name}: {name}"));
            domain.Images.Pixels.CopyTo(pixels, pixelAt);
            pixelAt += domain.Images.Pixels.Length;
            foreach (var label in domain.Images.Labels) labels[labelAt++] = (byte)(offset + label);
        }
        return new MultiDomainDataset(new ImageDataset(pixels, labels, shape, classNames), [.. domains.Select(d => d.Name)], offsets);
    }
}
