using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace CellGen.Generator.Language;

/// <summary>
/// C# string literals decoded as the compiler decodes them, each character's place in the source recorded, so that a
/// diagnostic can point at the characters of an equation inside its literal.
/// </summary>
internal static class StringLiterals
{
    /// <summary>Decodes a regular, verbatim or single-line raw string literal, recording where each character came from.</summary>
    public static bool TryMap(SyntaxToken token, string text, int[] positions)
    {
        string raw = token.Text;
        int origin = token.SpanStart;
        var decoded = new System.Text.StringBuilder();
        var starts = new List<int>();
        int i;
        if (token.IsKind(SyntaxKind.StringLiteralToken) && raw.StartsWith("@\"", System.StringComparison.Ordinal))
        {
            for (i = 2; i < raw.Length - 1; i++)
            {
                starts.Add(origin + i);
                decoded.Append(raw[i]);
                if (raw[i] == '"') i++;
            }
        }
        else if (token.IsKind(SyntaxKind.StringLiteralToken) && raw.StartsWith("\"", System.StringComparison.Ordinal))
        {
            for (i = 1; i < raw.Length - 1;)
            {
                int at = i;
                if (raw[i] != '\\')
                {
                    starts.Add(origin + at);
                    decoded.Append(raw[i++]);
                    continue;
                }
                if (i + 1 >= raw.Length - 1) return false;
                char kind = raw[i + 1];
                string? value = null;
                int next = i + 2;
                switch (kind)
                {
                    case '\'': value = "'"; break;
                    case '"': value = "\""; break;
                    case '\\': value = "\\"; break;
                    case '0': value = "\0"; break;
                    case 'a': value = "\a"; break;
                    case 'b': value = "\b"; break;
                    case 'f': value = "\f"; break;
                    case 'n': value = "\n"; break;
                    case 'r': value = "\r"; break;
                    case 't': value = "\t"; break;
                    case 'v': value = "\v"; break;
                    case 'e': value = "\u001b"; break;
                    case 'u':
                        if (Hex(raw, i + 2, 4) is not { } u) return false;
                        value = ((char)u).ToString();
                        next = i + 6;
                        break;
                    case 'U':
                        // As the compiler decodes it: a UTF-16 unit up to U+FFFF (a lone surrogate included), a pair above.
                        if (Hex(raw, i + 2, 8) is not { } scalar || scalar > 0x10FFFF) return false;
                        value = scalar <= 0xFFFF ? ((char)scalar).ToString()
                            : new string(new[] { (char)(0xD800 + ((scalar - 0x10000) >> 10)), (char)(0xDC00 + ((scalar - 0x10000) & 0x3FF)) });
                        next = i + 10;
                        break;
                    case 'x':
                        int end = i + 2;
                        while (end < raw.Length - 1 && end < i + 6 && System.Uri.IsHexDigit(raw[end])) end++;
                        if (Hex(raw, i + 2, end - i - 2) is not { } x) return false;
                        value = ((char)x).ToString();
                        next = end;
                        break;
                    default: return false;
                }
                foreach (char _ in value) starts.Add(origin + at);
                decoded.Append(value);
                i = next;
            }
        }
        else if (token.IsKind(SyntaxKind.SingleLineRawStringLiteralToken))
        {
            int quotes = 0;
            while (quotes < raw.Length && raw[quotes] == '"') quotes++;
            for (i = quotes; i < raw.Length - quotes; i++)
            {
                starts.Add(origin + i);
                decoded.Append(raw[i]);
            }
        }
        else if (token.IsKind(SyntaxKind.MultiLineRawStringLiteralToken))
        {
            // The content is the lines between the opening and the closing quotes, each less the closing line's
            // indentation; the line breaks between content lines are part of it.
            int quotes = 0;
            while (quotes < raw.Length && raw[quotes] == '"') quotes++;
            int first = raw.IndexOf('\n', quotes) + 1;
            int closing = raw.Length - quotes;
            int lastBreak = raw.LastIndexOf('\n', closing - 1);
            if (first <= 0 || lastBreak < first) return false;
            int indentation = closing - (lastBreak + 1);
            int contentEnd = lastBreak > 0 && raw[lastBreak - 1] == '\r' ? lastBreak - 1 : lastBreak;
            for (int line = first; line < contentEnd;)
            {
                int end = raw.IndexOf('\n', line);
                if (end < 0 || end > contentEnd) end = contentEnd;
                int lineEnd = end > line && raw[end - 1] == '\r' && end != contentEnd ? end - 1 : end;
                for (i = System.Math.Min(line + indentation, lineEnd); i < lineEnd; i++)
                {
                    starts.Add(origin + i);
                    decoded.Append(raw[i]);
                }
                if (end >= contentEnd) break;
                for (i = lineEnd; i <= end; i++) // the line break itself: \r\n or \n
                {
                    starts.Add(origin + i);
                    decoded.Append(raw[i]);
                }
                line = end + 1;
            }
        }
        else return false;

        if (decoded.ToString() != text) return false;
        for (int k = 0; k < starts.Count; k++) positions[k] = starts[k];
        // The end of the text is the closing quote.
        positions[text.Length] = starts.Count > 0 ? NextStart(raw, origin, starts[starts.Count - 1], token) : origin + 1;
        return true;
    }

    /// <summary>The value of <paramref name="count"/> hex digits at <paramref name="start"/>, or null where there are not that many.</summary>
    private static int? Hex(string raw, int start, int count)
    {
        if (count < 1 || start + count > raw.Length - 1) return null;
        int value = 0;
        for (int k = start; k < start + count; k++)
        {
            char c = raw[k];
            int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (digit < 0) return null;
            value = value * 16 + digit;
            if (value > 0x10FFFF) return int.MaxValue; // out of range, and no overflow however many digits follow
        }
        return value;
    }

    private static int NextStart(string raw, int origin, int lastStart, SyntaxToken token)
    {
        // The character after the last one of the value: skip the last (possibly escaped) character.
        int offset = lastStart - origin;
        if (raw[offset] == '\\' && !raw.StartsWith("@", System.StringComparison.Ordinal))
        {
            char kind = raw[offset + 1];
            int length = kind switch { 'u' => 6, 'U' => 10, 'x' => XLength(raw, offset), _ => 2 };
            return lastStart + length;
        }
        if (raw.StartsWith("@", System.StringComparison.Ordinal) && raw[offset] == '"') return lastStart + 2;
        return lastStart + 1;
    }

    private static int XLength(string raw, int offset)
    {
        int end = offset + 2;
        while (end < raw.Length - 1 && end < offset + 6 && System.Uri.IsHexDigit(raw[end])) end++;
        return end - offset;
    }
}
