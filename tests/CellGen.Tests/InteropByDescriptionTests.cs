using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using CellGen.Cells;
using Xunit;

namespace CellGen.Tests;

/// <summary>
/// The interop code (PyTorch, safetensors, ONNX) reads what modules and cells describe of themselves: it names no
/// module or cell type and no parameter, so that a new module or a user's cell needs no edit there.
/// </summary>
public sealed class InteropByDescriptionTests
{
    [Fact]
    public void TheInteropCodeSwitchesOnNoTypeAndNoParameterName()
    {
        string[] modules = typeof(Module).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(Module))).Select(t => t.Name)
            .Concat(typeof(Lstm).Assembly.GetExportedTypes().Where(t => t.Namespace == "CellGen.Cells" && !t.IsNested).Select(t => t.Name)).Distinct().ToArray();
        Assert.Contains("Recurrent", modules);
        Assert.Contains("TorchGru", modules);
        var banned = new Regex(
            @"\b(is|case|as|typeof\()\s*(" + string.Join("|", modules) + @")\b"
            + @"|GetType\(\)\.(Name|FullName)\s*(==|switch|!=)"
            + @"|""CellGen\.Cells\."
            + @"|\.Parameter\(""", RegexOptions.Compiled);
        var files = Directory.GetFiles(Path.Combine(TestFiles.Root(), "src", "Runtime", "Interop"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".g.cs", StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(files);
        var found = files.SelectMany(f => File.ReadAllLines(f).Select((line, i) => (File: Path.GetFileName(f), Line: i + 1, Text: line.Trim())))
            .Where(l => !l.Text.StartsWith("//", StringComparison.Ordinal) && banned.IsMatch(l.Text)).Select(l => $"{l.File}:{l.Line}: {l.Text}").ToList();
        Assert.True(found.Count == 0, "the interop code names types or parameters:\n" + string.Join("\n", found));
    }

    [Fact]
    public void EveryBuiltInCellWithAStandardFormIsRecognisedAndTheOthersAreNot()
    {
        static string? Form(RecurrentCell<float> cell) => CellForm.Of(cell)?.Form.Name;
        Assert.Equal("nn.RNN (tanh)", Form(new Rnn(2, 3)));
        Assert.Equal("nn.RNN (relu)", Form(new Irnn(2, 3)));
        Assert.Equal("nn.LSTM", Form(new Lstm(2, 3)));
        Assert.Equal("nn.LSTM (proj_size)", Form(new Lstmp(2, 3, 2)));
        Assert.Equal("nn.GRU", Form(new TorchGru(2, 3)));
        Assert.Equal("GRU (Cho et al.)", Form(new Gru(2, 3)));
        Assert.Equal("nn.LSTM", Form(new PaperLstm(2, 3)));
        foreach (RecurrentCell<float> other in new RecurrentCell<float>[] { new PeepholeLstm(2, 3), new CoupledLstm(2, 3), new LayerNormLstm(2, 3), new AlmostLstm(2, 3), new FullPeepholeLstm(2, 3) })
            Assert.Null(Form(other));
        // nn.GRU's equations on states of a declared size P: the same step graph, other shapes (H unused): not nn.GRU,
        // unless P is H.
        Assert.Null(Form(new SizedGru(2, 3, 4)));
        Assert.Equal("nn.GRU", Form(new SizedGru(2, 3, 3)));
        // The names map one to one: PaperLstm's forget gate is nn.LSTM's f, its [u, y] matrix's block 1 the recurrent one.
        var names = CellForm.Of(new PaperLstm(2, 3))!.Value.Names;
        Assert.Equal("Wf", names["W_f"]);
        Assert.Equal("bc", names["b_g"]);
        Assert.Equal("1", names["W_i#0"]);
    }
}
