using System;
using System.Collections.Generic;
using System.ComponentModel;

namespace CellGen.CompilerServices;

/// <summary>
/// A generated cell's step as data: one instruction per node of the graph its kernels compute, then its state updates
/// (the generator's StepGraphEmitter documents the instructions). Exporters read it; users never write it.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class StepGraphAttribute(string[] instructions) : Attribute
{
    /// <summary>The instructions, node by node, then "update STATE NODE" lines.</summary>
    public IReadOnlyList<string> Instructions { get; } = instructions ?? throw new ArgumentNullException(nameof(instructions));
}
