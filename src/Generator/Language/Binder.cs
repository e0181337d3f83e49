using System.Collections.Generic;
using System.Linq;
using CellGen.Generator.Model;

namespace CellGen.Generator.Language;

/// <summary>A problem of the cell as a whole, reported at its [RecurrentCell] attribute.</summary>
internal sealed record CellProblem(string Id, EquatableArray<string> Arguments);

/// <summary>
/// Resolves every name to its role (input, state, intermediate, matrix, vector) and size, in equation order.
/// All semantic errors of the language are found here; past this step a cell is well formed.
/// </summary>
internal sealed class Binder
{
    private readonly IReadOnlyList<EquationSyntax> _equations;
    private readonly string _input;
    private readonly string _output;
    private readonly IReadOnlyList<SizeDeclaration> _declarations;
    private readonly IReadOnlyList<BlockDeclaration> _blocks;
    private readonly IReadOnlyList<DropoutDeclaration> _dropouts;
    private readonly int _heads; // [Heads(N)]'s N, 0 without it
    private bool _headsMissingReported; // without [Heads], its first use says so, and the rest bind as if it were there
    private readonly HashSet<string> _rejectedSizes = new(); // names whose [Size] was refused: not reported again where used
    private readonly bool _layer; // the equations of a [Layer], made a cell's by LayerSyntax: the input has the size H of every undeclared name
    private readonly Dictionary<string, Size> _declared = new();
    private readonly List<EquationProblem> _problems = new();
    private readonly List<CellProblem> _cellProblems = new();
    private readonly List<DiagnosticInfo> _declarationProblems = new();

    private readonly Dictionary<string, int> _stateDefinitions = new();
    private readonly Dictionary<string, int> _localDefinitions = new();
    private readonly HashSet<string> _matrixNames = new();
    private readonly HashSet<string> _read = new();
    private bool _inputRead;
    private bool _inputIsHidden;

    // Size inference: each parameter vector (by its name) and the rows of each matrix ('@' and its name) is a variable,
    // unified with what it is combined with; unresolved ones are H.
    private readonly Dictionary<string, Size> _variableSizes = new();
    private readonly Dictionary<string, string> _links = new();
    private readonly List<string> _vectorOrder = new();
    // The input combined with a product whose rows were not known yet: a highway if the rows turn out to be H.
    private readonly List<(string Variable, int Equation, TextRange Range)> _pendingHighways = new();

    private readonly List<(string Matrix, int Equation, TextRange Range, List<SizeTerm> Parts)> _matrixUses = new();

    /// <summary>A size during binding: known, a variable's (a vector's or a matrix's rows), or a number's (no size).</summary>
    private readonly record struct SizeTerm(Size Known, string? Variable, TextRange Range)
    {
        public static SizeTerm Scalar(TextRange range) => new(Size.Scalar, null, range);
    }

    private static string RowsOf(string matrix) => "@" + matrix;

    private static bool IsRows(string variable) => variable.StartsWith("@", System.StringComparison.Ordinal);

    private static string Describe(string variable) =>
        IsRows(variable) ? $"the rows of '{variable.Substring(1)}'" : $"the parameter vector '{variable}'";

    private Binder(IReadOnlyList<EquationSyntax> equations, string input, string output, IReadOnlyList<SizeDeclaration> sizes, bool layer, IReadOnlyList<BlockDeclaration> blocks,
        IReadOnlyList<DropoutDeclaration> dropouts, int heads)
    {
        _heads = heads;
        _blocks = blocks;
        _dropouts = dropouts;
        _layer = layer;
        _inputIsHidden = layer;
        _equations = equations;
        _input = input;
        _output = output;
        _declarations = sizes;
    }

    public static BindResult Bind(IReadOnlyList<EquationSyntax> equations, string input, string output, IReadOnlyList<SizeDeclaration> sizes, bool layer = false,
        IReadOnlyList<BlockDeclaration>? blocks = null, IReadOnlyList<DropoutDeclaration>? dropouts = null, int heads = 0)
    {
        var binder = new Binder(equations, input, output, sizes, layer, blocks ?? System.Array.Empty<BlockDeclaration>(),
            dropouts ?? System.Array.Empty<DropoutDeclaration>(), heads);
        BoundCell? cell = binder.Run();
        return new BindResult(cell, binder._problems, binder._cellProblems, binder._declarationProblems);
    }

    /// <summary>What binding gives: the cell (null on errors) and the problems, located in equations, at the cell, or at a [Size].</summary>
    public sealed record BindResult(BoundCell? Cell, IReadOnlyList<EquationProblem> Problems, IReadOnlyList<CellProblem> CellProblems,
        IReadOnlyList<DiagnosticInfo> DeclarationProblems);

    /// <summary>The size of a state or an intermediate: declared, else H.</summary>
    private Size SizeOfName(string name) => _declared.TryGetValue(name, out Size size) ? size : Size.Hidden;

    private void Report(Microsoft.CodeAnalysis.DiagnosticDescriptor descriptor, int equation, TextRange range, params string[] arguments) =>
        _problems.Add(EquationProblem.Create(descriptor, equation, range, arguments));

