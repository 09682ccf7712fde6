/* The sequential product of a lockstep batch, Y += X M, for one thread.
 *
 * X holds the rows (states forward, deltas backward) of the documents
 * stepping together, M is S^T forward and S backward: row r of the result
 * is M^T x_r, matvec.h's product for each document.  A BLAS gemm call of a
 * few rows costs more in packing and dispatch than the product itself at
 * H = 128; this kernel reads M once for every NR rows instead, NV vectors
 * of columns at a time (a register block of NR x NV accumulators):
 *
 *     for each strip of NV vectors of columns j:        ("by strip")
 *         for each group of NR rows r0 .. r0+NR-1:
 *             acc[r][k] = y_r[j + k]               (NR x NV registers)
 *             for i in 0 .. rows-1:
 *                 m_k = M[i, j + k]                (NV loads)
 *                 acc[r][k] += x_r[i] * m_k        (NR broadcasts, NR x NV multiply-adds)
 *             y_r[j + k] = acc[r][k]
 *
 * Looping over the strips outside keeps a strip of M (rows x NV vectors,
 * 16-32 KiB at H = 128) in L1 for every group of rows; the first kernel
 * ("by row", the two loops the other way round, NR x NV = 4 x 2) read all of
 * M from L2 once per four rows, which bounds it at about 16 bytes per
 * multiply-add.  AVX-512's 32 registers hold blocks of 24 accumulators
 * (8 x 3, 6 x 4, 12 x 2) where AVX2's 16 hold 12 at most.  Which block is
 * fastest depends on the CPU, H and B: kernel_choice.py times them once
 * per process (the table at the end of this file lists them).
 *
 * Each y_r[j] is summed over i in order starting from its old value, exactly
 * as matvec.h's kernel sums it: a document gets the same numbers whether it
 * steps alone or with others, and whichever group it falls in.  Vectors and
 * levels are matvec.h's (this header includes it and uses its level test).
 */
#ifndef NORMRNN_ROWS_MATMUL_H
#define NORMRNN_ROWS_MATMUL_H

#include "matvec.h"

/* nr (<= 12) rows of x and y; a panel of nv (<= 4) vectors: constants once
   inlined, so acc[][] is registers. */
#define NORMRNN_DEFINE_ROWS_PANEL(NAME, REAL, VEC)                              \
NORMRNN_INLINE void NAME(                                                       \
        int nr, int nv, int rows, int cols, const REAL *NORMRNN_RESTRICT m,     \
        const REAL *NORMRNN_RESTRICT x, int ldx, REAL *NORMRNN_RESTRICT y,      \
        int ldy)                                                                \
{                                                                               \
    const int lanes = NORMRNN_LANES(VEC, REAL);                                 \
    VEC acc[12][4];                                                             \
    for (int r = 0; r < nr; r++)                                                \
        for (int k = 0; k < nv; k++)                                            \
            acc[r][k] = *(const VEC *)(y + (size_t)r * ldy + k * lanes);        \
    for (int i = 0; i < rows; i++) {                                            \
        const REAL *row = m + (size_t)i * cols;                                 \
        VEC m_k[4];                                                             \
        for (int k = 0; k < nv; k++)                                            \
            m_k[k] = *(const VEC *)(row + k * lanes);                           \
        for (int r = 0; r < nr; r++) {                                          \
            VEC x_ri = x[(size_t)r * ldx + i] - (VEC){0};   /* as matvec.h */   \
            for (int k = 0; k < nv; k++)                                        \
                acc[r][k] += x_ri * m_k[k];                                     \
        }                                                                       \
    }                                                                           \
    for (int r = 0; r < nr; r++)                                                \
        for (int k = 0; k < nv; k++)                                            \
            *(VEC *)(y + (size_t)r * ldy + k * lanes) = acc[r][k];              \
}

/* One strip of nv vectors of columns for n rows: groups of NR rows, then
   what is left in groups of 4, 2 and 1 (every group size a constant). */
#define NORMRNN_ROWS_STRIP(PANEL, NR, NV, n, rows, cols, m, x, ldx, y, ldy)     \
    do {                                                                        \
        int r_ = 0;                                                             \
        for (; r_ + (NR) <= (n); r_ += (NR))                                    \
            PANEL(NR, NV, rows, cols, m, x + (size_t)r_ * ldx, ldx,             \
                  y + (size_t)r_ * ldy, ldy);                                   \
        while ((NR) > 4 && r_ + 4 <= (n)) {                                     \
            PANEL(4, NV, rows, cols, m, x + (size_t)r_ * ldx, ldx,              \
                  y + (size_t)r_ * ldy, ldy);                                   \
            r_ += 4;                                                            \
        }                                                                       \
        if ((NR) > 2 && r_ + 2 <= (n)) {                                        \
            PANEL(2, NV, rows, cols, m, x + (size_t)r_ * ldx, ldx,              \
                  y + (size_t)r_ * ldy, ldy);                                   \
            r_ += 2;                                                            \
        }                                                                       \
        if (r_ < (n))                                                           \
            PANEL(1, NV, rows, cols, m, x + (size_t)r_ * ldx, ldx,              \
                  y + (size_t)r_ * ldy, ldy);                                   \
    } while (0)

