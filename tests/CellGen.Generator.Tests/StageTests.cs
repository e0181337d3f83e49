using System.Collections.Generic;
using System.Linq;
using CellGen.Generator.Compiler;
using CellGen.Generator.Language;
using CellGen.Generator.Model;
using Xunit;

namespace CellGen.Generator.Tests;

/// <summary>
/// Each stage of the compiler on its own model, compared by value (as the Regex generator's tests compare parse trees):
/// what parsing, binding, lowering, optimising, deriving and scheduling a few small cells gives.
/// </summary>
public sealed class StageTests
{
    private static BoundCell Bind(params string[] equations) => Bind(System.Array.Empty<SizeDeclaration>(), equations);

    private static BoundCell Bind(SizeDeclaration[] sizes, params string[] equations)
    {
        var syntax = equations.Select((e, i) => Parser.Parse(e, i)).ToList();
        Assert.All(syntax, s => Assert.Null(s.Problem));
        Binder.BindResult bound = Binder.Bind(syntax.Select(s => s.Syntax!).ToList(), "x", "h", sizes);
        Assert.Empty(bound.Problems);
        Assert.NotNull(bound.Cell);
        return bound.Cell!;
    }

    private static OptimisedCell Optimise(params string[] equations) => Optimiser.Optimise(Lowering.Lower(Bind(equations)));

    /// <summary>The graph without its labels (which name what the equations wrote, and so differ between spellings).</summary>
    private static (EquatableArray<Node>, EquatableArray<StateUpdate>) Computation(OptimisedCell cell) => (cell.Graph.Nodes, cell.Graph.Updates);

    [Fact]
    public void BlockDiagonalPartsFuseOnlyWithPartsOfAsManyBlocksAndRows()
    {
        var syntax = new[] { "i = sigmoid(R_i @ h[t-1] + U @ h[t-1] + W @ x[t])", "z = tanh(R_z @ h[t-1] + Q @ h[t-1])", "h[t] = i * z + V @ h[t-1]" }
            .Select((e, k) => Parser.Parse(e, k).Syntax!).ToList();
        var blocks = new[] { "R_i", "R_z", "Q" }.Select(m => new BlockDeclaration(m, m == "Q" ? 2 : 4, default, default)).ToList();
        Binder.BindResult bound = Binder.Bind(syntax, "x", "h", System.Array.Empty<SizeDeclaration>(), blocks: blocks);
        Assert.Empty(bound.Problems);
        Assert.Equal(new MatrixInfo("R_i", new EquatableArray<Size>(new[] { Size.Hidden }), Size.Hidden, 4), bound.Cell!.Matrices.Single(m => m.Name == "R_i"));
        OptimisedCell cell = Optimiser.Optimise(Lowering.Lower(bound.Cell!));
        // R_i and R_z (4 blocks) share one buffer; Q (2 blocks) has its own; the dense U and V share h[t-1]'s dense buffer.
        var buffers = cell.Buffers.Select(b => (b.Blocks, string.Join(" ", b.Parts.Select(p => p.Matrix)))).OrderBy(b => b.Item2).ToList();
        Assert.Equal(new[] { (2, "Q"), (4, "R_i R_z"), (1, "U V"), (1, "W") }, buffers);
    }

    private static BoundCell BindWithDropouts(DropoutDeclaration[] dropouts, params string[] equations)
    {
        var syntax = equations.Select((e, k) => Parser.Parse(e, k).Syntax!).ToList();
        Binder.BindResult bound = Binder.Bind(syntax, "x", "h", System.Array.Empty<SizeDeclaration>(), dropouts: dropouts);
        Assert.Empty(bound.DeclarationProblems);
        return bound.Cell!;
    }

    private static DropoutDeclaration Declared(DropoutKind kind, string state, double p) => new(kind, state, p, default, default);

