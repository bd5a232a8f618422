/* Downdate of an upper Cholesky factor when one variable leaves the Lawson-Hanson working set:
 * the compiled inner loop of ``working_set._upper_remove`` and
 * ``lawson_hanson_gram.PackedFactor.remove``; and the whole inner loop of Lawson-Hanson on the
 * Gram matrix on that packed factor (``lh_inner``: solves, steps to the boundary, downdates),
 * which also serves ``working_set_wide.PackedSet``, whose packed array holds after U the column
 * [y; rho], y = U^{-T} c_F: there each step is one back substitution and every downdate
 * rotates that column along. Last, for the columns that enter that set: ``solve_lower``,
 * U^{-T} B for a block of right-hand sides, four (with AVX2, eight) at a time in one pass
 * over U,
 * ``block_cholesky``, the factor of their own Gram block orthogonal to span(A_F) with
 * Lawson-Hanson's dependence test on its pivots, and ``append_packed``, which writes the new
 * columns and the grown [y; rho] after U; before those, ``gather_dot``, the product A_F^T V
 * with the candidates' columns, the rows of A_F gathered from that set's array by slot. And for
 * every working set of ``working_set._working_set``: ``select_candidates``, the columns that
 * enter next.
 *
 * With G_FF = U^T U (U upper triangular, s x s), removing variable k deletes column k of U.
 * The columns after it then form an upper Hessenberg block in rows k..s-1, which a sweep of
 * Givens rotations (row j with row j + 1, for j = k..s-2) makes triangular again: Lawson &
 * Hanson, *Solving Least Squares Problems* (1974), ch. 24 (the column-removal update of a QR
 * factorization; U is the R factor of A_F). The rotations are applied column by column: each
 * column of the result is copied once into a work vector, meets the rotations computed by the
 * columns before it, and computes its own, so that every pass runs along contiguous memory
 * and nothing outside the new factor is written. O(s^2 / 2) copies and O((s - k)^2 / 2)
 * rotations, against ``scipy.linalg.qr_delete``, which also rotates a discarded s x s Q and
 * needs the trailing block copied in and out.
 *
 * The interface uses the buffer protocol only (no numpy headers): U and the output as
 * Fortran-contiguous float64 arrays, or U packed by columns in a float64 vector; bad input
 * (shapes, types, lengths) raises ValueError. The kernels use GCC/Clang vector extensions of
 * two doubles (SSE2, the x86-64 baseline, and native elsewhere). On x86-64 with GCC or Clang,
 * the triangular solves of the packed factor and the downdate's rotations also have variants
 * with four doubles to a register and fused multiply-adds (AVX2 and FMA), compiled by a
 * function attribute rather than by global flags, so the module still loads on any x86-64
 * CPU. The level is chosen once at import: 1 (AVX2 + FMA) where __builtin_cpu_supports
 * reports both, 0 (SSE2) otherwise; ``_cholc.simd()`` reads it, ``_cholc.simd(level)`` sets it
 * (for tests and benchmarks; ValueError above ``_cholc.simd_max``, the best this CPU allows).
 * The two levels agree to rounding, not bit for bit (a fused multiply-add rounds once; sums
 * run in another order). Measured on an AMD EPYC (Zen 3), level 1 against level 0 in the same
 * run (``benchmarks.cholc_simd``: interleaved, one thread, CPU time, medians of 21, two runs):
 * U^{-T} B for 16 right-hand sides 0.37-0.41x at s = 200, 420, 480; one back substitution
 * 0.62-0.74x; one forward substitution 0.64-0.74x; a downdate 150-360 columns from the end
 * 0.81-0.88x (one 60 from the end, which mostly moves memory, 0.95-0.98x); gather_dot at
 * s = 100 to 450 0.32-0.35x for 16 candidates and 0.52-0.72x for 2; the whole
 * ``reparam.nnls`` on Gaussian 500 x 1000 (seed 10) and 300 x 600 (seed 1) 0.61-0.65x the
 * median time (0.81-0.85x before gather_dot, where level 0 ran BLAS's product, whose AVX2
 * kernels OpenBLAS picks by itself).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* two doubles side by side (GCC and Clang vector extensions; one SSE2 register), read at any
 * 8-byte boundary */
typedef double v2d __attribute__((vector_size(16), aligned(8)));

/* One column of the downdate: apply the rotations r = 0 .. j-1 found on the earlier columns to
 * work[0 .. j], then find the rotation that zeroes work[j + 1] against work[j] and apply it
 * (the callers offset work, cs and sn to the first row that meets a rotation). */
static inline void rotate_column(double *work, Py_ssize_t j, double *cs, double *sn)
{
    double a = work[0];  /* the entry each rotation passes on to the next, kept in a register */
    for (Py_ssize_t r = 0; r < j; r++) {
        double b = work[r + 1];
        work[r] = cs[r] * a + sn[r] * b;
        a = cs[r] * b - sn[r] * a;
    }
    double b = work[j + 1];
    double h = hypot(a, b);
    if (h > 0.0) {
        cs[j] = a / h;
        sn[j] = b / h;
    } else {
        cs[j] = 1.0;
        sn[j] = 0.0;
    }
    work[j] = h;
}

/* out ((s-1) x (s-1), column-major) = the factor of U without column k, zeros below the
 * diagonal (every entry of out is written). */
static void delete_column(const double *U, Py_ssize_t s, Py_ssize_t k, double *out,
                          double *work, double *cs, double *sn)
{
    Py_ssize_t n = s - 1;
    for (Py_ssize_t j = 0; j < n; j++) {
        Py_ssize_t src = j < k ? j : j + 1;
        const double *col = U + src * s;
        double *dst = out + j * n;
        memset(dst + j + 1, 0, (size_t)(n - j - 1) * sizeof(double));
        if (j < k) {  /* left of the deleted column: unchanged */
            memcpy(dst, col, (size_t)(j + 1) * sizeof(double));
            continue;
        }
        memcpy(work, col, (size_t)(j + 2) * sizeof(double));  /* rows 0..j+1 */
        rotate_column(work + k, j - k, cs + k, sn + k);
        memcpy(dst, work, (size_t)(j + 1) * sizeof(double));
    }
}

/* The same downdate in place on a factor packed by columns (column j of U in
 * ap[j (j + 1) / 2 .. j (j + 1) / 2 + j], the layout of BLAS dtpsv): output column j lies
 * where input column j sat, and takes its entries from input column j + 1, which starts j + 1
 * entries further on. Nothing moves but the columns after k. Their rows above k meet no
 * rotation and move once, straight to their new place; their rows from k on are read from the
 * input column and each rotation writes its result to the output column, which lies over
 * entries that the column before has already read, so no work vector is needed (measured
 * 0.75-0.92x the time of copying those rows to work vectors and back, bit for bit the same
 * factor, for a variable 150 to 360 columns from the end of a factor of 200 to 480 columns;
 * the same for the last few). For a variable that leaves near the end, as most do, the move of
 * the rows above k costs about as much as the few rotations.
 *
 * Columns go four at a time: the rotations found on the earlier columns are applied to the four
 * side by side. Each rotation of one column reads the entry the previous one wrote, a chain of
 * dependent multiply-adds; four independent chains keep the floating-point units busy where one
 * waits on its own latency. With the entry passed from rotation to rotation held in a register,
 * measured 1.2-1.9x faster than one column at a time for a variable leaving in the first half
 * of a factor of 340 columns (the same for the last few). */
#define LANES 4
/* the rotations k .. j0 - 1 on LANES columns side by side, read from in[q] and written to
 * out[q] (see delete_packed_with); x[q] receives each column's entry in row j0 */
typedef void (*rotate_fn)(double *const *, double *const *, Py_ssize_t, Py_ssize_t,
                          const double *, const double *, double *);

/* Four columns in two registers of two lanes: the same operations on each lane, half the
 * instructions. out[q] is in[q - 1] (see delete_packed_with): the loads of a rotation come
 * before its stores, which land on entries read by the rotation before. */
