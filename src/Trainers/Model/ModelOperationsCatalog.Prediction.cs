using MLNetNormalization.Data;

namespace MLNetNormalization;

/// <summary>The context's <c>Model</c> catalog: predictions with a fitted model (this part), saving and loading models.</summary>
public sealed partial class ModelOperationsCatalog
{
    /// <summary>
    /// An engine that runs one <typeparamref name="TSrc"/> example at a time through <paramref name="model"/> (for
    /// example the whole fitted chain, from image path to prediction) and returns its output row as a
    /// <typeparamref name="TDst"/>. Each public read-write member of <typeparamref name="TDst"/> needs an output column
    /// of its name and type (say float[] Score and uint PredictedLabel, or string PredictedLabel after MapKeyToValue);
    /// they are checked now. The engine is not thread-safe: use one per thread, or <see cref="Predict{TSrc, TDst}"/>.
    /// </summary>
    public PredictionEngine<TSrc, TDst> CreatePredictionEngine<TSrc, TDst>(ITransformer model) where TSrc : class where TDst : class, new()
    {
        ArgumentNullException.ThrowIfNull(model);
        return new PredictionEngine<TSrc, TDst>(model);
    }

    /// <summary>
    /// Runs every example through <paramref name="model"/> in one pass (so a classifier scores them in batches) and
    /// returns one output per example, in order. Thread-safe: each call builds its own views and cursors, so several
    /// threads may call it at once with the same model.
    /// </summary>
    public IReadOnlyList<TDst> Predict<TSrc, TDst>(ITransformer model, IEnumerable<TSrc> examples) where TSrc : class where TDst : class, new()
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(examples);
        var rows = examples.ToArray();
        var predictions = new DataViewRows<TDst>(model.Transform(new EnumerableDataView<TSrc>(rows)), reuseRowObject: false).ToList();
        if (predictions.Count != rows.Length)
            throw new InvalidOperationException(
                $"Predict: {rows.Length} examples gave {predictions.Count} predictions: a transform of the model dropped rows (LoadImages with skipUnreadable drops unreadable images); " +
                "build the prediction model without skipUnreadable so that an unreadable image is an error naming it.");
        return predictions;
    }
}

/// <summary>
/// Runs single examples through a model (made by <c>Model.CreatePredictionEngine</c>). Not thread-safe, as in
/// ML.NET: it reuses one input slot, so concurrent calls would read each other's example. Use one engine per thread
/// or the thread-safe <c>Model.Predict(model, examples)</c>.
/// </summary>
public sealed class PredictionEngine<TSrc, TDst> where TSrc : class where TDst : class, new()
{
    // The one-row input the model's view reads: Predict puts the example here and reads the output row.
    private readonly TSrc?[] _slot = new TSrc?[1];
    private readonly DataViewRows<TDst> _outputs;

    internal PredictionEngine(ITransformer model)
    {
        _outputs = new DataViewRows<TDst>(model.Transform(new EnumerableDataView<TSrc>(_slot!)), reuseRowObject: false);
    }

    /// <summary>The model's output for <paramref name="example"/>.</summary>
    public TDst Predict(TSrc example)
    {
        ArgumentNullException.ThrowIfNull(example);
        _slot[0] = example;
        try
        {
            using var rows = _outputs.GetEnumerator();
            return rows.MoveNext()
                ? rows.Current
                : throw new InvalidOperationException(
                    "Predict: the model dropped the example (LoadImages with skipUnreadable drops an unreadable image); build the prediction model without skipUnreadable to get an error naming the file.");
        }
        finally
        {
            _slot[0] = null;   // the engine does not keep the caller's example alive
        }
    }
}
