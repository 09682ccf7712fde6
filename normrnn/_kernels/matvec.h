/* The sequential product of BPTT, y += M^T x, for one thread.
 *
 * Every token needs two of them, one after the other: S s_t forward (as
 * (S^T)^T s_t) and S^T delta_t backward.  Nothing else can run meanwhile,
 * so their speed is the speed of the whole recurrence.  At H = 128 the
 * matrix (128 KiB in float64) does not fit in L1 and is read from L2 on every
 * call; the fastest kernel is the one that reads it once, in order, and does
 * nothing else.  BLAS's gemv is built for large matrices and takes about a
 * third longer here (``normrnn bench`` and ``benchmarks/`` measure both).
 *
 * The loop: y, a panel of up to 8 vectors of it at a time (64 doubles, 128
 * floats), stays in registers while the rows of M stream past:
 *
 *     for each block of 16 rows i0 .. i0+15:
 *         for each panel of columns j:
 *             acc = y[j]                    (8 registers)
 *             for i in the block:
 *                 acc += x[i] * M[i, j]     (8 loads, 8 multiply-adds)
 *             y[j] = acc
 *
 * Each y[j] is summed over i in order, with no horizontal sums to reorder
 * it: its error is that of a plain sum of ``rows`` products, which is what
 * tests/test_matvec.py holds it to (the AVX2 and AVX-512 clones fuse each
 * multiply-add, one rounding instead of two).
 *
 * "Vectors" are GCC's vector extensions (also understood by clang), each
 * exactly one register of the instruction set it is compiled for: 64 bytes
 * for x86-64-v4 (AVX-512), 32 for x86-64-v3 (AVX2 + FMA), 16 for the
 * baseline (SSE2).  A vector wider than the registers would be split, and the
 * eight accumulators of a panel would no longer fit in the register file:
 * 64-byte vectors on an AVX2-only CPU ran the product 10x slower (19.6 us
 * against 1.8 us at H = 128).  So each level gets its own function with its
 * own vector width, and normrnn_matvec_t_add_d / _f pick the best one this
 * CPU runs, once: one portable binary, no -march=native.  Built for one
 * -march alone (NORMRNN_NO_CLONES, as the tests do), the width is that
 * -march's.  Other compilers get the same loop on plain scalars.
 */
#ifndef NORMRNN_MATVEC_H
#define NORMRNN_MATVEC_H

#include <stddef.h>
#include <stdlib.h>                          /* getenv: NORMRNN_MAX_LEVEL */
#include <string.h>

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) \
    && !defined(NORMRNN_NO_CLONES)        /* tests build each -march alone */
#define NORMRNN_LEVELS 1
#endif

#if defined(__GNUC__)
/* BYTES of doubles or floats; aligned(...) lets them load from any element,
   may_alias from any double / float array. */
#define NORMRNN_VECTOR(NAME, REAL, BYTES)                                       \
    typedef REAL NAME                                                           \
        __attribute__((vector_size(BYTES), aligned(sizeof(REAL)), may_alias));
NORMRNN_VECTOR(normrnn_vd64, double, 64)
NORMRNN_VECTOR(normrnn_vf64, float, 64)
NORMRNN_VECTOR(normrnn_vd32, double, 32)
NORMRNN_VECTOR(normrnn_vf32, float, 32)
NORMRNN_VECTOR(normrnn_vd16, double, 16)
NORMRNN_VECTOR(normrnn_vf16, float, 16)
#if defined(__AVX512F__)                  /* the -march of a build without levels */
typedef normrnn_vd64 normrnn_vd;
typedef normrnn_vf64 normrnn_vf;
#elif defined(__AVX2__)
typedef normrnn_vd32 normrnn_vd;
typedef normrnn_vf32 normrnn_vf;
#else
typedef normrnn_vd16 normrnn_vd;
typedef normrnn_vf16 normrnn_vf;
#endif
#define NORMRNN_LANES(VEC, REAL) ((int)(sizeof(VEC) / sizeof(REAL)))
#define NORMRNN_INLINE static inline __attribute__((always_inline))
#define NORMRNN_RESTRICT __restrict__
#else
typedef double normrnn_vd;
typedef float normrnn_vf;
#define NORMRNN_LANES(VEC, REAL) 1
#define NORMRNN_INLINE static inline
#define NORMRNN_RESTRICT
#endif