    /// <summary>
    /// Zoneout lowers to m * h[t-1] + (1 - m) * h_new, variational dropout to m * h[t-1] where a product reads h[t-1] (and
    /// only there); neither mask takes a gradient, and 1 - m is recomputed, not kept.
    /// </summary>
    [Fact]
    public void ZoneoutAndVariationalDropoutLowerToMasksThatTakeNoGradient()
    {
        BoundCell cell = BindWithDropouts(new[] { Declared(DropoutKind.Variational, "h", 0.25), Declared(DropoutKind.Zoneout, "h", 0.1) },
            "h[t] = tanh(W @ h[t-1]) + h[t-1]");
        Assert.Equal(new[] { new DropoutInfo(DropoutKind.Variational, "h", 0.25), new DropoutInfo(DropoutKind.Zoneout, "h", 0.1) }, cell.Dropouts.ToArray());
        StepGraph graph = Lowering.Lower(cell);
        var builder = new GraphBuilder();
        int dropMask = builder.Add(new Node(Op.Mask, EquatableArray<int>.Empty, Size.Hidden, "h", Part: 0));
        int previous = builder.Add(new Node(Op.StatePrev, EquatableArray<int>.Empty, Size.Hidden, "h"));
        int dropped = builder.Add(Node.Apply(Operation.Multiply, Size.Hidden, dropMask, previous));
        int product = builder.Add(new Node(Op.MatVec, new EquatableArray<int>(new[] { dropped }), Size.Hidden, "W"));
        int tanh = builder.Add(Node.Apply(Operation.Tanh, Size.Hidden, product));
        int value = builder.Add(new Node(Op.Sum, new EquatableArray<int>(new[] { tanh, previous }), Size.Hidden, Signs: new EquatableArray<int>(new[] { 1, 1 })));
        int zoneMask = builder.Add(new Node(Op.Mask, EquatableArray<int>.Empty, Size.Hidden, "h", Part: 1));
        int kept = builder.Add(Node.Apply(Operation.Multiply, Size.Hidden, zoneMask, previous));
        int rest = builder.Add(new Node(Op.Sum, new EquatableArray<int>(new[] { builder.Constant(1), zoneMask }), Size.Hidden, Signs: new EquatableArray<int>(new[] { 1, -1 })));
        int updated = builder.Add(Node.Apply(Operation.Multiply, Size.Hidden, rest, value));
        int state = builder.Add(new Node(Op.Sum, new EquatableArray<int>(new[] { kept, updated }), Size.Hidden, Signs: new EquatableArray<int>(new[] { 1, 1 })));
        Assert.Equal(builder.Nodes.ToArray(), graph.Nodes.ToArray());
        Assert.Equal(new[] { new StateUpdate("h", state) }, graph.Updates.ToArray());

        Derivative derivative = Derivation.Derive(Optimiser.Optimise(graph));
        var nodes = derivative.Cell.Graph.Nodes;
        var masks = Enumerable.Range(0, nodes.Count).Where(i => nodes[i].Op == Op.Mask).ToList();
        Assert.Equal(2, masks.Count);
        int oneMinus = Enumerable.Range(0, nodes.Count).Single(i => nodes[i].Op == Op.Sum && nodes[i].Args.Contains(masks[1]));
        Assert.DoesNotContain(derivative.Contributions, c => masks.Contains(c.Target) || c.Target == oneMinus);
        Assert.True(derivative.Recomputed[oneMinus]);
        CellSchedule schedule = Scheduler.Schedule(derivative);
        Assert.All(masks, m => Assert.Equal((Storage.Buffer, -1), (schedule.Nodes[m].Storage, schedule.Nodes[m].AdjointBuffer)));
        Assert.All(masks, m => Assert.Equal(BufferPurpose.Mask, schedule.Buffers[schedule.Nodes[m].Buffer].Purpose));
        Assert.All(masks, m => Assert.True(schedule.Buffers[schedule.Nodes[m].Buffer].AllSteps));
    }

