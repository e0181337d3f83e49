using System;
using System.IO;
using System.Linq;
using CellGen.Cells;
using Xunit;

namespace CellGen.Tests;

/// <summary>docs/modules.md: its Residual module is Docs/Residual.cs, and it computes x + f(x) and its gradients.</summary>
public sealed class CustomModuleTests
{
    [Fact]
    public void TheDocsModuleIsTheTestedOne()
    {
        string code = File.ReadAllText(Path.Combine(TestFiles.Root(), "tests", "CellGen.Tests", "Docs", "Residual.cs")).ReplaceLineEndings("\n").TrimEnd();
        Assert.Contains("```csharp\n" + code + "\n```", File.ReadAllText(Path.Combine(TestFiles.Root(), "docs", "modules.md")).ReplaceLineEndings("\n"));
    }

    [Fact]
    public void AResidualAroundADenseComputesXPlusDenseXAndItsGradientsByFiniteDifferences()
    {
        const int steps = 3, batch = 2, width = 4;
        var dense = new Dense(width, width, new Random(1));
        var model = new Sequential(new Recurrent((x, h) => new Lstm(x, h), 3, width, random: new Random(2)), new Residual(dense), new LastStep(), new Dense(width, 2, new Random(3)));
        float[] inputs = Enumerable.Range(0, steps * batch * 3).Select(i => MathF.Sin(0.7f * i)).ToArray();
        int[] labels = { 0, 1 };
        var loss = new CrossEntropyLoss(Reduction.Sum);
        double Loss() => loss.Compute(model.Forward(inputs, batch, training: false), labels);

        var optimizer = new Sgd([model], 0.1);
        optimizer.ZeroGradients();
        loss.Compute(model.Forward(inputs, batch, training: true), labels);
        model.Backward();
        Assert.Contains(model.NamedParameters(), p => p.Key == "1.inner.weight");
        foreach ((string name, Parameter<float> parameter) in model.NamedParameters())
        {
            float[] values = parameter.ToArray(), gradient = parameter.GradientToArray();
            for (int i = 0; i < values.Length; i += 3)
            {
                float kept = values[i];
                values[i] = kept + 1e-2f; parameter.CopyFrom(values); double up = Loss();
                values[i] = kept - 1e-2f; parameter.CopyFrom(values); double down = Loss();
                values[i] = kept; parameter.CopyFrom(values);
                double numeric = (up - down) / 2e-2;
                Assert.True(Math.Abs(numeric - gradient[i]) <= 2e-3 + 2e-2 * Math.Abs(numeric), $"{name}[{i}]: backward {gradient[i]}, finite differences {numeric}");
            }
        }
        Assert.Throws<ArgumentException>(() => new Sequential(new Residual(new Dense(4, 3))).Forward(new float[8], 2, training: false));
    }

    [Fact]
    public void ACheckpointSavesTheDropoutInsideAModuleOfYourOwnAndResumesItsMasks()
    {
        var dropout = new Dropout(0.5, seed: 3);
        var model = new Sequential(new Dense(4, 4, new Random(1)), new Residual(dropout));
        Assert.Contains(model.NamedGenerators(), g => g.Name == "1.inner.dropout");
        float[] inputs = Enumerable.Range(0, 8).Select(i => 1f + i).ToArray();
        model.Forward(inputs, 2, training: true);
        string path = Path.Combine(Path.GetTempPath(), "cellgen-residual-" + Guid.NewGuid().ToString("N") + ".safetensors");
        try
        {
            Checkpoint.Save(path, model);
            float[] next = model.Forward(inputs, 2, training: true).Values.ToArray();
            model.Forward(inputs, 2, training: true); // the masks move on
            Checkpoint.Load(path, model);
            Assert.Equal(next, model.Forward(inputs, 2, training: true).Values.ToArray());
        }
        finally { File.Delete(path); }
    }
}
