using System.Collections.Generic;
using System.Linq;
using CellGen.Generator.Compiler;
using CellGen.Generator.Model;
using CellGen.Generator.Language;

namespace CellGen.Generator.Emit;

/// <summary>The elementwise kernels: one struct per sweep and direction, with the equations and derivatives they compute.</summary>
internal sealed partial class VariantEmitter
{
    /// <summary>Adds a view a kernel reads or writes; one it writes anywhere is a Span, else a ReadOnlySpan.</summary>
    private static void AddView(Dictionary<string, View> views, View? view, bool write)
    {
        if (view is null) return;
        if (views.TryGetValue(view.Field, out View? existing))
        {
            if (write) views[view.Field] = existing with { ReadOnly = false };
            return;
        }
        views[view.Field] = view with { ReadOnly = !write };
    }

    private Dictionary<string, View> ForwardViews(SweepPlan sweep)
    {
        var views = new Dictionary<string, View>();
        var members = new HashSet<int>(sweep.Nodes);
        void Add(View? view, bool write) => AddView(views, view, write);
        foreach (int n in sweep.Nodes)
        {
            foreach (int a in _graph.Nodes[n].Args)
                if (!members.Contains(a) && !AddedOnto(a)) Add(ValueView(a, sweep.Phase, forward: true), false);
            foreach (StateUpdate update in _graph.Updates.Where(u => u.Node == n))
                Add(StateView(update.State), true);
            NodePlan plan = _schedule.Nodes[n];
            if (plan.Storage == Storage.Buffer) Add(ValueView(n, sweep.Phase, forward: true), true);
        }
        return views;
    }

    /// <summary>Writes a kernel's struct up to its Apply method's opening; the scope closes both.</summary>
    private CodeWriter.Scope EmitKernelHeader(SweepPlan sweep, bool forward, Dictionary<string, View> views)
    {
        string name = KernelName(sweep, forward);
        string phase = sweep.Phase == Phase.Hoisted ? "before the loop, over all T * B rows" : "one step, over B rows";
        var named = sweep.Nodes.Select(n => _describe.LabelOf(n)).Where(l => l is not null).ToList();
        string what = named.Count > 0 ? string.Join(", ", named) : _describe.Node(sweep.Nodes[sweep.Nodes.Count - 1]);
        _w.Line($"/// <summary>{(forward ? "Forward" : "Backward")} sweep {sweep.Index} ({phase}): {Xml(what)}.</summary>");
        _w.Line(CellEmitter.GeneratedCode);
        CodeWriter.Scope type = _w.Block($"private ref struct {name} : {Support}.IElementwiseKernel<{T}>");
        _w.Line($"public int {string.Join(", ", new[] { "H", "X" }.Concat(DeclaredSizes.Select(n => SizeOf(Size.Declared(n)))))};");
        if (forward) _w.Line("public bool Record;");
        EmitHeadsConstant();
        _w.Line($"public static int Work => {SweepWork(sweep, forward)}; // per element, in simple operations: decides whether two cores share the sweep");
        if (!forward && SumsOverRows(sweep))
            _w.Line("public static bool Splittable => false; // it sums over each row's features: one core walks the whole row");
        foreach (View view in views.Values)
            _w.Line($"public global::System.{(view.ReadOnly ? "ReadOnlySpan" : "Span")}<{T}> {view.Field};");
        _w.Line();
        // Tier 0 would run the sweep with every lane operation a call, until tiering caught up: seconds on one core.
        _w.Line("[global::System.Runtime.CompilerServices.MethodImpl(global::System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // optimised from the first call");
        return type.And(_w.Block($"public void Apply<V>(int row, int j) where V : struct, {Support}.ISimd<V, {T}>"));
    }

    /// <summary>A rough cost per element: an activation (an exponential and a division) counts 8, other operations 1, a backward sweep twice its forward one.</summary>
    private int SweepWork(SweepPlan sweep, bool forward)
    {
        int work = sweep.Nodes.Sum(n => _graph.Nodes[n].Operation?.Work ?? 1);
        return forward ? work : 2 * work;
    }

