using System;
using System.Collections.Generic;
using System.Text;

namespace CellGen.Generator.Emit;

/// <summary>
/// An indented text writer: generated code is text, written the way a person would write it. Blocks close by
/// construction: <c>using (writer.Block("header")) { ... }</c> writes the braces and the indentation.
/// </summary>
internal sealed class CodeWriter
{
    private readonly StringBuilder _text = new();
    private int _indent;

    public void Line(string line = "")
    {
        if (line.Length > 0) _text.Append(' ', _indent * 4).Append(line);
        _text.Append('\n');
    }

    /// <summary>Writes <paramref name="header"/> and opens a block, closed when the returned scope is disposed.</summary>
    public Scope Block(string header)
    {
        Line(header);
        Line("{");
        _indent++;
        return new Scope(this, 1);
    }

    /// <summary>One block in another for each header, all closed together.</summary>
    public Scope Blocks(IEnumerable<string> headers)
    {
        int count = 0;
        foreach (string header in headers)
        {
            Block(header);
            count++;
        }
        return new Scope(this, count);
    }

    /// <summary>Comment lines; every line break C# knows ends a line (\r, \u2028 and the others), so no text escapes the comment.</summary>
    public void Comment(string text)
    {
        foreach (string line in text.Replace("\r\n", "\n").Split('\n', '\r', '\u2028', '\u2029', '\u0085'))
            Line(line.Length == 0 ? "//" : "// " + line);
    }

    public override string ToString() => _text.ToString();

    private void Close()
    {
        _indent--;
        Line("}");
    }

    /// <summary>Open blocks; disposing closes them, innermost first. The default scope closes nothing.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly CodeWriter? _writer;
        private readonly int _count;

        public Scope(CodeWriter writer, int count)
        {
            _writer = writer;
            _count = count;
        }

        /// <summary>This scope and a block opened inside it, closed together.</summary>
        public Scope And(Scope inner) => new(_writer ?? inner._writer!, _count + inner._count);

        public void Dispose()
        {
            for (int i = 0; i < _count; i++) _writer!.Close();
        }
    }
}
