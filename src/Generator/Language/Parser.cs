using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using CellGen.Generator.Model;

namespace CellGen.Generator.Language;

/// <summary>
/// Recursive-descent parser for one equation (docs: equation-language.md, Grammar). It stops at the first syntax
/// error and reports it with the range of the offending characters.
/// </summary>
internal sealed class Parser
{
    private enum TokenKind { Name, Number, Plus, Minus, Star, Slash, Caret, At, Equals, LParen, RParen, LBracket, RBracket, Comma, End, Bad }

    private readonly record struct Token(TokenKind Kind, string Text, TextRange Range);

    private sealed class SyntaxException : Exception
    {
        public SyntaxException(EquationProblem problem) => Problem = problem;
        public EquationProblem Problem { get; }
    }

    private readonly string _text;
    private readonly int _equation;
    private readonly List<Token> _tokens;
    private int _position;
    private int _depth;

    /// <summary>
    /// The deepest nesting of parentheses, calls, brackets and signs an equation may have, and the most operators: the
    /// compiler walks equations recursively, and no cell of the literature comes near either.
    /// </summary>
    public const int MaxDepth = 100, MaxOperators = 2000;

    private Parser(string text, int equation)
    {
        _text = text;
        _equation = equation;
        _tokens = Tokenize(text, equation);
    }

    public static (EquationSyntax? Syntax, EquationProblem? Problem) Parse(string text, int equation)
    {
        try
        {
            var parser = new Parser(text, equation);
            return (parser.ParseEquation(), null);
        }
        catch (SyntaxException e)
        {
            return (null, e.Problem);
        }
    }

    private static bool IsNameStart(char c) => c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

    private static bool IsNamePart(char c) => IsNameStart(c) || (c >= '0' && c <= '9');