/* One panel: y[0 : nv*LANES] += sum_i x[i] m[i, 0 : nv*LANES], nv <= 16.
   Inlined with a constant nv, so acc[] is registers, not memory. */
#define NORMRNN_DEFINE_PANEL(NAME, REAL, VEC)                                   \
NORMRNN_INLINE void NAME(                                                       \
        int nv, int rows, int cols, const REAL *NORMRNN_RESTRICT m,             \
        const REAL *NORMRNN_RESTRICT x, REAL *NORMRNN_RESTRICT y)               \
{                                                                               \
    const int lanes = NORMRNN_LANES(VEC, REAL);                                 \
    VEC acc[16];                                                                \
    for (int k = 0; k < nv; k++)                                                \
        acc[k] = *(const VEC *)(y + k * lanes);                                 \
    for (int i = 0; i < rows; i++) {                                            \
        const REAL *row = m + (size_t)i * cols;                                 \
        VEC x_i = x[i] - (VEC){0};      /* x[i] in every lane (x - 0 is x,  */ \
                                        /* even -0: a broadcast from memory) */ \
        for (int k = 0; k < nv; k++)                                            \
            acc[k] += x_i * *(const VEC *)(row + k * lanes);                    \
    }                                                                           \
    for (int k = 0; k < nv; k++)                                                \
        *(VEC *)(y + k * lanes) = acc[k];                                       \
}

/* y (cols,) += m^T x for a row-major m (rows, cols) and x (rows,), in blocks
   of 16 rows: panels of WIDE (8 or 16: AVX-512's 32 registers hold 16
   accumulators and the row's loads), 8, 4, 2 and 1 vectors, then the last
   cols % lanes columns.  The width changes which columns share a pass, never
   the order of any y[j]'s sum.  A panel reads a piece of every row of its
   block, one memory page per row when rows are long; the processor's prefetchers follow a few dozen
   pages at once, so a 16-row block keeps a matrix too big for L2 (H = 512)
   streaming, and costs nothing for small ones. */
#define NORMRNN_DEFINE_MATVEC_T_ADD_WIDE(NAME, TARGET, PANEL, REAL, VEC, WIDE)  \
static TARGET void NAME(                                                        \
        int rows, int cols, const REAL *NORMRNN_RESTRICT m,                     \
        const REAL *NORMRNN_RESTRICT x, REAL *NORMRNN_RESTRICT y)               \
{                                                                               \
    const int lanes = NORMRNN_LANES(VEC, REAL);                                 \
    for (int i = 0; i < rows; i += 16) {                                        \
        const int n = rows - i < 16 ? rows - i : 16;                            \
        const REAL *block = m + (size_t)i * cols, *x_block = x + i;             \
        int j = 0;                                                              \
        for (; j + WIDE * lanes <= cols; j += WIDE * lanes)                     \
            PANEL(WIDE, n, cols, block + j, x_block, y + j);                    \
        if (WIDE > 8 && j + 8 * lanes <= cols) {                                \
            PANEL(8, n, cols, block + j, x_block, y + j);                       \
            j += 8 * lanes;                                                     \
        }                                                                       \
        if (j + 4 * lanes <= cols) {                                            \
            PANEL(4, n, cols, block + j, x_block, y + j);                       \
            j += 4 * lanes;                                                     \
        }                                                                       \
        if (j + 2 * lanes <= cols) {                                            \
            PANEL(2, n, cols, block + j, x_block, y + j);                       \
            j += 2 * lanes;                                                     \
        }                                                                       \
        if (j + lanes <= cols) {                                                \
            PANEL(1, n, cols, block + j, x_block, y + j);                       \
            j += lanes;                                                         \
        }                                                                       \
        for (int r = 0; r < n && j < cols; r++)                                 \
            for (int k = j; k < cols; k++)                                      \
                y[k] += x_block[r] * block[(size_t)r * cols + k];               \
    }                                                                           \
}
#define NORMRNN_DEFINE_MATVEC_T_ADD(NAME, TARGET, PANEL, REAL, VEC)             \
    NORMRNN_DEFINE_MATVEC_T_ADD_WIDE(NAME, TARGET, PANEL, REAL, VEC, 8)

