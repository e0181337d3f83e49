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

    public static RecurrentCell<float>? Create(string name, int inputSize, int hiddenSize) =>
        Create(name, inputSize, hiddenSize, new Dictionary<string, int>());

    /// <summary>
    /// Creates the cell called <paramref name="name"/> through the public constructor whose parameters are exactly
    /// inputSize, hiddenSize and the declared <paramref name="sizes"/>, matched by name: a new cell with new sizes
    /// needs no new test code.
    /// </summary>
    public static RecurrentCell<float>? Create(string name, int inputSize, int hiddenSize, IReadOnlyDictionary<string, int> sizes)
    {
        var matches = All().Where(t => t.Name == name).ToList();
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