    private BoundCell? Run()
    {
        // Definitions first: a name's role follows from how any equation defines it.
        for (int i = 0; i < _equations.Count; i++)
        {
            EquationSyntax equation = _equations[i];
            string name = equation.Target;
            if (name == _input)
            {
                Report(Diagnostics.InputMisuse, equation.Index, equation.TargetRange,
                    $"'{name}' is the input of the cell and cannot be defined by an equation: give the value another name");
                continue;
            }
            if (_stateDefinitions.TryGetValue(name, out int earlier) || _localDefinitions.TryGetValue(name, out earlier))
            {
                Report(Diagnostics.DefinedTwice, equation.Index, equation.TargetRange, name, (_equations[earlier].Index + 1).ToString());
                continue;
            }
            (equation.TargetIsState ? _stateDefinitions : _localDefinitions)[name] = i;
        }
        foreach (EquationSyntax equation in _equations) CollectMatrices(equation.Value);
        CheckDeclarations();
        CheckBlockDeclarations();

        var bound = new List<BoundEquation>();
        for (int i = 0; i < _equations.Count; i++)
        {
            EquationSyntax equation = _equations[i];
            (BoundExpr value, SizeTerm size) = BindExpr(equation.Value, i);
            Size target = SizeOfName(equation.Target);
            bool undeclaredMatrix = Resolve(size) == Size.Memory && !_declared.ContainsKey(equation.Target);
            Unify(size, new SizeTerm(target, null, equation.Value.Range), i, highway: false,
                $"'{equation.Target}' has {Describe(target)} but its value has {{0}}"
                + (undeclaredMatrix ? $": declare it, [Size(\"{equation.Target}\", \"matrix\")]"
                    : target == Size.Hidden && !_layer ? ": multiply the input by a weight matrix first" : ": multiply it by a weight matrix, or declare the size of the name"));
            // Its reads take the value's size, so that they are not reported again.
            if (undeclaredMatrix && !equation.TargetIsState) _declared[equation.Target] = Size.Memory;
            bound.Add(new BoundEquation(equation.Index, equation.Text, equation.Target, equation.TargetIsState, value, target));
        }
        foreach ((string variable, int eq, TextRange range) in _pendingHighways)
        {
            Size rows = ResolveVariable(variable) ?? Size.Hidden;
            if (rows == Size.Hidden) _inputIsHidden = true;
            else if (rows != Size.Input)
                Report(Diagnostics.SizeMismatch, _equations[eq].Index, range,
                    $"this combines the input (size X) with {Describe(variable)}, of {rows.Describe()}: only H may meet the input elementwise");
        }

        if (!_layer && !_stateDefinitions.ContainsKey(_output) && _localDefinitions.TryGetValue(_output, out int asLocal))
            // 'h = ...' where the output h is meant: at its characters, with 'h[t]' as the fix.
            _problems.Add(EquationProblem.Create(Diagnostics.OutputMissing, _equations[asLocal].Index, _equations[asLocal].TargetRange,
                $"state '{_output}[t]'", $"'{_output} = ...' defines an intermediate; write '{_output}[t] = ...' to make it the state") with { Replacement = _output + "[t]" });
        else if (!_stateDefinitions.ContainsKey(_output))
            _cellProblems.Add(new CellProblem(Diagnostics.OutputMissing.Id, new EquatableArray<string>(new[]
            {
                _layer ? $"'{_output}'" : $"state '{_output}[t]'",
                _layer ? $"add '{_output} = ...' or set Output to the name of the layer's result"
                    : $"add '{_output}[t] = ...' or set Output to the name of a state",
            })));

        if (_stateDefinitions.ContainsKey(_output) && SizeOfName(_output) == Size.Memory)
            _cellProblems.Add(new CellProblem(Diagnostics.HeadsDeclaration.Id, new EquatableArray<string>(new[]
            {
                $"the output '{_output}' is a matrix memory: the output is a vector; read the memory out with '{_output}[t] @ q' into another state",
            })));
        foreach (string vector in _vectorOrder)
            if (ResolveVariable(vector) == Size.Memory && !_rejectedSizes.Contains(vector))
                _cellProblems.Add(new CellProblem(Diagnostics.HeadsDeclaration.Id, new EquatableArray<string>(new[]
                {
                    $"the parameter vector '{vector}' is combined with a matrix memory as a whole: a parameter is a vector (one value per head, or of size H, combines with a matrix through outer(a, b))",
                })));
        var matrices = CheckMatrices();
        var dropouts = CheckDropoutDeclarations(bound);

        foreach (KeyValuePair<string, int> local in _localDefinitions)
            if (!_read.Contains(local.Key))
            {
                EquationSyntax equation = _equations[local.Value];
                Report(Diagnostics.UnusedIntermediate, equation.Index, equation.TargetRange, local.Key);
            }
        if (!_inputRead)
            _cellProblems.Add(new CellProblem(Diagnostics.UnusedInput.Id, new EquatableArray<string>(new[] { _input })));

        bool failed = _problems.Any(p => Diagnostics.ById(p.Id).DefaultSeverity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error)
            || _cellProblems.Any(p => Diagnostics.ById(p.Id).DefaultSeverity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error);
        if (failed) return null;

        var states = _stateDefinitions.OrderBy(s => s.Value).Select(s => s.Key).ToEquatableArray();
        var vectors = _vectorOrder.Select(v => new VectorInfo(v, ResolveVariable(v) ?? Size.Hidden)).ToEquatableArray();
        return new BoundCell(_input, _output, states, matrices.ToEquatableArray(), vectors, bound.ToEquatableArray(), _inputIsHidden,
            states.Select(SizeOfName).ToEquatableArray(), _declarations.Select(d => d.Size).Where(Declarations.IsConstructorSize).Distinct().ToEquatableArray(),
            dropouts.ToEquatableArray(), _heads);
    }

