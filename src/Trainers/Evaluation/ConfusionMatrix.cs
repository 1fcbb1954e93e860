using System.Globalization;
using System.Text;

namespace MLNetNormalization.Trainers.Evaluation;

/// <summary>
/// The confusion matrix of a multiclass evaluation: <see cref="Counts"/>[actual][predicted] is the number of
/// examples of class <c>actual</c> whose highest-probability class was <c>predicted</c>. Rows are true classes,
/// columns predicted classes, as in ML.NET's <c>ConfusionMatrix</c>.
/// </summary>
public sealed class ConfusionMatrix
{
    private readonly double[][] _counts;
    private string? _formattedTable;

    /// <param name="counts">Square table, rows = actual class, columns = predicted class; taken over, not copied.</param>
    /// <param name="classNames">One name per class; validated by the accumulator that builds this matrix.</param>
    internal ConfusionMatrix(double[][] counts, IReadOnlyList<string> classNames)
    {
        _counts = counts;
        NumberOfClasses = counts.Length;
        ClassNames = classNames;
        Counts = Array.AsReadOnly(counts.Select(row => (IReadOnlyList<double>)Array.AsReadOnly(row)).ToArray());

        var precision = new double[NumberOfClasses];
        var recall = new double[NumberOfClasses];
        for (var c = 0; c < NumberOfClasses; c++)
        {
            double predictedAsC = 0, actuallyC = 0;
            for (var other = 0; other < NumberOfClasses; other++)
            {
                predictedAsC += counts[other][c];
                actuallyC += counts[c][other];
            }
            // An undefined ratio (class never predicted / never present) is NaN rather than 0, so a report cannot
            // mistake "no data" for "always wrong".
            precision[c] = predictedAsC > 0 ? counts[c][c] / predictedAsC : double.NaN;
            recall[c] = actuallyC > 0 ? counts[c][c] / actuallyC : double.NaN;
        }
        PerClassPrecision = Array.AsReadOnly(precision);
        PerClassRecall = Array.AsReadOnly(recall);
    }

    public int NumberOfClasses { get; }

    /// <summary>Counts[actual][predicted]. Doubles, as in ML.NET (whose counts may be weighted); here they are whole numbers.</summary>
    public IReadOnlyList<IReadOnlyList<double>> Counts { get; }

    /// <summary>Per class c: Counts[c][c] / (column c's sum), the fraction of examples predicted as c that are c; NaN if nothing was predicted as c.</summary>
    public IReadOnlyList<double> PerClassPrecision { get; }

    /// <summary>Per class c: Counts[c][c] / (row c's sum), the fraction of examples of c predicted as c; NaN if c has no examples.</summary>
    public IReadOnlyList<double> PerClassRecall { get; }

    /// <summary>The class names given to the accumulator, or "0", "1", ... when none were given.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>
    /// The count of examples of class <paramref name="actualClassIndex"/> predicted as <paramref name="predictedClassIndex"/>.
    /// The predicted class comes first, as in ML.NET's method of the same name.
    /// </summary>
    public double GetCountForClassPair(int predictedClassIndex, int actualClassIndex)
    {
        CheckClassIndex(predictedClassIndex, nameof(predictedClassIndex));
        CheckClassIndex(actualClassIndex, nameof(actualClassIndex));
        return _counts[actualClassIndex][predictedClassIndex];
    }

    /// <summary>
    /// A fixed-width text table for console output: one row per true class ending with its recall, one column per
    /// predicted class, and a last line of per-class precision. Numbers use the invariant culture.
    /// </summary>
    public string GetFormattedConfusionTable() => _formattedTable ??= FormatTable();

    private void CheckClassIndex(int index, string parameterName)
    {
        if ((uint)index >= (uint)NumberOfClasses)
            throw new ArgumentOutOfRangeException(parameterName, index,
                $"{parameterName} must be a class index in [0, {NumberOfClasses - 1}] for this {NumberOfClasses}-class confusion matrix.");
    }

    private string FormatTable()
    {
        const string predictedTitle = "PREDICTED", truthTitle = "TRUTH", precisionTitle = "Precision";
        var culture = CultureInfo.InvariantCulture;
        string Ratio(double value) => value.ToString("0.0000", culture);

        // Each count column is wide enough for its class name, every count in it, and a 4-decimal ratio.
        var cells = _counts.Select(row => row.Select(count => count.ToString("0", culture)).ToArray()).ToArray();
        var widths = new int[NumberOfClasses];
        for (var c = 0; c < NumberOfClasses; c++)
        {
            widths[c] = Math.Max(ClassNames[c].Length, Ratio(0).Length);
            for (var r = 0; r < NumberOfClasses; r++) widths[c] = Math.Max(widths[c], cells[r][c].Length);
        }
        var labelWidth = Math.Max(predictedTitle.Length, ClassNames.Max(name => name.Length));
        var rule = new string(' ', labelWidth) + " ||" + new string('=', widths.Sum(w => w + 3));

        var text = new StringBuilder();
        text.AppendLine("Confusion table");
        text.AppendLine(rule);
        text.Append(predictedTitle.PadRight(labelWidth)).Append(" ||");
        for (var c = 0; c < NumberOfClasses; c++) text.Append(' ').Append(ClassNames[c].PadLeft(widths[c])).Append(" |");
        text.AppendLine(" Recall");
        text.AppendLine(truthTitle.PadRight(labelWidth) + rule[labelWidth..]);
        for (var r = 0; r < NumberOfClasses; r++)
        {
            text.Append(ClassNames[r].PadLeft(labelWidth)).Append(" ||");
            for (var c = 0; c < NumberOfClasses; c++) text.Append(' ').Append(cells[r][c].PadLeft(widths[c])).Append(" |");
            text.Append(' ').AppendLine(Ratio(PerClassRecall[r]));
        }
        text.AppendLine(rule);
        text.Append(precisionTitle.PadRight(labelWidth)).Append(" ||");
        for (var c = 0; c < NumberOfClasses; c++) text.Append(' ').Append(Ratio(PerClassPrecision[c]).PadLeft(widths[c])).Append(" |");
        text.AppendLine();
        return text.ToString();
    }
}
