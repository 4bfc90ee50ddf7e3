/* Fused activation kernels: value, first and second derivative in one pass.
 *
 * Built by the package's build hook (hatch_build.py) into _activations.so and called
 * through ctypes; the NumPy kernels in activations.py are the reference and the fallback.
 * The loops vectorise through glibc's libmvec: the `declare simd` lines below tell the
 * compiler that vector variants of these libm functions exist (glibc's own header only
 * says so under -ffast-math, which would also assume that no value is inf or NaN).
 * target_clones gives an AVX2 version and a baseline one, picked at load time by the CPU's
 * features.
 */
#include <string.h>
#include <math.h>
#include <stddef.h>

#pragma omp declare simd notinbranch
double exp(double);
#pragma omp declare simd notinbranch
double log1p(double);
#pragma omp declare simd notinbranch
double expm1(double);
#pragma omp declare simd notinbranch
double tanh(double);
#pragma omp declare simd notinbranch
double erf(double);
#pragma omp declare simd notinbranch
double erfc(double);

enum {
    RELU = 1, SOFTPLUS, SIGMOID, TANH, G, GELU, SILU, SELU, SQUARE, CUBE, EXP, SIGMOID2,
    NORMAL_CDF, N_KINDS
};

/* The kernels by name: Python looks its activations' `c_kernel` names up here
   (mgf_kind), so the enum's order is this file's business alone. */
static const char *const KIND_NAMES[N_KINDS] = {
    [RELU] = "relu", [SOFTPLUS] = "softplus", [SIGMOID] = "sigmoid", [TANH] = "tanh",
    [G] = "g", [GELU] = "gelu", [SILU] = "silu", [SELU] = "selu", [SQUARE] = "square",
    [CUBE] = "cube", [EXP] = "exp", [SIGMOID2] = "sigmoid2", [NORMAL_CDF] = "normal_cdf",
};

int mgf_kind(const char *name)
{
    for (int k = 1; k < N_KINDS; k++)
        if (KIND_NAMES[k] && strcmp(KIND_NAMES[k], name) == 0) return k;
    return 0;
}

#define SQRT1_2 0.70710678118654752440
#define SQRT_2_OVER_PI 0.79788456080286535588
#define INV_SQRT_2PI 0.39894228040143267794
#define SELU_L 1.0507009873554804934193349852946
#define SELU_A 1.6732632423543772848170429916717

#define CLONES __attribute__((target_clones("avx2", "default")))

/* One row of `cols` entries; d1/d2 may be NULL (not wanted). */
#define ROW_LOOP(BODY)                                                                 \
    _Pragma("omp simd")                                                                \
    for (long j = 0; j < cols; j++) {                                                  \
        const double v = x[j];                                                         \
        double f, g1, g2;                                                              \
        BODY                                                                           \
        y[j] = f;                                                                      \
        if (d1) d1[j] = g1;                                                            \
        if (d2) d2[j] = g2;                                                            \
    }