    /// <summary>DropConnect names the weight buffers whose products read the state at t-1, through elementwise operations, and no other.</summary>
    [Fact]
    public void DropConnectDropsTheWeightBuffersThatMultiplyItsState()
    {
        BoundCell cell = BindWithDropouts(new[] { Declared(DropoutKind.DropConnect, "h", 0.5) },
            "r = sigmoid(W_r @ [h[t-1], x[t]])", "c[t] = tanh(U @ c[t-1] + V @ (r * h[t-1]))", "h[t] = c[t] * r");
        CellSchedule schedule = Scheduler.Schedule(Derivation.Derive(Optimiser.Optimise(Lowering.Lower(cell))));
        var buffers = schedule.Optimised.Buffers;
        var dropped = buffers.Where(b => schedule.DropConnect(b.Index) == 0).Select(b => string.Join(" ", b.Parts.Select(p => p.Matrix))).OrderBy(n => n).ToArray();
        var kept = buffers.Where(b => schedule.DropConnect(b.Index) == -1).Select(b => string.Join(" ", b.Parts.Select(p => p.Matrix))).OrderBy(n => n).ToArray();
        Assert.Equal(new[] { "V", "W_r" }, dropped); // h[t-1] and r * h[t-1]
        Assert.Equal(new[] { "U", "W_r" }, kept);     // c[t-1], and x[t]'s columns of W_r
    }

    [Fact]
    public void ParsingFollowsThePrecedenceOfTheGrammar()
    {
        // The parser reads each function's arity from the table: exp takes one argument, and the problem spans the call.
        var (_, problem) = Parser.Parse("h[t] = a / b * c - exp(d, e)", 0);
        Assert.Equal(EquationProblem.Create(Diagnostics.WrongArgumentCount, 0, new TextRange(19, 9), "exp", "one argument", "2"), problem);
        var (quotient, _) = Parser.Parse("h[t] = a / b * c", 0);
        // a / b * c is (a / b) * c: the product's left operand is the quotient.
        var product = Assert.IsType<BinarySyntax>(quotient!.Value);
        Assert.Equal('*', product.Operator);
        Assert.Equal('/', Assert.IsType<BinarySyntax>(product.Left).Operator);
    }

    [Theory]
    [InlineData("h[t] = tanh(W @ [h[t-1], x[t]] + b) * (2 * 0.5)", "h[t] = tanh(W @ [h[t-1], x[t]] + b)")]      // a factor that folds to 1
    [InlineData("h[t] = tanh(W @ h[t-1] - (-(U @ x[t])))", "h[t] = tanh(W @ h[t-1] + U @ x[t])")]               // a negation inside a sum is a sign
    [InlineData("h[t] = tanh(W @ h[t-1] + U @ x[t] + exp(0) - 1)", "h[t] = tanh(W @ h[t-1] + U @ x[t])")]       // functions of numbers fold
    [InlineData("h[t] = relu(W @ h[t-1] + U @ x[t] + 0 * mean(2))", "h[t] = relu(W @ h[t-1] + U @ x[t])")]      // so does a mean of a number
    [InlineData("h[t] = tanh(W @ h[t-1] + U @ x[t])^3", "h[t] = tanh(W @ h[t-1] + U @ x[t]) * tanh(W @ h[t-1] + U @ x[t]) * tanh(W @ h[t-1] + U @ x[t])")] // a power is its products, the base once
    [InlineData("h[t] = -h[t-1]^-2 + U @ x[t]", "h[t] = -(1 / (h[t-1] * h[t-1])) + U @ x[t]")]                  // and binds tighter than a sign
    public void TheseEquationsOptimiseToTheSameStepGraphAsThose(string these, string those) =>
        Assert.Equal(Computation(Optimise(those)), Computation(Optimise(these)));

    [Fact]
    public void TheTableHoldsEveryOperationOnceWithItsRule()
    {
        // Read from the table itself, so that adding an entry needs no edit here: no entry read before it was set (a
        // static field declared after its first use), no name or spelling twice.
        Assert.All(Operation.All, Assert.NotNull);
        Assert.Equal(Operation.All.Count, Operation.All.Select(o => o.Name).Distinct().Count());
        var spellings = Operation.Functions.SelectMany(f => f.Spellings).ToList();
        Assert.Equal(spellings.Count, spellings.Distinct().Count());
        Assert.Contains(Operation.Functions, f => f.Name == "sigmoid" && f.Spellings.Contains("σ"));
        foreach (Operation op in Operation.All.Where(o => o.Kind == OperationKind.Elementwise && !o.IsInternal))
            Assert.Equal(op.Arity, op.Derivatives.Count); // every elementwise operation of the language has its derivative
    }

