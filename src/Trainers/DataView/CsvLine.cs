using System.Text;

namespace MLNetNormalization.Data;

/// <summary>
/// Splits one line of a delimited text file into fields. With quoting, a field that starts with a double quote
/// runs to the matching quote, may contain the separator, and writes a quote as two; quoted fields cannot span
/// lines (ML.NET's default too).
/// </summary>
internal static class CsvLine
{
    public static List<string> Split(string line, char separator, bool allowQuoting, string location)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var i = 0;
        while (true)
        {
            field.Clear();
            if (allowQuoting && i < line.Length && line[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= line.Length)
                        throw new InvalidDataException($"{location}: field {fields.Count} opens a quote that is not closed on this line (quoted fields cannot span lines).");
                    if (line[i] == '"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == '"')
                        {
                            field.Append('"');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    field.Append(line[i++]);
                }
                if (i < line.Length && line[i] != separator)
                    throw new InvalidDataException($"{location}: field {fields.Count} has '{line[i]}' after its closing quote; a quoted field must end at a separator.");
            }
            else
            {
                var end = line.IndexOf(separator, i);
                if (end < 0) end = line.Length;
                field.Append(line, i, end - i);
                i = end;
            }
            fields.Add(field.ToString());
            if (i >= line.Length) return fields;
            i++; // the separator
        }
    }
}
