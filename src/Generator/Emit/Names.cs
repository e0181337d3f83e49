using System.Collections.Generic;
using Microsoft.CodeAnalysis.CSharp;

namespace CellGen.Generator.Emit;

/// <summary>Hands out C# identifiers that are unique in one scope and never keywords.</summary>
internal sealed class Names
{
    private readonly HashSet<string> _used = new();

    public Names(params string[] reserved)
    {
        foreach (string name in reserved) _used.Add(name);
    }

    /// <summary>A C# string literal of <paramref name="text"/>: quotes and backslashes escaped, anything outside printable ASCII as \uXXXX.</summary>
    public static string Quote(string text)
    {
        var s = new System.Text.StringBuilder("\"");
        foreach (char c in text)
        {
            if (c == '"' || c == '\\') s.Append('\\').Append(c);
            else if (c < ' ' || c > '~') s.Append("\\u").Append(((int)c).ToString("x4"));
            else s.Append(c);
        }
        return s.Append('"').ToString();
    }

    /// <summary>An identifier as C# source writes it: a keyword gets '@' (a class named @class).</summary>
    public static string Escape(string identifier) =>
        SyntaxFacts.GetKeywordKind(identifier) != SyntaxKind.None || SyntaxFacts.GetContextualKeywordKind(identifier) is SyntaxKind.FieldKeyword ? "@" + identifier : identifier;

    public string Take(string preferred)
    {
        string name = preferred;
        for (int n = 2; _used.Contains(name); n++) name = preferred + "_" + n;
        _used.Add(name);
        return SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;
    }
}
