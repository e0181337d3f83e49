using System;
using System.Runtime.InteropServices;

namespace CellGen.Distributed;

/// <summary>
/// The few MPI calls data-parallel training needs, bound to Open MPI's C library when first used (so that nothing needs
/// MPI installed until a process launched by mpirun asks for it). Open MPI's handles are the addresses of its
/// predefined objects (ompi_mpi_comm_world, ompi_mpi_float, ompi_mpi_op_sum...), read from the library's exports.
/// MPI.NET 1.4.0 binds MS-MPI (msmpi.dll, integer handles) and does not load with Open MPI on Linux: hence this layer.
/// </summary>
internal static unsafe class Mpi
{
    private const string Library = "libmpi.so.40";
    private static nint s_library;

    public static nint CommWorld => Export("ompi_mpi_comm_world");
    public static nint Float => Export("ompi_mpi_float");
    public static nint Int => Export("ompi_mpi_int");
    public static nint Sum => Export("ompi_mpi_op_sum");
    public static nint Max => Export("ompi_mpi_op_max");
    public static nint ErrorsReturn => Export("ompi_mpi_errors_return");
    public static readonly nint InPlace = 1; // Open MPI's MPI_IN_PLACE

    private static nint Export(string name)
    {
        if (s_library == 0 && !NativeLibrary.TryLoad(Library, typeof(Mpi).Assembly, DllImportSearchPath.SafeDirectories | DllImportSearchPath.System32, out s_library))
            throw new DllNotFoundException($"Open MPI's library ({Library}) was not found: install Open MPI (apt-get install -y openmpi-bin libopenmpi-dev) to train under mpirun.");
        return NativeLibrary.GetExport(s_library, name);
    }

    [DllImport(Library)] public static extern int MPI_Init_thread(int* argc, byte*** argv, int required, int* provided);
    [DllImport(Library)] public static extern int MPI_Initialized(int* flag);
    [DllImport(Library)] public static extern int MPI_Finalize();
    [DllImport(Library)] public static extern int MPI_Comm_rank(nint comm, int* rank);
    [DllImport(Library)] public static extern int MPI_Comm_size(nint comm, int* size);
    [DllImport(Library)] public static extern int MPI_Comm_set_errhandler(nint comm, nint handler);
    [DllImport(Library)] public static extern int MPI_Allreduce(void* send, void* receive, int count, nint type, nint op, nint comm);
    [DllImport(Library)] public static extern int MPI_Bcast(void* buffer, int count, nint type, int root, nint comm);
    [DllImport(Library)] public static extern int MPI_Abort(nint comm, int code);

    /// <summary>Throws when an MPI call fails (errors return, as set at start, instead of aborting silently).</summary>
    public static void Check(int code, string call)
    {
        if (code != 0) throw new InvalidOperationException($"{call} failed with MPI error {code}: another process has probably failed; the run stops here (resume from the last checkpoint).");
    }
}