#ifdef NORMRNN_LEVELS
/* One function per level, each with its own register width (rows_matmul.h
   defines its kernels per level the same way) ... */
#define NORMRNN_V4 __attribute__((target("arch=x86-64-v4")))
#define NORMRNN_V3 __attribute__((target("arch=x86-64-v3")))
NORMRNN_DEFINE_PANEL(normrnn_panel_d64, double, normrnn_vd64)
NORMRNN_DEFINE_PANEL(normrnn_panel_f64, float, normrnn_vf64)
NORMRNN_DEFINE_PANEL(normrnn_panel_d32, double, normrnn_vd32)
NORMRNN_DEFINE_PANEL(normrnn_panel_f32, float, normrnn_vf32)
NORMRNN_DEFINE_PANEL(normrnn_panel_d16, double, normrnn_vd16)
NORMRNN_DEFINE_PANEL(normrnn_panel_f16, float, normrnn_vf16)
NORMRNN_DEFINE_MATVEC_T_ADD(normrnn_matvec_t_add_d_v4, NORMRNN_V4, normrnn_panel_d64,
                            double, normrnn_vd64)
NORMRNN_DEFINE_MATVEC_T_ADD(normrnn_matvec_t_add_f_v4, NORMRNN_V4, normrnn_panel_f64,
                            float, normrnn_vf64)
NORMRNN_DEFINE_MATVEC_T_ADD(normrnn_matvec_t_add_d_v3, NORMRNN_V3, normrnn_panel_d32,
                            double, normrnn_vd32)
NORMRNN_DEFINE_MATVEC_T_ADD(normrnn_matvec_t_add_f_v3, NORMRNN_V3, normrnn_panel_f32,
                            float, normrnn_vf32)
NORMRNN_DEFINE_MATVEC_T_ADD(normrnn_matvec_t_add_d_v1, , normrnn_panel_d16,
                            double, normrnn_vd16)
NORMRNN_DEFINE_MATVEC_T_ADD(normrnn_matvec_t_add_f_v1, , normrnn_panel_f16,
                            float, normrnn_vf16)

/* NORMRNN_MAX_LEVEL, read once with the level: "v3" or "v1" keeps the
   kernels at that level at most, as on a CPU without AVX-512 (or AVX2), the
   way OPENBLAS_CORETYPE or ATEN_CPU_CAPABILITY do for their libraries.
   Anything else is no limit here; normrnn.kernel_choice refuses it first. */
static int normrnn_level_limit(void)
{
    const char *limit = getenv("NORMRNN_MAX_LEVEL");
    if (limit != NULL && strcmp(limit, "v3") == 0)
        return 3;
    if (limit != NULL && strcmp(limit, "v1") == 0)
        return 1;
    return 4;
}

/* ... and the best one this CPU runs, found once (x86-64-v4 needs AVX-512
   F, VL, BW, DQ and CD; v3 AVX2, FMA, BMI1/2, F16C, LZCNT and MOVBE). */
static int normrnn_level(void)
{
    static int level = 0;
    if (level == 0) {
        int limit = normrnn_level_limit();
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
                && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")
                && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx2")
                && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2"))
            level = 4;
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
                 && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2"))
            level = 3;
        else
            level = 1;
        if (level > limit)
            level = limit;
    }
    return level;
}

/* NAME PARAMS: run NAME_v4, NAME_v3 or NAME_v1 ARGS, whichever this CPU can. */
#define NORMRNN_DEFINE_DISPATCH(NAME, PARAMS, ARGS)                            \
    static void NAME PARAMS                                                     \
    {                                                                           \
        switch (normrnn_level()) {                                              \
        case 4: NAME##_v4 ARGS; break;                                          \
        case 3: NAME##_v3 ARGS; break;                                          \
        default: NAME##_v1 ARGS;                                                \
        }                                                                       \
    }

