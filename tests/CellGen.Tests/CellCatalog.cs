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

    public static RecurrentCell<float>? Create(string name, int inputSize, int hiddenSize)
    {
        var matches = All().Where(t => t.Name == name).ToList();
        if (matches.Count > 1) throw new InvalidOperationException($"More than one generated cell is called {name}: {string.Join(", ", matches)}");
        return matches.Count == 0 ? null : (RecurrentCell<float>)Activator.CreateInstance(matches[0], inputSize, hiddenSize)!;
    }
}
