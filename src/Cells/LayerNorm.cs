using System.Linq;

namespace CellGen.Cells;

/// <summary>
/// Layer normalisation, as nn.LayerNorm(X) (Ba et al. 2016): each row normalised to mean 0 and variance 1 (ε = 1e-5, the
/// biased variance), then scaled by "weight" (ones at first) and shifted by "bias" (zeros at first).
/// </summary>
[Layer]
[Equation("y = weight * layernorm(x) + bias")]
public partial class LayerNorm
{
    partial void OnCreated()
    {
        Cell.Parameter("weight").CopyFrom(Enumerable.Repeat(1f, InputSize).ToArray());
        Cell.Parameter("bias").CopyFrom(new float[InputSize]);
    }
}
