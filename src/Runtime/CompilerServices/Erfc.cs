namespace CellGen.CompilerServices;

/// <summary>
/// The complementary error function for z ≥ 0, as t·e^(-z² + P(t)) with t = 2 / (2 + z) and P a Chebyshev series in
/// 2t - 1 (Numerical Recipes' form; 30 coefficients interpolated from erfc at 50 digits by Erfc.fit.py beside this file),
/// e^(-z²) taken as e^(-s²)·e^((s - z)(s + z)) with s² exact, so that the rounding of z² is not amplified. One source, compiled
/// into the runtime (gelu's lanes) and into the generator (folding gelu of a number).
/// </summary>
internal static class Erfc
{
    internal static readonly double[] Coefficients =
    {
        -0.6513268598908547, 0.6419697923564902, 0.019476473204185836, -0.009561514786808632,
        -0.0009465953444820369, 0.00036683949785276145, 4.252332480690777e-05, -2.0278578112534242e-05,
        -1.6242900046470256e-06, 1.3036558355805232e-06, 1.5626441722066142e-08, -8.523809591492654e-08,
        6.5290544390988515e-09, 5.059343495551469e-09, -9.91364156493033e-10, -2.2736512229318357e-10,
        9.646791102015528e-11, 2.394038083038881e-12, -6.886027526496772e-12, 8.94487927308485e-13,
        3.130921399286456e-13, -1.1270822358703124e-13, 3.8109048679522714e-16, 7.10609747757342e-15,
        -1.5230273230386746e-15, -9.457658425771247e-17, 1.2102032928879454e-16, -2.813870756413238e-17,
        -9.666024631619398e-21, 2.254335849020646e-18,
    };

    /// <summary>erfc(z) for z ≥ 0 (NaN stays NaN).</summary>
    public static double OfPositive(double z)
    {
        z = System.Math.Min(z, 40); // erfc(40) is 0 in double; ∞ gives it rather than ∞ - ∞ below (NaN stays NaN)
        double t = 2 / (2 + z), u = 2 * t - 1, d = 0, dd = 0;
        for (int j = Coefficients.Length - 1; j > 0; j--)
        {
            double next = 2 * u * d - dd + Coefficients[j]; // (2u)·d, as the lanes compute it
            dd = d;
            d = next;
        }
        // e^(-z²) split as the lanes do (s = z rounded to 1/256, s² exact), so that the rounding of z² is not amplified.
        double s = System.Math.Round(z * 256) / 256;
        return t * System.Math.Exp(-s * s) * System.Math.Exp((s - z) * (s + z) + u * d - dd + Coefficients[0]);
    }

    /// <summary>Φ(v), the standard normal distribution function: erfc(-v / √2) / 2, from erfc of |v| / √2.</summary>
    public static double NormalCdf(double v)
    {
        double e = OfPositive(System.Math.Abs(v) / System.Math.Sqrt(2));
        return v > 0 ? 1 - e / 2 : e / 2;
    }
}