    private static List<Token> Tokenize(string text, int equation)
    {
        var tokens = new List<Token>();
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (char.IsWhiteSpace(c)) { i++; continue; }
            int start = i;
            if (IsNameStart(c) || c == 'σ')
            {
                if (c == 'σ') i++;
                else while (i < text.Length && IsNamePart(text[i])) i++;
                tokens.Add(new Token(TokenKind.Name, text.Substring(start, i - start), TextRange.FromBounds(start, i)));
                continue;
            }
            if ((c >= '0' && c <= '9') || (c == '.' && i + 1 < text.Length && text[i + 1] >= '0' && text[i + 1] <= '9'))
            {
                while (i < text.Length && (char.IsDigit(text[i]) || text[i] == '.')) i++;
                if (i < text.Length && (text[i] == 'e' || text[i] == 'E'))
                {
                    int mark = i++;
                    if (i < text.Length && (text[i] == '+' || text[i] == '-')) i++;
                    if (i < text.Length && char.IsDigit(text[i])) while (i < text.Length && char.IsDigit(text[i])) i++;
                    else i = mark;
                }
                while (i < text.Length && IsNamePart(text[i])) i++; // '2x' is one bad number, not a number then a name
                tokens.Add(new Token(TokenKind.Number, text.Substring(start, i - start), TextRange.FromBounds(start, i)));
                continue;
            }
            TokenKind kind = c switch
            {
                '+' => TokenKind.Plus,
                '-' or '−' => TokenKind.Minus,
                '*' or '⊙' => TokenKind.Star,
                '/' => TokenKind.Slash,
                '^' => TokenKind.Caret,
                '@' or '·' => TokenKind.At,
                '=' => TokenKind.Equals,
                '(' => TokenKind.LParen,
                ')' => TokenKind.RParen,
                '[' => TokenKind.LBracket,
                ']' => TokenKind.RBracket,
                ',' => TokenKind.Comma,
                _ => TokenKind.Bad,
            };
            int length = char.IsHighSurrogate(c) && i + 1 < text.Length ? 2 : 1;
            i += length;
            var token = new Token(kind, text.Substring(start, length), new TextRange(start, length));
            if (kind == TokenKind.Bad)
                throw new SyntaxException(EquationProblem.Create(Diagnostics.SyntaxError, equation, token.Range,
                    $"unexpected character '{token.Text}'; equations use names, numbers, + - * / ^ @ ( ) [ ] , and the functions {Operation.FunctionList}"));
            tokens.Add(token);
        }
        tokens.Add(new Token(TokenKind.End, "", new TextRange(text.Length, 0)));
        return tokens;
    }

    private Token Current => _tokens[_position];

    private Token Next() => _tokens[_position++];

    private SyntaxException Error(TextRange range, string message) =>
        new(EquationProblem.Create(Diagnostics.SyntaxError, _equation, range, message));

    private static string Describe(Token token) => token.Kind == TokenKind.End ? "the end of the equation" : $"'{token.Text}'";

    private Token Expect(TokenKind kind, string what)
    {
        if (Current.Kind != kind) throw Error(ErrorRange(Current), $"expected {what} but found {Describe(Current)}");
        return Next();
    }

    /// <summary>At the end of the text the error points at the last character, so that it is visible.</summary>
    private TextRange ErrorRange(Token token) =>
        token.Kind == TokenKind.End && _text.Length > 0 ? new TextRange(_text.Length - 1, 1) : token.Range;

    private EquationSyntax ParseEquation()
    {
        if (Current.Kind == TokenKind.End) throw Error(new TextRange(0, _text.Length), "the equation is empty; write 'name = expression'");
        int operators = _tokens.Count(t => t.Kind is TokenKind.Plus or TokenKind.Minus or TokenKind.Star or TokenKind.Slash or TokenKind.Caret or TokenKind.At or TokenKind.Comma);
        if (operators > MaxOperators)
            throw Error(new TextRange(0, _text.Length), $"the equation has {operators} operators, more than the {MaxOperators} an equation may have: split it into intermediates");
        Token name = Expect(TokenKind.Name, "the name the equation defines");
        if (IsFunctionName(name.Text)) throw Error(name.Range, $"'{name.Text}' is a function and cannot be defined");
        bool isState = false;
        TextRange targetRange = name.Range;
        if (Current.Kind == TokenKind.LBracket)
        {
            (int offset, TextRange range) = ParseTimeIndex();
            if (offset != 0) throw Error(range, $"an equation defines '{name.Text}[t]', the value at this step; '{name.Text}[t-1]' is the value it had before");
            isState = true;
            targetRange = name.Range.Union(range);
        }
        Expect(TokenKind.Equals, "'='");
        ExprSyntax value = ParseExpression();
        if (Current.Kind != TokenKind.End)
            throw Error(ErrorRange(Current), $"expected an operator or the end of the equation but found {Describe(Current)}");
        return new EquationSyntax(_equation, _text, name.Text, isState, targetRange, value);
    }

    /// <summary>The most steps back that <c>x[t-k]</c> may read.</summary>
    public const int MaxLag = 10_000;

    private (int Offset, TextRange Range) ParseTimeIndex()
    {
        Token open = Expect(TokenKind.LBracket, "'['");
        int start = open.Range.Start;
        if (Current.Kind == TokenKind.Name && Current.Text == "t")
        {
            Next();
            if (Current.Kind == TokenKind.RBracket) return (0, TextRange.FromBounds(start, Next().Range.End));
            if (Current.Kind == TokenKind.Minus && _tokens[_position + 1] is { Kind: TokenKind.Number } number
                && _tokens[_position + 2].Kind == TokenKind.RBracket && IsDigits(number.Text))
            {
                _position += 2;
                TextRange range = TextRange.FromBounds(start, Next().Range.End);
                if (!int.TryParse(number.Text, NumberStyles.None, CultureInfo.InvariantCulture, out int k) || k < 1 || k > MaxLag)
                    throw Error(number.Range, $"a step back is a whole number from 1 to {MaxLag}: 't-{number.Text}' is not");
                return (-k, range);
            }
        }
        int end = start + 1;
        for (int i = _position; i < _tokens.Count && _tokens[i].Kind != TokenKind.End; i++)
        {
            end = _tokens[i].Range.End;
            if (_tokens[i].Kind == TokenKind.RBracket) break;
        }
        throw Error(TextRange.FromBounds(start, end), "a time index is [t], [t-1], or [t-k] with a whole number k for the input");
    }

    private static bool IsDigits(string text)
    {
        foreach (char c in text) if (c < '0' || c > '9') return false;
        return text.Length > 0;
    }

    /// <summary>Enters one level of nesting; past <see cref="MaxDepth"/> the equation is refused at that token.</summary>
    private void Enter(Token at)
    {
        if (++_depth > MaxDepth)
            throw Error(at.Range, $"the equation nests more than {MaxDepth} levels deep here: split it into intermediates");
    }

    private ExprSyntax ParseExpression()
    {
        ExprSyntax left = ParseTerm();
        while (Current.Kind is TokenKind.Plus or TokenKind.Minus)
        {
            char op = Next().Kind == TokenKind.Plus ? '+' : '-';
            ExprSyntax right = ParseTerm();
            left = new BinarySyntax(op, left, right, left.Range.Union(right.Range));
        }
        return left;
    }

    private ExprSyntax ParseTerm()
    {
        ExprSyntax left = ParseUnary();
        while (Current.Kind is TokenKind.Star or TokenKind.Slash)
        {
            char op = Next().Kind == TokenKind.Star ? '*' : '/';
            ExprSyntax right = ParseUnary();
            left = new BinarySyntax(op, left, right, left.Range.Union(right.Range));
        }
        return left;
    }

    private ExprSyntax ParseUnary()
    {
        if (Current.Kind == TokenKind.Minus)
        {
            Token minus = Next();
            Enter(minus);
            ExprSyntax operand = ParseUnary();
            _depth--;
            return new NegateSyntax(operand, minus.Range.Union(operand.Range));
        }
        if (Current.Kind == TokenKind.Name && _tokens[_position + 1].Kind == TokenKind.At)
        {
            Token matrix = Next();
            Next();
            if (IsFunctionName(matrix.Text))
                throw Error(matrix.Range, $"'{matrix.Text}' is a function, not a weight matrix");
            ExprSyntax operand = ParseOperand();
            return new MatVecSyntax(matrix.Text, matrix.Range, operand, matrix.Range.Union(operand.Range));
        }
        ExprSyntax result = ParseOperand();
        if (Current.Kind == TokenKind.At)
        {
            // C[t] @ q, or (expression) @ q: a matrix memory times a vector; the binder checks that the left is one
            // (else CG0007, or CG0028 for a vector times a memory).
            Token at = Next();
            ExprSyntax operand = ParseOperand();
            return new CallSyntax(Operation.MemoryProduct, new EquatableArray<ExprSyntax>(new[] { result, operand }), at.Range, result.Range.Union(operand.Range));
        }
        return result;
    }

    private static bool IsFunctionName(string name) => Operation.FunctionNamed(name) is not null;

    private ExprSyntax ParseOperand()
    {
        Token token = Current;
        Enter(token);
        ExprSyntax result = Power(ParseOperandAt(token));
        _depth--;
        return result;
    }

    /// <summary>The largest whole power <c>v^n</c> may take (and -n): beyond it, write intermediates.</summary>
    public const int MaxPower = 16;

    /// <summary>
    /// <c>v^n</c> and <c>v^-n</c> for a whole n from 1 to <see cref="MaxPower"/>: written as n - 1 products of v (and one
    /// over them), so that every later stage, the derivative included, reads products it knows; the step graph shares
    /// the repeated v (its nodes compare by value).
    /// </summary>
    private ExprSyntax Power(ExprSyntax operand)
    {
        if (Current.Kind != TokenKind.Caret) return operand;
        Token caret = Next();
        bool negative = Current.Kind == TokenKind.Minus;
        if (negative) Next();
        Token exponent = Current;
        if (exponent.Kind != TokenKind.Number || !int.TryParse(exponent.Text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1 || n > MaxPower)
            throw Error(exponent.Kind == TokenKind.End ? caret.Range : exponent.Range,
                $"'^' takes a whole number from 1 to {MaxPower}, or its negative: v^2, v^-1{(exponent.Kind == TokenKind.Number && exponent.Text == "0" ? " (v^0 is 1: write 1)" : "")}");
        Next();
        if (Current.Kind == TokenKind.Caret)
            throw Error(Current.Range, "a power of a power: write (v^m)^n, or v^(m·n) as one power");
        TextRange range = operand.Range.Union(exponent.Range);
        ExprSyntax product = operand;
        for (int k = 1; k < n; k++) product = new BinarySyntax('*', product, operand, range);
        return negative ? new BinarySyntax('/', new NumberSyntax(1, range), product, range) : product;
    }

    private ExprSyntax ParseOperandAt(Token token)
    {
        switch (token.Kind)
        {
            case TokenKind.Number:
                Next();
                if (!double.TryParse(token.Text, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out double value)
                    || double.IsInfinity(value) || double.IsNaN(value))
                    throw Error(token.Range, $"'{token.Text}' is not a number");
                if (float.IsInfinity((float)value))
                    throw Error(token.Range, $"'{token.Text}' is not finite in float32 (the largest float is about 3.4e38)");
                return new NumberSyntax(value, token.Range);
            case TokenKind.Name:
                Next();
                if (Current.Kind == TokenKind.LParen)
                {
                    Operation? function = Operation.FunctionNamed(token.Text);
                    if (function is null)
                        throw new SyntaxException(EquationProblem.Create(Diagnostics.UnknownFunction, _equation, token.Range, token.Text, Operation.FunctionList)
                            with { Replacement = Operation.NearestFunction(token.Text) });
                    Next();
                    var arguments = new List<ExprSyntax> { ParseExpression() };
                    while (Current.Kind == TokenKind.Comma)
                    {
                        Next();
                        arguments.Add(ParseExpression());
                    }
                    Token close = Expect(TokenKind.RParen, "',' or ')'");
                    TextRange range = token.Range.Union(close.Range);
                    if (arguments.Count != function.Arity)
                        throw new SyntaxException(EquationProblem.Create(Diagnostics.WrongArgumentCount, _equation, range,
                            function.Spellings[0], function.Arity == 1 ? "one argument" : $"{function.Arity} arguments", arguments.Count.ToString(CultureInfo.InvariantCulture)));
                    return new CallSyntax(function, arguments.ToEquatableArray(), token.Range, range);
                }
                if (IsFunctionName(token.Text))
                    throw Error(token.Range, $"expected '(' after the function '{token.Text}'");
                if (Current.Kind == TokenKind.LBracket)
                {
                    (int offset, TextRange range) = ParseTimeIndex();
                    return new TimedNameSyntax(token.Text, offset, token.Range, token.Range.Union(range));
                }
                return new NameSyntax(token.Text, token.Range);
            case TokenKind.LParen:
            {
                Next();
                ExprSyntax inner = ParseExpression();
                Token close = Expect(TokenKind.RParen, "')'");
                return ReRange(inner, token.Range.Union(close.Range));
            }
            case TokenKind.LBracket:
            {
                Next();
                var parts = new List<ExprSyntax> { ParseExpression() };
                while (Current.Kind == TokenKind.Comma)
                {
                    Next();
                    parts.Add(ParseExpression());
                }
                Token close = Expect(TokenKind.RBracket, "',' or ']'");
                return new ConcatSyntax(parts.ToEquatableArray(), token.Range.Union(close.Range));
            }
            default:
                throw Error(ErrorRange(token), $"expected a name, a number, a function, '(' or '[' but found {Describe(token)}");
        }
    }

    /// <summary>A parenthesised expression keeps its own node, but its range includes the parentheses.</summary>
    private static ExprSyntax ReRange(ExprSyntax inner, TextRange range) => inner switch
    {
        NumberSyntax n => n with { Range = range },
        NameSyntax n => n with { Range = range },
        TimedNameSyntax n => n with { Range = range },
        CallSyntax n => n with { Range = range },
        BinarySyntax n => n with { Range = range },
        NegateSyntax n => n with { Range = range },
        MatVecSyntax n => n with { Range = range },
        ConcatSyntax n => n with { Range = range },
        _ => inner,
    };
}
