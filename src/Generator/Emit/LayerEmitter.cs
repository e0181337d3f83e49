using System.Linq;

namespace CellGen.Generator.Emit;

/// <summary>
/// The class of a [Layer]: a <c>CellGen.Layer</c> module whose constructor builds the compiled equations, nested as the
/// cell of one step they are (<c>Float32</c>, and <c>Float64</c> for verification), and calls the user's <c>OnCreated</c>.
/// </summary>
internal static class LayerEmitter
{
    public static void Emit(CodeWriter w, CellSpec spec)
    {
        string className = Names.Escape(spec.ClassName);
        var sizes = spec.Schedule.Graph.Cell.SizeNames;
        string parameters = string.Concat(sizes.Select(s => ", int " + VariantEmitter.SizeParameter(s)));
        string arguments = string.Concat(sizes.Select(s => ", " + VariantEmitter.SizeParameter(s)));
        w.Comment("The equations, applied to every row of the input at once:\n" + string.Join("\n", spec.Schedule.Graph.Cell.Equations.Select(e => "    " + e.Text)));
        using (w.Block($"partial class {className} : global::CellGen.Layer"))
        {
            w.Line("/// <summary>Creates the layer with its parameters drawn as nn.Linear draws its own (see <c>Layer.ResetParameters</c>).</summary>");
            w.Line("/// <param name=\"inputSize\">X, the size of an input row and of every name without a [Size].</param>");
            foreach (string size in sizes)
                w.Line($"/// <param name=\"{size}\">{string.Join(", ", spec.SizesOf(size).Select(n => "'" + n + "'"))}: the size declared as {size}.</param>");
            w.Line(CellEmitter.GeneratedCode);
            using (w.Block($"public {className}(int inputSize{parameters}) : base(new Float32(inputSize, inputSize{arguments}))"))
            {
            }
            w.Line();
            w.Line("/// <summary>Sets what differs from the drawn parameters; write <c>partial void OnCreated() { ... }</c> in your part of the class.</summary>");
            w.Line("partial void OnCreated();");
            w.Line();
            w.Line("/// <inheritdoc/>");
            w.Line("protected override void Initialized() => OnCreated();");
            w.Line();
            w.Line("/// <summary>The equations compiled as a cell of one step, whose batch is every row of the layer's input.</summary>");
            StepGraphEmitter.Emit(w, spec.Schedule.Graph);
            w.Line(CellEmitter.GeneratedCode);
            using (w.Block("public sealed class Float32 : global::CellGen.RecurrentCell<float>"))
                new VariantEmitter(spec, w, Precision.Single, "Float32", new[] { "Float32", "Float64" }).EmitMembers();
            if (!spec.EmitFloat64) return;
            w.Line();
            w.Line("/// <summary>The same equations in double precision (scalar code), for verifying gradients by finite differences.</summary>");
            w.Line(CellEmitter.GeneratedCode);
            using (w.Block("public sealed class Float64 : global::CellGen.RecurrentCell<double>"))
                new VariantEmitter(spec, w, Precision.Double, "Float64", new[] { "Float32", "Float64" }).EmitMembers();
        }
    }
}