static void rotate_lanes(double *const *in, double *const *out, Py_ssize_t k, Py_ssize_t j0,
                         const double *cs, const double *sn, double *x)
{
    const double *i0 = in[0], *i1 = in[1], *i2 = in[2], *i3 = in[3];
    double *o0 = out[0], *o1 = out[1], *o2 = out[2], *o3 = out[3];
    v2d x01 = {i0[k], i1[k]}, x23 = {i2[k], i3[k]};
    for (Py_ssize_t r = k; r < j0; r++) {
        v2d c = {cs[r], cs[r]}, t = {sn[r], sn[r]};
        v2d b01 = {i0[r + 1], i1[r + 1]}, b23 = {i2[r + 1], i3[r + 1]};
        v2d n01 = c * x01 + t * b01, n23 = c * x23 + t * b23;
        o0[r] = n01[0]; o1[r] = n01[1]; o2[r] = n23[0]; o3[r] = n23[1];
        x01 = c * b01 - t * x01;
        x23 = c * b23 - t * x23;
    }
    x[0] = x01[0]; x[1] = x01[1]; x[2] = x23[0]; x[3] = x23[1];
}

static void delete_packed_with(double *ap, Py_ssize_t s, Py_ssize_t k, double *cs,
                               double *sn, rotate_fn rotate)
{
    for (Py_ssize_t j0 = k; j0 < s - 1; j0 += LANES) {
        Py_ssize_t B = s - 1 - j0 < LANES ? s - 1 - j0 : LANES;
        double *in[LANES], *out[LANES], x[LANES];
        for (Py_ssize_t q = 0; q < B; q++) {
            Py_ssize_t j = j0 + q;
            out[q] = ap + j * (j + 1) / 2;
            in[q] = ap + (j + 1) * (j + 2) / 2;
            /* rows above k meet no rotation: they move straight to the output column, over
             * the rows above k of input column j, which moved the step before */
            memmove(out[q], in[q], (size_t)k * sizeof(double));
        }
        if (B == LANES && k < j0) {
            rotate(in, out, k, j0, cs, sn, x);
        } else {
            for (Py_ssize_t q = 0; q < B; q++) {  /* one column after the other */
                double a = in[q][k];
                for (Py_ssize_t r = k; r < j0; r++) {
                    double b = in[q][r + 1];
                    out[q][r] = cs[r] * a + sn[r] * b;
                    a = cs[r] * b - sn[r] * a;
                }
                x[q] = a;
            }
        }
        /* within the block: column j0 + q meets the rotations of j0 .. j0 + q - 1, then finds
         * its own (rotate_column on its rows j0 .. j0 + q + 1, held in w); in column order,
         * as output column j0 + q lies over the rows of input column j0 + q that column
         * j0 + q - 1 reads here */
        for (Py_ssize_t q = 0; q < B; q++) {
            double w[LANES + 1];
            w[0] = x[q];
            for (Py_ssize_t e = 1; e <= q + 1; e++)
                w[e] = in[q][j0 + e];
            rotate_column(w, q, cs + j0, sn + j0);
            memcpy(out[q] + j0, w, (size_t)(q + 1) * sizeof(double));
        }
    }
}

static void delete_packed(double *ap, Py_ssize_t s, Py_ssize_t k, double *cs, double *sn)
{
    delete_packed_with(ap, s, k, cs, sn, rotate_lanes);
}

/* y := U^{-T} y for U packed by columns: U^T v = y by dot products with the columns (along
 * contiguous memory), as BLAS dtpsv would. */
static void packed_solve_lower(const double *ap, Py_ssize_t s, double *y)
{
    for (Py_ssize_t j = 0; j < s; j++) {
        const double *col = ap + j * (j + 1) / 2;
        /* four partial sums: one would wait on its own latency at every term */
        double t0 = 0.0, t1 = 0.0, t2 = 0.0, t3 = 0.0;
        Py_ssize_t i = 0;
        for (; i + 4 <= j; i += 4) {
            t0 += col[i] * y[i];
            t1 += col[i + 1] * y[i + 1];
            t2 += col[i + 2] * y[i + 2];
            t3 += col[i + 3] * y[i + 3];
        }
        for (; i < j; i++)
            t0 += col[i] * y[i];
        y[j] = (y[j] - ((t0 + t1) + (t2 + t3))) / col[j];
    }
}

/* The 4 x 4 diagonal block of the back substitution U z = y that ends at column j (columns
 * j-3 .. j of U packed by columns, in c[0..3]): solves it, writes t0..t3 to y[j-3 .. j] and
 * returns them, for the axpys with the entries of those columns above the block. */
static inline void diagonal_block(const double *ap, Py_ssize_t j, double *y, const double **c,
                                  double *t0, double *t1, double *t2, double *t3)
{
    const double *c3 = ap + j * (j + 1) / 2, *c2 = ap + (j - 1) * j / 2;
    const double *c1 = ap + (j - 2) * (j - 1) / 2, *c0 = ap + (j - 3) * (j - 2) / 2;
    double u3 = y[j] / c3[j];
    double u2 = (y[j - 1] - u3 * c3[j - 1]) / c2[j - 1];
    double u1 = (y[j - 2] - u3 * c3[j - 2] - u2 * c2[j - 2]) / c1[j - 2];
    double u0 = (y[j - 3] - u3 * c3[j - 3] - u2 * c2[j - 3] - u1 * c1[j - 3]) / c0[j - 3];
    y[j] = u3;
    y[j - 1] = u2;
    y[j - 2] = u1;
    y[j - 3] = u0;
    c[0] = c0; c[1] = c1; c[2] = c2; c[3] = c3;
    *t0 = u0; *t1 = u1; *t2 = u2; *t3 = u3;
}

/* The back substitution U z = y through columns j, j-1, .. 0 one at a time (the columns
 * left after the blocks of four), in place on y. */
static inline void back_substitute_columns(const double *ap, Py_ssize_t j, double *y)
{
    for (; j >= 0; j--) {
        const double *col = ap + j * (j + 1) / 2;
        double t = y[j] / col[j];
        y[j] = t;
        for (Py_ssize_t i = 0; i < j; i++)
            y[i] -= t * col[i];
    }
}

/* y := U^{-1} y for U packed by columns: back substitution by axpys with the columns, four
 * columns at a time (solve their 4 x 4 diagonal block, then take the four from the entries
 * above it in one pass): y is read and written once per four columns instead of once per
 * column. */
static void packed_solve_upper(const double *ap, Py_ssize_t s, double *y)
{
    Py_ssize_t j = s - 1;
    for (; j >= 3; j -= 4) {
        const double *c[4];
        double t0, t1, t2, t3;
        diagonal_block(ap, j, y, c, &t0, &t1, &t2, &t3);
        const double *c0 = c[0], *c1 = c[1], *c2 = c[2], *c3 = c[3];
        for (Py_ssize_t i = 0; i < j - 3; i++)
            y[i] -= (t0 * c0[i] + t1 * c1[i]) + (t2 * c2[i] + t3 * c3[i]);
    }
    back_substitute_columns(ap, j, y);
}

/* The right-hand sides q = from .. r-1 of B (s x r, row-major) one at a time: each copied
 * into work, solved in place by solve1 (y := U^{-T} y) and copied back. */
static void solve_lower_each(const double *ap, Py_ssize_t s, double *B, Py_ssize_t r,
                             Py_ssize_t from, double *work,
                             void (*solve1)(const double *, Py_ssize_t, double *))
{
    for (Py_ssize_t q = from; q < r; q++) {
        for (Py_ssize_t i = 0; i < s; i++)
            work[i] = B[i * r + q];
        solve1(ap, s, work);
        for (Py_ssize_t i = 0; i < s; i++)
            B[i * r + q] = work[i];
    }
}

/* col[a] = column j0 + a of U packed by columns, for the block of the four rows j0 .. j0+3 of
 * the forward substitution; a block of h < 4 rows (the last) repeats its last column. */
static inline void block_columns(const double *ap, Py_ssize_t s, Py_ssize_t j0,
                                 const double **col)
{
    Py_ssize_t h = s - j0 < 4 ? s - j0 : 4;
    for (Py_ssize_t a = 0; a < 4; a++) {
        Py_ssize_t j = j0 + (a < h ? a : h - 1);
        col[a] = ap + j * (j + 1) / 2;
    }
}

