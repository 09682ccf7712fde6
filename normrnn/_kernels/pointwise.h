/* The per-number work of a step, in vector registers: f, f', and the softmax.
 *
 * Around the products, every step applies the activation to its c H
 * pre-activations and keeps f'(a) in their place (one division gives both),
 * every backward step multiplies its deltas by the f'(a) kept, and every
 * scored position turns V logits into dz = softmax(z) - onehot(x).
 * Written as plain Cython loops these compile for the baseline x86-64
 * (SSE2: four floats at a time) and call the C library's exp once per logit;
 * in float32 that was a fifth of a lockstep batch's time.  Here each is one
 * loop over GCC vectors of the widest level the CPU runs, chosen as
 * matvec.h chooses its own (x86-64-v4, v3 or the baseline).
 *
 * Same bits on every level.  Nothing here fuses a multiply-add (this header
 * turns contraction off), and each number's arithmetic is the same chain of
 * IEEE operations in every lane:
 *
 *     f(x)       = 1 - r, r = 1 / (x^2 + x + 1)   as activation.pxd's f
 *     f'(x)      = (2 (x r) + r) r, the same r     as its f_grad
 *
 * so these give exactly the bits of the scalar f and f_grad of
 * activation.pxd, which the per-document kernels and the sections use.
 * The softmax's exp is this header's own (below), and so is the order of its
 * sum: both are fixed, so the loss and dz do not depend on the CPU either.
 *
 * exp(x) for x <= 0 (the logits shifted by their maximum): x = n ln 2 + r
 * with n = round(x / ln 2) and |r| <= ln(2) / 2, ln 2 split in two so that
 * n ln 2 is exact enough; exp(r) by a polynomial (Cephes' expf in float32,
 * its Taylor series to r^13 in float64, whose truncation error is below
 * 1e-17); then 2^n put into the exponent's bits.  Measured against NumPy's
 * exp by tests/test_pointwise.py: at most 2 units in the last place in
 * either precision.  An x below ln of the smallest normal number (-87.3 in
 * float32, -708.4 in float64), where exp would give a subnormal or 0, gives
 * 0: a probability below 1e-38 that no sum of probabilities can see.
 * A NaN stays NaN.
 */
#ifndef NORMRNN_POINTWISE_H
#define NORMRNN_POINTWISE_H

#include <math.h>
#include <stdint.h>
#include "matvec.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")   /* no fused multiply-add: the same bits on every level */
#endif
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

/* One level's functions: SUFFIX, TARGET, the double and float vectors, and
   the integer vectors of their size (64-bit lanes for double, 32 for float). */
#define NORMRNN_DEFINE_POINTWISE(SUFFIX, TARGET, VD, VF, VL, VI)                 \
                                                                                \
static TARGET void normrnn_activate_d_##SUFFIX(                                 \
        int n, const double *NORMRNN_RESTRICT a, double *NORMRNN_RESTRICT s)    \
{                                                                               \
    const int lanes = NORMRNN_LANES(VD, double);                                \
    int i = 0;                                                                  \
    for (; i + lanes <= n; i += lanes) {                                        \
        VD x = *(const VD *)(a + i);                                            \
        *(VD *)(s + i) = 1.0 - 1.0 / (x * x + x + 1.0);                         \
    }                                                                           \
    for (; i < n; i++)                                                          \
        s[i] = 1.0 - 1.0 / (a[i] * a[i] + a[i] + 1.0);                          \
}                                                                               \
                                                                                \
static TARGET void normrnn_activate_f_##SUFFIX(                                 \
        int n, const float *NORMRNN_RESTRICT a, float *NORMRNN_RESTRICT s)      \
{                                                                               \
    const int lanes = NORMRNN_LANES(VF, float);                                 \
    int i = 0;                                                                  \
    for (; i + lanes <= n; i += lanes) {                                        \
        VF x = *(const VF *)(a + i);                                            \
        *(VF *)(s + i) = 1.0f - 1.0f / (x * x + x + 1.0f);                      \
    }                                                                           \
    for (; i < n; i++)                                                          \
        s[i] = 1.0f - 1.0f / (a[i] * a[i] + a[i] + 1.0f);                       \
}                                                                               \
                                                                                \
