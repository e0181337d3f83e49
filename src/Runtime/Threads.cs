using System;
using System.Threading;

namespace CellGen;

/// <summary>
/// How many threads CellGen's kernels use, as <c>torch.set_num_threads</c>: the calling thread and, for products and
/// sweeps large enough to gain from it, one worker thread. The kernels use at most two; the default is two where the
/// process may use more than one core (<see cref="Environment.ProcessorCount"/>, which <c>DOTNET_PROCESSOR_COUNT</c>
/// sets), else one. One thread gives the same results as two, bit for bit: each output of a split product or sweep is
/// computed by one thread either way, in the same order.
/// </summary>
public static class Threads
{
    /// <summary>The most threads the kernels use: the caller and one worker.</summary>
    public const int Maximum = 2;

    private static int s_count = Math.Min(Maximum, Environment.ProcessorCount);

    /// <summary>The number of threads the kernels use, 1 or 2; setting more than <see cref="Maximum"/> uses <see cref="Maximum"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value below 1.</exception>
    public static int Count
    {
        get => Volatile.Read(ref s_count);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            Volatile.Write(ref s_count, Math.Min(value, Maximum));
        }
    }
}
