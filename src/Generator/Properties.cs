// The tests reach the diagnostics table and the models directly.
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("CellGen.Generator.Tests")]