/* B := U^{-T} B for U (s x s) packed by columns and B (s x r) row-major: forward
 * substitution, row j of the result is (B[j] - sum_{i<j} U[i, j] X[i]) / U[j, j], with column
 * j of U contiguous. Four rows by four right-hand sides at a time, their 16 sums in registers:
 * each entry of U that is read meets four right-hand sides, and each entry of X four rows,
 * where one right-hand side at a time (dtpsv) reads the whole factor per column of B and waits
 * on one chain of additions. The last r % 4 columns go one at a time through work (s entries)
 * by packed_solve_lower. */
static void packed_solve_lower_multi(const double *ap, Py_ssize_t s, double *B, Py_ssize_t r,
                                     double *work)
{
    Py_ssize_t ldb = r, r4 = r - r % 4;
    solve_lower_each(ap, s, B, r, r4, work, packed_solve_lower);
    for (Py_ssize_t j0 = 0; j0 < s; j0 += 4) {
        Py_ssize_t h = s - j0 < 4 ? s - j0 : 4;
        const double *col[4];
        block_columns(ap, s, j0, col);
        for (Py_ssize_t q0 = 0; q0 < r4; q0 += 4) {
            /* rows a = 0..3 of the block, right-hand sides q0 .. q0 + 1 (lo) and q0 + 2 ..
             * q0 + 3 (hi) */
            v2d lo0 = {0.0, 0.0}, lo1 = lo0, lo2 = lo0, lo3 = lo0;
            v2d hi0 = lo0, hi1 = lo0, hi2 = lo0, hi3 = lo0;
            const double *X = B + q0;
            const double *c0 = col[0], *c1 = col[1], *c2 = col[2], *c3 = col[3];
            for (Py_ssize_t i = 0; i < j0; i++) {
                const v2d *xi = (const v2d *)(X + i * ldb);
                v2d xl = xi[0], xh = xi[1];
                v2d u0 = {c0[i], c0[i]}, u1 = {c1[i], c1[i]};
                v2d u2 = {c2[i], c2[i]}, u3 = {c3[i], c3[i]};
                lo0 += u0 * xl; hi0 += u0 * xh;
                lo1 += u1 * xl; hi1 += u1 * xh;
                lo2 += u2 * xl; hi2 += u2 * xh;
                lo3 += u3 * xl; hi3 += u3 * xh;
            }
            double acc[4][4];
            v2d sums[8] = {lo0, hi0, lo1, hi1, lo2, hi2, lo3, hi3};
            memcpy(acc, sums, sizeof acc);
            /* the triangle of the block: row j0 + a needs the rows of the block above it */
            for (Py_ssize_t a = 0; a < h; a++) {
                double *xa = B + (j0 + a) * ldb + q0;
                for (int q = 0; q < 4; q++) {
                    double v = xa[q] - acc[a][q];
                    for (Py_ssize_t e = 0; e < a; e++)
                        v -= col[a][j0 + e] * B[(j0 + e) * ldb + q0 + q];
                    xa[q] = v / col[a][j0 + a];
                }
            }
        }
    }
}

/* The product A_F^T V of ``working_set_wide.PackedSet._extension``: out[j, q] = At[slot[j]] .
 * Vt[q] for j < s and q < w, with At (rows of m doubles) the working set's columns by slot and
 * Vt the w candidates' columns as rows. Dot products along contiguous rows in register tiles
 * of R rows of At by Q rows of Vt (R Q = 12 or 8 partial sums, or fewer in the last columns
 * of out): each vector read from At meets Q rows of Vt and each read from Vt R rows of At, and
 * the R Q chains of additions are independent; the horizontal sums come once per tile, at the
 * end. The rows are gathered by slot directly, so neither the rows of At that no column holds
 * nor a copy of the product in slot order cost anything, where BLAS would multiply At[:used]
 * (packing all of it on every call) and numpy then gather the rows of the product. A last
 * block of fewer than R rows repeats its last row (the extra sums are dropped). */
#define GD_ROWS 8  /* the most rows of At in a tile */
/* res[r][q] = a[r] . v[q] (m entries) for the tile of R rows a[] by Q rows v[] */
typedef void (*tile_fn)(const double *const *, int, const double *const *, int, Py_ssize_t,
                        double (*)[4]);

/* rows of At by tile: three by four candidates (twelve sums), four by three, six by two, eight
 * by one, as the first columns of out allow; the last w % 4 columns with the same rows */
static inline int gather_rows(Py_ssize_t w)
{
    return w >= 4 ? 3 : w == 3 ? 4 : w == 2 ? 6 : 8;
}

static void gather_dot_with(const double *At, Py_ssize_t m, const Py_ssize_t *slot,
                            Py_ssize_t s, const double *Vt, Py_ssize_t w, double *out,
                            tile_fn tile)
{
    int R = gather_rows(w);
    for (Py_ssize_t j0 = 0; j0 < s && w > 0; j0 += R) {
        Py_ssize_t h = s - j0 < R ? s - j0 : R;
        const double *a[GD_ROWS];
        for (int r = 0; r < R; r++)
            a[r] = At + slot[j0 + (r < h ? r : h - 1)] * m;
        for (Py_ssize_t q0 = 0; q0 < w; q0 += 4) {
            int Q = w - q0 < 4 ? (int)(w - q0) : 4;
            const double *v[4];
            for (int q = 0; q < Q; q++)
                v[q] = Vt + (q0 + q) * m;
            double res[GD_ROWS][4];
            tile(a, R, v, Q, m, res);
            for (Py_ssize_t r = 0; r < h; r++)
                for (int q = 0; q < Q; q++)
                    out[(j0 + r) * w + q0 + q] = res[r][q];
        }
    }
}

/* One tile of gather_dot_with, written once for both vector widths: TILE sums R rows of At
 * against Q candidates with VEC (LANES doubles to a register) over the first m - m % LANES
 * entries, adds the lanes by HSUM and the last entries one at a time; R and Q are constants
 * where TILE is inlined into TILES, so that the loops over them unroll and the sums stay in
 * registers. TILES dispatches to the tile shapes gather_dot_with asks for. ATTR: the target
 * attribute (empty for the baseline). */
#define DEFINE_DOT_TILES(ATTR, VEC, LANES, HSUM, TILE, TILES)                                 \
    ATTR static inline __attribute__((always_inline)) void                                    \
    TILE(const double *const *a, int R, const double *const *v, int Q, Py_ssize_t m,          \
         double (*res)[4])                                                                    \
    {                                                                                         \
        VEC acc[GD_ROWS][4];                                                                  \
        for (int r = 0; r < R; r++)                                                           \
            for (int q = 0; q < Q; q++)                                                       \
                acc[r][q] = (VEC){0.0};                                                       \
        Py_ssize_t i = 0;                                                                     \
        for (; i + LANES <= m; i += LANES) {                                                  \
            VEC x[4];                                                                         \
            for (int q = 0; q < Q; q++)                                                       \
                x[q] = *(const VEC *)(v[q] + i);                                              \
            for (int r = 0; r < R; r++) {                                                     \
                VEC y = *(const VEC *)(a[r] + i);                                             \
                for (int q = 0; q < Q; q++)                                                   \
                    acc[r][q] += y * x[q];                                                    \
            }                                                                                 \
        }                                                                                     \
        for (int r = 0; r < R; r++)                                                           \
            for (int q = 0; q < Q; q++) {                                                     \
                VEC u = acc[r][q];                                                            \
                double t = HSUM(u);                                                           \
                for (Py_ssize_t k = i; k < m; k++)                                            \
                    t += a[r][k] * v[q][k];                                                   \
                res[r][q] = t;                                                                \
            }                                                                                 \
    }                                                                                         \
    ATTR static void TILES(const double *const *a, int R, const double *const *v, int Q,      \
                           Py_ssize_t m, double (*res)[4])                                    \
    {                                                                                         \
        switch (R * 8 + Q) {                                                                  \
        case 3 * 8 + 4: TILE(a, 3, v, 4, m, res); break;                                      \
        case 3 * 8 + 3: TILE(a, 3, v, 3, m, res); break;                                      \
        case 3 * 8 + 2: TILE(a, 3, v, 2, m, res); break;                                      \
        case 3 * 8 + 1: TILE(a, 3, v, 1, m, res); break;                                      \
        case 4 * 8 + 3: TILE(a, 4, v, 3, m, res); break;                                      \
        case 6 * 8 + 2: TILE(a, 6, v, 2, m, res); break;                                      \
        default: TILE(a, 8, v, 1, m, res); break;                                             \
        }                                                                                     \
    }