    /// <summary>
    /// Each [Zoneout], [VariationalDropout] and [DropConnect] names a state; variational dropout and DropConnect need a
    /// matrix that reads the state at t-1 (they mask the state there, or the weights that multiply it), or they would do
    /// nothing.
    /// </summary>
    private List<DropoutInfo> CheckDropoutDeclarations(IReadOnlyList<BoundEquation> bound)
    {
        var result = new List<DropoutInfo>();
        foreach (DropoutDeclaration declaration in _dropouts)
        {
            string name = declaration.State;
            string? problem = _layer ? "a layer has no states: zoneout, variational dropout and DropConnect act on a state from step to step (use a Dropout module between layers)"
                : _stateDefinitions.ContainsKey(name) ? null
                : name == _input ? $"'{name}' is the input, not a state: drop the input with a Dropout module before the cell"
                : _localDefinitions.ContainsKey(name) ? $"'{name}' is an intermediate, not a state: it names the target of an '{name}[t] = ...' equation"
                : _matrixNames.Contains(name) ? $"'{name}' is a weight matrix, not a state"
                : $"the equations have no state '{name}': it names the target of an '{name}[t] = ...' equation";
            if (problem is null && declaration.Kind != DropoutKind.Zoneout && !bound.Any(e => ReadByMatrix(e.Value, name, false)))
                problem = declaration.Kind == DropoutKind.Variational
                    ? $"no weight matrix reads '{name}[t-1]': variational dropout masks a state where a matrix reads it, as h in W @ [h[t-1], x[t]]"
                    : $"no weight matrix reads '{name}[t-1]': DropConnect drops the weights that multiply it, as W's columns for h in W @ [h[t-1], x[t]]";
            if (problem is not null)
                _declarationProblems.Add(new DiagnosticInfo(Diagnostics.DropoutDeclaration.Id, declaration.StateLocation, new EquatableArray<string>(new[] { declaration.Attribute, problem })));
            else
                result.Add(new DropoutInfo(declaration.Kind, name, declaration.Probability));
        }
        return result;
    }

    /// <summary>Whether <paramref name="expr"/> reads state[t-1] inside the operand of a product.</summary>
    private static bool ReadByMatrix(BoundExpr expr, string state, bool inProduct) => expr switch
    {
        StateExpr s => inProduct && s.Previous && s.State == state,
        MatVecExpr m => m.Parts.Any(p => ReadByMatrix(p, state, true)),
        CallExpr c => c.Arguments.Any(a => ReadByMatrix(a, state, inProduct)),
        BinaryExpr b => ReadByMatrix(b.Left, state, inProduct) || ReadByMatrix(b.Right, state, inProduct),
        NegateExpr n => ReadByMatrix(n.Operand, state, inProduct),
        _ => false,
    };