    [Fact]
    public void TheSizesOfAProjectedCellFollowFromUse()
    {
        BoundCell cell = Bind(new[] { new SizeDeclaration("r", "P", default, default) },
            "c[t] = tanh(W @ [h[t-1], x[t], r[t-1]] + b)", "r[t] = W_r @ c[t] + q", "h[t] = c[t] * sigmoid(U @ r[t])");
        Assert.Equal(new[] { Size.Hidden, Size.Declared("P"), Size.Hidden }, cell.StateSizes.ToArray());
        Assert.Equal(new MatrixInfo("W", new EquatableArray<Size>(new[] { Size.Hidden, Size.Input, Size.Declared("P") }), Size.Hidden), cell.Matrices.Single(m => m.Name == "W"));
        Assert.Equal(new MatrixInfo("W_r", new EquatableArray<Size>(new[] { Size.Hidden }), Size.Declared("P")), cell.Matrices.Single(m => m.Name == "W_r"));
        Assert.Equal(new VectorInfo("q", Size.Declared("P")), cell.Vectors.Single(v => v.Name == "q"));
        Assert.Equal(new EquatableArray<string>(new[] { "P" }), cell.SizeNames);
        Assert.False(cell.InputIsHidden);
    }

    [Fact]
    public void AHighwayNeedsTheInputSizeToBeH()
    {
        Assert.True(Bind("h[t] = sigmoid(W @ x[t]) * h[t-1] + (1 - sigmoid(W @ x[t])) * x[t]").InputIsHidden);
        Assert.False(Bind("h[t] = tanh(W @ [h[t-1], x[t]] + b)").InputIsHidden);
    }

    [Fact]
    public void TheDerivativeOfAnRnnStepIsTheTableRuleOfTanhAndTheSumsPassThrough()
    {
        Derivative derivative = Derivation.Derive(Optimise("h[t] = tanh(W @ [h[t-1], x[t]] + b)"));
        var nodes = derivative.Cell.Graph.Nodes;
        int tanh = Enumerable.Range(0, nodes.Count).Single(i => nodes[i].Operation == Operation.Tanh);
        int sum = nodes[tanh].Args[0];
        var grad = new DGrad();
        var expected = new List<Contribution>
        {
            new(tanh, sum, new DMul(grad, new DSub(new DConstant(1), new DMul(new DValue(tanh), new DValue(tanh))))),
        };
        expected.AddRange(nodes[sum].Args.Select(a => new Contribution(sum, a, grad)));
        int copy = Enumerable.Range(0, nodes.Count).SingleOrDefault(i => nodes[i].Op == Op.Copy, -1);
        Assert.Equal(-1, copy); // tanh computes the state itself: no copy
        Assert.Equal(expected.OrderBy(c => c.From).ThenBy(c => c.Target), derivative.Contributions.OrderBy(c => c.From).ThenBy(c => c.Target));
        Assert.True(derivative.Needed[tanh]); // the tape keeps y for 1 - y²
        Assert.Equal(new[] { tanh }, Enumerable.Range(0, nodes.Count).Where(i => derivative.Needed[i]));
    }

