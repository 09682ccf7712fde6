/* The sequential product of a lockstep batch, Y += X M, for one thread.
 *
 * X holds the rows (states forward, deltas backward) of the documents
 * stepping together, M is S^T forward and S backward: row r of the result
 * is M^T x_r, matvec.h's product for each document.  A BLAS gemm call of a
 * few rows costs more in packing and dispatch than the product itself at
 * H = 128; this kernel reads M once for every four rows instead:
 *
 *     for each group of 4 rows r0 .. r0+3:
 *         for each panel of 2 vectors of columns j:
 *             acc[r][k] = y_r[j + k]               (8 registers)
 *             for i in 0 .. rows-1:
 *                 m_k = M[i, j + k]                (2 loads)
 *                 acc[r][k] += x_r[i] * m_k        (4 broadcasts, 8 multiply-adds)
 *             y_r[j + k] = acc[r][k]
 *
 * Each y_r[j] is summed over i in order starting from its old value, exactly
 * as matvec.h's kernel sums it: a document gets the same numbers whether it
 * steps alone or with others, and whichever group it falls in.  Vectors and
 * levels are matvec.h's (this header includes it and uses its level test).
 */
#ifndef NORMRNN_ROWS_MATMUL_H
#define NORMRNN_ROWS_MATMUL_H

#include "matvec.h"

/* nr (<= 4, a constant once inlined) rows of x and y; panel of nv (<= 2) vectors. */
#define NORMRNN_DEFINE_ROWS_PANEL(NAME, REAL, VEC)                              \
NORMRNN_INLINE void NAME(                                                       \
        int nr, int nv, int rows, int cols, const REAL *NORMRNN_RESTRICT m,     \
        const REAL *NORMRNN_RESTRICT x, int ldx, REAL *NORMRNN_RESTRICT y,      \
        int ldy)                                                                \
{                                                                               \
    const int lanes = NORMRNN_LANES(VEC, REAL);                                 \
    VEC acc[4][2];                                                              \
    for (int r = 0; r < nr; r++)                                                \
        for (int k = 0; k < nv; k++)                                            \
            acc[r][k] = *(const VEC *)(y + (size_t)r * ldy + k * lanes);        \
    for (int i = 0; i < rows; i++) {                                            \
        const REAL *row = m + (size_t)i * cols;                                 \
        VEC m_k[2];                                                             \
        for (int k = 0; k < nv; k++)                                            \
            m_k[k] = *(const VEC *)(row + k * lanes);                           \
        for (int r = 0; r < nr; r++) {                                          \
            VEC x_ri = x[(size_t)r * ldx + i] + (VEC){0};                       \
            for (int k = 0; k < nv; k++)                                        \
                acc[r][k] += x_ri * m_k[k];                                     \
        }                                                                       \
    }                                                                           \
    for (int r = 0; r < nr; r++)                                                \
        for (int k = 0; k < nv; k++)                                            \
            *(VEC *)(y + (size_t)r * ldy + k * lanes) = acc[r][k];              \
}

/* PANEL(nr, nv, ...) with nr in 1 .. 4 as a constant, so that the inlined
   panel's loops over the rows unroll. */
#define NORMRNN_ROWS_SWITCH(PANEL, NR, NV, ...)                                 \
    switch (NR) {                                                               \
    case 4: PANEL(4, NV, __VA_ARGS__); break;                                   \
    case 3: PANEL(3, NV, __VA_ARGS__); break;                                   \
    case 2: PANEL(2, NV, __VA_ARGS__); break;                                   \
    default: PANEL(1, NV, __VA_ARGS__);                                         \
    }