    /// <summary>
    /// Each [Size] names a state, an intermediate or a parameter vector of the equations. Vectors start with their
    /// declared size; the rest is checked as sizes are unified.
    /// </summary>
    private void CheckDeclarations()
    {
        var vectorNames = new HashSet<string>();
        void Names(ExprSyntax expr)
        {
            switch (expr)
            {
                case NameSyntax n: vectorNames.Add(n.Name); break;
                case MatVecSyntax m: Names(m.Operand); break;
                case CallSyntax c: foreach (ExprSyntax a in c.Arguments) Names(a); break;
                case BinarySyntax b: Names(b.Left); Names(b.Right); break;
                case NegateSyntax n: Names(n.Operand); break;
                case ConcatSyntax c: foreach (ExprSyntax p in c.Parts) Names(p); break;
            }
        }
        foreach (EquationSyntax equation in _equations) Names(equation.Value);
        foreach (SizeDeclaration declaration in _declarations)
        {
            string name = declaration.Name;
            string? problem = name == _input ? $"'{name}' is the input, whose size is the constructor's inputSize: [Size] cannot change it"
                : _matrixNames.Contains(name) ? $"'{name}' is a weight matrix: its shape follows from its products; [Size] names a state, an intermediate or a parameter vector"
                : _stateDefinitions.ContainsKey(name) || _localDefinitions.ContainsKey(name) || vectorNames.Contains(name) ? null
                : $"the equations have no name '{name}': [Size] names a state, an intermediate or a parameter vector";
            if (problem is not null)
            {
                _declarationProblems.Add(new DiagnosticInfo(Diagnostics.SizeDeclaration.Id, declaration.NameLocation, new EquatableArray<string>(new[] { problem })));
                continue;
            }
            if (declaration.Size == Declarations.ScalarSize && (_stateDefinitions.ContainsKey(name) || _localDefinitions.ContainsKey(name)))
            {
                _declarationProblems.Add(new DiagnosticInfo(Diagnostics.SizeDeclaration.Id, declaration.SizeLocation, new EquatableArray<string>(new[]
                {
                    $"'{name}' is {(_stateDefinitions.ContainsKey(name) ? "a state" : "an intermediate")}: the size \"1\" makes a learnable scalar, a parameter; a value computed in the cell has a size of its own",
                })));
                continue;
            }
            if (declaration.Size is Declarations.HeadsSize or Declarations.MatrixSize)
            {
                bool parameterMatrix = declaration.Size == Declarations.MatrixSize && !_stateDefinitions.ContainsKey(name) && !_localDefinitions.ContainsKey(name);
                bool headsMissing = FirstUseWithoutHeads();
                string? misuse = parameterMatrix
                    ? $"'{name}' is a parameter vector: a matrix memory is a state or an intermediate (a parameter is a vector: \"heads\" gives it one value per head)"
                    : headsMissing
                        ? $"\"{declaration.Size}\" is {(declaration.Size == Declarations.HeadsSize ? "one value per head" : "one P x P matrix per head")}: declare the number of heads with [Heads(N)] on the class"
                        : null;
                if (misuse is not null)
                    _declarationProblems.Add(new DiagnosticInfo(Diagnostics.HeadsDeclaration.Id, declaration.SizeLocation, new EquatableArray<string>(new[] { misuse })));
                if (parameterMatrix)
                {
                    _rejectedSizes.Add(name);
                    continue;
                }
                _declared[name] = declaration.Size == Declarations.HeadsSize ? Size.Heads : Size.Memory;
                continue;
            }
            _declared[name] = declaration.Size == Declarations.ScalarSize ? Size.One : Size.Declared(declaration.Size);
        }
    }

    private void CollectMatrices(ExprSyntax expr)
    {
        switch (expr)
        {
            case MatVecSyntax m:
                if (m.Matrix != _input && !_stateDefinitions.ContainsKey(m.Matrix) && !_localDefinitions.ContainsKey(m.Matrix))
                    _matrixNames.Add(m.Matrix);
                CollectMatrices(m.Operand);
                break;
            case CallSyntax c: foreach (ExprSyntax argument in c.Arguments) CollectMatrices(argument); break;
            case BinarySyntax b: CollectMatrices(b.Left); CollectMatrices(b.Right); break;
            case NegateSyntax n: CollectMatrices(n.Operand); break;
            case ConcatSyntax c: foreach (ExprSyntax part in c.Parts) CollectMatrices(part); break;
        }
    }

    private bool DefinedBefore(Dictionary<string, int> definitions, string name, int equation) =>
        definitions.TryGetValue(name, out int at) && at < equation;

