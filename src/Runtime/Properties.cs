// Tests reach internal seams (a stream wrapper that fails mid-write).
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("CellGen.Tests")]
// The bench times a fused step against the same step unfused, in one process.
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("CellGen.Bench")]
// The generator's tests check that every operation of its table has an ONNX operator here (Onnx.StepOperators).
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("CellGen.Generator.Tests")]