#define HSUM2(u) ((u)[0] + (u)[1])
DEFINE_DOT_TILES(, v2d, 2, HSUM2, dot_tile, dot_tile_sse2)

static void gather_dot(const double *At, Py_ssize_t m, const Py_ssize_t *slot, Py_ssize_t s,
                       const double *Vt, Py_ssize_t w, double *out)
{
    gather_dot_with(At, m, slot, s, Vt, w, out, dot_tile_sse2);
}

/* The same solves with 256-bit vectors and fused multiply-adds (AVX2 and FMA, x86-64 only),
 * compiled for those instructions by a function attribute, not by global flags, so that the
 * module still loads on any x86-64 CPU; ``kernels`` (below) picks them at import where the CPU
 * has both. Fused multiply-adds round once where the baseline rounds twice, and the sums run in
 * another order: the results agree with the baseline to rounding, not bit for bit. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_AVX2 1
#define AVX2_FMA __attribute__((target("avx2,fma")))
#include <immintrin.h>
/* four doubles side by side (one AVX register), read at any 8-byte boundary */
typedef double v4d __attribute__((vector_size(32), aligned(8)));

/* packed_solve_lower: each dot product in eight partial sums (two registers). */
AVX2_FMA static void packed_solve_lower_avx2(const double *ap, Py_ssize_t s, double *y)
{
    for (Py_ssize_t j = 0; j < s; j++) {
        const double *col = ap + j * (j + 1) / 2;
        v4d t0 = {0.0, 0.0, 0.0, 0.0}, t1 = t0;
        Py_ssize_t i = 0;
        for (; i + 8 <= j; i += 8) {
            t0 += *(const v4d *)(col + i) * *(const v4d *)(y + i);
            t1 += *(const v4d *)(col + i + 4) * *(const v4d *)(y + i + 4);
        }
        if (i + 4 <= j) {
            t0 += *(const v4d *)(col + i) * *(const v4d *)(y + i);
            i += 4;
        }
        double t = 0.0;
        for (; i < j; i++)
            t += col[i] * y[i];
        t0 += t1;
        y[j] = (y[j] - (((t0[0] + t0[1]) + (t0[2] + t0[3])) + t)) / col[j];
    }
}

/* rotate_lanes with the four lanes in one register: the chain from rotation to rotation is
 * one fused multiply-add. */
AVX2_FMA static void rotate_lanes_avx2(double *const *in, double *const *out, Py_ssize_t k,
                                       Py_ssize_t j0, const double *cs, const double *sn,
                                       double *x)
{
    const double *i0 = in[0], *i1 = in[1], *i2 = in[2], *i3 = in[3];
    double *o0 = out[0], *o1 = out[1], *o2 = out[2], *o3 = out[3];
    v4d y = {i0[k], i1[k], i2[k], i3[k]};
    for (Py_ssize_t r = k; r < j0; r++) {
        v4d c = {cs[r], cs[r], cs[r], cs[r]}, t = {sn[r], sn[r], sn[r], sn[r]};
        v4d b = {i0[r + 1], i1[r + 1], i2[r + 1], i3[r + 1]};
        v4d n = c * y + t * b;
        o0[r] = n[0]; o1[r] = n[1]; o2[r] = n[2]; o3[r] = n[3];
        /* c b - t y as one fused multiply-add on c b: y waits on 4 cycles, not on a
         * multiply and then the fused one (the order the compiler picks unless told) */
        y = (v4d)_mm256_fnmadd_pd((__m256d)t, (__m256d)y, (__m256d)(c * b));
    }
    x[0] = y[0]; x[1] = y[1]; x[2] = y[2]; x[3] = y[3];
}

AVX2_FMA static void delete_packed_avx2(double *ap, Py_ssize_t s, Py_ssize_t k, double *cs,
                                        double *sn)
{
    delete_packed_with(ap, s, k, cs, sn, rotate_lanes_avx2);
}

/* packed_solve_upper: four columns at a time, their axpys four entries of y at a time. */
AVX2_FMA static void packed_solve_upper_avx2(const double *ap, Py_ssize_t s, double *y)
{
    Py_ssize_t j = s - 1;
    for (; j >= 3; j -= 4) {
        const double *c[4];
        double t0, t1, t2, t3;
        diagonal_block(ap, j, y, c, &t0, &t1, &t2, &t3);
        const double *c0 = c[0], *c1 = c[1], *c2 = c[2], *c3 = c[3];
        v4d u0 = {t0, t0, t0, t0}, u1 = {t1, t1, t1, t1};
        v4d u2 = {t2, t2, t2, t2}, u3 = {t3, t3, t3, t3};
        Py_ssize_t n = j - 3, i = 0;
        for (; i + 4 <= n; i += 4) {
            v4d *yi = (v4d *)(y + i);
            *yi -= (u0 * *(const v4d *)(c0 + i) + u1 * *(const v4d *)(c1 + i))
                   + (u2 * *(const v4d *)(c2 + i) + u3 * *(const v4d *)(c3 + i));
        }
        for (; i < n; i++)
            y[i] -= (t0 * c0[i] + t1 * c1[i]) + (t2 * c2[i] + t3 * c3[i]);
    }
    back_substitute_columns(ap, j, y);
}

/* Rows j0 .. j0 + h - 1 (h <= 4, columns col[a] of U) of U^{-T} X for the W (4 or 8)
 * right-hand sides X = B + q0: the sums over the rows above the block are in acc[a], rows of W
 * doubles; what is left is the triangle of the block. */
AVX2_FMA static inline void block_triangle_avx2(const double *const *col, Py_ssize_t j0,
                                                Py_ssize_t h, double *X, Py_ssize_t ldb,
                                                const double (*acc)[8], int W)
{
    for (Py_ssize_t a = 0; a < h; a++) {
        double *xa = X + (j0 + a) * ldb;
        for (int q = 0; q < W; q += 4) {
            v4d v = *(v4d *)(xa + q) - *(const v4d *)(acc[a] + q);
            for (Py_ssize_t e = 0; e < a; e++) {
                double u = col[a][j0 + e];
                v -= (v4d){u, u, u, u} * *(const v4d *)(X + (j0 + e) * ldb + q);
            }
            double d = col[a][j0 + a];
            *(v4d *)(xa + q) = v / (v4d){d, d, d, d};
        }
    }
}

/* packed_solve_lower_multi: four rows by eight right-hand sides at a time, each row's eight
 * sums in two registers (eight of the sixteen), so that each entry of U that is read meets
 * eight right-hand sides and U is read once per eight columns of B instead of per four. A
 * remaining block of four right-hand sides goes four by four, the last r % 4 one at a time. */