static TARGET void normrnn_activate_and_grad_d_##SUFFIX(                        \
        int n, double *NORMRNN_RESTRICT a, double *NORMRNN_RESTRICT s)          \
{                                                                               \
    const int lanes = NORMRNN_LANES(VD, double);                                \
    int i = 0;                                                                  \
    for (; i + lanes <= n; i += lanes) {                                        \
        VD x = *(const VD *)(a + i);                                            \
        VD r = 1.0 / (x * x + x + 1.0);                                         \
        *(VD *)(s + i) = 1.0 - r;                                               \
        *(VD *)(a + i) = (2.0 * (x * r) + r) * r;                               \
    }                                                                           \
    for (; i < n; i++) {                                                        \
        double r = 1.0 / (a[i] * a[i] + a[i] + 1.0);                            \
        s[i] = 1.0 - r;                                                         \
        a[i] = (2.0 * (a[i] * r) + r) * r;                                      \
    }                                                                           \
}                                                                               \
                                                                                \
static TARGET void normrnn_activate_and_grad_f_##SUFFIX(                        \
        int n, float *NORMRNN_RESTRICT a, float *NORMRNN_RESTRICT s)            \
{                                                                               \
    const int lanes = NORMRNN_LANES(VF, float);                                 \
    int i = 0;                                                                  \
    for (; i + lanes <= n; i += lanes) {                                        \
        VF x = *(const VF *)(a + i);                                            \
        VF r = 1.0f / (x * x + x + 1.0f);                                       \
        *(VF *)(s + i) = 1.0f - r;                                              \
        *(VF *)(a + i) = (2.0f * (x * r) + r) * r;                              \
    }                                                                           \
    for (; i < n; i++) {                                                        \
        float r = 1.0f / (a[i] * a[i] + a[i] + 1.0f);                           \
        s[i] = 1.0f - r;                                                        \
        a[i] = (2.0f * (a[i] * r) + r) * r;                                     \
    }                                                                           \
}                                                                               \
                                                                                \
/* exp(x) lane by lane, x <= 0 (see the top of this file). */                  \
NORMRNN_INLINE VD normrnn_exp_d_##SUFFIX(VD x)                                  \
{                                                                               \
    const double magic = 6755399441055744.0;          /* 1.5 2^52 */            \
    VD t = x * 1.4426950408889634 + magic;            /* magic + round(x/ln2) */\
    VD n = t - magic;                                                           \
    VD r = (x - n * 6.93147180369123816490e-01) - n * 1.90821492927058770002e-10; \
    VD p = r * (1.0 / 6227020800.0) + 1.0 / 479001600.0;                        \
    p = p * r + 1.0 / 39916800.0;                                               \
    p = p * r + 1.0 / 3628800.0;                                                \
    p = p * r + 1.0 / 362880.0;                                                 \
    p = p * r + 1.0 / 40320.0;                                                  \
    p = p * r + 1.0 / 5040.0;                                                   \
    p = p * r + 1.0 / 720.0;                                                    \
    p = p * r + 1.0 / 120.0;                                                    \
    p = p * r + 1.0 / 24.0;                                                     \
    p = p * r + 1.0 / 6.0;                                                      \
    p = p * r + 0.5;                                                            \
    p = p * (r * r) + r + 1.0;                                                  \
    VL bits = ((VL)t - (VL)((VD){0} + magic) + 1023) << 52;     /* 2^n */       \
    VL keep = ~(x < -708.39641853226408);             /* a NaN is kept */      \
    return (VD)((VL)(p * (VD)bits) & keep);                                     \
}                                                                               \
                                                                                \
NORMRNN_INLINE VF normrnn_exp_f_##SUFFIX(VF x)                                  \
{                                                                               \
    const float magic = 12582912.0f;                  /* 1.5 2^23 */            \
    VF t = x * 1.44269504088896341f + magic;                                    \
    VF n = t - magic;                                                           \
    VF r = (x - n * 0.693359375f) - n * -2.12194440e-4f;                        \
    VF p = r * 1.9875691500e-4f + 1.3981999507e-3f;                             \
    p = p * r + 8.3334519073e-3f;                                               \
    p = p * r + 4.1665795894e-2f;                                               \
    p = p * r + 1.6666665459e-1f;                                               \
    p = p * r + 5.0000001201e-1f;                                               \
    p = p * (r * r) + r + 1.0f;                                                 \
    VI bits = ((VI)t - (VI)((VF){0} + magic) + 127) << 23;                      \
    VI keep = ~(x < -87.3365447504f);                                           \
    return (VF)((VI)(p * (VF)bits) & keep);                                     \
}                                                                               \
                                                                                \