    private (BoundExpr, SizeTerm) BindExpr(ExprSyntax expr, int eq)
    {
        int index = _equations[eq].Index;
        switch (expr)
        {
            case NumberSyntax n:
                return (new ConstantExpr(n.Value), SizeTerm.Scalar(n.Range));

            case NameSyntax n:
            {
                string name = n.Name;
                if (name == _input)
                {
                    _problems.Add(EquationProblem.Create(Diagnostics.InputMisuse, index, n.Range, $"the input is read as '{name}[t]', its value at this step")
                        with { Replacement = name + "[t]" });
                    _inputRead = true;
                    return (new InputExpr(), new SizeTerm(Size.Input, null, n.Range));
                }
                if (_stateDefinitions.ContainsKey(name))
                {
                    _read.Add(name);
                    Report(Diagnostics.TimeIndexMisuse, index, n.Range,
                        $"'{name}' is a state: read '{name}[t-1]' for its value before this step or '{name}[t]' for its new value");
                    return (new StateExpr(name, true), new SizeTerm(SizeOfName(name), null, n.Range));
                }
                if (_localDefinitions.ContainsKey(name))
                {
                    _read.Add(name);
                    if (!DefinedBefore(_localDefinitions, name, eq))
                        Report(Diagnostics.ReadBeforeDefinition, index, n.Range, name, "");
                    return (new LocalExpr(name), new SizeTerm(SizeOfName(name), null, n.Range));
                }
                if (_matrixNames.Contains(name))
                {
                    Report(Diagnostics.MatrixAndVector, index, n.Range, name);
                    return (new VectorExpr(name), new SizeTerm(Size.Hidden, null, n.Range));
                }
                if (!_variableSizes.ContainsKey(name) && !_links.ContainsKey(name))
                {
                    _vectorOrder.Add(name);
                    _variableSizes[name] = _declared.TryGetValue(name, out Size declared) ? declared : Size.Scalar; // Scalar: unknown until unified
                }
                return (new VectorExpr(name), new SizeTerm(Size.Scalar, name, n.Range));
            }

            case TimedNameSyntax n:
            {
                string name = n.Name;
                string written = $"{name}[{(n.Offset == 0 ? "t" : "t" + n.Offset)}]";
                if (name == _input)
                {
                    _inputRead = true;
                    return (new InputExpr(-n.Offset), new SizeTerm(_layer ? Size.Hidden : Size.Input, null, n.Range));
                }
                if (_stateDefinitions.ContainsKey(name))
                {
                    _read.Add(name);
                    if (n.Offset < -1)
                        Report(Diagnostics.TimeIndexMisuse, index, n.Range,
                            $"'{name}' is a state: it is read as '{name}[t-1]', its value before this step; only the input '{_input}' may look back further");
                    if (n.Offset == 0 && !DefinedBefore(_stateDefinitions, name, eq))
                        Report(Diagnostics.ReadBeforeDefinition, index, n.Range, _layer ? name : written, _layer ? "" : $", or read '{name}[t-1]' for the value before this step");
                    return (new StateExpr(name, n.Offset != 0), new SizeTerm(SizeOfName(name), null, n.Range));
                }
                if (_localDefinitions.ContainsKey(name))
                {
                    _read.Add(name);
                    if (n.Offset != 0)
                        Report(Diagnostics.StateNotUpdated, index, n.Range, written,
                            $"'{name} = ...' defines an intermediate of this step; write '{name}[t] = ...' to make it a state");
                    else
                        Report(Diagnostics.TimeIndexMisuse, index, n.Range, $"'{name}' is an intermediate of this step, not a state: read it as '{name}'");
                    return (new LocalExpr(name), new SizeTerm(Size.Hidden, null, n.Range));
                }
                if (_matrixNames.Contains(name))
                {
                    Report(Diagnostics.MatrixAndVector, index, n.Range, name);
                    return (new VectorExpr(name), new SizeTerm(Size.Hidden, null, n.Range));
                }
                Report(Diagnostics.StateNotUpdated, index, n.Range, written, n.Offset == 0
                    ? $"add an equation '{name}[t] = ...', or, if '{name}' is the input, set Input = \"{name}\" (the input is '{_input}[t]' now)"
                    : $"add an equation '{name}[t] = ...'");
                return (new StateExpr(name, true), new SizeTerm(Size.Hidden, null, n.Range));
            }

            case CallSyntax c when c.Function == Operation.Outer || c.Function == Operation.Dot || c.Function == Operation.MemoryProduct:
                return BindHeadFunction(c, eq);

            case CallSyntax c:
            {
                var arguments = new List<BoundExpr>();
                SizeTerm? size = null;
                foreach (ExprSyntax syntax in c.Arguments)
                {
                    (BoundExpr argument, SizeTerm argumentSize) = BindExpr(syntax, eq);
                    arguments.Add(argument);
                    size = size is null ? argumentSize : Unify(size.Value, argumentSize, eq, highway: true,
                        $"'{c.Function.Spellings[0]}' combines values of different sizes ({{0}} and {{1}}): multiply the input by a weight matrix first, or declare the sizes");
                }
                // mean(v) is one value per sequence, broadcast like a number wherever it is used.
                SizeTerm result = c.Function.Kind == OperationKind.Reduction ? SizeTerm.Scalar(c.Range) : size!.Value with { Range = c.Range };
                return (new CallExpr(c.Function, arguments.ToEquatableArray()), result);
            }

            case NegateSyntax n:
            {
                (BoundExpr operand, SizeTerm size) = BindExpr(n.Operand, eq);
                return (new NegateExpr(operand), size with { Range = n.Range });
            }

            case BinarySyntax b:
            {
                (BoundExpr left, SizeTerm leftSize) = BindExpr(b.Left, eq);
                (BoundExpr right, SizeTerm rightSize) = BindExpr(b.Right, eq);
                SizeTerm size = Unify(leftSize, rightSize, eq, highway: true,
                    "this combines values of different sizes ({0} and {1}): multiply the input by a weight matrix first, or declare the sizes");
                return (new BinaryExpr(b.Operator, left, right), size with { Range = b.Range });
            }

            case MatVecSyntax m:
            {
                string matrix = m.Matrix;
                string? role = matrix == _input ? "the input"
                    : _stateDefinitions.ContainsKey(matrix) ? "a state"
                    : _localDefinitions.ContainsKey(matrix) ? "an intermediate"
                    : null;
                var operands = m.Operand is ConcatSyntax concat ? concat.Parts.ToList() : new List<ExprSyntax> { m.Operand };
                var parts = new List<BoundExpr>();
                var sizes = new List<SizeTerm>();
                foreach (ExprSyntax operand in operands)
                {
                    (BoundExpr part, SizeTerm size) = BindExpr(operand, eq);
                    parts.Add(part);
                    sizes.Add(size with { Range = operand.Range });
                }
                // q @ C[t]: a vector times a matrix memory (ReportVectorTimesMemory); q counts as read.
                if (_heads > 0 && role is not null && sizes.Any(size => Resolve(size) == Size.Memory))
                {
                    _read.Add(matrix);
                    ReportVectorTimesMemory(index, eq, m.Range, matrix, operands[sizes.FindIndex(size => Resolve(size) == Size.Memory)].Range);
                    return (new ConstantExpr(0), new SizeTerm(Size.Hidden, null, m.Range));
                }
                // U @ q, U an intermediate declared a matrix memory: read as C[t] @ q is (its sizes checked there).
                if (_localDefinitions.ContainsKey(matrix) && SizeOfName(matrix) == Size.Memory && m.Operand is not ConcatSyntax)
                    return BindHeadFunction(new CallSyntax(Operation.MemoryProduct, new EquatableArray<ExprSyntax>(new ExprSyntax[] { new NameSyntax(matrix, m.MatrixRange), m.Operand }), m.MatrixRange, m.Range), eq, (parts[0], sizes[0]));
                // A name used as a matrix here and as a vector elsewhere is reported at the vector use (CG0006).
                if (role is not null) Report(Diagnostics.MatrixNotParameter, index, m.MatrixRange, matrix,
                    role == "a state" && SizeOfName(matrix) == Size.Memory ? $"a state without its time (a matrix memory is read as '{matrix}[t] @ q' or '{matrix}[t-1] @ q')" : role);
                if (role is null)
                {
                    _matrixUses.Add((matrix, eq, m.Range, sizes));
                    if (!_variableSizes.ContainsKey(RowsOf(matrix)) && !_links.ContainsKey(RowsOf(matrix))) _variableSizes[RowsOf(matrix)] = Size.Scalar;
                    return (new MatVecExpr(matrix, parts.ToEquatableArray()), new SizeTerm(Size.Scalar, RowsOf(matrix), m.Range));
                }
                return (new MatVecExpr(matrix, parts.ToEquatableArray()), new SizeTerm(Size.Hidden, null, m.Range));
            }

            case ConcatSyntax c:
            {
                Report(Diagnostics.ConcatenationSizes, index, c.Range,
                    "a concatenation '[a, b, ...]' is only meaningful as the right operand of '@', as in 'W @ [h[t-1], x[t]]'");
                foreach (ExprSyntax part in c.Parts) BindExpr(part, eq);
                return (new ConstantExpr(0), new SizeTerm(Size.Hidden, null, c.Range));
            }
        }
        throw new System.InvalidOperationException("Unknown syntax node " + expr.GetType().Name);
    }

