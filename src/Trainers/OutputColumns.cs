using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetNormalization;

/// <summary>
/// The two columns the classifier adds, with the types and annotations ML.NET's own multiclass trainers give them, so
/// that Evaluate, MapKeyToValue and the other stock components find what they look for:
/// Score, Vector&lt;Single, K&gt; with SlotNames (the class names), TrainingLabelValues, ScoreColumnSetId,
/// ScoreColumnKind "MulticlassClassification" and ScoreValueKind "Score"; PredictedLabel, Key&lt;UInt32, K&gt; with the
/// label's KeyValues and the same set id and kinds, ScoreValueKind "PredictedLabel".
/// </summary>
internal static class OutputColumns
{
    /// <summary>The probabilities of one example, K values.</summary>
    public delegate ReadOnlySpan<float> ProbabilitiesOfCurrentRow();

    /// <summary><paramref name="input"/> with the two columns added after its own.</summary>
    public static DataViewSchema AddTo(DataViewSchema input, string score, string predictedLabel, LabelKeyValues classes)
    {
        // Each scorer in a pipeline gets the next set id, as ML.NET numbers them, so evaluators can tell sets apart.
        // GetMaxAnnotationKind returns the largest id so far (0: none); its out parameter is that column's index.
        var setId = checked(input.GetMaxAnnotationKind(out _, AnnotationUtils.Kinds.ScoreColumnSetId) + 1);

        var scoreAnnotations = new DataViewSchema.Annotations.Builder();
        classes.AddSlotNames(scoreAnnotations);
        classes.AddTo(scoreAnnotations, AnnotationUtils.Kinds.TrainingLabelValues);
        AddScoreKinds(scoreAnnotations, setId, AnnotationUtils.Const.ScoreValueKind.Score);

        var predictedAnnotations = new DataViewSchema.Annotations.Builder();
        classes.AddTo(predictedAnnotations, AnnotationUtils.Kinds.KeyValues);
        AddScoreKinds(predictedAnnotations, setId, AnnotationUtils.Const.ScoreValueKind.PredictedLabel);

        var builder = new DataViewSchema.Builder();
        builder.AddColumns(input);
        builder.AddColumn(score, new VectorDataViewType(NumberDataViewType.Single, classes.Count), scoreAnnotations.ToAnnotations());
        builder.AddColumn(predictedLabel, new KeyDataViewType(typeof(uint), classes.Count), predictedAnnotations.ToAnnotations());
        return builder.ToSchema();
    }

    private static void AddScoreKinds(DataViewSchema.Annotations.Builder builder, uint setId, string valueKind)
    {
        builder.Add(AnnotationUtils.Kinds.ScoreColumnSetId, AnnotationUtils.ScoreColumnSetIdType, (ref uint value) => value = setId);
        AddText(builder, AnnotationUtils.Kinds.ScoreColumnKind, AnnotationUtils.Const.ScoreColumnKind.MulticlassClassification);
        AddText(builder, AnnotationUtils.Kinds.ScoreValueKind, valueKind);
    }

    private static void AddText(DataViewSchema.Annotations.Builder builder, string kind, string text) =>
        builder.Add(kind, TextDataViewType.Instance, (ref ReadOnlyMemory<char> value) => value = text.AsMemory());

    /// <summary>
    /// The output columns' shapes for <see cref="ImageClassificationEstimator.GetOutputSchema"/>: what
    /// <see cref="AddTo(DataViewSchema, string, string, LabelKeyValues)"/> gives, with the label column's KeyValues shape when it has one.
    /// </summary>
    public static SchemaShape AddTo(SchemaShape input, string score, string predictedLabel, SchemaShape.Column label)
    {
        var hasKeyValues = label.Annotations.TryFindColumn(AnnotationUtils.Kinds.KeyValues, out var keyValues);
        var kinds = new[]
        {
            new SchemaShape.Column(AnnotationUtils.Kinds.ScoreColumnSetId, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.UInt32, true),
            new SchemaShape.Column(AnnotationUtils.Kinds.ScoreColumnKind, SchemaShape.Column.VectorKind.Scalar, TextDataViewType.Instance, false),
            new SchemaShape.Column(AnnotationUtils.Kinds.ScoreValueKind, SchemaShape.Column.VectorKind.Scalar, TextDataViewType.Instance, false),
        };
        var scoreAnnotations = new List<SchemaShape.Column>
        {
            new(AnnotationUtils.Kinds.SlotNames, SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance, false),
        };
        var predictedAnnotations = new List<SchemaShape.Column>();
        if (hasKeyValues)
        {
            scoreAnnotations.Add(new(AnnotationUtils.Kinds.TrainingLabelValues, keyValues.Kind, keyValues.ItemType, keyValues.IsKey));
            predictedAnnotations.Add(keyValues);
        }
        var columns = input.Where(c => c.Name != score && c.Name != predictedLabel).ToList();
        columns.Add(new SchemaShape.Column(score, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false, new SchemaShape([.. scoreAnnotations, .. kinds])));
        columns.Add(new SchemaShape.Column(predictedLabel, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.UInt32, true, new SchemaShape([.. predictedAnnotations, .. kinds])));
        return new SchemaShape(columns);
    }

    /// <summary>
    /// The getter of an output column: Score (<paramref name="isScore"/>) as VBuffer&lt;Single&gt; of the probabilities,
    /// PredictedLabel as the 1-based key of the largest one (ties to the lower class, as ML.NET's evaluator counts them).
    /// </summary>
    public static ValueGetter<TValue> Getter<TValue>(DataViewSchema.Column column, bool isScore, ProbabilitiesOfCurrentRow probabilities)
    {
        Delegate getter = isScore
            ? (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) =>
            {
                var current = probabilities();
                var editor = VBufferEditor.Create(ref value, current.Length);
                current.CopyTo(editor.Values);
                value = editor.Commit();
            })
            : (ValueGetter<uint>)((ref uint value) => value = (uint)ArgMax(probabilities()) + 1);
        return getter as ValueGetter<TValue>
            ?? throw new InvalidOperationException(
                $"ImageClassifierWithNorm model: column '{column.Name}' is {column.Type}; read it as {(isScore ? "VBuffer<Single>" : "UInt32")}, not {typeof(TValue).Name}.");
    }

    /// <summary>The index of the largest value; ties go to the lower index.</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }
}