AVX2_FMA static void packed_solve_lower_multi_avx2(const double *ap, Py_ssize_t s, double *B,
                                                   Py_ssize_t r, double *work)
{
    Py_ssize_t ldb = r, r8 = r - r % 8, r4 = r - r % 4;
    solve_lower_each(ap, s, B, r, r4, work, packed_solve_lower_avx2);
    for (Py_ssize_t j0 = 0; j0 < s; j0 += 4) {
        Py_ssize_t h = s - j0 < 4 ? s - j0 : 4;
        const double *col[4];
        block_columns(ap, s, j0, col);
        const double *c0 = col[0], *c1 = col[1], *c2 = col[2], *c3 = col[3];
        double acc[4][8];
        for (Py_ssize_t q0 = 0; q0 < r8; q0 += 8) {
            v4d z = {0.0, 0.0, 0.0, 0.0};
            v4d lo0 = z, lo1 = z, lo2 = z, lo3 = z, hi0 = z, hi1 = z, hi2 = z, hi3 = z;
            const double *X = B + q0;
            for (Py_ssize_t i = 0; i < j0; i++) {
                const v4d *xi = (const v4d *)(X + i * ldb);
                v4d xl = xi[0], xh = xi[1];
                v4d u0 = {c0[i], c0[i], c0[i], c0[i]}, u1 = {c1[i], c1[i], c1[i], c1[i]};
                v4d u2 = {c2[i], c2[i], c2[i], c2[i]}, u3 = {c3[i], c3[i], c3[i], c3[i]};
                lo0 += u0 * xl; hi0 += u0 * xh;
                lo1 += u1 * xl; hi1 += u1 * xh;
                lo2 += u2 * xl; hi2 += u2 * xh;
                lo3 += u3 * xl; hi3 += u3 * xh;
            }
            *(v4d *)acc[0] = lo0; *(v4d *)(acc[0] + 4) = hi0;
            *(v4d *)acc[1] = lo1; *(v4d *)(acc[1] + 4) = hi1;
            *(v4d *)acc[2] = lo2; *(v4d *)(acc[2] + 4) = hi2;
            *(v4d *)acc[3] = lo3; *(v4d *)(acc[3] + 4) = hi3;
            block_triangle_avx2(col, j0, h, B + q0, ldb, (const double (*)[8])acc, 8);
        }
        if (r4 > r8) {
            v4d z = {0.0, 0.0, 0.0, 0.0}, t0 = z, t1 = z, t2 = z, t3 = z;
            const double *X = B + r8;
            for (Py_ssize_t i = 0; i < j0; i++) {
                v4d xi = *(const v4d *)(X + i * ldb);
                t0 += (v4d){c0[i], c0[i], c0[i], c0[i]} * xi;
                t1 += (v4d){c1[i], c1[i], c1[i], c1[i]} * xi;
                t2 += (v4d){c2[i], c2[i], c2[i], c2[i]} * xi;
                t3 += (v4d){c3[i], c3[i], c3[i], c3[i]} * xi;
            }
            *(v4d *)acc[0] = t0; *(v4d *)acc[1] = t1;
            *(v4d *)acc[2] = t2; *(v4d *)acc[3] = t3;
            block_triangle_avx2(col, j0, h, B + r8, ldb, (const double (*)[8])acc, 4);
        }
    }
}

/* the tiles with four doubles to a register and fused multiply-adds */
#define HSUM4(u) (((u)[0] + (u)[1]) + ((u)[2] + (u)[3]))
DEFINE_DOT_TILES(AVX2_FMA, v4d, 4, HSUM4, dot_tile_v4, dot_tile_avx2)

AVX2_FMA static void gather_dot_avx2(const double *At, Py_ssize_t m, const Py_ssize_t *slot,
                                     Py_ssize_t s, const double *Vt, Py_ssize_t w, double *out)
{
    gather_dot_with(At, m, slot, s, Vt, w, out, dot_tile_avx2);
}
#endif

/* The kernels in use: the baseline above, or where the CPU has AVX2 and FMA their variants
 * (chosen once at import; ``_cholc.simd(level)`` switches them for tests and benchmarks). */
static struct {
    void (*solve_lower)(const double *, Py_ssize_t, double *);
    void (*solve_upper)(const double *, Py_ssize_t, double *);
    void (*solve_lower_multi)(const double *, Py_ssize_t, double *, Py_ssize_t, double *);
    void (*delete_packed)(double *, Py_ssize_t, Py_ssize_t, double *, double *);
    void (*gather_dot)(const double *, Py_ssize_t, const Py_ssize_t *, Py_ssize_t,
                       const double *, Py_ssize_t, double *);
} kernels = {packed_solve_lower, packed_solve_upper, packed_solve_lower_multi, delete_packed,
             gather_dot};
static int simd_level = 0, simd_max = 0;  /* 0: SSE2 baseline, 1: AVX2 + FMA */

static void set_simd(int level)
{
    simd_level = level;
    kernels.solve_lower = packed_solve_lower;
    kernels.solve_upper = packed_solve_upper;
    kernels.solve_lower_multi = packed_solve_lower_multi;
    kernels.delete_packed = delete_packed;
    kernels.gather_dot = gather_dot;
#ifdef HAVE_AVX2
    if (level >= 1) {
        kernels.solve_lower = packed_solve_lower_avx2;
        kernels.solve_upper = packed_solve_upper_avx2;
        kernels.solve_lower_multi = packed_solve_lower_multi_avx2;
        kernels.delete_packed = delete_packed_avx2;
        kernels.gather_dot = gather_dot_avx2;
    }
#endif
}

/* The columns that enter the packed working set (``working_set_wide.PackedSet.add``): U (s
 * columns, packed) is followed by the column [y; rho]; r columns enter with the block
 * [[U, E], [0, U_D]] of the grown factor. Writes the new columns [E[:, i]; U_D[:i + 1, i]] and
 * after them the new [y; y_D; 0], y_D = U_D^{-T} (c_D - E^T y) (the forward solve of the new
 * rows; c_D the entering columns' entries of A^T b). E (s x r) and U_D (r x r, upper) are
 * read through their strides in bytes, so any memory order serves; work holds s + r
 * entries. */
static void append_packed(double *ap, Py_ssize_t s, Py_ssize_t r, const char *E,
                          Py_ssize_t e0, Py_ssize_t e1, const char *D, Py_ssize_t d0,
                          Py_ssize_t d1, const double *cD, double *work)
{
#define ENTRY(base, i, j, s0, s1) (*(const double *)((base) + (i) * (s0) + (j) * (s1)))
    double *y = work, *yD = work + s;
    memcpy(y, ap + s * (s + 1) / 2, (size_t)s * sizeof(double));  /* overwritten below */
    for (Py_ssize_t i = 0; i < r; i++) {
        double v = cD[i];
        for (Py_ssize_t l = 0; l < s; l++)
            v -= ENTRY(E, l, i, e0, e1) * y[l];
        for (Py_ssize_t l = 0; l < i; l++)
            v -= ENTRY(D, l, i, d0, d1) * yD[l];
        yD[i] = v / ENTRY(D, i, i, d0, d1);
    }
    double *col = ap + s * (s + 1) / 2;
    for (Py_ssize_t i = 0; i < r; i++) {
        for (Py_ssize_t l = 0; l < s; l++)
            col[l] = ENTRY(E, l, i, e0, e1);
        for (Py_ssize_t l = 0; l <= i; l++)
            col[s + l] = ENTRY(D, l, i, d0, d1);
        col += s + i + 1;
    }
#undef ENTRY
    memcpy(col, work, (size_t)(s + r) * sizeof(double));
    col[s + r] = 0.0;  /* rho: never read back */
}

/* The Cholesky factor of the Gram block of the r candidates that enter the working set
 * (``working_set_wide.PackedSet._extension``): D (k x k, row-major) holds V^T V for the k
 * candidates' columns V and G, where not NULL, E^T E with E = U^{-T} A_F^T V; the upper
 * triangle of D is overwritten, row by row, by the upper factor U_D of D - G (the candidates'
 * Gram block orthogonal to span(A_F)), up to the first candidate that is numerically dependent
 * on F and the candidates before it: its pivot is not positive, or its square is not above
 * tol times the candidate's squared norm (the diagonal of V^T V). Returns the number r of rows
 * of U_D written; the entries from row r on are left as they were (minus G's rows). What LAPACK
 * dpotrf and the test on its diagonal compute, without the dozen calls each on a 16 x 16
 * block. */
static Py_ssize_t block_cholesky(double *D, const double *G, Py_ssize_t k, double tol)
{
    for (Py_ssize_t i = 0; i < k; i++) {
        double *row = D + i * k;
        double sq = row[i];
        if (G != NULL)
            for (Py_ssize_t j = i; j < k; j++)
                row[j] -= G[i * k + j];
        /* row i of U_D: D[i, j] - sum_{l < i} U[l, i] U[l, j], the rows above already final */
        for (Py_ssize_t l = 0; l < i; l++) {
            const double *above = D + l * k;
            double u = above[i];
            for (Py_ssize_t j = i; j < k; j++)
                row[j] -= u * above[j];
        }
        double p = row[i];
        if (!(p > 0.0))
            return i;
        double d = sqrt(p);
        if (!(d * d > tol * sq))
            return i;
        row[i] = d;
        for (Py_ssize_t j = i + 1; j < k; j++)
            row[j] /= d;
    }
    return k;
}

/* The columns that enter in the next round of the working set (``working_set._candidates``):
 * the indices i with w[i] > tol that are neither passive nor blocked, the (at most) width with
 * the largest w[i], in out from the largest down (equal values: the lower index first, and the
 * lower index kept where only one of them fits). One pass over w with the chosen kept sorted by
 * insertion (width <= 64 in the solver), where numpy takes a dozen calls (masks, argpartition,
 * a stable argsort and the gathers between them). Returns the number written. */