    /// <summary>
    /// q @ C, a vector times a matrix memory (qᵀ C, the sum down each column, as gated linear attention and RWKV write
    /// their read-out): the language reads a memory from its left only, so the user is told how to turn it round.
    /// </summary>
    private void ReportVectorTimesMemory(int index, int eq, TextRange range, string vector, TextRange memory) =>
        Report(Diagnostics.HeadsDeclaration, index, range,
            $"'{_equations[eq].Text.Substring(range.Start, range.Length)}' multiplies a matrix memory from the left (the sum down each column): write the memory on the left, '{_equations[eq].Text.Substring(memory.Start, memory.Length)} @ {vector}' (the sum along each row), and make it transposed, outer(v, k) for outer(k, v)");

    /// <summary>Without [Heads], true at its first use only (that use says so); with it, false.</summary>
    private bool FirstUseWithoutHeads()
    {
        bool first = _heads == 0 && !_headsMissingReported;
        _headsMissingReported |= _heads == 0;
        return first;
    }

    /// <summary>
    /// outer(a, b), dot(a, b) and C @ q: per head, on values of size H (C a matrix memory), in a cell with [Heads]. outer
    /// gives a matrix memory, dot one value per head, C @ q a value of size H. An argument the same across a head's units
    /// (a number, a value per sequence or per head) is broadcast, so long as one of outer's or dot's is of size H.
    /// </summary>
    private (BoundExpr, SizeTerm) BindHeadFunction(CallSyntax c, int eq, (BoundExpr, SizeTerm)? right = null)
    {
        int index = _equations[eq].Index;
        bool product = c.Function == Operation.MemoryProduct;
        string written = product ? "C @ q" : c.Function.Name + "(a, b)";
        // The right of U @ q comes bound already (the binder took U for a weight matrix until it saw U's size).
        var bound = c.Arguments.Select((syntax, k) => k == 1 && right is not null ? right.Value : BindExpr(syntax, eq)).ToList();
        // (expression) @ q: a matrix memory, or CG0007 as for any name that is not a weight matrix.
        if (product && c.Arguments[0] is not TimedNameSyntax && Resolve(bound[0].Item2) != Size.Memory
            && !(_heads > 0 && Resolve(bound[1].Item2) == Size.Memory))
        {
            string role = c.Arguments[0] is not NameSyntax name ? "an expression"
                : name.Name == _input ? "the input" : _localDefinitions.ContainsKey(name.Name) ? "an intermediate" : "a parameter vector";
            Report(Diagnostics.MatrixNotParameter, index, c.Arguments[0].Range,
                c.Arguments[0] is NameSyntax named ? named.Name : _equations[eq].Text.Substring(c.Arguments[0].Range.Start, c.Arguments[0].Range.Length), role);
            return (new ConstantExpr(0), new SizeTerm(Size.Hidden, null, c.Range));
        }
        if (FirstUseWithoutHeads())
            Report(Diagnostics.HeadsDeclaration, index, c.NameRange, $"'{written}' works head by head: declare the number of heads with [Heads(N)] on the class");
        if (product && _heads > 0 && Resolve(bound[0].Item2) != Size.Memory && Resolve(bound[1].Item2) == Size.Memory)
        {
            ReportVectorTimesMemory(index, eq, c.Range, _equations[eq].Text.Substring(c.Arguments[0].Range.Start, c.Arguments[0].Range.Length), c.Arguments[1].Range);
            return (new ConstantExpr(0), new SizeTerm(Size.Hidden, null, c.Range));
        }
        var arguments = new List<BoundExpr>();
        int broadcast = 0;
        for (int k = 0; k < c.Arguments.Count; k++)
        {
            ExprSyntax syntax = c.Arguments[k];
            (BoundExpr argument, SizeTerm size) = bound[k];
            arguments.Add(argument);
            if (product && k == 0)
            {
                if (Resolve(size) != Size.Memory)
                    Report(Diagnostics.SizeMismatch, index, syntax.Range,
                        $"'{_equations[eq].Text.Substring(syntax.Range.Start, syntax.Range.Length)}' has {Describe(Resolve(size) ?? Size.Hidden)}: on the left of '@', a state is a matrix memory, declared [Size(\"{(argument is StateExpr s ? s.State : "C")}\", \"matrix\")]");
                continue;
            }
            // A number, a value per sequence, a learnable scalar or a value per head is the same across its head's units:
            // outer(1, a) is a matrix whose every row is a, dot(a, 1) the sum of a over each head, C @ 1 C's row sums.
            if ((size.Variable is null && size.Known == Size.Scalar) || Resolve(size) is { Kind: SizeKind.Heads or SizeKind.One or SizeKind.Row })
                broadcast++;
            else
                Unify(size with { Range = syntax.Range }, new SizeTerm(Size.Hidden, null, syntax.Range), eq, highway: true,
                    $"'{written}' takes {(product ? "on its right a value" : "values")} of {Describe(Size.Hidden)}, not {{0}}");
        }
        if (!product && broadcast == c.Arguments.Count)
            Report(Diagnostics.SizeMismatch, index, c.Range, $"'{written}' needs a value of {Describe(Size.Hidden)} in one of its arguments: both are the same across a head's units (numbers, values per sequence or per head)");
        Size result = c.Function == Operation.Outer ? Size.Memory : c.Function == Operation.Dot ? Size.Heads : Size.Hidden;
        return (new CallExpr(c.Function, arguments.ToEquatableArray()), new SizeTerm(result, null, c.Range));
    }