    private static string Xml(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    /// <summary>The lanes of <paramref name="view"/> a kernel of <paramref name="shape"/> reads at (row, j): loaded, or one number broadcast.</summary>
    private string Load(View view, SweepShape shape, Op spread = Op.Copy)
    {
        (string index, bool scalar) = At(view, shape, spread);
        return scalar ? $"V.Broadcast({view.Field}, {index})" : $"V.Load({view.Field}, {index})";
    }

    private string EquationComment(int node)
    {
        Label? label = _graph.Labels.FirstOrDefault(l => l.Node == node);
        if (label is not null)
        {
            BoundEquation equation = _cell.Equations.First(e => e.Index == label.Equation);
            return System.Text.RegularExpressions.Regex.Replace(equation.Text.Trim(), @"\s+", " ");
        }
        return _describe.Node(node);
    }

    private string ForwardExpression(Node node, System.Func<int, string> arg)
    {
        switch (node.Op)
        {
            case Op.Sum:
            {
                var text = new System.Text.StringBuilder();
                for (int k = 0; k < node.Args.Count; k++)
                {
                    string term = arg(node.Args[k]);
                    if (k == 0) text.Append(node.Signs[k] < 0 ? "-" + term : term);
                    else text.Append(node.Signs[k] < 0 ? " - " : " + ").Append(term);
                }
                return text.ToString();
            }
            case Op.Apply: return node.Operation!.Emit(node.Args.Select(arg).ToArray(), T);
            case Op.Copy: return arg(node.Args[0]);
        }
        throw new System.InvalidOperationException("No forward expression for " + node.Op);
    }

    /// <summary>
    /// Whether single-precision code reads <paramref name="node"/>, a part of a step's product, only as added onto the
    /// part of a product before the loop that its sum also adds (CallPlan.AddsOnto): it is no value of its own.
    /// </summary>
    private bool AddedOnto(int node) => _p.IsSingle && _schedule.AddedOnto(node);

    private void EmitForwardKernel(SweepPlan sweep)
    {
        var views = ForwardViews(sweep);
        using CodeWriter.Scope kernel = EmitKernelHeader(sweep, forward: true, views);
        var names = new Names(new[] { "row", "j", "V", "H", "X", "Record", "heads" }.Concat(DeclaredSizes.Select(n => SizeOf(Size.Declared(n)))).Concat(views.Keys).ToArray());
        var members = new HashSet<int>(sweep.Nodes);
        var local = new Dictionary<int, string>();
        // The part before the loop that each added-onto part of the step's product was added to, by the product.
        var addedTo = new Dictionary<int, int>();
        foreach (Node sum in sweep.Nodes.Select(n => _graph.Nodes[n]).Where(n => n.Op == Op.Sum))
            foreach (int part in sum.Args.Where(AddedOnto))
                addedTo[sum.Args.Single(a => a != part && _schedule.Nodes[a].Storage == Storage.CallOutput && _schedule.Nodes[a].Buffer == _schedule.Calls[_schedule.Nodes[part].Buffer].AddsOnto)] = part;

        string Arg(int a)
        {
            Node node = _graph.Nodes[a];
            if (node.Op == Op.Constant) return $"V.Constant({_p.Literal(node.Value)})";
            if (local.TryGetValue(a, out string? name)) return name;
            name = names.Take(_preferred[a]);
            local[a] = name;
            View view = ValueView(a, sweep.Phase)!;
            string what = addedTo.TryGetValue(a, out int part)
                ? $"{_describe.Node(a, false)}, with {_describe.Node(part, false)} added by the step's product"
                : _describe.Node(a, false);
            _w.Line($"V {name} = {Load(view, sweep.Shape)}; // {what}");
            return name;
        }

        var recordOnly = new List<string>();
        foreach (int n in sweep.Nodes)
        {
            Node node = _graph.Nodes[n];
            // A sum's added-onto part is already in the part it was added to: the sum of the two is one load.
            if (node.Op == Op.Sum && node.Args.Any(AddedOnto))
            {
                int[] kept = Enumerable.Range(0, node.Args.Count).Where(k => !AddedOnto(node.Args[k])).ToArray();
                node = node with { Args = kept.Select(k => node.Args[k]).ToEquatableArray(), Signs = kept.Select(k => node.Signs[k]).ToEquatableArray() };
            }
            // Only the two parts: loaded as the sum it is.
            bool added = node.Op == Op.Sum && node.Args.Count == 1 && addedTo.ContainsKey(node.Args[0]);
            if (!node.IsSpread && !added) foreach (int a in node.Args) if (!members.Contains(a)) Arg(a);
            _w.Comment(EquationComment(n));
            string name = names.Take(_preferred[n]);
            string expression = added ? Load(ValueView(node.Args[0], sweep.Phase)!, sweep.Shape) + "; // added up by the step's product"
                : (node.IsSpread ? Spread(node, sweep) : ForwardExpression(node, Arg)) + ";";
            local[n] = name;
            _w.Line($"V {name} = {expression}");
            foreach (StateUpdate update in _graph.Updates.Where(u => u.Node == n))
                _w.Line($"V.Store({name}, {StateView(update.State).Field}, {At(StateView(update.State), sweep.Shape).Index});");
            NodePlan plan = _schedule.Nodes[n];
            if (plan.Storage == Storage.Buffer)
            {
                View view = ValueView(n, sweep.Phase)!;
                string store = $"V.Store({name}, {view.Field}, {At(view, sweep.Shape).Index});";
                if (plan.StoreAlways) _w.Line(store);
                else recordOnly.Add(store);
            }
        }
        if (recordOnly.Count > 0)
        {
            using (_w.Block("if (Record) // the tape: values the backward pass reads"))
            {
                foreach (string store in recordOnly) _w.Line(store);
            }
        }
    }

    /// <summary>A value of size H spread into a matrix memory's sweep (Rows or Columns): loaded from its own buffer, nothing computed.</summary>
    private string Spread(Node node, SweepPlan sweep) => Load(ValueView(node.Args[0], sweep.Phase)!, sweep.Shape, node.Op);

    /// <summary>
    /// The nodes outside a backward sweep whose gradient it sums into, several of its elements into one place: one value
    /// per row or per head, a unit spread along a matrix row (Rows) or down a column (Columns). Cleared before their first
    /// writer; parameter vectors, whose gradients always accumulate, are not among them.
    /// </summary>
    private IEnumerable<int> SummedTargets(SweepPlan sweep)
    {
        var members = new HashSet<int>(sweep.Nodes);
        return sweep.Nodes.SelectMany(n => ContributionsFrom(n).Select(c => (c.Target, Spread: _graph.Nodes[n].IsSpread ? _graph.Nodes[n].Op : Op.Copy)))
            .Where(c => !members.Contains(c.Target) && _schedule.Nodes[c.Target].Storage != Storage.Vector
                && (c.Spread == Op.Columns || At(AdjointView(c.Target, sweep.Phase), sweep.Shape, c.Spread).Scalar))
            .Select(c => c.Target).Distinct();
    }

    private bool SumsOverRows(SweepPlan sweep) => sweep.Size != Size.Row && (sweep.Shape != SweepShape.Rows || SummedTargets(sweep).Any() || ScalarTargets(sweep));

    /// <summary>Whether a backward sweep adds into a learnable scalar's gradient, one place that every feature reaches.</summary>
    private bool ScalarTargets(SweepPlan sweep) => sweep.Nodes.Any(n => _graph.Nodes[n].Args.Any(a => _graph.Nodes[a] is { Op: Op.Vector, Size.Kind: SizeKind.One }));

    private IEnumerable<Contribution> ContributionsFrom(int node) => _schedule.Derivative.Contributions.Where(c => c.From == node);

    private Dictionary<string, View> BackwardViews(SweepPlan sweep)
    {
        var views = new Dictionary<string, View>();
        var members = new HashSet<int>(sweep.Nodes);
        void Add(View? view, bool write) => AddView(views, view, write);
        foreach (int value in ValuesRead(sweep)) Add(ValueView(_graph.Nodes[value].IsSpread ? _graph.Nodes[value].Args[0] : value, sweep.Phase), false);
        foreach (int n in sweep.Nodes)
        {
            foreach (StateUpdate update in _graph.Updates.Where(u => u.Node == n))
            {
                if (update.State == _cell.Output) Add(OutputGradientView(), false);
                Add(CarryInView(update.State), false);
            }
            if (_schedule.Nodes[n].AdjointBuffer >= 0) Add(AdjointView(n, sweep.Phase), false);
            foreach (Contribution c in ContributionsFrom(n))
                if (!members.Contains(c.Target)) Add(AdjointView(c.Target, sweep.Phase), true);
        }
        return views;
    }

    /// <summary>The forward values the backward sweep reads, with what recomputing them needs, in graph order.</summary>
    private List<int> ValuesRead(SweepPlan sweep)
    {
        var read = new SortedSet<int>();
        void Need(int node)
        {
            if (_graph.Nodes[node].Op == Op.Constant || !read.Add(node)) return;
            if (_schedule.Derivative.Recomputed[node] && !_graph.Nodes[node].IsSpread) foreach (int a in _graph.Nodes[node].Args) Need(a);
        }
        void Walk(DExpr e)
        {
            switch (e)
            {
                case DValue v: Need(v.Node); break;
                case DMul m: Walk(m.Left); Walk(m.Right); break;
                case DDiv d: Walk(d.Left); Walk(d.Right); break;
                case DCall c: foreach (DExpr argument in c.Arguments) Walk(argument); break;
                case DSub s: Walk(s.Left); Walk(s.Right); break;
                case DNeg n: Walk(n.Operand); break;
            }
        }
        foreach (int n in sweep.Nodes)
            foreach (Contribution c in ContributionsFrom(n)) Walk(c.Value);
        return read.Where(n => !_schedule.Derivative.Recomputed[n]).Concat(read.Where(n => _schedule.Derivative.Recomputed[n])).ToList();
    }

    private void EmitBackwardKernel(SweepPlan sweep)
    {
        var views = BackwardViews(sweep);
        using CodeWriter.Scope kernel = EmitKernelHeader(sweep, forward: false, views);
        var names = new Names(new[] { "row", "j", "V", "H", "X", "heads" }.Concat(DeclaredSizes.Select(n => SizeOf(Size.Declared(n)))).Concat(views.Keys).ToArray());
        var members = new HashSet<int>(sweep.Nodes);
        var value = new Dictionary<int, string>();
        var self = new Instruction(InstructionKind.BackwardSweep, sweep.Index);

        string ValueOf(int node) => _graph.Nodes[node].Op == Op.Constant ? $"V.Constant({_p.Literal(_graph.Nodes[node].Value)})" : value[node];

        var read = ValuesRead(sweep);
        if (read.Count > 0) _w.Comment("Forward values this backward sweep reads");
        foreach (int n in read)
        {
            string name = names.Take(_preferred[n]);
            if (_graph.Nodes[n].IsSpread)
                _w.Line($"V {name} = {Spread(_graph.Nodes[n], sweep)}; // {_describe.Node(n, false)}");
            else if (_schedule.Derivative.Recomputed[n])
                _w.Line($"V {name} = {ForwardExpression(_graph.Nodes[n], ValueOf)}; // recomputed: {_describe.Node(n, false)}");
            else
                _w.Line($"V {name} = {Load(ValueView(n, sweep.Phase)!, sweep.Shape)}; // {_describe.Node(n, false)}");
            value[n] = name;
        }

        // Terms of each adjoint, as code and as the derivative they come from (for the comment).
        var pending = new Dictionary<int, List<(string Code, string Math)>>();
        void Pend(int node, string code, string math)
        {
            if (!pending.TryGetValue(node, out var list)) pending[node] = list = new List<(string, string)>();
            list.Add((code, math));
        }
        foreach (int n in sweep.Nodes)
        {
            foreach (StateUpdate update in _graph.Updates.Where(u => u.Node == n))
            {
                if (update.State == _cell.Output) Pend(n, Load(OutputGradientView(), sweep.Shape), $"d({update.State}[t]) from the output");
                Pend(n, Load(CarryInView(update.State), sweep.Shape), $"d({update.State}[t]) from step t+1");
            }
            if (_schedule.Nodes[n].AdjointBuffer >= 0) Pend(n, Load(AdjointView(n, sweep.Phase), sweep.Shape), $"d({_describe.Short(n)}) from later stages");
        }

        var externalOrder = new List<int>();
        foreach (int n in sweep.Nodes.Reverse())
        {
            if (!pending.TryGetValue(n, out var terms)) continue;
            if (_describe.LabelOf(n) is not null) _w.Comment(EquationComment(n));
            _w.Comment($"d({_describe.Short(n)}) = {Terms(terms.Select(t => t.Math))}");
            string d = names.Take("d_" + _preferred[n]);
            _w.Line($"V {d} = {Terms(terms.Select(t => t.Code))};");
            foreach (Contribution c in ContributionsFrom(n))
            {
                if (_graph.Nodes[n].IsSpread)
                {
                    // Back from the matrix to the unit it spread: summed along the matrix row (Rows) or down the column (Columns).
                    View target = AdjointView(c.Target, sweep.Phase);
                    (string index, bool scalar) = At(target, sweep.Shape, _graph.Nodes[n].Op);
                    _w.Comment($"d({_describe.Short(c.Target)}) += d({_describe.Short(n)}), summed {(_graph.Nodes[n].Op == Op.Rows ? "along its matrix row" : "down its matrix column")}");
                    _w.Line(scalar ? $"V.AddSumTo({d}, {target.Field}, {index});" : $"V.AddTo({d}, {target.Field}, {index});");
                    continue;
                }
                if (!members.Contains(c.Target) && !pending.ContainsKey(c.Target)) externalOrder.Add(c.Target);
                Pend(c.Target, Render(c.Value, d, ValueOf), _describe.Derivative(c.Value, n));
            }
        }
        if (externalOrder.Count > 0) _w.Comment("Gradients leaving this sweep");
        var written = new Dictionary<string, int>();
        foreach (int target in externalOrder)
        {
            View view = AdjointView(target, sweep.Phase);
            (string index, bool scalar) = At(view, sweep.Shape);
            // Two products that share one gradient buffer land on the same place, in whichever order the equations
            // name them: the second is not written again.
            string place = view.Field + "[" + index + "]";
            if (written.TryGetValue(place, out int twin) && SharedGradient(twin, target) is { } shared)
            {
                _w.Comment($"d({_describe.Short(target)}) is the same: product{shared.Call} shares product{shared.SharesGradientWith}'s gradient");
                continue;
            }
            written[place] = target;
            string sum = Terms(pending[target].Select(t => t.Code));
            if (scalar)
            {
                // A value per row, per head (or in all) receives the sum over its features: added lane by lane, cleared before its first writer.
                _w.Comment($"d({_describe.Short(target)}) += the sum over the features of {Terms(pending[target].Select(t => t.Math))}");
                _w.Line($"V.AddSumTo({sum}, {view.Field}, {index});");
                continue;
            }
            bool store = _graph.Nodes[target].Op != Op.Vector && _schedule.FirstWriter[target] == self;
            _w.Comment($"d({_describe.Short(target)}) {(store ? "=" : "+=")} {Terms(pending[target].Select(t => t.Math))}");
            _w.Line($"V.{(store ? "Store" : "AddTo")}({sum}, {view.Field}, {index});");
        }
    }

    /// <summary>The call of the two products' outputs that shares the other's gradient buffer, if one does.</summary>
    private CallPlan? SharedGradient(int first, int second)
    {
        if (_schedule.Nodes[first].Storage != Storage.CallOutput || _schedule.Nodes[second].Storage != Storage.CallOutput) return null;
        CallPlan a = _schedule.Calls[_schedule.Nodes[first].Buffer], b = _schedule.Calls[_schedule.Nodes[second].Buffer];
        return a.SharesGradientWith == b.Call ? a : b.SharesGradientWith == a.Call ? b : null;
    }

    /// <summary>Joins terms with + and -, so that a + -b reads a - b.</summary>
    private static string Terms(IEnumerable<string> terms)
    {
        var text = new System.Text.StringBuilder();
        foreach (string term in terms)
        {
            if (text.Length == 0) text.Append(term);
            else if (term.StartsWith("-", System.StringComparison.Ordinal)) text.Append(" - ").Append(term.Substring(1));
            else text.Append(" + ").Append(term);
        }
        return text.ToString();
    }

    private string Render(DExpr expr, string grad, System.Func<int, string> value) => expr switch
    {
        DGrad => grad,
        DValue v => value(v.Node),
        DConstant c => $"V.Constant({_p.Literal(c.Value)})",
        DMul m => Factor(m.Left, grad, value) + " * " + Factor(m.Right, grad, value),
        DSub s => Render(s.Left, grad, value) + " - " + Factor(s.Right, grad, value),
        DNeg n => "-" + Factor(n.Operand, grad, value),
        DDiv d => Factor(d.Left, grad, value) + " / " + (d.Right is DMul or DDiv or DNeg ? "(" + Render(d.Right, grad, value) + ")" : Factor(d.Right, grad, value)),
        DCall c => c.Operation.Emit(c.Arguments.Select(a => Render(a, grad, value)).ToArray(), T),
        _ => throw new System.InvalidOperationException("Unknown derivative " + expr.GetType().Name),
    };

    private string Factor(DExpr expr, string grad, System.Func<int, string> value) =>
        expr is DSub ? "(" + Render(expr, grad, value) + ")" : Render(expr, grad, value);
}
