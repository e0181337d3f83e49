using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CellGen;

/// <summary>
/// Register-blocked float kernels for <see cref="Gemm"/>, on System.Numerics.Vector (the machine's SIMD width, or
/// scalar without hardware intrinsics). Sizes are checked by the callers; these read and write only inside them.
/// </summary>
internal static class GemmSingle
{
    private static int W => Vector<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Load(ref float origin, int offset) => Vector.LoadUnsafe(ref origin, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector<float> value, ref float origin, int offset) => value.StoreUnsafe(ref origin, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Fma(Vector<float> a, Vector<float> b, Vector<float> c) => Vector.FusedMultiplyAdd(a, b, c);

    /// <summary>C = A W (+ bias): panels of W two vectors wide stay in L1 while blocks of four rows stream past.</summary>
    public static void Forward(ref float a, int lda, ref float w, ref float bias, bool hasBias, ref float c, int ldc, int rows, int k, int n)
    {
        int w2 = 2 * W, j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; j + w2 <= n; j += w2)
            {
                Vector<float> b0 = hasBias ? Load(ref bias, j) : Vector<float>.Zero;
                Vector<float> b1 = hasBias ? Load(ref bias, j + W) : Vector<float>.Zero;
                int r = 0;
                for (; r + 4 <= rows; r += 4)
                {
                    Vector<float> c00 = b0, c01 = b1, c10 = b0, c11 = b1, c20 = b0, c21 = b1, c30 = b0, c31 = b1;
                    ref float a0 = ref Unsafe.Add(ref a, r * lda);
                    ref float a1 = ref Unsafe.Add(ref a0, lda);
                    ref float a2 = ref Unsafe.Add(ref a1, lda);
                    ref float a3 = ref Unsafe.Add(ref a2, lda);
                    for (int p = 0; p < k; p++)
                    {
                        Vector<float> w0 = Load(ref w, p * n + j), w1 = Load(ref w, p * n + j + W);
                        var x0 = new Vector<float>(Unsafe.Add(ref a0, p));
                        var x1 = new Vector<float>(Unsafe.Add(ref a1, p));
                        var x2 = new Vector<float>(Unsafe.Add(ref a2, p));
                        var x3 = new Vector<float>(Unsafe.Add(ref a3, p));
                        c00 = Fma(x0, w0, c00); c01 = Fma(x0, w1, c01);
                        c10 = Fma(x1, w0, c10); c11 = Fma(x1, w1, c11);
                        c20 = Fma(x2, w0, c20); c21 = Fma(x2, w1, c21);
                        c30 = Fma(x3, w0, c30); c31 = Fma(x3, w1, c31);
                    }
                    Store(c00, ref c, r * ldc + j); Store(c01, ref c, r * ldc + j + W);
                    Store(c10, ref c, (r + 1) * ldc + j); Store(c11, ref c, (r + 1) * ldc + j + W);
                    Store(c20, ref c, (r + 2) * ldc + j); Store(c21, ref c, (r + 2) * ldc + j + W);
                    Store(c30, ref c, (r + 3) * ldc + j); Store(c31, ref c, (r + 3) * ldc + j + W);
                }
                for (; r < rows; r++)
                {
                    Vector<float> c0 = b0, c1 = b1;
                    ref float ar = ref Unsafe.Add(ref a, r * lda);
                    for (int p = 0; p < k; p++)
                    {
                        var x = new Vector<float>(Unsafe.Add(ref ar, p));
                        c0 = Fma(x, Load(ref w, p * n + j), c0);
                        c1 = Fma(x, Load(ref w, p * n + j + W), c1);
                    }
                    Store(c0, ref c, r * ldc + j); Store(c1, ref c, r * ldc + j + W);
                }
            }
            for (; j + W <= n; j += W)
                for (int r = 0; r < rows; r++)
                {
                    Vector<float> c0 = hasBias ? Load(ref bias, j) : Vector<float>.Zero;
                    ref float ar = ref Unsafe.Add(ref a, r * lda);
                    for (int p = 0; p < k; p++) c0 = Fma(new Vector<float>(Unsafe.Add(ref ar, p)), Load(ref w, p * n + j), c0);
                    Store(c0, ref c, r * ldc + j);
                }
        }
        for (; j < n; j++)
            for (int r = 0; r < rows; r++)
            {
                float sum = hasBias ? Unsafe.Add(ref bias, j) : 0;
                for (int p = 0; p < k; p++) sum = MathF.FusedMultiplyAdd(Unsafe.Add(ref a, r * lda + p), Unsafe.Add(ref w, p * n + j), sum);
                Unsafe.Add(ref c, r * ldc + j) = sum;
            }
    }

    /// <summary>dA (+)= dC Wᵀ: dot products of dC rows with W rows, four rows by two W rows at a time.</summary>
    public static void BackwardData(ref float dc, int lddc, ref float w, ref float da, int ldda, int rows, int k, int n, bool accumulate)
    {
        int r = 0;
        for (; r + 4 <= rows; r += 4)
        {
            int p = 0;
            for (; p + 2 <= k; p += 2)
            {
                Dot4x2(ref Unsafe.Add(ref dc, r * lddc), lddc, ref Unsafe.Add(ref w, p * n), n, out float s00, out float s01, out float s10, out float s11,
                    out float s20, out float s21, out float s30, out float s31);
                Put(ref da, r * ldda + p, s00, accumulate); Put(ref da, r * ldda + p + 1, s01, accumulate);
                Put(ref da, (r + 1) * ldda + p, s10, accumulate); Put(ref da, (r + 1) * ldda + p + 1, s11, accumulate);
                Put(ref da, (r + 2) * ldda + p, s20, accumulate); Put(ref da, (r + 2) * ldda + p + 1, s21, accumulate);
                Put(ref da, (r + 3) * ldda + p, s30, accumulate); Put(ref da, (r + 3) * ldda + p + 1, s31, accumulate);
            }
            for (; p < k; p++)
                for (int i = 0; i < 4; i++)
                    Put(ref da, (r + i) * ldda + p, Dot(ref Unsafe.Add(ref dc, (r + i) * lddc), ref Unsafe.Add(ref w, p * n), n), accumulate);
        }
        for (; r < rows; r++)
            for (int p = 0; p < k; p++)
                Put(ref da, r * ldda + p, Dot(ref Unsafe.Add(ref dc, r * lddc), ref Unsafe.Add(ref w, p * n), n), accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(ref float origin, int offset, float value, bool accumulate)
    {
        ref float target = ref Unsafe.Add(ref origin, offset);
        target = accumulate ? target + value : value;
    }

    private static void Dot4x2(ref float x, int ldx, ref float y, int n, out float s00, out float s01, out float s10, out float s11,
        out float s20, out float s21, out float s30, out float s31)
    {
        Vector<float> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
        int j = 0;
        if (Vector.IsHardwareAccelerated)
            for (; j + W <= n; j += W)
            {
                Vector<float> y0 = Load(ref y, j), y1 = Load(ref y, n + j);
                Vector<float> x0 = Load(ref x, j), x1 = Load(ref x, ldx + j), x2 = Load(ref x, 2 * ldx + j), x3 = Load(ref x, 3 * ldx + j);
                a00 = Fma(x0, y0, a00); a01 = Fma(x0, y1, a01);
                a10 = Fma(x1, y0, a10); a11 = Fma(x1, y1, a11);
                a20 = Fma(x2, y0, a20); a21 = Fma(x2, y1, a21);
                a30 = Fma(x3, y0, a30); a31 = Fma(x3, y1, a31);
            }
        s00 = Vector.Sum(a00); s01 = Vector.Sum(a01); s10 = Vector.Sum(a10); s11 = Vector.Sum(a11);
        s20 = Vector.Sum(a20); s21 = Vector.Sum(a21); s30 = Vector.Sum(a30); s31 = Vector.Sum(a31);
        for (; j < n; j++)
        {
            float y0 = Unsafe.Add(ref y, j), y1 = Unsafe.Add(ref y, n + j);
            float x0 = Unsafe.Add(ref x, j), x1 = Unsafe.Add(ref x, ldx + j), x2 = Unsafe.Add(ref x, 2 * ldx + j), x3 = Unsafe.Add(ref x, 3 * ldx + j);
            s00 += x0 * y0; s01 += x0 * y1; s10 += x1 * y0; s11 += x1 * y1;
            s20 += x2 * y0; s21 += x2 * y1; s30 += x3 * y0; s31 += x3 * y1;
        }
    }

    private static float Dot(ref float x, ref float y, int n)
    {
        Vector<float> acc = default;
        int j = 0;
        if (Vector.IsHardwareAccelerated)
            for (; j + W <= n; j += W) acc = Fma(Load(ref x, j), Load(ref y, j), acc);
        float sum = Vector.Sum(acc);
        for (; j < n; j++) sum += Unsafe.Add(ref x, j) * Unsafe.Add(ref y, j);
        return sum;
    }

    /// <summary>dW += Aᵀ dC: for four W rows and two vectors of columns, the sum over all rows stays in registers.</summary>
    public static void BackwardWeights(ref float a, int lda, ref float dc, int lddc, ref float dw, int rows, int k, int n)
    {
        int w2 = 2 * W, j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; j + w2 <= n; j += w2)
            {
                int p = 0;
                for (; p + 4 <= k; p += 4)
                {
                    Vector<float> c00 = Load(ref dw, p * n + j), c01 = Load(ref dw, p * n + j + W);
                    Vector<float> c10 = Load(ref dw, (p + 1) * n + j), c11 = Load(ref dw, (p + 1) * n + j + W);
                    Vector<float> c20 = Load(ref dw, (p + 2) * n + j), c21 = Load(ref dw, (p + 2) * n + j + W);
                    Vector<float> c30 = Load(ref dw, (p + 3) * n + j), c31 = Load(ref dw, (p + 3) * n + j + W);
                    for (int r = 0; r < rows; r++)
                    {
                        Vector<float> g0 = Load(ref dc, r * lddc + j), g1 = Load(ref dc, r * lddc + j + W);
                        ref float ar = ref Unsafe.Add(ref a, r * lda + p);
                        var x0 = new Vector<float>(ar);
                        var x1 = new Vector<float>(Unsafe.Add(ref ar, 1));
                        var x2 = new Vector<float>(Unsafe.Add(ref ar, 2));
                        var x3 = new Vector<float>(Unsafe.Add(ref ar, 3));
                        c00 = Fma(x0, g0, c00); c01 = Fma(x0, g1, c01);
                        c10 = Fma(x1, g0, c10); c11 = Fma(x1, g1, c11);
                        c20 = Fma(x2, g0, c20); c21 = Fma(x2, g1, c21);
                        c30 = Fma(x3, g0, c30); c31 = Fma(x3, g1, c31);
                    }
                    Store(c00, ref dw, p * n + j); Store(c01, ref dw, p * n + j + W);
                    Store(c10, ref dw, (p + 1) * n + j); Store(c11, ref dw, (p + 1) * n + j + W);
                    Store(c20, ref dw, (p + 2) * n + j); Store(c21, ref dw, (p + 2) * n + j + W);
                    Store(c30, ref dw, (p + 3) * n + j); Store(c31, ref dw, (p + 3) * n + j + W);
                }
                for (; p < k; p++)
                {
                    Vector<float> c0 = Load(ref dw, p * n + j), c1 = Load(ref dw, p * n + j + W);
                    for (int r = 0; r < rows; r++)
                    {
                        var x = new Vector<float>(Unsafe.Add(ref a, r * lda + p));
                        c0 = Fma(x, Load(ref dc, r * lddc + j), c0);
                        c1 = Fma(x, Load(ref dc, r * lddc + j + W), c1);
                    }
                    Store(c0, ref dw, p * n + j); Store(c1, ref dw, p * n + j + W);
                }
            }
        }
        for (; j < n; j++)
            for (int p = 0; p < k; p++)
            {
                float sum = Unsafe.Add(ref dw, p * n + j);
                for (int r = 0; r < rows; r++) sum = MathF.FusedMultiplyAdd(Unsafe.Add(ref a, r * lda + p), Unsafe.Add(ref dc, r * lddc + j), sum);
                Unsafe.Add(ref dw, p * n + j) = sum;
            }
    }
}
