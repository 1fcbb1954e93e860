using MLNetNormalization.Data;

namespace MLNetNormalization.Tests.DataViews;

/// <summary>A temporary folder deleted with the test.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mlnorm-data-" + Guid.NewGuid().ToString("N"));

    /// <summary>Writes <paramref name="content"/> at <paramref name="relativePath"/>, creating its folders.</summary>
    public string Write(string relativePath, string content)
    {
        var path = System.IO.Path.Combine(Path, relativePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    public void Dispose()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}

internal static class DataTestSupport
{
    /// <summary>Every value of column <paramref name="name"/>, read with a fresh variable per row.</summary>
    public static List<T> ReadColumn<T>(IDataView data, string name)
    {
        var column = data.Schema[name];
        using var cursor = data.GetRowCursor([column]);
        var get = cursor.GetGetter<T>(column);
        var values = new List<T>();
        while (cursor.MoveNext())
        {
            T value = default!;
            get(ref value);
            values.Add(value);
        }
        return values;
    }

    /// <summary>A source that counts how many times it was enumerated, to show when views read it.</summary>
    public static IEnumerable<IdRow> Counted(int count, Action onEnumerate)
    {
        onEnumerate();
        for (var i = 0; i < count; i++) yield return new IdRow { Id = i, Name = $"n{i}" };
    }
}

public sealed class IdRow
{
    public int Id { get; set; }
    public string Name { get; set; } = "";
}