static Py_ssize_t select_candidates(const double *w, const char *passive, const char *blocked,
                                    Py_ssize_t n, double tol, Py_ssize_t *out, Py_ssize_t width)
{
    Py_ssize_t k = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        double v = w[i];
        if (!(v > tol) || passive[i] || blocked[i])
            continue;
        if (k == width && !(v > w[out[k - 1]]))
            continue;
        Py_ssize_t p = k < width ? k++ : k - 1;  /* when full, the last (smallest) goes */
        for (; p > 0 && v > w[out[p - 1]]; p--)
            out[p] = out[p - 1];
        out[p] = i;
    }
    return k;
}

/* Lawson & Hanson's inner loop on the normal equations, in place: z = G_FF^{-1} c_F from the
 * packed factor; while some z_i <= 0, step x_F toward z as far as feasibility allows, drop the
 * variables that reach zero (at least the first blocker) and downdate the factor. x and c hold
 * x_F and c_F, pos the positions in the original F; all three are compacted as variables
 * leave. Returns the new size; x then holds G_FF^{-1} c_F on the variables kept.
 *
 * With c NULL the packed array holds after U one more column, [y; rho] with y = U^{-T} c_F
 * (the factor of [A_F, b]'s Gram matrix): then z is one back substitution, U z = y, and each
 * downdate rotates that column with U (the sweep of an (s + 1) x (s + 1) factor), as
 * ``working_set_wide.PackedSet`` keeps it. */
static Py_ssize_t inner_loop(double *ap, Py_ssize_t s, double *x, double *c, Py_ssize_t *pos,
                             double *z, char *drop, double *cs, double *sn)
{
    while (s > 0) {
        if (c == NULL) {
            memcpy(z, ap + s * (s + 1) / 2, (size_t)s * sizeof(double));
        } else {
            memcpy(z, c, (size_t)s * sizeof(double));
            kernels.solve_lower(ap, s, z);
        }
        kernels.solve_upper(ap, s, z);
        Py_ssize_t first = -1;
        double alpha = 0.0;
        for (Py_ssize_t i = 0; i < s; i++) {
            if (z[i] <= 0.0) {
                double den = x[i] - z[i];
                double ratio = den > 0.0 ? x[i] / den : 0.0;
                if (first < 0 || ratio < alpha) {
                    first = i;
                    alpha = ratio;
                }
            }
        }
        if (first < 0) {
            memcpy(x, z, (size_t)s * sizeof(double));
            return s;
        }
        for (Py_ssize_t i = 0; i < s; i++) {
            double xi = x[i] + alpha * (z[i] - x[i]);
            drop[i] = (char)((xi <= 0.0 && z[i] <= 0.0) || i == first);
            x[i] = xi;
        }
        for (Py_ssize_t i = s - 1; i >= 0; i--) {
            if (!drop[i])
                continue;
            if (c == NULL)
                kernels.delete_packed(ap, s + 1, i, cs, sn);  /* U and [y; rho] */
            else if (i < s - 1)
                kernels.delete_packed(ap, s, i, cs, sn);
            s--;
            memmove(x + i, x + i + 1, (size_t)(s - i) * sizeof(double));
            if (c != NULL)
                memmove(c + i, c + i + 1, (size_t)(s - i) * sizeof(double));
            memmove(pos + i, pos + i + 1, (size_t)(s - i) * sizeof(Py_ssize_t));
            memmove(drop + i, drop + i + 1, (size_t)(s - i));
        }
    }
    return 0;
}

/* s (s + 1) / 2, the length of a packed s x s factor, or -1 where s is negative or so large
 * that the product would overflow (no such factor fits in memory). */
static Py_ssize_t packed_length(Py_ssize_t s)
{
    return s < 0 || s > ((Py_ssize_t)1 << 30) ? -1 : s * (s + 1) / 2;
}

/* The element types of the 1-D arguments. */
enum kind { FLOAT64, INTP, BOOL };

/* The buffer of o with its strides and format into b; TypeError naming fn and the argument
 * what where o has none (the contiguity and writability are checked by the callers, so that
 * their errors, too, name the argument). */
static int get_buffer(PyObject *o, Py_buffer *b, const char *fn, const char *what)
{
    if (PyObject_GetBuffer(o, b, PyBUF_STRIDES | PyBUF_FORMAT) == 0)
        return 0;
    PyErr_Format(PyExc_TypeError, "%s: %s must be a numpy array, not %.100s", fn, what,
                 Py_TYPE(o)->tp_name);
    return -1;
}

/* A C-contiguous 1-D array of kind k into b: with exactly len entries where exact is set, at
 * least len otherwise (len < 0: any length); ValueError naming fn and the argument what if
 * it is not. */
static int get_1d(PyObject *o, Py_buffer *b, enum kind k, Py_ssize_t len, int exact,
                  int writable, const char *fn, const char *what)
{
    static const char *names[] = {"float64", "intp", "bool"};
    if (get_buffer(o, b, fn, what) < 0)
        return -1;
    const char *f = b->format;
    int typed = k == FLOAT64 ? b->itemsize == 8 && strcmp(f, "d") == 0
                : k == INTP ? b->itemsize == (Py_ssize_t)sizeof(Py_ssize_t)
                              && (strcmp(f, "l") == 0 || strcmp(f, "q") == 0
                                  || strcmp(f, "n") == 0)
                : b->itemsize == 1 && strcmp(f, "?") == 0;
    int sized = len < 0 || (exact ? b->shape[0] == len : b->shape[0] >= len);
    if (b->ndim != 1 || !typed || !sized || !PyBuffer_IsContiguous(b, 'C')
        || (writable && b->readonly)) {
        const char *mode = writable ? "writable " : "";
        if (len < 0)
            PyErr_Format(PyExc_ValueError, "%s: %s must be a %scontiguous 1-D %s vector", fn,
                         what, mode, names[k]);
        else
            PyErr_Format(PyExc_ValueError, "%s: %s must be a %scontiguous 1-D %s vector with "
                         "%s %zd entries", fn, what, mode, names[k],
                         exact ? "exactly" : "at least", len);
        PyBuffer_Release(b);
        return -1;
    }
    return 0;
}

/* A float64 vector of at least min_len entries. */
static int get_vector(PyObject *o, Py_buffer *b, Py_ssize_t min_len, int writable,
                      const char *fn, const char *what)
{
    return get_1d(o, b, FLOAT64, min_len, 0, writable, fn, what);
}