NORMRNN_DEFINE_DISPATCH(normrnn_matvec_t_add_d,
                        (int rows, int cols, const double *m, const double *x, double *y),
                        (rows, cols, m, x, y))
NORMRNN_DEFINE_DISPATCH(normrnn_matvec_t_add_f,
                        (int rows, int cols, const float *m, const float *x, float *y),
                        (rows, cols, m, x, y))
NORMRNN_DEFINE_MATVEC_T_ADD_WIDE(normrnn_matvec_t_add_d_v4w, NORMRNN_V4, normrnn_panel_d64,
                                 double, normrnn_vd64, 16)
NORMRNN_DEFINE_MATVEC_T_ADD_WIDE(normrnn_matvec_t_add_f_v4w, NORMRNN_V4, normrnn_panel_f64,
                                 float, normrnn_vf64, 16)
static inline int normrnn_cpu_level(void) { return normrnn_level(); }

/* Every variant by name, with the level it needs (kernel_choice.py times
   them; the tests run each).  The v3 and v4 variants all fuse each
   multiply-add and sum in the same order: they give the same bits. */
#define NORMRNN_MATVEC_VARIANTS                                                 \
    {"v4-matvec16", 4, normrnn_matvec_t_add_d_v4w, normrnn_matvec_t_add_f_v4w}, \
    {"v4-matvec8", 4, normrnn_matvec_t_add_d_v4, normrnn_matvec_t_add_f_v4},    \
    {"v3-matvec8", 3, normrnn_matvec_t_add_d_v3, normrnn_matvec_t_add_f_v3},    \
    {"v1-matvec8", 1, normrnn_matvec_t_add_d_v1, normrnn_matvec_t_add_f_v1}
#else   /* one build for this machine; rows_matmul.h ends the same way on purpose */
NORMRNN_DEFINE_PANEL(normrnn_panel_d, double, normrnn_vd)
NORMRNN_DEFINE_PANEL(normrnn_panel_f, float, normrnn_vf)
NORMRNN_DEFINE_MATVEC_T_ADD(normrnn_matvec_t_add_d, , normrnn_panel_d,
                            double, normrnn_vd)
NORMRNN_DEFINE_MATVEC_T_ADD(normrnn_matvec_t_add_f, , normrnn_panel_f,
                            float, normrnn_vf)
static inline int normrnn_cpu_level(void) { return 0; }   /* 0: this build's own -march */
#define NORMRNN_MATVEC_VARIANTS                                                 \
    {"matvec8", 0, normrnn_matvec_t_add_d, normrnn_matvec_t_add_f}
#endif

typedef void (*normrnn_matvec_d_fn)(int, int, const double *, const double *, double *);
typedef void (*normrnn_matvec_f_fn)(int, int, const float *, const float *, float *);
static const struct {
    const char *name;
    int level;
    normrnn_matvec_d_fn d;
    normrnn_matvec_f_fn f;
} normrnn_matvec_variants[] = {NORMRNN_MATVEC_VARIANTS};

static inline int normrnn_matvec_variant_count(void)
{ return (int)(sizeof(normrnn_matvec_variants) / sizeof(normrnn_matvec_variants[0])); }
static inline const char *normrnn_matvec_variant_name(int v)
{ return normrnn_matvec_variants[v].name; }
static inline int normrnn_matvec_variant_level(int v)
{ return normrnn_matvec_variants[v].level; }
static inline void normrnn_matvec_variant_d(int v, int rows, int cols, const double *m,
                                            const double *x, double *y)
{ normrnn_matvec_variants[v].d(rows, cols, m, x, y); }
static inline void normrnn_matvec_variant_f(int v, int rows, int cols, const float *m,
                                            const float *x, float *y)
{ normrnn_matvec_variants[v].f(rows, cols, m, x, y); }

#endif