/* y (n, cols) += x (n, rows) m (rows, cols), all row-major. */
#define NORMRNN_DEFINE_ROWS_MATMUL(NAME, TARGET, PANEL, REAL, VEC)              \
static TARGET void NAME(                                                        \
        int n, int rows, int cols, const REAL *NORMRNN_RESTRICT m,              \
        const REAL *NORMRNN_RESTRICT x, int ldx, REAL *NORMRNN_RESTRICT y,      \
        int ldy)                                                                \
{                                                                               \
    const int lanes = NORMRNN_LANES(VEC, REAL);                                 \
    for (int r0 = 0; r0 < n; r0 += 4) {                                         \
        const int nr = n - r0 < 4 ? n - r0 : 4;                                 \
        const REAL *xr = x + (size_t)r0 * ldx;                                  \
        REAL *yr = y + (size_t)r0 * ldy;                                        \
        int j = 0;                                                              \
        for (; j + 2 * lanes <= cols; j += 2 * lanes)                           \
            NORMRNN_ROWS_SWITCH(PANEL, nr, 2, rows, cols, m + j, xr, ldx, yr + j, ldy) \
        if (j + lanes <= cols) {                                                \
            NORMRNN_ROWS_SWITCH(PANEL, nr, 1, rows, cols, m + j, xr, ldx, yr + j, ldy) \
            j += lanes;                                                         \
        }                                                                       \
        for (int r = 0; r < nr; r++)                /* the last cols % lanes */ \
            for (int k = j; k < cols; k++) {                                    \
                REAL acc = yr[(size_t)r * ldy + k];                             \
                for (int i = 0; i < rows; i++)                                  \
                    acc += xr[(size_t)r * ldx + i] * m[(size_t)i * cols + k];   \
                yr[(size_t)r * ldy + k] = acc;                                  \
            }                                                                   \
    }                                                                           \
}

#ifdef NORMRNN_LEVELS
/* One panel and one kernel per level and dtype, as matvec.h defines its own. */
NORMRNN_DEFINE_ROWS_PANEL(normrnn_rows_panel_d64, double, normrnn_vd64)
NORMRNN_DEFINE_ROWS_PANEL(normrnn_rows_panel_f64, float, normrnn_vf64)
NORMRNN_DEFINE_ROWS_PANEL(normrnn_rows_panel_d32, double, normrnn_vd32)
NORMRNN_DEFINE_ROWS_PANEL(normrnn_rows_panel_f32, float, normrnn_vf32)
NORMRNN_DEFINE_ROWS_PANEL(normrnn_rows_panel_d16, double, normrnn_vd16)
NORMRNN_DEFINE_ROWS_PANEL(normrnn_rows_panel_f16, float, normrnn_vf16)
NORMRNN_DEFINE_ROWS_MATMUL(normrnn_rows_matmul_add_d_v4, NORMRNN_V4,
                           normrnn_rows_panel_d64, double, normrnn_vd64)
NORMRNN_DEFINE_ROWS_MATMUL(normrnn_rows_matmul_add_f_v4, NORMRNN_V4,
                           normrnn_rows_panel_f64, float, normrnn_vf64)
NORMRNN_DEFINE_ROWS_MATMUL(normrnn_rows_matmul_add_d_v3, NORMRNN_V3,
                           normrnn_rows_panel_d32, double, normrnn_vd32)
NORMRNN_DEFINE_ROWS_MATMUL(normrnn_rows_matmul_add_f_v3, NORMRNN_V3,
                           normrnn_rows_panel_f32, float, normrnn_vf32)
NORMRNN_DEFINE_ROWS_MATMUL(normrnn_rows_matmul_add_d_v1, , normrnn_rows_panel_d16,
                           double, normrnn_vd16)
NORMRNN_DEFINE_ROWS_MATMUL(normrnn_rows_matmul_add_f_v1, , normrnn_rows_panel_f16,
                           float, normrnn_vf16)

NORMRNN_DEFINE_DISPATCH(normrnn_rows_matmul_add_d,
                        (int n, int rows, int cols, const double *m, const double *x, int ldx,
                         double *y, int ldy),
                        (n, rows, cols, m, x, ldx, y, ldy))
NORMRNN_DEFINE_DISPATCH(normrnn_rows_matmul_add_f,
                        (int n, int rows, int cols, const float *m, const float *x, int ldx,
                         float *y, int ldy),
                        (n, rows, cols, m, x, ldx, y, ldy))
#else   /* one build for this machine, as matvec.h ends on purpose */
NORMRNN_DEFINE_ROWS_PANEL(normrnn_rows_panel_d, double, normrnn_vd)
NORMRNN_DEFINE_ROWS_PANEL(normrnn_rows_panel_f, float, normrnn_vf)
NORMRNN_DEFINE_ROWS_MATMUL(normrnn_rows_matmul_add_d, , normrnn_rows_panel_d,
                           double, normrnn_vd)
NORMRNN_DEFINE_ROWS_MATMUL(normrnn_rows_matmul_add_f, , normrnn_rows_panel_f,
                           float, normrnn_vf)
#endif

#endif
