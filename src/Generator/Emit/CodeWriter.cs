using System.Text;

namespace CellGen.Generator.Emit;

/// <summary>An indented text writer: generated code is text, written the way a person would write it.</summary>
internal sealed class CodeWriter
{
    private readonly StringBuilder _text = new();
    private int _indent;

    public void Line(string line = "")
    {
        if (line.Length > 0) _text.Append(' ', _indent * 4).Append(line);
        _text.Append('\n');
    }

    public void Open(string line)
    {
        Line(line);
        Line("{");
        _indent++;
    }

    public void Close(string suffix = "")
    {
        _indent--;
        Line("}" + suffix);
    }

    public void Comment(string text)
    {
        foreach (string line in text.Split('\n')) Line(line.Length == 0 ? "//" : "// " + line);
    }

    public override string ToString() => _text.ToString();
}
