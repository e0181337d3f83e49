// Tests reach internal seams (a stream wrapper that fails mid-write).
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("CellGen.Tests")]