    [Fact]
    public void TheScheduleOfAnRnnHoistsTheInputsProductAndFusesTheStepsProductWithItsSweep()
    {
        CellSchedule schedule = Scheduler.Schedule(Derivation.Derive(Optimise("h[t] = tanh(W @ [h[t-1], x[t]] + b)")));
        var calls = schedule.Optimised.Calls;
        int step = calls.Single(c => !c.Hoisted).Index, input = calls.Single(c => c.Hoisted).Index;
        Assert.Equal(new[] { new Instruction(InstructionKind.Gemm, input) }, schedule.HoistedForward.ToArray());
        Assert.Equal(new[] { new Instruction(InstructionKind.GemmThenSweep, step, 0) }, schedule.StepForward.ToArray());
        Assert.Equal(new[] { new Instruction(InstructionKind.BackwardSweep, 0), new Instruction(InstructionKind.GemmData, step) }, schedule.StepBackward.ToArray());
        Assert.Equal(new[]
        {
            new Instruction(InstructionKind.GemmWeights, step), new Instruction(InstructionKind.GemmData, input), new Instruction(InstructionKind.GemmWeights, input),
        }, schedule.AfterLoopBackward.ToArray());
        Assert.Single(schedule.Sweeps);
        // W h[t-1] is only added to U x[t] + b: the step's product adds itself onto the input's.
        Assert.Equal(new CallPlan(step, Phase.Step, 1, schedule.Calls[step].OutputBuffer, schedule.Calls[step].GradientBuffer, -1, AddsOnto: input), schedule.Calls[step]);
        Assert.Equal(-1, schedule.Calls[input].AddsOnto);
        int stepPart = Enumerable.Range(0, schedule.Graph.Nodes.Count).Single(i => schedule.Optimised.CallOfNode[i] == step);
        int inputPart = Enumerable.Range(0, schedule.Graph.Nodes.Count).Single(i => schedule.Optimised.CallOfNode[i] == input);
        Assert.True(schedule.AddedOnto(stepPart));
        Assert.False(schedule.AddedOnto(inputPart));
        // Subtracted, it is not.
        CellSchedule other = Scheduler.Schedule(Derivation.Derive(Optimise("h[t] = tanh(W @ h[t-1] - U @ x[t] + b)")));
        Assert.All(other.Calls, c => Assert.Equal(-1, c.AddsOnto));
    }

    [Fact]
    public void AMeanIsReducedBetweenTwoSweepsAndItsGradientSpreadBack()
    {
        CellSchedule schedule = Scheduler.Schedule(Derivation.Derive(Optimise("h[t] = tanh(W @ [h[t-1], x[t]]) - mean(tanh(W @ [h[t-1], x[t]]))")));
        var nodes = schedule.Graph.Nodes;
        int mean = Enumerable.Range(0, nodes.Count).Single(i => nodes[i].Op == Op.Mean);
        Assert.Equal(Size.Row, nodes[mean].Size);
        Assert.Contains(new Instruction(InstructionKind.Reduce, mean), schedule.StepForward);
        Assert.Contains(new Instruction(InstructionKind.ReduceData, mean), schedule.StepBackward);
        // tanh's sweep, then the mean, then the sweep that subtracts it.
        int reduce = schedule.StepForward.ToList().IndexOf(new Instruction(InstructionKind.Reduce, mean));
        Assert.True(reduce > 0 && reduce < schedule.StepForward.Count - 1);
        Assert.Equal(2, schedule.Sweeps.Count);
    }

    private static BoundCell BindWithHeads(int heads, SizeDeclaration[] sizes, params string[] equations)
    {
        var syntax = equations.Select((e, k) => Parser.Parse(e, k)).ToList();
        Assert.All(syntax, s => Assert.Null(s.Problem));
        Binder.BindResult bound = Binder.Bind(syntax.Select(s => s.Syntax!).ToList(), "x", "h", sizes, heads: heads);
        Assert.Empty(bound.Problems);
        Assert.Empty(bound.DeclarationProblems);
        return bound.Cell!;
    }

    private static SizeDeclaration Sized(string name, string size) => new(name, size, default, default);

