using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using CellGen.Generator.Language;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace CellGen.CodeFixes;

/// <summary>
/// The fixes of CellGen's diagnostics where the fix is certain: a replacement the compiler worked out (an unknown
/// function's nearest name, 'h[t]' for the output written 'h', 'x[t]' for the input read as 'x', a layer's name
/// without the time index it cannot have), 'partial' for a cell class or the types it is nested in, and the removal
/// of an equation whose value nothing reads. Diagnostics whose fix is a choice (which earlier step, which size) have none.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(CellFixes)), Shared]
public sealed class CellFixes : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(
        Diagnostics.UnknownFunction.Id, Diagnostics.OutputMissing.Id, Diagnostics.InputMisuse.Id, Diagnostics.TimeIndexMisuse.Id,
        Diagnostics.NotPartial.Id, Diagnostics.ContainingTypeNotPartial.Id, Diagnostics.UnusedIntermediate.Id);

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        Document document = context.Document;
        SyntaxNode? root = await document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null) return;
        foreach (Diagnostic diagnostic in context.Diagnostics)
        {
            TextSpan span = diagnostic.Location.SourceSpan;
            if (diagnostic.Properties.TryGetValue(DiagnosticInfo.ReplacementProperty, out string? replacement) && replacement is not null)
            {
                string written = root.SyntaxTree.GetText(context.CancellationToken).ToString(span);
                context.RegisterCodeFix(CodeAction.Create($"Replace '{written}' with '{replacement}'",
                    cancellation => Replace(document, span, replacement, cancellation), "CellGen.Replace." + diagnostic.Id), diagnostic);
                continue;
            }
            SyntaxNode? node = root.FindToken(span.Start).Parent;
            if (diagnostic.Id == Diagnostics.NotPartial.Id && node?.FirstAncestorOrSelf<TypeDeclarationSyntax>() is { } cell)
                context.RegisterCodeFix(CodeAction.Create($"Make '{cell.Identifier.ValueText}' partial",
                    cancellation => Edit(document, root.ReplaceNode(cell, MakePartial(cell))), "CellGen.MakePartial"), diagnostic);
            else if (diagnostic.Id == Diagnostics.ContainingTypeNotPartial.Id && node?.FirstAncestorOrSelf<TypeDeclarationSyntax>() is { } nested)
            {
                var outers = nested.Ancestors().OfType<TypeDeclarationSyntax>().Where(t => !t.Modifiers.Any(SyntaxKind.PartialKeyword)).ToList();
                if (outers.Count > 0)
                    context.RegisterCodeFix(CodeAction.Create($"Make {string.Join(" and ", outers.Select(t => $"'{t.Identifier.ValueText}'"))} partial",
                        cancellation => Edit(document, root.ReplaceNodes(outers, (_, rewritten) => MakePartial(rewritten))), "CellGen.MakeContainingPartial"), diagnostic);
            }
            else if (diagnostic.Id == Diagnostics.UnusedIntermediate.Id && node?.FirstAncestorOrSelf<AttributeSyntax>() is { Parent: AttributeListSyntax list } attribute)
                context.RegisterCodeFix(CodeAction.Create("Remove the unused equation",
                    cancellation => list.Attributes.Count == 1
                        ? RemoveLines(document, list, cancellation)
                        : Edit(document, root.ReplaceNode(list, list.WithAttributes(list.Attributes.Remove(attribute)))), "CellGen.RemoveEquation"), diagnostic);
        }
    }

    private static async Task<Document> Replace(Document document, TextSpan span, string replacement, CancellationToken cancellation)
    {
        SourceText text = await document.GetTextAsync(cancellation).ConfigureAwait(false);
        return document.WithText(text.Replace(span, replacement));
    }

    /// <summary>
    /// The node's text, the indentation before it and the line break after it; the comments and directives on the lines
    /// above stay (a #pragma there may pair with one below).
    /// </summary>
    private static async Task<Document> RemoveLines(Document document, SyntaxNode node, CancellationToken cancellation)
    {
        SourceText text = await document.GetTextAsync(cancellation).ConfigureAwait(false);
        TextLine line = text.Lines.GetLineFromPosition(node.Span.Start);
        int start = node.Span.Start;
        while (start > line.Start && char.IsWhiteSpace(text[start - 1])) start--;
        int end = node.FullSpan.End; // the trailing trivia, up to and with the line break
        return document.WithText(text.Replace(TextSpan.FromBounds(start, end), ""));
    }

    private static Task<Document> Edit(Document document, SyntaxNode edited) => Task.FromResult(document.WithSyntaxRoot(edited));

    /// <summary>The type with 'partial' as its last modifier (where C# requires it), the layout of the line kept.</summary>
    private static TypeDeclarationSyntax MakePartial(TypeDeclarationSyntax type)
    {
        if (type.Modifiers.Any(SyntaxKind.PartialKeyword)) return type;
        if (type.Modifiers.Count == 0)
        {
            SyntaxToken keyword = type.Keyword;
            return type.WithKeyword(keyword.WithLeadingTrivia())
                .WithModifiers(SyntaxFactory.TokenList(SyntaxFactory.Token(keyword.LeadingTrivia, SyntaxKind.PartialKeyword, SyntaxFactory.TriviaList(SyntaxFactory.Space))));
        }
        return type.WithModifiers(type.Modifiers.Add(SyntaxFactory.Token(SyntaxKind.PartialKeyword).WithTrailingTrivia(SyntaxFactory.Space)));
    }
}