/* y (n, cols) += x (n, rows) m (rows, cols), all row-major: strips of NV
   vectors, then of 1, then the last cols % lanes columns; BY_ROW runs
   groups of NR rows outside the strips, else the strips outside. */
#define NORMRNN_DEFINE_ROWS_MATMUL(NAME, TARGET, PANEL, REAL, VEC, NR, NV, BY_ROW) \
static TARGET void NAME(                                                        \
        int n, int rows, int cols, const REAL *NORMRNN_RESTRICT m,              \
        const REAL *NORMRNN_RESTRICT x, int ldx, REAL *NORMRNN_RESTRICT y,      \
        int ldy)                                                                \
{                                                                               \
    const int lanes = NORMRNN_LANES(VEC, REAL);                                 \
    const int group = (BY_ROW) ? (NR) : n;                                      \
    for (int r0 = 0; r0 < n; r0 += group) {                                     \
        const int nr = n - r0 < group ? n - r0 : group;                         \
        const REAL *xr = x + (size_t)r0 * ldx;                                  \
        REAL *yr = y + (size_t)r0 * ldy;                                        \
        int j = 0;                                                              \
        for (; j + (NV) * lanes <= cols; j += (NV) * lanes)                     \
            NORMRNN_ROWS_STRIP(PANEL, NR, NV, nr, rows, cols, m + j, xr, ldx,   \
                               yr + j, ldy);                                    \
        for (; j + lanes <= cols; j += lanes)                                   \
            NORMRNN_ROWS_STRIP(PANEL, NR, 1, nr, rows, cols, m + j, xr, ldx,    \
                               yr + j, ldy);                                    \
        /* the last cols % lanes columns, i outside k: GCC vectorises a sum    \
           over i inside for AVX-512 as vector multiplies, then scalar adds,    \
           which round twice where the vector code fuses each multiply-add */   \
        for (int r = 0; r < nr; r++)                                            \
            for (int i = 0; i < rows; i++)                                      \
                for (int k = j; k < cols; k++)                                  \
                    yr[(size_t)r * ldy + k] +=                                  \
                        xr[(size_t)r * ldx + i] * m[(size_t)i * cols + k];      \
    }                                                                           \
}

/* A variant: its kernel for double and for float. */
#define NORMRNN_DEFINE_ROWS_VARIANT(SUFFIX, TARGET, VD, VF, NR, NV, BY_ROW)     \
    NORMRNN_DEFINE_ROWS_MATMUL(normrnn_rows_matmul_add_d_##SUFFIX, TARGET,      \
                               normrnn_rows_panel_##VD, double, normrnn_v##VD,  \
                               NR, NV, BY_ROW)                                  \
    NORMRNN_DEFINE_ROWS_MATMUL(normrnn_rows_matmul_add_f_##SUFFIX, TARGET,      \
                               normrnn_rows_panel_##VF, float, normrnn_v##VF,   \
                               NR, NV, BY_ROW)