NORMRNN_DEFINE_EXP_SHIFTED(normrnn_exp_shifted_d_##SUFFIX, TARGET, double, VD,   \
                           normrnn_exp_d_##SUFFIX)                              \
NORMRNN_DEFINE_EXP_SHIFTED(normrnn_exp_shifted_f_##SUFFIX, TARGET, float, VF,    \
                           normrnn_exp_f_##SUFFIX)                              \
NORMRNN_DEFINE_MAX(normrnn_max_d_##SUFFIX, TARGET, double, VD, VL)              \
NORMRNN_DEFINE_MAX(normrnn_max_f_##SUFFIX, TARGET, float, VF, VI)               \
NORMRNN_DEFINE_SOFTMAX(normrnn_softmax_xent_d_##SUFFIX, TARGET, double, VD,      \
                       normrnn_exp_shifted_d_##SUFFIX, normrnn_max_d_##SUFFIX)  \
NORMRNN_DEFINE_SOFTMAX(normrnn_softmax_xent_f_##SUFFIX, TARGET, float, VF,       \
                       normrnn_exp_shifted_f_##SUFFIX, normrnn_max_f_##SUFFIX)

/* max(z[0 .. n-1]), n >= 1: a vector of running maxima (a select through
   the comparison's mask), then its lanes.  A maximum is exact, whatever the
   order. */
#define NORMRNN_DEFINE_MAX(NAME, TARGET, REAL, VEC, VINT)                       \
NORMRNN_INLINE REAL NAME(int n, const REAL *NORMRNN_RESTRICT z)                 \
{                                                                               \
    const int lanes = NORMRNN_LANES(VEC, REAL);                                 \
    REAL best = z[0];                                                           \
    int i = 0;                                                                  \
    if (n >= lanes) {                                                           \
        VEC m = *(const VEC *)z;                                                \
        for (i = lanes; i + lanes <= n; i += lanes) {                           \
            VEC v = *(const VEC *)(z + i);                                      \
            VINT greater = v > m;                                               \
            m = (VEC)(((VINT)v & greater) | ((VINT)m & ~greater));              \
        }                                                                       \
        for (int k = 0; k < lanes; k++)                                         \
            if (m[k] > best)                                                    \
                best = m[k];                                                    \
    }                                                                           \
    for (; i < n; i++)                                                          \
        if (z[i] > best)                                                        \
            best = z[i];                                                        \
    return best;                                                                \
}

/* z[i] = exp(z[i] - shift) for n numbers, z[i] - shift <= 0.  The last
   n % lanes numbers go through the same vector code, padded with zeros. */
#define NORMRNN_DEFINE_EXP_SHIFTED(NAME, TARGET, REAL, VEC, EXP)                \
static TARGET void NAME(int n, REAL *NORMRNN_RESTRICT z, REAL shift)            \
{                                                                               \
    const int lanes = NORMRNN_LANES(VEC, REAL);                                 \
    int i;                                                                      \
    for (i = 0; i + lanes <= n; i += lanes)                                     \
        *(VEC *)(z + i) = EXP(*(const VEC *)(z + i) - shift);                   \
    if (i < n) {                                                                \
        REAL pad[sizeof(VEC) / sizeof(REAL)] = {0};                             \
        for (int k = 0; i + k < n; k++)                                         \
            pad[k] = z[i + k] - shift;                                          \
        *(VEC *)pad = EXP(*(const VEC *)pad);                                   \
        for (int k = 0; i + k < n; k++)                                         \
            z[i + k] = pad[k];                                                  \
    }                                                                           \
}

/* z (n,) becomes dz = softmax(z) - onehot(token) in place; returns
   -log softmax(z)[token] = (max z - z[token]) + log sum exp(z - max z).
   The sum is in double, in a fixed order that no vector width changes:
   sixteen running sums, number i going to sum i % 16, then added pairwise. */
#define NORMRNN_DEFINE_SOFTMAX(NAME, TARGET, REAL, VEC, EXP_SHIFTED, MAX)       \
static TARGET double NAME(int n, REAL *NORMRNN_RESTRICT z, int token)          \
{                                                                               \
    const int lanes = NORMRNN_LANES(VEC, REAL);                                 \
    REAL z_max = MAX(n, z);                                                     \
    int i;                                                                      \
    double loss = (double)z_max - (double)z[token];                             \
    double sums[16] = {0};                                                      \
    EXP_SHIFTED(n, z, z_max);                                                   \
    for (i = 0; i + 16 <= n; i += 16)                                           \
        for (int k = 0; k < 16; k++)                                            \
            sums[k] += (double)z[i + k];                                        \
    for (int k = 0; i + k < n; k++)                                             \
        sums[k] += (double)z[i + k];                                            \
    for (int w = 8; w >= 1; w /= 2)                                             \
        for (int k = 0; k < w; k++)                                             \
            sums[k] += sums[k + w];                                             \
    const REAL inverse = (REAL)(1 / sums[0]);                                   \
    for (i = 0; i + lanes <= n; i += lanes)                                     \
        *(VEC *)(z + i) = *(const VEC *)(z + i) * inverse;                      \
    for (; i < n; i++)                                                          \
        z[i] *= inverse;                                                        \
    z[token] -= 1;                                                              \
    return loss + log(sums[0]);                                                 \
}

#ifdef NORMRNN_LEVELS
typedef int64_t normrnn_vl64 __attribute__((vector_size(64)));
typedef int32_t normrnn_vi64 __attribute__((vector_size(64)));
typedef int64_t normrnn_vl32 __attribute__((vector_size(32)));
typedef int32_t normrnn_vi32 __attribute__((vector_size(32)));
typedef int64_t normrnn_vl16 __attribute__((vector_size(16)));
typedef int32_t normrnn_vi16 __attribute__((vector_size(16)));
NORMRNN_DEFINE_POINTWISE(v4, NORMRNN_V4, normrnn_vd64, normrnn_vf64, normrnn_vl64, normrnn_vi64)
NORMRNN_DEFINE_POINTWISE(v3, NORMRNN_V3, normrnn_vd32, normrnn_vf32, normrnn_vl32, normrnn_vi32)
NORMRNN_DEFINE_POINTWISE(v1, , normrnn_vd16, normrnn_vf16, normrnn_vl16, normrnn_vi16)
NORMRNN_DEFINE_DISPATCH(normrnn_activate_d, (int n, const double *a, double *s), (n, a, s))
NORMRNN_DEFINE_DISPATCH(normrnn_activate_f, (int n, const float *a, float *s), (n, a, s))
NORMRNN_DEFINE_DISPATCH(normrnn_activate_and_grad_d, (int n, double *a, double *s), (n, a, s))
NORMRNN_DEFINE_DISPATCH(normrnn_activate_and_grad_f, (int n, float *a, float *s), (n, a, s))
static double normrnn_softmax_xent_d(int n, double *z, int token)
{
    switch (normrnn_level()) {
    case 4: return normrnn_softmax_xent_d_v4(n, z, token);
    case 3: return normrnn_softmax_xent_d_v3(n, z, token);
    default: return normrnn_softmax_xent_d_v1(n, z, token);
    }
}
static double normrnn_softmax_xent_f(int n, float *z, int token)
{
    switch (normrnn_level()) {
    case 4: return normrnn_softmax_xent_f_v4(n, z, token);
    case 3: return normrnn_softmax_xent_f_v3(n, z, token);
    default: return normrnn_softmax_xent_f_v1(n, z, token);
    }
}
#define NORMRNN_POINTWISE_VARIANTS                                              \
    {"v4", 4, normrnn_activate_d_v4, normrnn_activate_f_v4,                     \
     normrnn_activate_and_grad_d_v4, normrnn_activate_and_grad_f_v4,            \
     normrnn_exp_shifted_d_v4, normrnn_exp_shifted_f_v4,                        \
     normrnn_softmax_xent_d_v4, normrnn_softmax_xent_f_v4},                     \
    {"v3", 3, normrnn_activate_d_v3, normrnn_activate_f_v3,                     \
     normrnn_activate_and_grad_d_v3, normrnn_activate_and_grad_f_v3,            \
     normrnn_exp_shifted_d_v3, normrnn_exp_shifted_f_v3,                        \
     normrnn_softmax_xent_d_v3, normrnn_softmax_xent_f_v3},                     \
    {"v1", 1, normrnn_activate_d_v1, normrnn_activate_f_v1,                     \
     normrnn_activate_and_grad_d_v1, normrnn_activate_and_grad_f_v1,            \
     normrnn_exp_shifted_d_v1, normrnn_exp_shifted_f_v1,                        \
     normrnn_softmax_xent_d_v1, normrnn_softmax_xent_f_v1}
#elif defined(__GNUC__)     /* one build for this machine's -march, as matvec.h */
typedef int64_t normrnn_vl __attribute__((vector_size(sizeof(normrnn_vd))));
typedef int32_t normrnn_vi __attribute__((vector_size(sizeof(normrnn_vf))));
NORMRNN_DEFINE_POINTWISE(one, , normrnn_vd, normrnn_vf, normrnn_vl, normrnn_vi)
#define normrnn_activate_d normrnn_activate_d_one
#define normrnn_activate_f normrnn_activate_f_one
#define normrnn_activate_and_grad_d normrnn_activate_and_grad_d_one
#define normrnn_activate_and_grad_f normrnn_activate_and_grad_f_one
#define normrnn_softmax_xent_d normrnn_softmax_xent_d_one
#define normrnn_softmax_xent_f normrnn_softmax_xent_f_one
#define NORMRNN_POINTWISE_VARIANTS                                              \
    {"one", 0, normrnn_activate_d_one, normrnn_activate_f_one,                  \
     normrnn_activate_and_grad_d_one, normrnn_activate_and_grad_f_one,          \
     normrnn_exp_shifted_d_one, normrnn_exp_shifted_f_one,                      \
     normrnn_softmax_xent_d_one, normrnn_softmax_xent_f_one}
#else                       /* no vector extensions: plain scalars, the C library's exp */
#define NORMRNN_DEFINE_SCALAR_POINTWISE(SUFFIX, REAL, EXP)                      \
static void normrnn_activate_##SUFFIX(int n, const REAL *a, REAL *s)            \
{ for (int i = 0; i < n; i++) s[i] = 1 - 1 / (a[i] * a[i] + a[i] + 1); }         \
static void normrnn_activate_and_grad_##SUFFIX(int n, REAL *a, REAL *s)         \
{                                                                               \
    for (int i = 0; i < n; i++) {                                               \
        REAL r = 1 / (a[i] * a[i] + a[i] + 1);                                  \
        s[i] = 1 - r;                                                           \
        a[i] = (2 * (a[i] * r) + r) * r;                                        \
    }                                                                           \
}                                                                               \
static void normrnn_exp_shifted_##SUFFIX(int n, REAL *z, REAL shift)            \
{ for (int i = 0; i < n; i++) z[i] = EXP(z[i] - shift); }                       \
static REAL normrnn_max_##SUFFIX(int n, const REAL *z)                          \
{                                                                               \
    REAL best = z[0];                                                           \
    for (int i = 1; i < n; i++)                                                 \
        if (z[i] > best)                                                        \
            best = z[i];                                                        \
    return best;                                                                \
}                                                                               \
NORMRNN_DEFINE_SOFTMAX(normrnn_softmax_xent_##SUFFIX, , REAL, REAL,             \
                       normrnn_exp_shifted_##SUFFIX, normrnn_max_##SUFFIX)
NORMRNN_DEFINE_SCALAR_POINTWISE(d, double, exp)
NORMRNN_DEFINE_SCALAR_POINTWISE(f, float, expf)
#define NORMRNN_POINTWISE_VARIANTS                                              \
    {"scalar", 0, normrnn_activate_d, normrnn_activate_f,                       \
     normrnn_activate_and_grad_d, normrnn_activate_and_grad_f,                  \
     normrnn_exp_shifted_d, normrnn_exp_shifted_f,                              \
     normrnn_softmax_xent_d, normrnn_softmax_xent_f}
#endif

/* Every level's functions by name (the tests run each and compare the bits). */
static const struct {
    const char *name;
    int level;
    void (*activate_d)(int, const double *, double *);
    void (*activate_f)(int, const float *, float *);
    void (*activate_and_grad_d)(int, double *, double *);
    void (*activate_and_grad_f)(int, float *, float *);
    void (*exp_shifted_d)(int, double *, double);
    void (*exp_shifted_f)(int, float *, float);
    double (*softmax_xent_d)(int, double *, int);
    double (*softmax_xent_f)(int, float *, int);
} normrnn_pointwise_variants[] = {NORMRNN_POINTWISE_VARIANTS};

static inline int normrnn_pointwise_variant_count(void)
{ return (int)(sizeof(normrnn_pointwise_variants) / sizeof(normrnn_pointwise_variants[0])); }

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

#endif
