using System;
using System.IO;
using System.Linq;
using System.Text;
using DiffPlex.DiffBuilder;
using DiffPlex.DiffBuilder.Model;
using Xunit;

namespace CellGen.Generator.Tests;

/// <summary>
/// Approved-file snapshots: Snapshots/NAME.approved.cs beside the tests. A mismatch writes NAME.received.cs and fails
/// with a readable diff; CELLGEN_ACCEPT=1 accepts the new output (review the diff before committing it).
/// </summary>
public static class Approvals
{
    public static string Folder => Path.Combine(GeneratorHarness.RepositoryRoot, "tests", "CellGen.Generator.Tests", "Snapshots");

    public static void Verify(string name, string actual)
    {
        actual = actual.Replace("\r\n", "\n");
        string approvedPath = Path.Combine(Folder, name + ".approved.cs");
        string receivedPath = Path.Combine(Folder, name + ".received.cs");
        string? approved = File.Exists(approvedPath) ? File.ReadAllText(approvedPath).Replace("\r\n", "\n") : null;
        if (approved == actual)
        {
            if (File.Exists(receivedPath)) File.Delete(receivedPath);
            return;
        }
        if (Environment.GetEnvironmentVariable("CELLGEN_ACCEPT") == "1")
        {
            WriteAtomically(approvedPath, actual);
            if (File.Exists(receivedPath)) File.Delete(receivedPath);
            return;
        }
        WriteAtomically(receivedPath, actual);
        Assert.Fail(approved is null
            ? $"No approved snapshot {approvedPath}; the output is in {receivedPath}. Run with CELLGEN_ACCEPT=1 to accept it."
            : $"{name} differs from its approved snapshot (received: {receivedPath}; CELLGEN_ACCEPT=1 accepts):\n{Diff(approved, actual)}");
    }

    private static string Diff(string approved, string actual)
    {
        var text = new StringBuilder();
        int shown = 0;
        var lines = new InlineDiffBuilder(new DiffPlex.Differ()).BuildDiffModel(approved, actual).Lines;
        for (int i = 0; i < lines.Count && shown < 80; i++)
        {
            DiffPiece line = lines[i];
            if (line.Type == ChangeType.Unchanged) continue;
            text.Append(line.Type == ChangeType.Inserted ? "+ " : "- ").Append(line.Position?.ToString() ?? "").Append(": ").AppendLine(line.Text);
            shown++;
        }
        return text.ToString();
    }

    private static void WriteAtomically(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }
}