    /// <summary>
    /// outer(v, k) lowers to the product of v spread along the matrix rows and k down the columns; C[t] @ q to the sums
    /// per matrix row of C[t] times q's columns; dot to the sums per head of a product. The gates per head bind to a
    /// matrix of N rows.
    /// </summary>
    [Fact]
    public void MatrixMemoryLowersToSpreadsAndSegmentSums()
    {
        BoundCell cell = BindWithHeads(2, new[] { Sized("C", "matrix"), Sized("g", "heads") },
            "g = sigmoid(W_g @ x[t])", "C[t] = g * C[t-1] + outer(h[t-1], x[t])", "h[t] = tanh(C[t] @ h[t-1]) * dot(h[t-1], h[t-1])");
        Assert.Equal(2, cell.Heads);
        Assert.Equal(Size.Heads, cell.Matrices.Single(m => m.Name == "W_g").Rows);
        Assert.Equal(new[] { Size.Memory, Size.Hidden }, cell.StateSizes.ToArray());
        StepGraph graph = Lowering.Lower(cell);
        var nodes = graph.Nodes;
        int Find(System.Func<Node, bool> match) => Enumerable.Range(0, nodes.Count).Single(i => match(nodes[i]));
        int previous = Find(n => n.Op == Op.StatePrev && n.Name == "h");
        int rows = Find(n => n.Op == Op.Rows);
        int columns = Find(n => n.Op == Op.Columns && nodes[n.Args[0]].Op == Op.Copy && nodes[nodes[n.Args[0]].Args[0]].Op == Op.Input);
        Assert.Equal(new Node(Op.Rows, new EquatableArray<int>(new[] { nodes[rows].Args[0] }), Size.Memory), nodes[rows]);
        Assert.Equal(Op.Copy, nodes[nodes[rows].Args[0]].Op); // h[t-1] copied into a buffer of its own, whose gradient the sweep sums into
        Assert.Contains(Node.Apply(Operation.Multiply, Size.Memory, rows, columns), nodes);
        int readOut = Find(n => n.Op == Op.SegmentSum && n.Size == Size.Hidden);
        Assert.Equal(Size.Memory, nodes[nodes[readOut].Args[0]].Size);
        int dot = Find(n => n.Op == Op.SegmentSum && n.Size == Size.Heads);
        Assert.Equal(Node.Apply(Operation.Multiply, Size.Hidden, previous, previous), nodes[nodes[dot].Args[0]]);
    }

    /// <summary>
    /// The matrix memory's sweep walks matrix rows and a sweep of H that reads a value per head walks heads; outer(v, k)
    /// is recomputed by the backward pass, never kept; the read-out and the dot product are reductions between sweeps.
    /// </summary>
    [Fact]
    public void MatrixMemorySweepsWalkMatrixRowsAndHeadsAndRecomputeTheOuterProduct()
    {
        BoundCell cell = BindWithHeads(2, new[] { Sized("C", "matrix"), Sized("g", "heads") },
            "g = sigmoid(W_g @ x[t])", "C[t] = g * C[t-1] + (1 - g) * outer(h[t-1], x[t])", "h[t] = g * tanh(C[t] @ h[t-1])");
        CellSchedule schedule = Scheduler.Schedule(Derivation.Derive(Optimiser.Optimise(Lowering.Lower(cell))));
        var nodes = schedule.Graph.Nodes;
        SweepPlan memory = Assert.Single(schedule.Sweeps, s => s.Shape == SweepShape.MatrixRows);
        Assert.Equal(Size.Memory, memory.Size);
        SweepPlan byHeads = Assert.Single(schedule.Sweeps, s => s.Shape == SweepShape.Heads);
        Assert.Equal(Size.Hidden, byHeads.Size); // h[t], which reads g
        Assert.True(byHeads.Level > memory.Level);
        Assert.All(schedule.Sweeps.Where(s => s.Shape == SweepShape.Rows), s => Assert.NotEqual(Size.Memory, s.Size));
        int outer = Enumerable.Range(0, nodes.Count).Single(i => nodes[i].Operation == Operation.Multiply && nodes[nodes[i].Args[0]].Op == Op.Rows);
        Assert.True(schedule.Derivative.Needed[outer] && schedule.Derivative.Recomputed[outer]);
        Assert.DoesNotContain(schedule.Buffers, b => b.AllSteps && b.Width.Contains(Size.Memory)); // the state's history is the runner's, not a buffer
        int readOut = Enumerable.Range(0, nodes.Count).Single(i => nodes[i].Op == Op.SegmentSum);
        Assert.Contains(new Instruction(InstructionKind.Reduce, readOut), schedule.StepForward);
        Assert.Contains(new Instruction(InstructionKind.ReduceData, readOut), schedule.StepBackward);
    }
}