#define NORMRNN_ROWS_ENTRY(NAME, LEVEL, SUFFIX)                                 \
    {NAME, LEVEL, normrnn_rows_matmul_add_d_##SUFFIX, normrnn_rows_matmul_add_f_##SUFFIX}

#ifdef NORMRNN_LEVELS
/* One panel per level and dtype, as matvec.h defines its own ... */
NORMRNN_DEFINE_ROWS_PANEL(normrnn_rows_panel_d64, double, normrnn_vd64)
NORMRNN_DEFINE_ROWS_PANEL(normrnn_rows_panel_f64, float, normrnn_vf64)
NORMRNN_DEFINE_ROWS_PANEL(normrnn_rows_panel_d32, double, normrnn_vd32)
NORMRNN_DEFINE_ROWS_PANEL(normrnn_rows_panel_f32, float, normrnn_vf32)
NORMRNN_DEFINE_ROWS_PANEL(normrnn_rows_panel_d16, double, normrnn_vd16)
NORMRNN_DEFINE_ROWS_PANEL(normrnn_rows_panel_f16, float, normrnn_vf16)
/* ... and the register blocks each level's registers hold (accumulators plus
   one load per vector of the strip; AVX-512 broadcasts x from memory). */
NORMRNN_DEFINE_ROWS_VARIANT(v4_8x3, NORMRNN_V4, d64, f64, 8, 3, 0)
NORMRNN_DEFINE_ROWS_VARIANT(v4_6x4, NORMRNN_V4, d64, f64, 6, 4, 0)
NORMRNN_DEFINE_ROWS_VARIANT(v4_12x2, NORMRNN_V4, d64, f64, 12, 2, 0)
NORMRNN_DEFINE_ROWS_VARIANT(v4_8x2, NORMRNN_V4, d64, f64, 8, 2, 0)
NORMRNN_DEFINE_ROWS_VARIANT(v4_4x2_by_row, NORMRNN_V4, d64, f64, 4, 2, 1)
NORMRNN_DEFINE_ROWS_VARIANT(v3_6x2, NORMRNN_V3, d32, f32, 6, 2, 0)
NORMRNN_DEFINE_ROWS_VARIANT(v3_4x3, NORMRNN_V3, d32, f32, 4, 3, 0)
NORMRNN_DEFINE_ROWS_VARIANT(v3_4x2, NORMRNN_V3, d32, f32, 4, 2, 0)
NORMRNN_DEFINE_ROWS_VARIANT(v3_4x2_by_row, NORMRNN_V3, d32, f32, 4, 2, 1)
NORMRNN_DEFINE_ROWS_VARIANT(v1_4x2, , d16, f16, 4, 2, 0)
NORMRNN_DEFINE_ROWS_VARIANT(v1_4x2_by_row, , d16, f16, 4, 2, 1)

#define NORMRNN_ROWS_VARIANTS                                                   \
    NORMRNN_ROWS_ENTRY("v4-rows8x3", 4, v4_8x3),                                \
    NORMRNN_ROWS_ENTRY("v4-rows6x4", 4, v4_6x4),                                \
    NORMRNN_ROWS_ENTRY("v4-rows12x2", 4, v4_12x2),                              \
    NORMRNN_ROWS_ENTRY("v4-rows8x2", 4, v4_8x2),                                \
    NORMRNN_ROWS_ENTRY("v4-rows4x2-by-row", 4, v4_4x2_by_row),                  \
    NORMRNN_ROWS_ENTRY("v3-rows6x2", 3, v3_6x2),                                \
    NORMRNN_ROWS_ENTRY("v3-rows4x3", 3, v3_4x3),                                \
    NORMRNN_ROWS_ENTRY("v3-rows4x2", 3, v3_4x2),                                \
    NORMRNN_ROWS_ENTRY("v3-rows4x2-by-row", 3, v3_4x2_by_row),                  \
    NORMRNN_ROWS_ENTRY("v1-rows4x2", 1, v1_4x2),                                \
    NORMRNN_ROWS_ENTRY("v1-rows4x2-by-row", 1, v1_4x2_by_row)
#else   /* one build for this machine, as matvec.h ends on purpose */
NORMRNN_DEFINE_ROWS_PANEL(normrnn_rows_panel_d, double, normrnn_vd)
NORMRNN_DEFINE_ROWS_PANEL(normrnn_rows_panel_f, float, normrnn_vf)
NORMRNN_DEFINE_ROWS_VARIANT(4x2, , d, f, 4, 2, 0)
NORMRNN_DEFINE_ROWS_VARIANT(4x2_by_row, , d, f, 4, 2, 1)
#define NORMRNN_ROWS_VARIANTS                                                   \
    NORMRNN_ROWS_ENTRY("rows4x2", 0, 4x2),                                      \
    NORMRNN_ROWS_ENTRY("rows4x2-by-row", 0, 4x2_by_row)
#endif

typedef void (*normrnn_rows_d_fn)(int, int, int, const double *, const double *, int,
                                  double *, int);
typedef void (*normrnn_rows_f_fn)(int, int, int, const float *, const float *, int,
                                  float *, int);
static const struct {
    const char *name;
    int level;
    normrnn_rows_d_fn d;
    normrnn_rows_f_fn f;
} normrnn_rows_variants[] = {NORMRNN_ROWS_VARIANTS};

static inline int normrnn_rows_variant_count(void)
{ return (int)(sizeof(normrnn_rows_variants) / sizeof(normrnn_rows_variants[0])); }
static inline const char *normrnn_rows_variant_name(int v)
{ return normrnn_rows_variants[v].name; }
static inline int normrnn_rows_variant_level(int v)
{ return normrnn_rows_variants[v].level; }
static inline void normrnn_rows_variant_d(int v, int n, int rows, int cols, const double *m,
                                          const double *x, int ldx, double *y, int ldy)
{ normrnn_rows_variants[v].d(n, rows, cols, m, x, ldx, y, ldy); }
static inline void normrnn_rows_variant_f(int v, int n, int rows, int cols, const float *m,
                                          const float *x, int ldx, float *y, int ldy)
{ normrnn_rows_variants[v].f(n, rows, cols, m, x, ldx, y, ldy); }

#endif