static PyObject *py_lh_inner(PyObject *self, PyObject *args)
{
    PyObject *oap, *ox, *oc, *opos;
    Py_ssize_t s;
    if (!PyArg_ParseTuple(args, "OnOOO", &oap, &s, &ox, &oc, &opos))
        return NULL;
    int has_y = oc == Py_None;  /* the column [y; rho] follows U in ap */
    Py_ssize_t need = packed_length(has_y && s >= 0 ? s + 1 : s);
    if (need < 0) {
        PyErr_SetString(PyExc_ValueError, "lh_inner: s must be >= 0 (and fit in memory)");
        return NULL;
    }
    Py_buffer bap = {0}, bx = {0}, bc = {0}, bpos = {0};
    PyObject *result = NULL;
    if (get_vector(oap, &bap, need, 1, "lh_inner", "ap") < 0)
        return NULL;
    if (get_vector(ox, &bx, s, 1, "lh_inner", "x") < 0)
        goto done;
    if (!has_y && get_vector(oc, &bc, s, 1, "lh_inner", "c") < 0)
        goto done;
    if (get_1d(opos, &bpos, INTP, s, 0, 1, "lh_inner", "pos") < 0)
        goto done;
    Py_ssize_t len = s + 1;  /* the sweep of the downdate may run over s + 1 columns */
    double *mem = malloc((size_t)(3 * (len + 1)) * sizeof(double) + (size_t)len);
    if (mem == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t kept;
    Py_BEGIN_ALLOW_THREADS
    double *z = mem, *cs = mem + (len + 1), *sn = cs + (len + 1);
    char *drop = (char *)(sn + (len + 1));
    kept = inner_loop((double *)bap.buf, s, (double *)bx.buf, has_y ? NULL : (double *)bc.buf,
                      (Py_ssize_t *)bpos.buf, z, drop, cs, sn);
    Py_END_ALLOW_THREADS
    free(mem);
    result = PyLong_FromSsize_t(kept);
done:
    PyBuffer_Release(&bap);
    if (bx.obj) PyBuffer_Release(&bx);
    if (bc.obj) PyBuffer_Release(&bc);
    if (bpos.obj) PyBuffer_Release(&bpos);
    return result;
}

static PyObject *py_solve_lower(PyObject *self, PyObject *args)
{
    PyObject *oap, *oB;
    Py_ssize_t s;
    if (!PyArg_ParseTuple(args, "OnO", &oap, &s, &oB))
        return NULL;
    Py_ssize_t need = packed_length(s);
    if (need < 0) {
        PyErr_SetString(PyExc_ValueError, "solve_lower: s must be >= 0 (and fit in memory)");
        return NULL;
    }
    Py_buffer bap = {0}, bB = {0};
    if (get_vector(oap, &bap, need, 0, "solve_lower", "ap") < 0)
        return NULL;
    PyObject *result = NULL;
    if (PyObject_GetBuffer(oB, &bB, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0)
        goto done;
    if (bB.ndim != 2 || bB.shape[0] != s || bB.itemsize != 8 || strcmp(bB.format, "d") != 0) {
        PyErr_Format(PyExc_ValueError, "solve_lower: B must be a C-contiguous float64 array "
                     "of shape (s, r) = (%zd, r)", s);
        goto done;
    }
    double *work = malloc((size_t)(s + 1) * sizeof(double));
    if (work == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    kernels.solve_lower_multi((const double *)bap.buf, s, (double *)bB.buf, bB.shape[1], work);
    Py_END_ALLOW_THREADS
    free(work);
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyBuffer_Release(&bap);
    if (bB.obj) PyBuffer_Release(&bB);
    return result;
}

/* A C-contiguous 2-D float64 array (writable where asked) of rows x cols entries (a negative
 * count: any); ValueError naming fn and the argument what if it is not. */
static int get_2d(PyObject *o, Py_buffer *b, Py_ssize_t rows, Py_ssize_t cols, int writable,
                  const char *fn, const char *what, const char *shape)
{
    if (get_buffer(o, b, fn, what) < 0)
        return -1;
    if (b->ndim != 2 || b->itemsize != 8 || strcmp(b->format, "d") != 0
        || (rows >= 0 && b->shape[0] != rows) || (cols >= 0 && b->shape[1] != cols)
        || !PyBuffer_IsContiguous(b, 'C') || (writable && b->readonly)) {
        PyErr_Format(PyExc_ValueError, "%s: %s must be a %sC-contiguous float64 array of "
                     "shape %s", fn, what, writable ? "writable " : "", shape);
        PyBuffer_Release(b);
        return -1;
    }
    return 0;
}

static PyObject *py_gather_dot(PyObject *self, PyObject *args)
{
    PyObject *oAt, *oslot, *oVt, *oout;
    if (!PyArg_ParseTuple(args, "OOOO", &oAt, &oslot, &oVt, &oout))
        return NULL;
    const char *fn = "gather_dot";
    Py_buffer bAt = {0}, bslot = {0}, bVt = {0}, bout = {0};
    PyObject *result = NULL;
    if (get_2d(oAt, &bAt, -1, -1, 0, fn, "At", "(cap, m)") < 0)
        return NULL;
    Py_ssize_t cap = bAt.shape[0], m = bAt.shape[1];
    if (get_1d(oslot, &bslot, INTP, -1, 0, 0, fn, "slot") < 0
        || get_2d(oVt, &bVt, -1, m, 0, fn, "Vt", "(w, m), m the columns of At") < 0)
        goto done;
    Py_ssize_t s = bslot.shape[0], w = bVt.shape[0];
    if (get_2d(oout, &bout, s, w, 1, fn, "out", "(len(slot), w), w the rows of Vt") < 0)
        goto done;
    const Py_ssize_t *slot = (const Py_ssize_t *)bslot.buf;
    for (Py_ssize_t j = 0; j < s; j++)
        if (slot[j] < 0 || slot[j] >= cap) {
            PyErr_Format(PyExc_ValueError, "gather_dot: slot[%zd] = %zd is not a row of At "
                         "(0 to %zd)", j, slot[j], cap - 1);
            goto done;
        }
    Py_BEGIN_ALLOW_THREADS
    kernels.gather_dot((const double *)bAt.buf, m, slot, s, (const double *)bVt.buf, w,
                       (double *)bout.buf);
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyBuffer_Release(&bAt);
    if (bslot.obj) PyBuffer_Release(&bslot);
    if (bVt.obj) PyBuffer_Release(&bVt);
    if (bout.obj) PyBuffer_Release(&bout);
    return result;
}

/* A 2-D float64 array of at least rows x cols entries, any strides. */
static int get_matrix(PyObject *o, Py_buffer *b, Py_ssize_t rows, Py_ssize_t cols,
                      const char *what)
{
    if (PyObject_GetBuffer(o, b, PyBUF_STRIDES | PyBUF_FORMAT) < 0)
        return -1;
    if (b->ndim != 2 || b->itemsize != 8 || strcmp(b->format, "d") != 0
        || b->shape[0] < rows || b->shape[1] < cols) {
        PyErr_Format(PyExc_ValueError, "append_packed: %s must be a 2-D float64 array of at "
                     "least %zd x %zd entries", what, rows, cols);
        PyBuffer_Release(b);
        return -1;
    }
    return 0;
}

static PyObject *py_append_packed(PyObject *self, PyObject *args)
{
    PyObject *oap, *oE, *oD, *oc;
    Py_ssize_t s, r;
    if (!PyArg_ParseTuple(args, "OnnOOO", &oap, &s, &r, &oE, &oD, &oc))
        return NULL;
    Py_ssize_t need = r < 0 || s < 0 || s > ((Py_ssize_t)1 << 29) || r > ((Py_ssize_t)1 << 29)
                      ? -1 : packed_length(s + r + 1);
    if (need < 0) {
        PyErr_SetString(PyExc_ValueError, "append_packed: s and r must be >= 0 (and fit in "
                        "memory)");
        return NULL;
    }
    Py_buffer bap = {0}, bE = {0}, bD = {0}, bc = {0};
    PyObject *result = NULL;
    if (get_vector(oap, &bap, need, 1, "append_packed", "ap") < 0)
        return NULL;
    if (get_matrix(oE, &bE, s, r, "E") < 0)
        goto done;
    if (bE.shape[0] != s) {
        PyErr_Format(PyExc_ValueError, "append_packed: E must have s = %zd rows", s);
        goto done;
    }
    if (get_matrix(oD, &bD, r, r, "U_D") < 0)
        goto done;
    if (get_vector(oc, &bc, r, 0, "append_packed", "c") < 0)
        goto done;
    double *work = malloc((size_t)(s + r + 1) * sizeof(double));
    if (work == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    append_packed((double *)bap.buf, s, r, (const char *)bE.buf, bE.strides[0], bE.strides[1],
                  (const char *)bD.buf, bD.strides[0], bD.strides[1], (const double *)bc.buf,
                  work);
    Py_END_ALLOW_THREADS
    free(work);
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyBuffer_Release(&bap);
    if (bE.obj) PyBuffer_Release(&bE);
    if (bD.obj) PyBuffer_Release(&bD);
    if (bc.obj) PyBuffer_Release(&bc);
    return result;
}

/* A C-contiguous float64 k x k array (writable where asked). */
static int get_square(PyObject *o, Py_buffer *b, Py_ssize_t k, int writable, const char *fn,
                      const char *what)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(o, b, flags) < 0)
        return -1;
    if (b->ndim != 2 || b->itemsize != 8 || strcmp(b->format, "d") != 0
        || b->shape[1] != b->shape[0] || (k >= 0 && b->shape[0] != k)) {
        PyErr_Format(PyExc_ValueError, "%s: %s must be a square C-contiguous float64 array%s",
                     fn, what, k >= 0 ? " of D's shape" : "");
        PyBuffer_Release(b);
        return -1;
    }
    return 0;
}

static PyObject *py_block_cholesky(PyObject *self, PyObject *args)
{
    PyObject *oD, *oG;
    double tol;
    if (!PyArg_ParseTuple(args, "OOd", &oD, &oG, &tol))
        return NULL;
    Py_buffer bD = {0}, bG = {0};
    if (get_square(oD, &bD, -1, 1, "block_cholesky", "D") < 0)
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t k = bD.shape[0];
    if (oG != Py_None && get_square(oG, &bG, k, 0, "block_cholesky", "G") < 0)
        goto done;
    if (!(tol >= 0.0)) {
        PyErr_SetString(PyExc_ValueError, "block_cholesky: tol must be >= 0");
        goto done;
    }
    result = PyLong_FromSsize_t(block_cholesky((double *)bD.buf,
                                               bG.obj ? (const double *)bG.buf : NULL, k, tol));
done:
    PyBuffer_Release(&bD);
    if (bG.obj) PyBuffer_Release(&bG);
    return result;
}

static PyObject *py_select_candidates(PyObject *self, PyObject *args)
{
    PyObject *ow, *op, *ob, *oout;
    double tol;
    if (!PyArg_ParseTuple(args, "OOOdO", &ow, &op, &ob, &tol, &oout))
        return NULL;
    Py_buffer bw = {0}, bp = {0}, bb = {0}, bo = {0};
    PyObject *result = NULL;
    const char *fn = "select_candidates";
    if (get_1d(ow, &bw, FLOAT64, -1, 0, 0, fn, "w") < 0)
        return NULL;
    Py_ssize_t n = bw.shape[0];
    if (get_1d(op, &bp, BOOL, n, 1, 0, fn, "passive") < 0
        || get_1d(ob, &bb, BOOL, n, 1, 0, fn, "blocked") < 0
        || get_1d(oout, &bo, INTP, 1, 0, 1, fn, "out") < 0)
        goto done;
    result = PyLong_FromSsize_t(select_candidates((const double *)bw.buf,
                                                  (const char *)bp.buf, (const char *)bb.buf,
                                                  n, tol, (Py_ssize_t *)bo.buf, bo.shape[0]));
done:
    PyBuffer_Release(&bw);
    if (bp.obj) PyBuffer_Release(&bp);
    if (bb.obj) PyBuffer_Release(&bb);
    if (bo.obj) PyBuffer_Release(&bo);
    return result;
}

static PyObject *py_delete_packed(PyObject *self, PyObject *args)
{
    PyObject *oA;
    Py_ssize_t s, k;
    if (!PyArg_ParseTuple(args, "Onn", &oA, &s, &k))
        return NULL;
    Py_buffer bA = {0};
    if (PyObject_GetBuffer(oA, &bA, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0)
        return NULL;
    PyObject *result = NULL;
    if (bA.ndim != 1 || bA.itemsize != 8 || strcmp(bA.format, "d") != 0 || s < 1 || k < 0
        || k >= s || packed_length(s) < 0 || bA.shape[0] < packed_length(s)) {
        PyErr_SetString(PyExc_ValueError,
                        "delete_packed(ap, s, k): ap float64, 1-D, contiguous, with at least "
                        "s (s + 1) / 2 entries, 0 <= k < s");
        goto done;
    }
    double *cs = malloc((size_t)(2 * (s + 1)) * sizeof(double));
    if (cs == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    kernels.delete_packed((double *)bA.buf, s, k, cs, cs + (s + 1));
    Py_END_ALLOW_THREADS
    free(cs);
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyBuffer_Release(&bA);
    return result;
}

static PyObject *py_delete(PyObject *self, PyObject *args)
{
    PyObject *oU, *oOut;
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "OOn", &oU, &oOut, &k))
        return NULL;
    Py_buffer bU = {0}, bO = {0};
    if (PyObject_GetBuffer(oU, &bU, PyBUF_F_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    if (PyObject_GetBuffer(oOut, &bO, PyBUF_F_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&bU);
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t s = bU.ndim == 2 ? bU.shape[0] : -1;
    if (bU.ndim != 2 || bO.ndim != 2 || bU.shape[1] != s || s < 1 || bO.shape[0] != s - 1
        || bO.shape[1] != s - 1 || bU.itemsize != 8 || bO.itemsize != 8
        || strcmp(bU.format, "d") != 0 || strcmp(bO.format, "d") != 0 || k < 0 || k >= s) {
        PyErr_SetString(PyExc_ValueError,
                        "delete(U, out, k): U float64 (s, s), out float64 (s-1, s-1), "
                        "both Fortran-contiguous, 0 <= k < s");
        goto done;
    }
    double *work = malloc((size_t)(3 * s + 1) * sizeof(double));
    if (work == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    delete_column((const double *)bU.buf, s, k, (double *)bO.buf, work, work + s + 1,
                  work + 2 * s + 1);
    Py_END_ALLOW_THREADS
    free(work);
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyBuffer_Release(&bU);
    PyBuffer_Release(&bO);
    return result;
}

static PyObject *py_simd(PyObject *self, PyObject *args)
{
    int level = -1;
    if (!PyArg_ParseTuple(args, "|i", &level))
        return NULL;
    int previous = simd_level;
    if (level != -1) {
        if (level < 0 || level > simd_max) {
            PyErr_Format(PyExc_ValueError, "simd: level must be 0 (SSE2) or, on a CPU with "
                         "AVX2 and FMA, 1; this one allows 0 to %d", simd_max);
            return NULL;
        }
        set_simd(level);
    }
    return PyLong_FromLong(previous);
}

static PyMethodDef methods[] = {
    {"simd", py_simd, METH_VARARGS,
     "simd([level]): the level of the vector kernels in use, 0 (SSE2) or 1 (AVX2 and FMA); "
     "with a level, switch to it (ValueError where the CPU lacks it) and return the previous "
     "one. The module attribute simd_max is the highest level this CPU allows."},
    {"lh_inner", py_lh_inner, METH_VARARGS,
     "lh_inner(ap, s, x, c, pos): Lawson-Hanson's inner loop on the packed factor of G_FF, in "
     "place; returns the number of variables kept. c None: ap holds the column [y; rho], "
     "y = U^{-T} c_F, after U, and the loop keeps it."},
    {"append_packed", py_append_packed, METH_VARARGS,
     "append_packed(ap, s, r, E, U_D, c_D): the r columns [E; U_D] that enter the packed factor "
     "(s columns, then [y; rho]) and the new column [y; U_D^{-T} (c_D - E^T y); 0], in place."},
    {"select_candidates", py_select_candidates, METH_VARARGS,
     "select_candidates(w, passive, blocked, tol, out): the indices i with w[i] > tol, neither "
     "passive nor blocked, with the len(out) largest w[i], largest first, in out; returns their "
     "number."},
    {"block_cholesky", py_block_cholesky, METH_VARARGS,
     "block_cholesky(D, G, tol): D := the upper Cholesky factor of D - G (G None: of D), in "
     "place, row by row up to the first pivot p with p <= 0 or p <= tol D[i, i]; returns the "
     "number of rows factored."},
    {"solve_lower", py_solve_lower, METH_VARARGS,
     "solve_lower(ap, s, B): B := U^{-T} B in place, U (s x s) packed by columns, B a "
     "C-contiguous float64 (s, r) array."},
    {"gather_dot", py_gather_dot, METH_VARARGS,
     "gather_dot(At, slot, Vt, out): out[j, q] = At[slot[j]] @ Vt[q] for j < len(slot), "
     "q < w; At (cap, m), Vt (w, m) and out (len(slot), w) C-contiguous float64, slot intp "
     "with entries in 0 .. cap - 1."},
    {"delete", py_delete, METH_VARARGS,
     "delete(U, out, k): out = the upper Cholesky factor of U^T U without variable k."},
    {"delete_packed", py_delete_packed, METH_VARARGS,
     "delete_packed(ap, s, k): the same, in place on U (s x s) packed by columns."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_cholc",
    "Downdate of an upper Cholesky factor by Givens rotations (one variable removed).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__cholc(void)
{
#ifdef HAVE_AVX2
    __builtin_cpu_init();
    simd_max = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
#endif
    set_simd(simd_max);
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddIntConstant(m, "simd_max", simd_max) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
