using System;
using System.Collections.Generic;
using System.Linq;

namespace CellGen.Distributed;

/// <summary>
/// Data-parallel training over MPI, as PyTorch's DistributedDataParallel: every process runs the same model on its
/// share of each batch; after the backward pass <see cref="AverageGradients"/> sums every gradient across the
/// processes (MPI_Allreduce, one call per parameter buffer, in place) and divides by their number, so that clipping
/// and the optimiser see the gradient of the mean loss over the whole batch and every process takes the same step.
/// Parameters start equal by <see cref="Broadcast"/> from rank 0. Launched by <c>mpirun -np N</c> (Open MPI), a process
/// joins the others; started any other way it trains alone (rank 0 of 1) and never loads MPI.
/// </summary>
public sealed unsafe class DataParallel : IDisposable
{
    private readonly bool _mpi;
    private bool _disposed;

    private DataParallel(bool mpi, int rank, int size)
    {
        _mpi = mpi;
        Rank = rank;
        Size = size;
    }

    /// <summary>
    /// Joins the processes mpirun started (Open MPI sets OMPI_COMM_WORLD_SIZE in each), or, without mpirun, a group of
    /// one. Errors of MPI calls are returned and thrown as exceptions, so that a failed process ends the run with a
    /// message instead of a hang (mpirun then stops the others).
    /// </summary>
    public static DataParallel Start()
    {
        if (Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is null) return new DataParallel(false, 0, 1);
        int initialised = 0, provided = 0, rank = 0, size = 0;
        Mpi.Check(Mpi.MPI_Initialized(&initialised), "MPI_Initialized");
        if (initialised == 0) Mpi.Check(Mpi.MPI_Init_thread(null, null, 0, &provided), "MPI_Init_thread");
        Mpi.Check(Mpi.MPI_Comm_set_errhandler(Mpi.CommWorld, Mpi.ErrorsReturn), "MPI_Comm_set_errhandler");
        Mpi.Check(Mpi.MPI_Comm_rank(Mpi.CommWorld, &rank), "MPI_Comm_rank");
        Mpi.Check(Mpi.MPI_Comm_size(Mpi.CommWorld, &size), "MPI_Comm_size");
        // A process that dies of an exception takes the job down with it (MPI_Abort), rather than leave the others
        // waiting in a collective call (and itself hung in the runtime's abort under Open MPI's signal handlers).
        int me = rank, all = size;
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
        {
            Console.Error.WriteLine($"rank {me} of {all}: {e.ExceptionObject}");
            Console.Error.Flush();
            Mpi.MPI_Abort(Mpi.CommWorld, 1);
        };
        return new DataParallel(true, rank, size);
    }

    /// <summary>This process's rank, 0 to <see cref="Size"/> - 1.</summary>
    public int Rank { get; }

    /// <summary>The number of processes.</summary>
    public int Size { get; }

    /// <summary>Rank 0, the one that writes checkpoints and progress.</summary>
    public bool IsRoot => Rank == 0;

    /// <summary>This rank's share of <paramref name="count"/> items: a contiguous range, the first ranks taking one more when it does not divide.</summary>
    public (int Start, int Count) Shard(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        int share = count / Size, extra = count % Size;
        return (Rank * share + Math.Min(Rank, extra), share + (Rank < extra ? 1 : 0));
    }

