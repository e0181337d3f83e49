using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using CellGen.Cells;
using Xunit;

namespace CellGen.Tests;

/// <summary>
/// Issue 14, item 11: null arguments gave NullReferenceExceptions. Every public constructor and method of the runtime
/// and of the built-in cells, given null for a parameter that is not declared nullable (every other argument a valid
/// one), throws an ArgumentException (ArgumentNullException is one): never a NullReferenceException, never silence.
/// </summary>
public sealed class NullArgumentTests : IDisposable
{
    private static readonly string Folder = Path.Combine(Path.GetTempPath(), "cellgen-null-" + Environment.ProcessId);

    public void Dispose()
    {
        if (Directory.Exists(Folder)) Directory.Delete(Folder, recursive: true);
    }

    /// <summary>A valid value of each parameter type met, or null where none is needed.</summary>
    private static object? Valid(Type type, Dictionary<Type, object> instances)
    {
        if (type == typeof(string)) return Path.Combine(Folder, "model.safetensors");
        if (type == typeof(int)) return 2;
        if (type == typeof(long)) return 2L;
        if (type == typeof(float)) return 0.5f;
        if (type == typeof(double)) return 0.5;
        if (type == typeof(bool)) return false;
        if (type == typeof(Random)) return new Random(1);
        if (type == typeof(Func<int, int, RecurrentCell<float>>)) return (Func<int, int, RecurrentCell<float>>)((x, h) => new Lstm(x, h));
        if (type == typeof(IEnumerable<IHasParameters>)) return new IHasParameters[] { (Lstm)instances[typeof(Lstm)] };
        if (type == typeof(IEnumerable<KeyValuePair<string, Parameter<float>>>)) return Checkpoint.Named((Lstm)instances[typeof(Lstm)]);
        if (type == typeof(float[])) return new float[4];
        if (type == typeof(int[])) return new[] { 2, 2 };
        foreach (var (t, instance) in instances)
            if (type.IsAssignableFrom(t)) return instance;
        return type.IsValueType ? Activator.CreateInstance(type) : null;
    }

    public static IEnumerable<object[]> Members()
    {
        var assemblies = new[] { typeof(SequenceRunner<>).Assembly, typeof(Lstm).Assembly };
        // Attributes are read by the generator, which reports a null argument as a CG error at the attribute.
        foreach (Type type in assemblies.SelectMany(a => a.GetExportedTypes()).Where(t => !typeof(Attribute).IsAssignableFrom(t)))
        {
            var members = type.GetConstructors().Cast<MethodBase>()
                .Concat(type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly).Where(m => (!m.IsSpecialName || m.Name.StartsWith("set_")) && m.Name != "Equals"));
            foreach (MethodBase member in members)
            {
                if (member.ContainsGenericParameters && member is MethodInfo { IsGenericMethodDefinition: true }) continue;
                ParameterInfo[] parameters = member.GetParameters();
                if (parameters.Any(p => p.ParameterType.IsByRefLike || p.ParameterType.IsByRef || p.ParameterType.IsPointer)) continue;
                if (member is MethodInfo { ReturnType.IsByRefLike: true }) continue; // reflection cannot return a span
                for (int i = 0; i < parameters.Length; i++)
                    if (!parameters[i].ParameterType.IsValueType
                        && new NullabilityInfoContext().Create(parameters[i]).WriteState != NullabilityState.Nullable)
                        yield return new object[] { $"{type.Name}.{member.Name}({string.Join(", ", parameters.Select(p => p.ParameterType.Name))}) {parameters[i].Name}", member.MetadataToken, type.AssemblyQualifiedName!, i };
            }
        }
    }

    [Theory]
    [MemberData(nameof(Members))]
    public void NullIsAnArgumentException(string name, int token, string typeName, int index)
    {
        Directory.CreateDirectory(Folder);
        Type type = Type.GetType(typeName)!;
        if (type.ContainsGenericParameters) type = type.MakeGenericType(Enumerable.Repeat(typeof(float), type.GetGenericArguments().Length).ToArray());
        MethodBase member = type.GetConstructors().Cast<MethodBase>()
            .Concat(type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Single(m => m.MetadataToken == token);
        var lstm = new Lstm(2, 2);
        var instances = new Dictionary<Type, object>
        {
            [typeof(Lstm)] = lstm,
            [typeof(SequenceRunner<float>)] = lstm.CreateRunner(2, 2),
            [typeof(Parameter<float>)] = lstm.Parameter("W_f"),
            [typeof(Dense)] = new Dense(2, 2),
            [typeof(Embedding)] = new Embedding(4, 2, new Random(1)),
            [typeof(Recurrent)] = new Recurrent((x, h) => new Lstm(x, h), 2, 2),
            [typeof(Sequential)] = new Sequential(new Dense(2, 2)),
            [typeof(Dropout)] = new Dropout(0.5f),
            [typeof(LastStep)] = new LastStep(),
            [typeof(CrossEntropyLoss)] = new CrossEntropyLoss(),
            [typeof(MeanSquaredErrorLoss)] = new MeanSquaredErrorLoss(),
            [typeof(TruncatedBptt)] = new TruncatedBptt(lstm, 2, 1, 1),
            [typeof(Adam)] = new Adam(new IHasParameters[] { lstm }),
            [typeof(Activations)] = new Activations(),
            [typeof(CellGen.Distributed.DataParallel)] = CellGen.Distributed.DataParallel.Start(), // not under mpirun: a group of one, no MPI
        };
        object? target = member.IsStatic || member is ConstructorInfo ? null : Valid(type, instances)
            ?? throw new InvalidOperationException($"no instance of {type} to call {name} on: add one");
        object?[] arguments = member.GetParameters().Select((p, i) => i == index ? null : Valid(p.ParameterType, instances)).ToArray();
        Exception? thrown = null;
        try
        {
            if (member is ConstructorInfo constructor) constructor.Invoke(arguments);
            else member.Invoke(target, arguments);
        }
        catch (TargetInvocationException e) { thrown = e.InnerException; }
        Assert.True(thrown is ArgumentException, $"{name}: null gave {(thrown is null ? "no exception" : thrown.GetType().Name + ": " + thrown.Message)}");
    }
}