CLONES
int mgf_activation(int kind, long rows, long cols, long ld, const double *restrict x,
                   double *restrict y, double *restrict d1, double *restrict d2)
{
    if (ld == cols) { /* contiguous: one long row */
        cols *= rows;
        rows = 1;
    }
    for (long r = 0; r < rows; r++, x += ld, y += ld, d1 = d1 ? d1 + ld : d1, d2 = d2 ? d2 + ld : d2) {
        switch (kind) {
        case RELU:
            ROW_LOOP(f = v > 0.0 ? v : 0.0; g1 = v > 0.0 ? 1.0 : 0.0; g2 = 0.0;)
            break;
        case SOFTPLUS:
            ROW_LOOP(const double e = exp(-fabs(v)); const double q = 1.0 / (1.0 + e);
                     f = (v > 0.0 ? v : 0.0) + log1p(e); g1 = v >= 0.0 ? q : e * q; g2 = e * q * q;)
            break;
        case SIGMOID:
            ROW_LOOP(const double e = exp(-fabs(v)); const double q = 1.0 / (1.0 + e);
                     f = v >= 0.0 ? q : e * q; g1 = e * q * q; g2 = g1 * (1.0 - 2.0 * f);)
            break;
        case TANH:
            /* tanh' = sech^2 = 4e/(1+e)^2 with e = exp(-2|x|): no cancellation in 1 - tanh^2 */
            ROW_LOOP(const double e = exp(-2.0 * fabs(v)); const double q = 1.0 / (1.0 + e);
                     f = tanh(v); g1 = 4.0 * e * q * q; g2 = -2.0 * f * g1;)
            break;
        case G:
            ROW_LOOP(const double e = exp(-fabs(v)); const double q = 1.0 / (1.0 + e);
                     const double e4 = exp(-4.0 * fabs(v)); const double q4 = 1.0 / (1.0 + e4);
                     const double s4 = v >= 0.0 ? q4 : e4 * q4; const double ds4 = e4 * q4 * q4;
                     f = s4 + (v > 0.0 ? v : 0.0) + log1p(e);
                     g1 = 4.0 * ds4 + (v >= 0.0 ? q : e * q);
                     g2 = 16.0 * ds4 * (1.0 - 2.0 * s4) + e * q * q;)
            break;
        case GELU:
            ROW_LOOP(const double P = 0.5 * erfc(-v * SQRT1_2);
                     const double p = INV_SQRT_2PI * exp(-0.5 * v * v);
                     f = v * P; g1 = P + v * p; g2 = (2.0 - v * v) * p;)
            break;
        case SILU:
            ROW_LOOP(const double e = exp(-fabs(v)); const double q = 1.0 / (1.0 + e);
                     const double s = v >= 0.0 ? q : e * q; const double ds = e * q * q;
                     f = v * s; g1 = s + v * ds; g2 = ds * (2.0 + v * (1.0 - 2.0 * s));)
            break;
        case SELU:
            /* exp for the derivatives: em + 1 would cancel for large negative x */
            ROW_LOOP(const double vm = v < 0.0 ? v : 0.0; const double ep = exp(vm);
                     f = v > 0.0 ? SELU_L * v : SELU_L * SELU_A * expm1(vm);
                     g1 = v > 0.0 ? SELU_L : SELU_L * SELU_A * ep;
                     g2 = v > 0.0 ? 0.0 : SELU_L * SELU_A * ep;)
            break;
        case SQUARE:
            ROW_LOOP(f = 0.5 * v * v; g1 = v; g2 = 1.0;)
            break;
        case CUBE:
            ROW_LOOP(f = v * v * v; g1 = 3.0 * v * v; g2 = 6.0 * v;)
            break;
        case EXP:
            ROW_LOOP(f = exp(v); g1 = f; g2 = f;)
            break;
        case SIGMOID2:
            ROW_LOOP(f = erf(v * SQRT1_2); g1 = SQRT_2_OVER_PI * exp(-0.5 * v * v); g2 = -v * g1;)
            break;
        case NORMAL_CDF:
            ROW_LOOP(f = 0.5 * erfc(-v * SQRT1_2); g1 = INV_SQRT_2PI * exp(-0.5 * v * v);
                     g2 = -v * g1;)
            break;
        default:
            return -1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------------------- */
/* Small data sets: loss and gradient sample by sample, with no per-call overhead.     */

/* f(v) and, when d1 is not NULL, f'(v); kind 0 is the identity. Scalar versions of the
 * formulas above (same cancellation-free forms). */
static inline double act_scalar(int kind, double v, double *d1)
{
    double f, g = 1.0;
    switch (kind) {
    case RELU: f = v > 0.0 ? v : 0.0; g = v > 0.0 ? 1.0 : 0.0; break;
    case SOFTPLUS: {
        const double e = exp(-fabs(v)), q = 1.0 / (1.0 + e);
        f = (v > 0.0 ? v : 0.0) + log1p(e); g = v >= 0.0 ? q : e * q; break; }
    case SIGMOID: {
        const double e = exp(-fabs(v)), q = 1.0 / (1.0 + e);
        f = v >= 0.0 ? q : e * q; g = e * q * q; break; }
    case TANH: {
        const double e = exp(-2.0 * fabs(v)), q = 1.0 / (1.0 + e);
        f = tanh(v); g = 4.0 * e * q * q; break; }
    case G: {
        const double e = exp(-fabs(v)), q = 1.0 / (1.0 + e);
        const double e4 = exp(-4.0 * fabs(v)), q4 = 1.0 / (1.0 + e4);
        f = (v >= 0.0 ? q4 : e4 * q4) + (v > 0.0 ? v : 0.0) + log1p(e);
        g = 4.0 * e4 * q4 * q4 + (v >= 0.0 ? q : e * q); break; }
    case GELU: {
        const double P = 0.5 * erfc(-v * SQRT1_2), p = INV_SQRT_2PI * exp(-0.5 * v * v);
        f = v * P; g = P + v * p; break; }
    case SILU: {
        const double e = exp(-fabs(v)), q = 1.0 / (1.0 + e), s = v >= 0.0 ? q : e * q;
        f = v * s; g = s + v * e * q * q; break; }
    case SELU: {
        const double vm = v < 0.0 ? v : 0.0;
        f = v > 0.0 ? SELU_L * v : SELU_L * SELU_A * expm1(vm);
        g = v > 0.0 ? SELU_L : SELU_L * SELU_A * exp(vm); break; }
    case SQUARE: f = 0.5 * v * v; g = v; break;
    case CUBE: f = v * v * v; g = 3.0 * v * v; break;
    case EXP: f = exp(v); g = f; break;
    case SIGMOID2: f = erf(v * SQRT1_2); g = SQRT_2_OVER_PI * exp(-0.5 * v * v); break;
    case NORMAL_CDF: f = 0.5 * erfc(-v * SQRT1_2); g = INV_SQRT_2PI * exp(-0.5 * v * v); break;
    default: f = v; break; /* identity */
    }
    if (d1) *d1 = g;
    return f;
}

/* Sum over samples of w_n * sum_o (a_no - t_no)^2 and, when grad is not NULL, its gradient
 * (added into grad). widths[0] = Din, widths[l] = k_l; bias[l-1], kinds (one per neuron,
 * layers concatenated) and p (row-major [W_l | b_l], layers concatenated) describe the net;
 * work holds 3 * (widths[1] + ... + widths[L]) doubles. */
double mgf_mse_fg(int L, const long *widths, const int *bias, const int *kinds,
                  const double *p, long N, const double *X, const double *T, const double *w,
                  double *grad, double *work)
{
    long tot = 0;
    for (int l = 1; l <= L; l++) tot += widths[l];
    double *A = work, *D1 = work + tot, *DL = work + 2 * tot; /* activations, f', deltas */
    const long dout = widths[L];
    double loss = 0.0;
    for (long s = 0; s < N; s++) {
        const double *x = X + s * widths[0];
        long off = 0, aoff = 0;
        const double *prev = x;
        for (int l = 1; l <= L; l++) { /* forward */
            const long k = widths[l], m = widths[l - 1] + bias[l - 1];
            const double *M = p + off;
            for (long i = 0; i < k; i++) {
                double h = bias[l - 1] ? M[i * m + m - 1] : 0.0;
                for (long j = 0; j < widths[l - 1]; j++) h += M[i * m + j] * prev[j];
                A[aoff + i] = act_scalar(kinds[aoff + i], h, grad ? &D1[aoff + i] : NULL);
            }
            prev = A + aoff;
            off += k * m;
            aoff += k;
        }
        const double ws = w ? w[s] : 1.0;
        const double *t = T + s * dout, *a = A + aoff - dout;
        double ls = 0.0;
        for (long o = 0; o < dout; o++) {
            const double e = a[o] - t[o];
            ls += e * e;
            DL[aoff - dout + o] = 2.0 * ws * e * D1[aoff - dout + o];
        }
        loss += ws * ls;
        if (!grad) continue;
        for (int l = L; l >= 1; l--) { /* backward */
            const long k = widths[l], kin = widths[l - 1], m = kin + bias[l - 1];
            off -= k * m;
            aoff -= k;
            const double *M = p + off, *d = DL + aoff;
            const double *in = l > 1 ? A + aoff - kin : x;
            double *G = grad + off;
            for (long i = 0; i < k; i++) {
                for (long j = 0; j < kin; j++) G[i * m + j] += d[i] * in[j];
                if (bias[l - 1]) G[i * m + m - 1] += d[i];
            }
            if (l > 1) {
                double *dn = DL + aoff - kin;
                for (long j = 0; j < kin; j++) {
                    double acc = 0.0;
                    for (long i = 0; i < k; i++) acc += M[i * m + j] * d[i];
                    dn[j] = acc * D1[aoff - kin + j];
                }
            }
        }
    }
    return loss;
}

/* out[s, a, i] = u[s, a] * v[s, i] for s < n, a < k, i < m; rows of out, u, v are ldo,
 * ldu, ldv apart (the Hessian kernel's outer products of per-sample factors). */
void mgf_outer_rows(long n, long k, long m, const double *restrict u, long ldu,
                    const double *restrict v, long ldv, double *restrict out, long ldo)
{
    for (long s = 0; s < n; s++) {
        const double *us = u + s * ldu, *vs = v + s * ldv;
        double *o = out + s * ldo;
        for (long a = 0; a < k; a++) {
            const double c = us[a];
            #pragma omp simd
            for (long i = 0; i < m; i++) o[a * m + i] = c * vs[i];
        }
    }
}