    private string FindRoot(string variable)
    {
        while (_links.TryGetValue(variable, out string? next)) variable = next;
        return variable;
    }

    private Size? ResolveVariable(string variable)
    {
        Size size = _variableSizes[FindRoot(variable)];
        return size == Size.Scalar ? null : size;
    }

    private Size? Resolve(SizeTerm term) => term.Variable is null ? (term.Known == Size.Scalar ? null : term.Known) : ResolveVariable(term.Variable);

    /// <summary>
    /// Unifies the sizes of two operands of an elementwise operation; a mismatch is CG0016 (<paramref name="message"/>
    /// with {0} the two sizes). With <paramref name="highway"/>, the input combined with a value of size H is not a
    /// mismatch: the result is H and the cell needs X = H. A product whose rows are not known yet does not take the
    /// input's size from such a combination: it is settled at the end (H unless something else says).
    /// </summary>
    private SizeTerm Unify(SizeTerm a, SizeTerm b, int eq, bool highway, string message)
    {
        bool aScalar = a.Variable is null && a.Known == Size.Scalar;
        bool bScalar = b.Variable is null && b.Known == Size.Scalar;
        if (aScalar) return b;
        if (bScalar) return a;
        Size? sa = Resolve(a), sb = Resolve(b);
        // A learnable scalar broadcasts as a number does.
        if (sa == Size.One) return b;
        if (sb == Size.One) return a;
        if (highway && sa is null && a.Variable is { } va && IsRows(va) && sb == Size.Input && b.Variable is null)
        {
            _pendingHighways.Add((va, eq, a.Range.Union(b.Range)));
            return a;
        }
        if (highway && sb is null && b.Variable is { } vb && IsRows(vb) && sa == Size.Input && a.Variable is null)
        {
            _pendingHighways.Add((vb, eq, a.Range.Union(b.Range)));
            return b;
        }
        if (sa is not null && sb is not null)
        {
            // One value per head broadcasts over its head's units (H) and over its head's matrix (a matrix memory).
            if (sa == Size.Heads && sb is { Kind: SizeKind.Hidden or SizeKind.Memory }) return b;
            if (sb == Size.Heads && sa is { Kind: SizeKind.Hidden or SizeKind.Memory }) return a;
            bool inputMeetsHidden = (sa == Size.Input && sb == Size.Hidden) || (sa == Size.Hidden && sb == Size.Input);
            if (sa != sb && highway && inputMeetsHidden && (a.Variable is null || IsRows(a.Variable)) && (b.Variable is null || IsRows(b.Variable)))
            {
                _inputIsHidden = true;
                return sa == Size.Hidden ? a : b;
            }
            if (sa != sb)
            {
                string? variable = a.Variable is { } v1 && !IsRows(v1) ? v1 : b.Variable is { } v2 && !IsRows(v2) ? v2 : a.Variable ?? b.Variable;
                string detail = variable is not null
                    ? $"{Describe(variable)} is used with {Describe(sa.Value)} in one place and {Describe(sb.Value)} in another" + (IsRows(variable) ? "" : ": use two vectors, or declare its size")
                    : string.Format(System.Globalization.CultureInfo.InvariantCulture, message, Describe(sa.Value), Describe(sb.Value));
                Report(Diagnostics.SizeMismatch, _equations[eq].Index, a.Range.Union(b.Range), detail);
                return a.Variable is null ? a : b; // the side without a variable, so that enclosing operations do not report it again
            }
            return a;
        }
        if (sa is null && sb is null)
        {
            string ra = FindRoot(a.Variable!), rb = FindRoot(b.Variable!);
            if (ra != rb) _links[rb] = ra;
            return a;
        }
        if (sa is null) _variableSizes[FindRoot(a.Variable!)] = sb!.Value;
        else _variableSizes[FindRoot(b.Variable!)] = sa.Value;
        return sa is null ? b : a;
    }