    /// <summary>
    /// Copies every parameter of <paramref name="model"/> from rank 0 to the others (at the start, or after rank 0 loads
    /// a checkpoint), after checking that every rank holds the same parameter buffers.
    /// </summary>
    /// <exception cref="InvalidOperationException">On every rank, when the ranks' models differ (the buffer that differs is named).</exception>
    public void Broadcast(IHasParameters model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!_mpi) return;
        CheckSameModel(model);
        foreach (ParameterBuffer buffer in model.ParameterBuffers)
            fixed (float* values = buffer.Values)
                Mpi.Check(Mpi.MPI_Bcast(values, buffer.Values.Length, Mpi.Float, 0, Mpi.CommWorld), "MPI_Bcast");
    }

    /// <summary>
    /// Sums every gradient of <paramref name="model"/> across the processes and divides by their number: the gradient
    /// of the mean of the processes' mean losses, the whole batch's when the shards are equal. Call it after Backward
    /// and before clipping. Allocates nothing.
    /// </summary>
    public void AverageGradients(IHasParameters model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!_mpi || Size == 1) return;
        if (!ReferenceEquals(model, _checked)) CheckSameModel(model);
        float scale = 1f / Size;
        foreach (ParameterBuffer buffer in model.ParameterBuffers)
        {
            float[] gradients = buffer.Gradients;
            fixed (float* g = gradients)
                Mpi.Check(Mpi.MPI_Allreduce((void*)Mpi.InPlace, g, gradients.Length, Mpi.Float, Mpi.Sum, Mpi.CommWorld), "MPI_Allreduce");
            for (int i = 0; i < gradients.Length; i++) gradients[i] *= scale;
        }
    }

    private IHasParameters? _checked; // the model whose buffers were last found equal on every rank

    /// <summary>
    /// Compares the parameter buffers of every rank's model: a different number of buffers would leave a rank waiting
    /// in MPI_Allreduce for ever, a different length would fail or mix values. Two reductions of fixed size (the count,
    /// then every length, as maxima of x and -x), so that every rank takes part whatever its model, and every rank sees
    /// the same difference and throws the same error.
    /// </summary>
    private void CheckSameModel(IHasParameters model)
    {
        ParameterBuffer[] buffers = model.ParameterBuffers.ToArray();
        int[] count = [buffers.Length, -buffers.Length];
        fixed (int* c = count)
            Mpi.Check(Mpi.MPI_Allreduce((void*)Mpi.InPlace, c, 2, Mpi.Int, Mpi.Max, Mpi.CommWorld), "MPI_Allreduce");
        int most = count[0], fewest = -count[1];
        var lengths = new int[2 * most];
        for (int i = 0; i < most; i++)
        {
            int length = i < buffers.Length ? buffers[i].Values.Length : -1; // -1: this rank has no buffer i
            lengths[2 * i] = length;
            lengths[2 * i + 1] = -length;
        }
        fixed (int* l = lengths)
            Mpi.Check(Mpi.MPI_Allreduce((void*)Mpi.InPlace, l, lengths.Length, Mpi.Int, Mpi.Max, Mpi.CommWorld), "MPI_Allreduce");
        if (most != fewest)
            throw new InvalidOperationException($"rank {Rank} of {Size}: the ranks' models differ: they hold from {fewest} to {most} parameter buffers (this rank {buffers.Length}); every rank must build the same model.");
        for (int i = 0; i < most; i++)
            if (lengths[2 * i] != -lengths[2 * i + 1])
                throw new InvalidOperationException($"rank {Rank} of {Size}: the ranks' models differ: parameter buffer {i} of {most} holds from {-lengths[2 * i + 1]} to {lengths[2 * i]} values across the ranks (this rank {buffers[i].Values.Length}; a vocabulary or a size built from each rank's own data?); every rank must build the same model.");
        _checked = model;
    }

    /// <summary>Sums <paramref name="values"/> across the processes in place (a loss or an accuracy to report).</summary>
    public void Sum(Span<float> values)
    {
        if (!_mpi || Size == 1) return;
        fixed (float* v = values)
            Mpi.Check(Mpi.MPI_Allreduce((void*)Mpi.InPlace, v, values.Length, Mpi.Float, Mpi.Sum, Mpi.CommWorld), "MPI_Allreduce");
    }

    /// <summary>Leaves MPI (MPI_Finalize) when the process joined it.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_mpi) Mpi.MPI_Finalize();
    }
}
