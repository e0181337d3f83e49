// The tests reach the diagnostics table and the models directly; the code fixes read the diagnostics' IDs and properties.
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("CellGen.Generator.Tests")]
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("CellGen.CodeFixes")]