    /// <summary>A size for messages; in a layer, H is the input's size X (every undeclared name has it).</summary>
    private string Describe(Size size) => _layer && size == Size.Hidden ? "the input's size X" : size.Describe();

    private string Short(Size size) => _layer && size == Size.Hidden ? "X" : size.Name;

    private List<MatrixInfo> CheckMatrices()
    {
        var result = new List<MatrixInfo>();
        var first = new Dictionary<string, (int Equation, List<Size> Sizes)>();
        foreach ((string matrix, int eq, TextRange range, List<SizeTerm> parts) in _matrixUses)
        {
            var sizes = new List<Size>();
            bool ok = true;
            foreach (SizeTerm part in parts)
            {
                Size? size = Resolve(part);
                if (size is null && part.Variable is null)
                {
                    Report(Diagnostics.ConcatenationSizes, _equations[eq].Index, part.Range,
                        "a part of the operand of '@' that is only a number has no size: use a parameter vector or a state");
                    ok = false;
                }
                sizes.Add(size ?? Size.Hidden);
            }
            if (!ok) continue;
            if (sizes.Contains(Size.Memory) || ResolveVariable(RowsOf(matrix)) == Size.Memory)
            {
                Report(Diagnostics.HeadsDeclaration, _equations[eq].Index, range,
                    $"'{matrix}' would {(sizes.Contains(Size.Memory) ? "multiply" : "give")} a matrix memory: a weight matrix maps vectors; a matrix memory is read with 'C[t] @ q' and written with outer(a, b)");
                continue;
            }
            if (first.TryGetValue(matrix, out var earlier))
            {
                if (!earlier.Sizes.SequenceEqual(sizes))
                    Report(Diagnostics.ConcatenationSizes, _equations[eq].Index, range,
                        $"'{matrix}' multiplies parts of sizes [{string.Join(", ", earlier.Sizes.Select(Short))}] in equation {_equations[earlier.Equation].Index + 1} "
                        + $"but [{string.Join(", ", sizes.Select(Short))}] here: a matrix needs one size per position of its concatenation");
                continue;
            }
            first[matrix] = (eq, sizes);
            int blocks = _blocks.FirstOrDefault(b => b.Matrix == matrix)?.Blocks ?? 1;
            if (blocks > 1 && sizes.Count > 1)
            {
                Report(Diagnostics.BlockDiagonalDeclaration, _equations[eq].Index, range,
                    $"'{matrix}' is block-diagonal, so it multiplies one vector, not a concatenation: give each part its own matrix ('{matrix}_1 @ a + {matrix}_2 @ b')");
                continue;
            }
            if (blocks > 1 && sizes[0] == Size.One)
            {
                Report(Diagnostics.BlockDiagonalDeclaration, _equations[eq].Index, range, $"'{matrix}' is block-diagonal but multiplies a learnable scalar, which has no blocks");
                continue;
            }
            result.Add(new MatrixInfo(matrix, sizes.ToEquatableArray(), ResolveVariable(RowsOf(matrix)) ?? Size.Hidden, blocks));
        }
        return result;
    }

    /// <summary>Each [BlockDiagonal] names a weight matrix of the equations.</summary>
    private void CheckBlockDeclarations()
    {
        foreach (BlockDeclaration declaration in _blocks)
        {
            string name = declaration.Matrix;
            if (_matrixNames.Contains(name)) continue;
            string problem = name == _input ? $"'{name}' is the input, not a weight matrix"
                : _stateDefinitions.ContainsKey(name) ? $"'{name}' is a state, not a weight matrix"
                : _localDefinitions.ContainsKey(name) ? $"'{name}' is an intermediate, not a weight matrix"
                : $"the equations have no matrix '{name}': [BlockDiagonal] names the left operand of an '@'";
            _declarationProblems.Add(new DiagnosticInfo(Diagnostics.BlockDiagonalDeclaration.Id, declaration.MatrixLocation, new EquatableArray<string>(new[] { problem })));
        }
    }
}
