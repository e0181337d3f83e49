using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;

namespace CellGen.Tests;

/// <summary>Finds generated cells by class name among the loaded assemblies (the built-ins and this project's cells).</summary>
public static class CellCatalog
{
    public static IReadOnlyList<Type> All()
    {
        // The built-in cells' assembly may not be loaded yet: name it explicitly.
        return AppDomain.CurrentDomain.GetAssemblies().Append(typeof(CellGen.Cells.Lstm).Assembly).Distinct()
            .Where(a => !a.IsDynamic)
            .SelectMany(a => { try { return a.GetTypes(); } catch (ReflectionTypeLoadException e) { return e.Types.OfType<Type>().ToArray(); } })
            .Where(t => t.GetCustomAttribute<RecurrentCellAttribute>() is not null && typeof(RecurrentCell<float>).IsAssignableFrom(t))
            .ToList();
    }

    /// <summary>
    /// The cell of type <paramref name="fullName"/> at about these sizes, for tests over every cell: a declared size is
    /// H / 2 + 1 (so that it differs from H), a cell that needs X = H (a highway) gets X = H, and a cell with heads
    /// (block-diagonal matrices) gets sizes rounded up to multiples of its number of blocks. Its dropouts ([Zoneout],
    /// [VariationalDropout]) are off (p = 0): the tests over every cell compare passes that must compute the same (a
    /// training pass and an inference pass, a batch and its sequences one by one), which masks would make differ; the
    /// masks have tests of their own (DropoutTests).
    /// </summary>
    public static RecurrentCell<float> CreateAny(string fullName, int inputSize, int hiddenSize)
    {
        RecurrentCell<float> cell = CreateAnyWithDropouts(fullName, inputSize, hiddenSize);
        foreach (CellDropout dropout in cell.Dropouts) dropout.Probability = 0;
        return cell;
    }

    private static RecurrentCell<float> CreateAnyWithDropouts(string fullName, int inputSize, int hiddenSize)
    {
        Type type = All().Single(t => t.FullName == fullName);
        int heads = type.GetCustomAttributes<BlockDiagonalAttribute>().Select(a => a.Blocks).Concat(type.GetCustomAttributes<HeadsAttribute>().Select(a => a.Heads))
            .DefaultIfEmpty(1).Aggregate((a, b) => a * b / Gcd(a, b));
        (inputSize, hiddenSize) = ((inputSize + heads - 1) / heads * heads, (hiddenSize + heads - 1) / heads * heads);
        ConstructorInfo constructor = type.GetConstructors().Single();
        object[] Arguments(int input) => constructor.GetParameters().Select((_, k) => (object)(k == 0 ? input : k == 1 ? hiddenSize : hiddenSize / 2 + 1)).ToArray();
        try
        {
            return (RecurrentCell<float>)constructor.Invoke(Arguments(inputSize));
        }
        catch (TargetInvocationException e) when (e.InnerException is ArgumentException)
        {
            return (RecurrentCell<float>)constructor.Invoke(Arguments(hiddenSize));
        }
    }

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);

    public static RecurrentCell<float>? Create(string name, int inputSize, int hiddenSize) =>
        Create(name, inputSize, hiddenSize, new Dictionary<string, int>());

    /// <summary>
    /// Creates the cell called <paramref name="name"/> through the public constructor whose parameters are exactly
    /// inputSize, hiddenSize and the declared <paramref name="sizes"/>, matched by name: a new cell with new sizes
    /// needs no new test code.
    /// </summary>
    public static RecurrentCell<float>? Create(string name, int inputSize, int hiddenSize, IReadOnlyDictionary<string, int> sizes, string? preferNamespace = null)
    {
        var matches = All().Where(t => t.Name == name).ToList();
        // A zoo cell that is also built in (Lstmp): the zoo's fixtures test the zoo's declaration.
        if (matches.Count > 1 && preferNamespace is not null && matches.Count(t => t.Namespace == preferNamespace) == 1)
            matches = matches.Where(t => t.Namespace == preferNamespace).ToList();
        if (matches.Count > 1) throw new InvalidOperationException($"More than one generated cell is called {name}: {string.Join(", ", matches)}");
        if (matches.Count == 0) return null;
        var values = new Dictionary<string, int>(sizes) { ["inputSize"] = inputSize, ["hiddenSize"] = hiddenSize };
        foreach (ConstructorInfo constructor in matches[0].GetConstructors())
        {
            ParameterInfo[] parameters = constructor.GetParameters();
            if (parameters.Length == values.Count && parameters.All(p => p.ParameterType == typeof(int) && values.ContainsKey(p.Name!)))
                return (RecurrentCell<float>)constructor.Invoke(parameters.Select(p => (object)values[p.Name!]).ToArray());
        }
        throw new InvalidOperationException($"{name} has no constructor taking ({string.Join(", ", values.Keys)})");
    }
}
