using System.Collections.Generic;
using System.Linq;
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

    /// <summary>
    /// An identifier as C# source writes it: a keyword or a contextual keyword gets '@' (a class named @class or
    /// @record), since a contextual keyword may read as one where the generated code names it.
    /// </summary>
    public static string Escape(string identifier) =>
        SyntaxFacts.GetKeywordKind(identifier) != SyntaxKind.None || SyntaxFacts.GetContextualKeywordKind(identifier) != SyntaxKind.None ? "@" + identifier : identifier;

    /// <summary>A dotted namespace with each part escaped.</summary>
    public static string EscapeDotted(string dotted) => string.Join(".", dotted.Split('.').Select(Escape));

    public string Take(string preferred)
    {
        string name = preferred;
        for (int n = 2; _used.Contains(name); n++) name = preferred + "_" + n;
        _used.Add(name);
        return SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;
    }
}
