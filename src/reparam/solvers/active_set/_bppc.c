/* Block principal pivoting for many right-hand sides with few unknowns, one column at a time
 * in compiled code: the inner loop of ``reparam.solvers.active_set.small.bpp_columns``.
 *
 * For a shared, well-conditioned Gram matrix G = A^T A (n <= 256 unknowns) and the columns c of
 * C = A^T B, each column's NNLS problem  min 0.5 x^T G x - c^T x  s.t.  x >= 0  is solved by
 * block principal pivoting: Kim & Park, "Fast nonnegative matrix factorization: an
 * active-set-like method and comparisons", SIAM J. Sci. Comput. 33 (2011), Algorithms 2-3,
 * after Portugal, Judice & Vicente, "A comparison of block pivoting and interior-point
 * algorithms for linear least squares problems with nonnegative variables", Math. Comp. 63
 * (1994), with the Judice & Pires (1994) backup rule (after three full exchanges without
 * fewer infeasible variables, flip only the infeasible variable of largest index), which
 * guarantees termination. It starts from the caller's passive sets (the sign pattern of the
 * unconstrained solution G^{-1} c, computed for all columns at once by chol_solve below or
 * LAPACK, or a warm start).
 *
 * Each round solves G_FF x_F = c_F by a Cholesky factorization in a small work array (or, when
 * the active set is the smaller one, the complementary system in G^{-1}; see solve_column),
 * keeping the rows of the factor for the leading variables of the list that did not change
 * since the previous round (see factor_t) and removing a variable that left by a rank-one
 * update of the rows after it (factor_remove). The rules and tolerances are those of the numpy
 * implementation (``small.bpp_columns_numpy``), so both return the same passive sets up to
 * rounding; the callers certify every answer on A in float64 either way.
 *
 * The module also holds the fused steps of the inexact rounds that guess the passive sets for
 * many right-hand sides (cg_start, cg_step, cg_exchange; see ``many_rhs._inexact_pivoting``),
 * and the small single systems of ``reparam.nnls``: the same pivoting for one right-hand side
 * on an unequilibrated Gram pair with per-variable tolerances (bpp_gram, after
 * ``small.bpp_small``), the certificate of an answer (certify), and both with the range
 * checks in one call (solve_small); and, for the certificate of many right-hand sides around
 * BLAS's two products, the subtraction with the column sums of squares (sub_sumsq) and the
 * per-column kkt parts (kkt_columns); and for few unknowns the pivoting's start G^{-1} C
 * (chol_solve) and the inverse with the condition number that decides on the dual solves
 * (inverse_cond).
 *
 * The interface uses the buffer protocol only (no numpy headers): arrays of float64 with any
 * strides, the passive sets as one byte per entry, the round counts as Py_ssize_t; the fused
 * steps take C-ordered float32 arrays with one right-hand side per row.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <limits.h>
#include <string.h>

#define MAXN 256
#define FULL_EXCHANGES 3

/* The hot functions are compiled twice where GCC can pick a version at load time (an ifunc
 * on x86-64 with glibc): for the default target, and for CPUs with AVX2 and FMA (x86-64-v3,
 * from GCC 12; AVX2 alone before), whose vectors are twice as wide; measured 1.1-1.2x faster
 * on the pivoting rounds at 400 x 200. Elsewhere: the default build only. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
#if __GNUC__ >= 12
#define HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define HOT __attribute__((target_clones("avx2", "default")))
#endif
#else
#define HOT
#endif

/* A dot product with four partial sums: the factorization's inner loops are short, and with a
 * single sum each multiply-add would wait for the previous one. */
static inline double dot(const double *a, const double *b, int len)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int t = 0;
    for (; t + 4 <= len; t += 4) {
        s0 += a[t] * b[t];
        s1 += a[t + 1] * b[t + 1];
        s2 += a[t + 2] * b[t + 2];
        s3 += a[t + 3] * b[t + 3];
    }
    for (; t < len; t++) s0 += a[t] * b[t];
    return (s0 + s1) + (s2 + s3);
}

/* y[lo..hi) -= a0 w0 + a1 w1 + a2 w2 + a3 w3 (y never overlaps the a's) */
static inline void sub4(double *restrict y, const double *restrict a0,
                        const double *restrict a1, const double *restrict a2,
                        const double *restrict a3, double w0, double w1, double w2, double w3,
                        int lo, int hi)
{
    for (int r = lo; r < hi; r++) y[r] -= (a0[r] * w0 + a1[r] * w1) + (a2[r] * w2 + a3[r] * w3);
}

/* A Cholesky factor M[list, list] = L L^T of a symmetric positive definite matrix M (G for
 * the passive variables, G^{-1} for the active ones) for an ordered index list, with the
 * forward substitution of one right-hand side alongside. Row r of L (and entry r of the
 * forward substitution) depends only on the first r + 1 indices of the list, so the rows of a
 * leading part of the list that did not change since the previous round are kept and only
 * the others are computed. L is stored by columns (column t in cols[t * n + t..]), so that
 * the updates of the left-looking factorization (Golub & Van Loan, Matrix Computations,
 * Alg. 4.2.1) and of the forward substitution run along contiguous memory, without a
 * dependency between consecutive updates: the compiler vectorizes them. */
typedef struct {
    double *cols;           /* L[r][t] in cols[t * n + r], r >= t */
    double inv[MAXN];       /* 1 / L[r][r] */
    double z[MAXN];         /* forward substitution L^{-1} rhs[list] */
    int idx[MAXN];
    int valid;              /* rows 0..valid-1 match idx */
} factor_t;

/* Factor M[list, list] (M: n x n row-major) and solve M[list, list] v = rhs[list]; v in out
 * (len entries). Returns 0, or -1 when a pivot is not safely positive (the rows from there on
 * are then invalid). */
HOT static int factor_solve(factor_t *f, const double *M, int n, const int *list, int len,
                        const double *rhs, double *out)
{
    int keep = 0;
    while (keep < f->valid && keep < len && f->idx[keep] == list[keep]) keep++;
    for (int r = keep; r < len; r++) {
        f->idx[r] = list[r];
        out[r] = rhs[list[r]];  /* the forward substitution's work vector */
    }
    for (int t = 0; t < len; t++) {
        const int r0 = t > keep ? t : keep;
        double *col = f->cols + (size_t)t * n;
        const double *Mt = M + (size_t)list[t] * n;
        for (int r = r0; r < len; r++) col[r] = Mt[list[r]];
        int s = 0;
        for (; s + 4 <= t; s += 4) {  /* four columns per pass over col: fewer loads, stores */
            const double *c0 = f->cols + (size_t)s * n, *c1 = c0 + n, *c2 = c1 + n, *c3 = c2 + n;
            sub4(col, c0, c1, c2, c3, c0[t], c1[t], c2[t], c3[t], r0, len);
        }
        for (; s < t; s++) {
            const double *cs = f->cols + (size_t)s * n;
            const double lts = cs[t];
            for (int r = r0; r < len; r++) col[r] -= cs[r] * lts;
        }
        if (t >= keep) {
            const double d = col[t];
            /* M is positive definite and well-conditioned (checked by the caller), so a pivot
             * this small means rounding has won: the caller leaves the column to another
             * path. */
            if (!(d > 1e-14 * Mt[list[t]])) {
                f->valid = t;
                return -1;
            }
            col[t] = sqrt(d);
            f->inv[t] = 1.0 / col[t];
            f->z[t] = out[t] * f->inv[t];
        }
        const double it = f->inv[t], zt = f->z[t];
        const int r1 = t + 1 > keep ? t + 1 : keep;
        for (int r = r1; r < len; r++) {
            col[r] *= it;
            out[r] -= col[r] * zt;
        }
    }
    f->valid = len;
    /* back substitution with L^T: a dot product with column r of L */
    for (int r = len - 1; r >= 0; r--) {
        const double *col = f->cols + (size_t)r * n;
        out[r] = (f->z[r] - dot(col + r + 1, out + r + 1, len - r - 1)) * f->inv[r];
    }
    return 0;
}

/* Remove the variable in row j (< valid) from the factor: deleting row and column j of
 * M[list, list] leaves L11 and L31 unchanged and turns the trailing block into the factor of
 * L33 L33^T + l32 l32^T (l32: the rows below j of column j), a rank-one update made by plane
 * rotations (Golub & Van Loan, Matrix Computations, Sec. 6.5.4; Gill, Golub, Murray &
 * Saunders, "Methods for modifying matrix factorizations", Math. Comp. 28, 1974), O((valid -
 * j)^2) flops instead of refactoring every row from j on. The same rotations carry the forward
 * substitution: [L33 l32] [z3; z_j] is unchanged by them, so z3 becomes the first part of the
 * rotated [z3; z_j]. An update never shrinks a pivot, so it cannot fail. */
HOT static void factor_remove(factor_t *f, int n, int j)
{
    const int v = f->valid;
    double *vj = f->cols + (size_t)j * n;  /* column j: l32 in rows j+1..v-1, rotated in place */
    double w = f->z[j];
    for (int k = j + 1; k < v; k++) {
        double *ck = f->cols + (size_t)k * n;
        const double lkk = ck[k], a = vj[k];
        const double r = hypot(lkk, a), c = lkk / r, s = a / r;
        ck[k] = r;
        f->inv[k] = 1.0 / r;
        for (int i = k + 1; i < v; i++) {
            const double li = ck[i], ai = vj[i];
            ck[i] = c * li + s * ai;
            vj[i] = c * ai - s * li;
        }
        const double zk = f->z[k];
        f->z[k] = c * zk + s * w;
        w = c * w - s * zk;
    }
    /* delete row j from the columns before it, and shift the columns after it left and up */
    for (int t = 0; t < j; t++) {
        double *ct = f->cols + (size_t)t * n;
        memmove(ct + j, ct + j + 1, (size_t)(v - j - 1) * sizeof(double));
    }
    for (int t = j + 1; t < v; t++) {
        double *src = f->cols + (size_t)t * n + t;
        memmove(src - n - 1, src, (size_t)(v - t) * sizeof(double));
    }
    memmove(f->inv + j, f->inv + j + 1, (size_t)(v - j - 1) * sizeof(double));
    memmove(f->z + j, f->z + j + 1, (size_t)(v - j - 1) * sizeof(double));
    memmove(f->idx + j, f->idx + j + 1, (size_t)(v - j - 1) * sizeof(int));
    f->valid = v - 1;
}

/* Drop from the factor's valid rows the variables that left the list (passive[i] != want):
 * by factor_remove where its rotations cost less than recomputing every row from the first
 * variable that left (what factor_solve does otherwise), else by cutting the valid rows
 * there. */
static void factor_prune(factor_t *f, int n, const unsigned char *passive, int want)
{
    const int v = f->valid;
    int gone[MAXN], m = 0;
    for (int r = 0; r < v; r++)
        if (passive[f->idx[r]] != want) gone[m++] = r;
    if (m == 0) return;
    /* flops of the rotations (about 2 (v - j)^2 each, counting the shifts) against those of
     * the left-looking factorization of rows j0..v-1 of a v x v factor */
    double rot = 0.0;
    for (int i = 0; i < m; i++) rot += 2.0 * (double)(v - gone[i]) * (double)(v - gone[i]);
    const double j0 = gone[0], vv = v;
    const double redo = (vv - j0) * j0 * j0 / 2.0 + vv * (vv * vv - j0 * j0) / 2.0
                        - (vv * vv * vv - j0 * j0 * j0) / 3.0;
    if (rot >= redo) {
        f->valid = gone[0];
        return;
    }
    for (int i = m - 1; i >= 0; i--) factor_remove(f, n, gone[i]);
}

/* The list of the variables i with passive[i] == want, in the order of the factor's valid
 * rows first, then the others by index: a variable that joins is appended, so the factor keeps
 * every row before the first variable that left (a sorted list would lose the rows from the
 * first change on, a variable joining included). */
static void reorder(const factor_t *f, const unsigned char *passive, int want, int n, int *list)
{
    unsigned char seen[MAXN];
    int len = 0;
    for (int i = 0; i < n; i++) seen[i] = 0;
    for (int r = 0; r < f->valid; r++) {
        const int i = f->idx[r];
        if (passive[i] == want) {
            list[len++] = i;
            seen[i] = 1;
        }
    }
    for (int i = 0; i < n; i++)
        if (passive[i] == want && !seen[i]) list[len++] = i;
}

typedef struct {
    int n;
    const double *G;     /* n x n, row-major */
    const double *H;     /* G^{-1}, n x n row-major, or NULL: no dual solves */
    double tol_factor;   /* infeasible when below -tol_factor * max|c| */
    int max_iter;
    factor_t primal, dual;
} work_t;

/* After a primal round (x zero on the active set D, v the values on the passive list), marks
 * the active variables whose gradient y = G x - c is below -tol[i] (or -tol0 when tol is
 * NULL): by rows of G (contiguous updates) when F is the smaller set, else one dot product per
 * active row. */
HOT static void mark_active(const double *G, const double *c, const double *x,
                            const double *v, const int *plist, int p, const int *dlist,
                            int q, int n, const double *tol, double tol0, double *y,
                            unsigned char *infeasible)
{
    if (p < q) {
        for (int i = 0; i < n; i++) y[i] = -c[i];
        int r = 0;
        for (; r + 4 <= p; r += 4)  /* as sub4 with the signs of v flipped */
            sub4(y, G + (size_t)plist[r] * n, G + (size_t)plist[r + 1] * n,
                 G + (size_t)plist[r + 2] * n, G + (size_t)plist[r + 3] * n,
                 -v[r], -v[r + 1], -v[r + 2], -v[r + 3], 0, n);
        for (; r < p; r++) {
            const double *Grow = G + (size_t)plist[r] * n;
            const double xr = v[r];
            for (int i = 0; i < n; i++) y[i] += Grow[i] * xr;
        }
        for (int r = 0; r < q; r++) {
            const int i = dlist[r];
            infeasible[i] = y[i] < -(tol != NULL ? tol[i] : tol0);
        }
    } else {
        for (int r = 0; r < q; r++) {
            const int i = dlist[r];
            infeasible[i] = dot(G + (size_t)i * n, x, n) - c[i] < -(tol != NULL ? tol[i] : tol0);
        }
    }
}

/* The end of a round: 1 when no variable is infeasible (x is then clipped at zero), else the
 * passive set is changed and 0 returned. Kim & Park's full exchange while the number of
 * infeasible variables falls (or for full_exchanges rounds after it last fell), else the
 * Judice-Pires backup rule (flip only the infeasible variable of largest index). */
static int exchange(unsigned char *passive, const unsigned char *infeasible, double *x, int n,
                    int *best, int *budget, int full_exchanges)
{
    int count = 0, last = -1;
    for (int i = 0; i < n; i++) {
        if (infeasible[i]) {
            count++;
            last = i;
        }
    }
    if (count == 0) {
        for (int i = 0; i < n; i++)
            if (x[i] < 0.0) x[i] = 0.0;
        return 1;
    }
    int full = 1;
    if (count < *best) {
        *best = count;
        *budget = full_exchanges;
    } else if (*budget > 0) {
        (*budget)--;
    } else {
        full = 0;
    }
    if (full) {
        for (int i = 0; i < n; i++) passive[i] ^= infeasible[i];
    } else {
        passive[last] ^= 1;
    }
    return 0;
}

/* The column's answer in x (n entries); returns the number of rounds, and sets *done to 1 when
 * every sign was right within the tolerance (x is then clipped at zero), else 0 (x = 0).
 * xls: the unconstrained solution G^{-1} c (needed only with H).
 *
 * Each round finds x with x_i = 0 on the active set D and gradient y = G x - c zero on the
 * passive set F, in one of two ways: the primal solve G_FF x_F = c_F (then y_D = (G x - c)_D),
 * or, when D is the smaller set and H = G^{-1} is given, the dual one: x = xls + H[:, D] y_D
 * with H_DD y_D = -xls_D (then x_D = 0 and y_F = 0 by construction), which costs a
 * factorization of size |D| instead of |F|. */
HOT static int solve_column(work_t *wk, const double *c, const double *xls,
                        const unsigned char *p0, double *x, unsigned char *done)
{
    const int n = wk->n;
    const double *G = wk->G, *H = wk->H;
    double v[MAXN], neg[MAXN], y[MAXN];
    int plist[MAXN], dlist[MAXN];
    unsigned char passive[MAXN], infeasible[MAXN];
    double cmax = 0.0;
    for (int i = 0; i < n; i++) {
        double a = fabs(c[i]);
        if (a > cmax) cmax = a;
        passive[i] = p0[i] != 0;
        if (H != NULL) neg[i] = -xls[i];
    }
    const double tol = wk->tol_factor * (cmax > 1e-300 ? cmax : 1e-300);
    wk->primal.valid = wk->dual.valid = 0;

    int best = n + 1, budget = FULL_EXCHANGES, it;
    for (it = 1; it <= wk->max_iter; it++) {
        int p = 0, q = 0;
        for (int i = 0; i < n; i++) {
            if (passive[i]) plist[p++] = i;
            else dlist[q++] = i;
        }
        if (H != NULL && q < p) {
            factor_prune(&wk->dual, n, passive, 0);
            reorder(&wk->dual, passive, 0, n, dlist);
            if (factor_solve(&wk->dual, H, n, dlist, q, neg, v) < 0) break;
            memcpy(x, xls, (size_t)n * sizeof(double));
            int r = 0;
            for (; r + 4 <= q; r += 4)
                sub4(x, H + (size_t)dlist[r] * n, H + (size_t)dlist[r + 1] * n,
                     H + (size_t)dlist[r + 2] * n, H + (size_t)dlist[r + 3] * n,
                     -v[r], -v[r + 1], -v[r + 2], -v[r + 3], 0, n);
            for (; r < q; r++) {
                const double *Hrow = H + (size_t)dlist[r] * n;
                const double yr = v[r];
                for (int i = 0; i < n; i++) x[i] += Hrow[i] * yr;
            }
            for (int r = 0; r < q; r++) x[dlist[r]] = 0.0;
            for (int i = 0; i < n; i++) infeasible[i] = 0;
            for (int r = 0; r < q; r++) infeasible[dlist[r]] = v[r] < -tol;
            for (int r = 0; r < p; r++) infeasible[plist[r]] = x[plist[r]] < -tol;
        } else {
            factor_prune(&wk->primal, n, passive, 1);
            reorder(&wk->primal, passive, 1, n, plist);
            if (factor_solve(&wk->primal, G, n, plist, p, c, v) < 0) break;
            memset(x, 0, (size_t)n * sizeof(double));
            for (int r = 0; r < p; r++) {
                x[plist[r]] = v[r];
                infeasible[plist[r]] = v[r] < -tol;
            }
            mark_active(G, c, x, v, plist, p, dlist, q, n, NULL, tol, y, infeasible);
        }
        if (exchange(passive, infeasible, x, n, &best, &budget, FULL_EXCHANGES)) {
            *done = 1;
            return it;
        }
        if (it == wk->max_iter) {
            memset(x, 0, (size_t)n * sizeof(double));
            *done = 0;
            return it;
        }
    }
    /* a failed factorization (or max_iter = 0) */
    memset(x, 0, (size_t)n * sizeof(double));
    *done = 0;
    return it > wk->max_iter ? wk->max_iter : it;
}

/* One right-hand side on a Gram pair (G, c) = (A^T A, A^T b) in the user's units: the inner
 * loop of ``small.bpp_small``, with its rules. Block principal pivoting (Kim & Park 2011,
 * Algorithm 2, with the Judice & Pires backup rule after full_exchanges full exchanges without
 * fewer infeasible variables) from Kim & Park's start x = 0, whose passive set is c > 0. With
 * per-variable tolerances tol[i] = tol_scale col_norms[i] in the units of c: a passive x_i is infeasible when
 * G_ii x_i < -tol[i], an active one when its gradient (G x - c)_i < -tol[i]; both tests are
 * unchanged by scaling column i of A, so G needs no equilibration. Each round factors the
 * passive block as solve_column does (the rows of the unchanged leading passive variables
 * kept, a variable that left removed by a rank-one update).
 * Returns the rounds (none when c <= 0: x = 0 is optimal); *done = 1 when every sign was
 * right within the tolerances (x is then clipped at zero), else 0: a pivot that is not safely positive (a numerically singular
 * passive block, which the caller leaves to another path) or max_iter rounds. */
HOT static int solve_gram(int n, const double *G, const double *c, const double *col_norms,
                          double tol_scale, int max_iter, int full_exchanges, factor_t *f,
                          double *x, int *done)
{
    double v[MAXN], y[MAXN], tol[MAXN];
    for (int i = 0; i < n; i++) tol[i] = tol_scale * col_norms[i];
    int plist[MAXN], dlist[MAXN];
    unsigned char passive[MAXN], infeasible[MAXN];
    int start = 0;
    for (int i = 0; i < n; i++) {
        passive[i] = c[i] > 0.0;
        start += passive[i];
    }
    f->valid = 0;
    if (start == 0) {  /* A^T b <= 0: x = 0 is optimal (its gradient -c >= 0), no round */
        memset(x, 0, (size_t)n * sizeof(double));
        *done = 1;
        return 0;
    }
    *done = 0;
    int best = n + 1, budget = full_exchanges;
    for (int it = 1; it <= max_iter; it++) {
        int p = 0, q = 0;
        for (int i = 0; i < n; i++) {
            if (passive[i]) plist[p++] = i;
            else dlist[q++] = i;
        }
        factor_prune(f, n, passive, 1);
        reorder(f, passive, 1, n, plist);
        if (factor_solve(f, G, n, plist, p, c, v) < 0) return it;
        memset(x, 0, (size_t)n * sizeof(double));
        for (int r = 0; r < p; r++) {
            const int i = plist[r];
            x[i] = v[r];
            infeasible[i] = G[(size_t)i * n + i] * v[r] < -tol[i];
        }
        mark_active(G, c, x, v, plist, p, dlist, q, n, tol, 0.0, y, infeasible);
        if (exchange(passive, infeasible, x, n, &best, &budget, full_exchanges)) {
            *done = 1;
            return it;
        }
    }
    return max_iter;
}

#define AT(view, i, j) ((char *)(view).buf + (i) * (view).strides[0] + (j) * (view).strides[1])

PyDoc_STRVAR(bpp_columns_doc,
"bpp_columns(G, C, P0, X, rounds, done, max_iter, tol, H, Xls)\n--\n\n"
"Block principal pivoting on every column of C (n x k float64) for the Gram matrix G\n"
"(n x n float64, n <= 256), from the passive sets P0 (n x k, one byte per entry, nonzero for\n"
"passive). H: None, or G^{-1} (n x n) to allow the dual solves, with Xls = G^{-1} C (n x k).\n"
"Writes X (n x k float64), rounds (k, Py_ssize_t) and done (k, one byte). A variable is\n"
"infeasible when below -tol * max|c| (c: its column of C). Releases the GIL while it runs.");

static int get(PyObject *o, Py_buffer *b, int flags, Py_ssize_t rows, Py_ssize_t cols,
               Py_ssize_t itemsize, const char *name)
{
    if (PyObject_GetBuffer(o, b, flags) < 0) return -1;
    if (b->ndim != (cols < 0 ? 1 : 2) || b->shape[0] != rows
        || (cols >= 0 && b->shape[1] != cols) || b->itemsize != itemsize
        || (itemsize == 8 && b->format != NULL && strcmp(b->format, "d") != 0
            && strcmp(b->format, "q") != 0 && strcmp(b->format, "l") != 0)) {
        PyErr_Format(PyExc_ValueError, "%s: expected an array of shape (%zd, %zd) and %zd-byte "
                     "items", name, rows, cols, itemsize);
        return -1;
    }
    return 0;
}

static PyObject *py_bpp_columns(PyObject *self, PyObject *args)
{
    PyObject *oG, *oC, *oP, *oX, *oR, *oD, *oH, *oS;
    int max_iter;
    double tol;
    if (!PyArg_ParseTuple(args, "OOOOOOidOO", &oG, &oC, &oP, &oX, &oR, &oD, &max_iter, &tol,
                          &oH, &oS))
        return NULL;
    Py_buffer bG = {0}, bC = {0}, bP = {0}, bX = {0}, bR = {0}, bD = {0}, bH = {0}, bS = {0};
    PyObject *result = NULL;
    double *mem = NULL;
    const int ro = PyBUF_STRIDES | PyBUF_FORMAT, rw = PyBUF_STRIDES | PyBUF_WRITABLE;
    const int dual = oH != Py_None;
    Py_ssize_t n = 0, k = 0;
    if (PyObject_GetBuffer(oC, &bC, ro) < 0) goto out;
    if (bC.ndim != 2 || bC.shape[0] < 1 || bC.shape[0] > MAXN) {
        PyErr_Format(PyExc_ValueError, "C must be 2-d with 1 to %d rows", MAXN);
        goto out;
    }
    n = bC.shape[0];
    k = bC.shape[1];
    if (get(oG, &bG, ro, n, n, 8, "G") || get(oP, &bP, PyBUF_STRIDES, n, k, 1, "P0")
        || get(oX, &bX, rw, n, k, 8, "X") || get(oR, &bR, rw, k, -1, sizeof(Py_ssize_t), "rounds")
        || get(oD, &bD, rw, k, -1, 1, "done")
        || (dual && (get(oH, &bH, ro, n, n, 8, "H") || get(oS, &bS, ro, n, k, 8, "Xls"))))
        goto out;
    if (strcmp(bC.format ? bC.format : "B", "d") != 0) {
        PyErr_SetString(PyExc_TypeError, "C must be float64");
        goto out;
    }
    if (max_iter < 0) max_iter = 0;
    /* G, H and the two factors' rows */
    mem = PyMem_Malloc((size_t)(4 * n * n) * sizeof(double));
    if (mem == NULL) {
        PyErr_NoMemory();
        goto out;
    }
    work_t wk;
    wk.n = (int)n;
    wk.G = mem;
    wk.H = dual ? mem + n * n : NULL;
    wk.tol_factor = tol;
    wk.max_iter = max_iter;
    wk.primal.cols = mem + 2 * n * n;
    wk.dual.cols = wk.primal.cols + n * n;
    for (Py_ssize_t i = 0; i < n; i++)
        for (Py_ssize_t j = 0; j < n; j++) {
            mem[i * n + j] = *(double *)AT(bG, i, j);
            if (dual) mem[n * n + i * n + j] = *(double *)AT(bH, i, j);
        }
    Py_BEGIN_ALLOW_THREADS
    double c[MAXN], xls[MAXN], x[MAXN];
    unsigned char p0[MAXN];
    for (Py_ssize_t j = 0; j < k; j++) {
        for (Py_ssize_t i = 0; i < n; i++) {
            c[i] = *(double *)AT(bC, i, j);
            p0[i] = *(unsigned char *)AT(bP, i, j);
            if (dual) xls[i] = *(double *)AT(bS, i, j);
        }
        unsigned char fin = 0;
        int rounds = solve_column(&wk, c, xls, p0, x, &fin);
        for (Py_ssize_t i = 0; i < n; i++) *(double *)AT(bX, i, j) = x[i];
        *(Py_ssize_t *)((char *)bR.buf + j * bR.strides[0]) = rounds;
        *((unsigned char *)bD.buf + j * bD.strides[0]) = fin;
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
out:
    PyMem_Free(mem);
    Py_buffer *views[] = {&bG, &bC, &bP, &bX, &bR, &bD, &bH, &bS};
    for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
        if (views[i]->obj) PyBuffer_Release(views[i]);
    return result;
}

/* ---------------------------------------------------------------------------------------
 * The inexact rounds that guess the passive sets (``many_rhs._inexact_pivoting``): masked
 * conjugate gradients on every right-hand side at once, in float32, with the products by G
 * left to BLAS (one matrix product per step for a whole chunk of right-hand sides) and
 * everything else fused here into one pass per right-hand side, where numpy makes a dozen
 * passes over the chunk. The arrays hold one right-hand side per row (k x n, C order), so
 * each of its vectors is contiguous. */

/* a float32 dot product with eight partial sums (vectorized by the compiler) */
static inline float dot32(const float *a, const float *b, Py_ssize_t len)
{
    float s[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    Py_ssize_t t = 0;
    for (; t + 8 <= len; t += 8)
        for (int u = 0; u < 8; u++) s[u] += a[t + u] * b[t + u];
    float r = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; t < len; t++) r += a[t] * b[t];
    return r;
}

/* The three steps for one right-hand side (one row of each array; restrict: the rows never
 * overlap, so the compiler vectorizes the loops). The masks enter by products, not branches:
 * a passive set is a random pattern, whose branches would be mispredicted half the time. */
HOT static void cg_start_row(const float *restrict W, const float *restrict C,
                         const unsigned char *restrict M, float *restrict R,
                         float *restrict D, float *restrict rr, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        const float r = (float)(M[i] != 0) * (C[i] - W[i]);
        R[i] = r;
        D[i] = r;
    }
    *rr = dot32(R, R, n);
}

HOT static void cg_step_row(float *restrict X, float *restrict W, float *restrict R,
                        float *restrict D, const float *restrict Q,
                        const unsigned char *restrict M, float *restrict rr, Py_ssize_t n,
                        int last)
{
    const float tiny = 1.17549435e-38f;  /* FLT_MIN */
    const float dq = dot32(D, Q, n);
    const float alpha = *rr / (dq > tiny ? dq : tiny);
    for (Py_ssize_t i = 0; i < n; i++) {
        X[i] += alpha * D[i];
        W[i] += alpha * Q[i];
    }
    if (last) return;
    for (Py_ssize_t i = 0; i < n; i++) R[i] -= (float)(M[i] != 0) * (alpha * Q[i]);
    const float rn = dot32(R, R, n);
    const float beta = rn / (*rr > tiny ? *rr : tiny);
    for (Py_ssize_t i = 0; i < n; i++) D[i] = R[i] + beta * D[i];
    *rr = rn;
}

/* returns 1 when a variable moved */
HOT static unsigned char cg_exchange_row(const float *restrict G, float *restrict X,
                                     float *restrict W, const float *restrict C,
                                     unsigned char *restrict M, Py_ssize_t n)
{
    unsigned char any = 0;
    /* the tests first, all on the gradient before any update, as a full exchange does */
    for (Py_ssize_t i = 0; i < n; i++) {
        const unsigned char m = M[i] != 0;
        const unsigned char out = m & (X[i] < 0.0f);
        const unsigned char in = (unsigned char)(m ^ 1) & (W[i] - C[i] < 0.0f);
        M[i] = (unsigned char)((m ^ (out | in)) | (out << 1));  /* bit 1: it left */
        any |= out | in;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (M[i] & 2) {  /* X G loses X_i times row i of G */
            M[i] = 0;
            const float xi = X[i];
            const float *Gi = G + i * n;
            for (Py_ssize_t t = 0; t < n; t++) W[t] -= xi * Gi[t];
            X[i] = 0.0f;
        }
    }
    return any;
}

/* views of C-ordered k x n arrays: float32 ('f'), or one byte per entry (itemsize 1) */
static int get_rows(PyObject *o, Py_buffer *b, Py_ssize_t rows, Py_ssize_t cols, int f32,
                    const char *name)
{
    if (PyObject_GetBuffer(o, b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0)
        return -1;
    const char *fmt = b->format ? b->format : "B";
    if (b->ndim != (cols < 0 ? 1 : 2) || b->shape[0] != rows
        || (cols >= 0 && b->shape[1] != cols)
        || (f32 ? (b->itemsize != 4 || strcmp(fmt, "f") != 0) : b->itemsize != 1)) {
        PyErr_Format(PyExc_ValueError, "%s: expected a writable C-ordered %s array of shape "
                     "(%zd, %zd)", name, f32 ? "float32" : "one-byte", rows, cols);
        return -1;
    }
    return 0;
}

static void release_all(Py_buffer *views, int count)
{
    for (int i = 0; i < count; i++)
        if (views[i].obj) PyBuffer_Release(&views[i]);
}

PyDoc_STRVAR(bpp_gram_doc,
"bpp_gram(G, c, col_norms, tol_scale, x, max_iter, full_exchanges)\n--\n\n"
"Block principal pivoting for one right-hand side on the Gram pair (G, c) (G: n x n float64,\n"
"symmetric, contiguous, n <= 256; c: n float64), from the passive set c > 0, with the\n"
"per-variable tolerances tol_scale * col_norms (in the units of c; see solve_gram). Writes the\n"
"answer into x (n float64, writable) and returns (rounds, done); done is False when a passive\n"
"block was numerically singular or max_iter rounds did not finish (x is then no answer).");

/* a contiguous float64 vector of n entries */
static int get_vec(PyObject *o, Py_buffer *b, Py_ssize_t n, int writable, const char *name)
{
    if (PyObject_GetBuffer(o, b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT
                           | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    if (b->ndim != 1 || b->shape[0] != n || b->itemsize != 8
        || strcmp(b->format ? b->format : "B", "d") != 0) {
        PyErr_Format(PyExc_ValueError, "%s: expected a contiguous float64 array of shape (%zd,)",
                     name, n);
        return -1;
    }
    return 0;
}

static PyObject *py_bpp_gram(PyObject *self, PyObject *args)
{
    PyObject *oG, *oc, *ot, *ox;
    double tol_scale;
    int max_iter, full_exchanges;
    if (!PyArg_ParseTuple(args, "OOOdOii", &oG, &oc, &ot, &tol_scale, &ox, &max_iter,
                          &full_exchanges))
        return NULL;
    Py_buffer v[4] = {{0}};
    PyObject *result = NULL;
    double *mem = NULL;
    if (PyObject_GetBuffer(oG, &v[0], PyBUF_ANY_CONTIGUOUS | PyBUF_FORMAT) < 0) goto out;
    const Py_ssize_t n = v[0].ndim == 2 ? v[0].shape[0] : 0;
    if (n < 1 || n > MAXN || v[0].shape[1] != n || v[0].itemsize != 8
        || strcmp(v[0].format ? v[0].format : "B", "d") != 0) {
        PyErr_Format(PyExc_ValueError, "G must be a contiguous float64 n x n array with 1 <= n "
                     "<= %d", MAXN);
        goto out;
    }
    if (get_vec(oc, &v[1], n, 0, "c") || get_vec(ot, &v[2], n, 0, "col_norms")
        || get_vec(ox, &v[3], n, 1, "x"))
        goto out;
    mem = PyMem_Malloc((size_t)(n * n) * sizeof(double));  /* the factor's columns */
    if (mem == NULL) {
        PyErr_NoMemory();
        goto out;
    }
    factor_t f;
    f.cols = mem;
    int rounds, done;
    Py_BEGIN_ALLOW_THREADS
    /* G is symmetric: its rows are its columns, whichever order it is stored in */
    rounds = solve_gram((int)n, (const double *)v[0].buf, (const double *)v[1].buf,
                        (const double *)v[2].buf, tol_scale, max_iter < 0 ? 0 : max_iter,
                        full_exchanges, &f, (double *)v[3].buf, &done);
    Py_END_ALLOW_THREADS
    result = Py_BuildValue("(iO)", rounds, done ? Py_True : Py_False);
out:
    PyMem_Free(mem);
    release_all(v, 4);
    return result;
}

/* The running maximum t of the terms |min(x c, g / c)| of reparam.domains.orthant_kkt with one
 * more term: NaN when the term or t is NaN (numpy's minimum and maximum propagate it, C's
 * comparisons would drop it). Written without branches, so loops over it vectorize. */
static inline double kkt_max(double t, double x, double g, double c)
{
    const double u = x * c, w = g / c;
    const double a = fabs(w < u ? w : u);
    return (u != u || w != w || t != t) ? NAN : (a > t ? a : t);
}

/* The certificate of a small answer in one pass of each product, without the calls and
 * temporaries of numpy: r = A x - b, g = A^T r, and out = (max_i |min(x_i c_i, g_i / c_i)|,
 * r.r, x.g), the parts of reparam.domains.orthant_kkt, the objective and the complementarity.
 * A is m x n, row-major (fortran = 0) or column-major (fortran = 1); a NaN anywhere in the
 * minimum makes the first part NaN, as numpy's minimum and maximum do. */
HOT static void certify(const double *A, int fortran, int m, int n, const double *b,
                        const double *x, const double *c, double *r, double *g, double *out)
{
    if (fortran) {
        for (int i = 0; i < m; i++) r[i] = -b[i];
        for (int j = 0; j < n; j++) {
            const double xj = x[j];
            if (xj == 0.0) continue;
            const double *col = A + (size_t)j * m;
            for (int i = 0; i < m; i++) r[i] += col[i] * xj;
        }
        for (int j = 0; j < n; j++) g[j] = dot(A + (size_t)j * m, r, m);
    } else {
        for (int j = 0; j < n; j++) g[j] = 0.0;
        for (int i = 0; i < m; i++) {
            const double *row = A + (size_t)i * n;
            const double ri = dot(row, x, n) - b[i];
            r[i] = ri;
            for (int j = 0; j < n; j++) g[j] += row[j] * ri;
        }
    }
    double t = 0.0, xg = 0.0;
    for (int j = 0; j < n; j++) {
        t = kkt_max(t, x[j], g[j], c[j]);
        xg += x[j] * g[j];
    }
    out[0] = t;
    out[1] = dot(r, r, m);
    out[2] = xg;
}

PyDoc_STRVAR(certify_doc,
"certify(A, b, x, c)\n--\n\n"
"The certificate of x for min 0.5 |A x - b|^2, x >= 0 (A: m x n float64, C- or\n"
"Fortran-contiguous; b, x, c: contiguous float64, c the column norms of A): with\n"
"g = A^T (A x - b) and r = A x - b, returns (max_i |min(x_i c_i, g_i / c_i)|, r.r, x.g).");

static PyObject *py_certify(PyObject *self, PyObject *args)
{
    PyObject *oA, *ob, *ox, *oc;
    if (!PyArg_ParseTuple(args, "OOOO", &oA, &ob, &ox, &oc)) return NULL;
    Py_buffer v[4] = {{0}};
    PyObject *result = NULL;
    double *mem = NULL;
    if (PyObject_GetBuffer(oA, &v[0], PyBUF_ANY_CONTIGUOUS | PyBUF_FORMAT) < 0) goto out;
    if (v[0].ndim != 2 || v[0].itemsize != 8 || strcmp(v[0].format ? v[0].format : "B", "d")
        || v[0].shape[0] < 1 || v[0].shape[1] < 1 || v[0].shape[0] > INT_MAX
        || v[0].shape[1] > INT_MAX) {
        PyErr_SetString(PyExc_ValueError, "A must be a contiguous float64 2-d array");
        goto out;
    }
    const Py_ssize_t m = v[0].shape[0], n = v[0].shape[1];
    /* C order when its rows are contiguous (a one-row or one-column A is both) */
    const int fortran = !PyBuffer_IsContiguous(&v[0], 'C');
    if (get_vec(ob, &v[1], m, 0, "b") || get_vec(ox, &v[2], n, 0, "x")
        || get_vec(oc, &v[3], n, 0, "c"))
        goto out;
    mem = PyMem_Malloc((size_t)(m + n) * sizeof(double));
    if (mem == NULL) {
        PyErr_NoMemory();
        goto out;
    }
    double parts[3];
    Py_BEGIN_ALLOW_THREADS
    certify((const double *)v[0].buf, fortran, (int)m, (int)n, (const double *)v[1].buf,
            (const double *)v[2].buf, (const double *)v[3].buf, mem, mem + m, parts);
    Py_END_ALLOW_THREADS
    result = Py_BuildValue("(ddd)", parts[0], parts[1], parts[2]);
out:
    PyMem_Free(mem);
    release_all(v, 4);
    return result;
}

/* The whole small system in one call: the range checks of the caller, pivoting on the Gram
 * pair (solve_gram) and the certificate of its answer (certify). G = A^T A and atb = A^T b
 * come from BLAS. Returns 0 with the rounds and the parts of the certificate when pivoting
 * finished; 1 when it did not (a singular passive block or max_iter rounds); -1 when |b|^2 or
 * a squared column norm G_ii lies outside (lo, hi): zero, huge, tiny or non-finite input,
 * which the caller's other paths check, scale or report. */
HOT static int solve_small(const double *A, int fortran, int m, int n, const double *b,
                           const double *G, const double *atb, double tol, int max_iter,
                           int full_exchanges, double lo, double hi, factor_t *f, double *x,
                           double *c, double *work, int *rounds, double *out)
{
    const double bb = dot(b, b, m);
    int bad = !(bb > lo && bb < hi);
    for (int i = 0; i < n; i++) {
        const double s = G[(size_t)i * n + i];
        bad |= !(s > lo && s < hi);
        c[i] = sqrt(s);
    }
    *rounds = 0;
    if (bad) return -1;
    const double norm = sqrt(bb);  /* > 1e-100: no tiny guard needed */
    int done;
    *rounds = solve_gram(n, G, atb, c, tol * norm, max_iter, full_exchanges, f, x, &done);
    if (!done) return 1;
    certify(A, fortran, m, n, b, x, c, work, work + m, out);
    out[0] /= norm;
    return 0;
}

PyDoc_STRVAR(solve_small_doc,
"solve_small(A, b, G, atb, x, c, max_iter, tol, full_exchanges, lo, hi)\n--\n\n"
"One small NNLS system in one call: A (m x n float64, C- or Fortran-contiguous, n <= 256),\n"
"b (m), its Gram pair G = A^T A (n x n, contiguous) and atb = A^T b. Checks that |b|^2 and\n"
"every G_ii lie in (lo, hi), pivots on the Gram pair from x = 0 with the tolerances\n"
"tol |b| |a_i| (bpp_gram) and certifies the answer on A (certify). Writes x and the column\n"
"norms c (n float64 each) and returns (code, rounds, kkt, r.r, x.g): code 0 when pivoting\n"
"finished (kkt = max_i |min(x_i c_i, g_i / c_i)| / |b|), 1 when it did not, -1 when the\n"
"range check failed (the other numbers are then 0).");

static PyObject *py_solve_small(PyObject *self, PyObject *args)
{
    PyObject *o[6];
    int max_iter, full_exchanges;
    double tol, lo, hi;
    if (!PyArg_ParseTuple(args, "OOOOOOididd", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5],
                          &max_iter, &tol, &full_exchanges, &lo, &hi))
        return NULL;
    Py_buffer v[6] = {{0}};
    PyObject *result = NULL;
    double *mem = NULL;
    if (PyObject_GetBuffer(o[0], &v[0], PyBUF_ANY_CONTIGUOUS | PyBUF_FORMAT) < 0) goto out;
    const Py_ssize_t m = v[0].ndim == 2 ? v[0].shape[0] : 0;
    const Py_ssize_t n = v[0].ndim == 2 ? v[0].shape[1] : 0;
    if (m < 1 || n < 1 || n > MAXN || m > INT_MAX || v[0].itemsize != 8
        || strcmp(v[0].format ? v[0].format : "B", "d") != 0) {
        PyErr_Format(PyExc_ValueError, "A must be a contiguous float64 m x n array with "
                     "1 <= n <= %d", MAXN);
        goto out;
    }
    const int fortran = !PyBuffer_IsContiguous(&v[0], 'C');
    if (PyObject_GetBuffer(o[2], &v[2], PyBUF_ANY_CONTIGUOUS | PyBUF_FORMAT) < 0) goto out;
    if (v[2].ndim != 2 || v[2].shape[0] != n || v[2].shape[1] != n || v[2].itemsize != 8
        || strcmp(v[2].format ? v[2].format : "B", "d") != 0) {
        PyErr_SetString(PyExc_ValueError, "G must be a contiguous float64 n x n array");
        goto out;
    }
    if (get_vec(o[1], &v[1], m, 0, "b") || get_vec(o[3], &v[3], n, 0, "atb")
        || get_vec(o[4], &v[4], n, 1, "x") || get_vec(o[5], &v[5], n, 1, "c"))
        goto out;
    /* the factor's columns, then r and g of the certificate */
    mem = PyMem_Malloc((size_t)(n * n + m + n) * sizeof(double));
    if (mem == NULL) {
        PyErr_NoMemory();
        goto out;
    }
    factor_t f;
    f.cols = mem;
    int code, rounds;
    double parts[3] = {0.0, 0.0, 0.0};
    Py_BEGIN_ALLOW_THREADS
    code = solve_small((const double *)v[0].buf, fortran, (int)m, (int)n,
                       (const double *)v[1].buf, (const double *)v[2].buf,
                       (const double *)v[3].buf, tol, max_iter < 0 ? 0 : max_iter,
                       full_exchanges, lo, hi, &f, (double *)v[4].buf, (double *)v[5].buf,
                       mem + n * n, &rounds, parts);
    Py_END_ALLOW_THREADS
    result = Py_BuildValue("(iiddd)", code, rounds, parts[0], parts[1], parts[2]);
out:
    PyMem_Free(mem);
    release_all(v, 6);
    return result;
}

PyDoc_STRVAR(cg_start_doc,
"cg_start(W, C, M, R, D, rr)\n--\n\n"
"The start of masked conjugate gradients, per row: R = M * (C - W), D = R, rr = |R|^2\n"
"(W = X G: the product of the current iterate). W, C, R, D: (k, n) float32; M: (k, n)\n"
"bytes, nonzero for passive; rr: (k,) float32.");

static PyObject *py_cg_start(PyObject *self, PyObject *args)
{
    PyObject *o[6];
    if (!PyArg_ParseTuple(args, "OOOOOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5]))
        return NULL;
    Py_buffer v[6] = {{0}};
    PyObject *result = NULL;
    if (PyObject_GetBuffer(o[0], &v[0], PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) goto out;
    if (v[0].ndim != 2) {
        PyErr_SetString(PyExc_ValueError, "W must be 2-d");
        goto out;
    }
    const Py_ssize_t k = v[0].shape[0], n = v[0].shape[1];
    PyBuffer_Release(&v[0]);
    if (get_rows(o[0], &v[0], k, n, 1, "W") || get_rows(o[1], &v[1], k, n, 1, "C")
        || get_rows(o[2], &v[2], k, n, 0, "M") || get_rows(o[3], &v[3], k, n, 1, "R")
        || get_rows(o[4], &v[4], k, n, 1, "D") || get_rows(o[5], &v[5], k, -1, 1, "rr"))
        goto out;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t j = 0; j < k; j++)
        cg_start_row((const float *)v[0].buf + j * n, (const float *)v[1].buf + j * n,
                     (const unsigned char *)v[2].buf + j * n, (float *)v[3].buf + j * n,
                     (float *)v[4].buf + j * n, (float *)v[5].buf + j, n);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
out:
    release_all(v, 6);
    return result;
}

PyDoc_STRVAR(cg_step_doc,
"cg_step(X, W, R, D, Q, M, rr, last)\n--\n\n"
"One step of masked conjugate gradients per row (Hestenes & Stiefel 1952), given Q = D G:\n"
"alpha = rr / (D.Q), X += alpha D, W += alpha Q; unless last, R -= alpha M Q,\n"
"rr' = |R|^2, D = R + (rr' / rr) D, rr = rr'. Shapes as in cg_start.");

static PyObject *py_cg_step(PyObject *self, PyObject *args)
{
    PyObject *o[7];
    int last;
    if (!PyArg_ParseTuple(args, "OOOOOOOp", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6],
                          &last))
        return NULL;
    Py_buffer v[7] = {{0}};
    PyObject *result = NULL;
    if (PyObject_GetBuffer(o[0], &v[0], PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) goto out;
    if (v[0].ndim != 2) {
        PyErr_SetString(PyExc_ValueError, "X must be 2-d");
        goto out;
    }
    const Py_ssize_t k = v[0].shape[0], n = v[0].shape[1];
    PyBuffer_Release(&v[0]);
    if (get_rows(o[0], &v[0], k, n, 1, "X") || get_rows(o[1], &v[1], k, n, 1, "W")
        || get_rows(o[2], &v[2], k, n, 1, "R") || get_rows(o[3], &v[3], k, n, 1, "D")
        || get_rows(o[4], &v[4], k, n, 1, "Q") || get_rows(o[5], &v[5], k, n, 0, "M")
        || get_rows(o[6], &v[6], k, -1, 1, "rr"))
        goto out;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t j = 0; j < k; j++)
        cg_step_row((float *)v[0].buf + j * n, (float *)v[1].buf + j * n,
                    (float *)v[2].buf + j * n, (float *)v[3].buf + j * n,
                    (const float *)v[4].buf + j * n, (const unsigned char *)v[5].buf + j * n,
                    (float *)v[6].buf + j, n, last);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
out:
    release_all(v, 7);
    return result;
}

PyDoc_STRVAR(cg_exchange_doc,
"cg_exchange(G, X, W, C, M, moved)\n--\n\n"
"The full exchange of every row's infeasible variables (Kim & Park 2011): a passive one\n"
"with X < 0 leaves at zero (and W = X G is updated by its row of G), an active one with\n"
"gradient W - C < 0 enters. G: (n, n) float32, symmetric; moved: (k,) bytes, set to 1 for\n"
"the rows where a variable moved, else 0. Other shapes as in cg_start.");

static PyObject *py_cg_exchange(PyObject *self, PyObject *args)
{
    PyObject *o[6];
    if (!PyArg_ParseTuple(args, "OOOOOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5]))
        return NULL;
    Py_buffer v[6] = {{0}};
    PyObject *result = NULL;
    if (PyObject_GetBuffer(o[1], &v[1], PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) goto out;
    if (v[1].ndim != 2) {
        PyErr_SetString(PyExc_ValueError, "X must be 2-d");
        goto out;
    }
    const Py_ssize_t k = v[1].shape[0], n = v[1].shape[1];
    PyBuffer_Release(&v[1]);
    if (get_rows(o[0], &v[0], n, n, 1, "G") || get_rows(o[1], &v[1], k, n, 1, "X")
        || get_rows(o[2], &v[2], k, n, 1, "W") || get_rows(o[3], &v[3], k, n, 1, "C")
        || get_rows(o[4], &v[4], k, n, 0, "M") || get_rows(o[5], &v[5], k, -1, 0, "moved"))
        goto out;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t j = 0; j < k; j++)
        ((unsigned char *)v[5].buf)[j] = cg_exchange_row(
            (const float *)v[0].buf, (float *)v[1].buf + j * n, (float *)v[2].buf + j * n,
            (const float *)v[3].buf + j * n, (unsigned char *)v[4].buf + j * n, n);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
out:
    release_all(v, 6);
    return result;
}

/* ---------------------------------------------------------------------------------------
 * The certificate of many right-hand sides with few unknowns (``small.certify_columns``),
 * around the two matrix products that BLAS does (R = A X, then G = A^T R): one pass that
 * subtracts B from R and sums the squares of each column of the result and of B, and one
 * over the n x k block of X and G for the parts of reparam.domains.orthant_kkt and x.g.
 * numpy spent a subtraction and five reductions on them, and one more pass over B for
 * |b_j|^2: about 0.2 ms of a 0.95 ms solve at 1797 x 16 with k = 64. With these passes the
 * lean path took 0.80x the time there (medians of interleaved solves). A pass that also did
 * both products here (one sweep over A and B, no R) measured no faster than BLAS's two
 * products and the passes together, so the products stay BLAS's. */

/* out[j] = sum_i (R_ij - B_ij)^2, writing R - B into R, and (outb not NULL) outb[j] =
 * sum_i B_ij^2 from the same pass; R and B m x k with any strides, out and outb contiguous */
HOT static void sub_sumsq(char *R, Py_ssize_t r0, Py_ssize_t r1, const char *B, Py_ssize_t b0,
                          Py_ssize_t b1, Py_ssize_t m, Py_ssize_t k, double *restrict out,
                          double *restrict outb)
{
    for (Py_ssize_t j = 0; j < k; j++) out[j] = 0.0;
    if (outb)
        for (Py_ssize_t j = 0; j < k; j++) outb[j] = 0.0;
    const int unit = r1 == sizeof(double) && b1 == sizeof(double);
    for (Py_ssize_t i = 0; i < m; i++) {
        char *ri = R + i * r0;
        const char *bi = B + i * b0;
        if (unit && outb) {
            double *restrict v = (double *)ri;
            const double *restrict w = (const double *)bi;
            for (Py_ssize_t j = 0; j < k; j++) {
                const double d = v[j] - w[j];
                v[j] = d;
                out[j] += d * d;
                outb[j] += w[j] * w[j];
            }
        } else if (unit) {
            double *restrict v = (double *)ri;
            const double *restrict w = (const double *)bi;
            for (Py_ssize_t j = 0; j < k; j++) {
                const double d = v[j] - w[j];
                v[j] = d;
                out[j] += d * d;
            }
        } else {
            for (Py_ssize_t j = 0; j < k; j++) {
                double *v = (double *)(ri + j * r1);
                const double w = *(const double *)(bi + j * b1);
                const double d = *v - w;
                *v = d;
                out[j] += d * d;
                if (outb) outb[j] += w * w;
            }
        }
    }
}

/* a float64 2-d view with any strides */
static int get_2d(PyObject *o, Py_buffer *b, int writable, const char *name)
{
    if (PyObject_GetBuffer(o, b, PyBUF_STRIDES | PyBUF_FORMAT
                           | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    if (b->ndim != 2 || b->itemsize != 8 || strcmp(b->format ? b->format : "B", "d") != 0) {
        PyErr_Format(PyExc_ValueError, "%s: expected a 2-d float64%s array", name,
                     writable ? " writable" : "");
        return -1;
    }
    return 0;
}

/* a writable C-contiguous float64 n x n array */
static int get_rows64(PyObject *o, Py_buffer *b, Py_ssize_t n, const char *name)
{
    if (get_2d(o, b, 1, name)) return -1;
    if (b->shape[0] != n || b->shape[1] != n || !PyBuffer_IsContiguous(b, 'C')) {
        PyErr_Format(PyExc_ValueError, "%s: expected a writable C-contiguous float64 array of "
                     "shape (%zd, %zd)", name, n, n);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(sub_sumsq_doc,
"sub_sumsq(R, B, out, outb=None)\n--\n\n"
"out[j] = sum_i (R_ij - B_ij)^2, with R - B written into R (R: m x k float64, writable;\n"
"B: m x k float64; any strides), and, when outb is given, outb[j] = sum_i B_ij^2 from the\n"
"same pass. out, outb: k float64, contiguous. Releases the GIL while it runs.");

static PyObject *py_sub_sumsq(PyObject *self, PyObject *args)
{
    PyObject *oR, *oB, *oo, *ob = Py_None;
    if (!PyArg_ParseTuple(args, "OOO|O", &oR, &oB, &oo, &ob)) return NULL;
    const int both = ob != Py_None;
    Py_buffer v[4] = {{0}};
    PyObject *result = NULL;
    if (get_2d(oR, &v[0], 1, "R") || get_2d(oB, &v[1], 0, "B")
        || get_vec(oo, &v[2], v[0].shape[1], 1, "out")
        || (both && get_vec(ob, &v[3], v[0].shape[1], 1, "outb")))
        goto out;
    if (v[1].shape[0] != v[0].shape[0] || v[1].shape[1] != v[0].shape[1]) {
        PyErr_SetString(PyExc_ValueError, "B: expected the shape of R");
        goto out;
    }
    Py_BEGIN_ALLOW_THREADS
    sub_sumsq(v[0].buf, v[0].strides[0], v[0].strides[1], v[1].buf, v[1].strides[0],
              v[1].strides[1], v[0].shape[0], v[0].shape[1], (double *)v[2].buf,
              both ? (double *)v[3].buf : NULL);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
out:
    release_all(v, 4);
    return result;
}

/* One row of kkt_columns with unit strides: t[j] = kkt_max(t[j], ...) and xg[j] += x_j g_j,
 * which the compiler vectorizes (42 us where the strided loop took 437 at n = 20 with
 * k = 2621). */
HOT static void kkt_row(const double *restrict x, const double *restrict g, double c,
                        double *restrict t, double *restrict xg, Py_ssize_t k)
{
    for (Py_ssize_t j = 0; j < k; j++) {
        t[j] = kkt_max(t[j], x[j], g[j], c);
        xg[j] += x[j] * g[j];
    }
}

PyDoc_STRVAR(kkt_columns_doc,
"kkt_columns(X, G, c, out, bb=None)\n--\n\n"
"For X and G (n x k float64, any strides; G the gradient A^T (A X - B)) and the positive\n"
"column norms c (n, contiguous): writes into out (2 x k, C-contiguous float64)\n"
"max_i |min(x_ij c_i, g_ij / c_i)| (NaN when a term is NaN, as numpy's minimum and maximum\n"
"give) and x_j.g_j, column by column. With bb (k float64, contiguous: |B_j|^2) the first row\n"
"is divided by max(sqrt(bb_j), the smallest normal float64) and the second is |x_j.g_j|:\n"
"orthant_kkt and the complementarity.");

static PyObject *py_kkt_columns(PyObject *self, PyObject *args)
{
    PyObject *oX, *oG, *oc, *oo, *ob = Py_None;
    if (!PyArg_ParseTuple(args, "OOOO|O", &oX, &oG, &oc, &oo, &ob)) return NULL;
    Py_buffer v[5] = {{0}};
    PyObject *result = NULL;
    if (get_2d(oX, &v[0], 0, "X") || get_2d(oG, &v[1], 0, "G")) goto out;
    const Py_ssize_t n = v[0].shape[0], k = v[0].shape[1];
    if (v[1].shape[0] != n || v[1].shape[1] != k) {
        PyErr_SetString(PyExc_ValueError, "G: expected the shape of X");
        goto out;
    }
    if (get_vec(oc, &v[2], n, 0, "c")) goto out;
    if (PyObject_GetBuffer(oo, &v[3], PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0)
        goto out;
    if (v[3].ndim != 2 || v[3].shape[0] != 2 || v[3].shape[1] != k || v[3].itemsize != 8
        || strcmp(v[3].format ? v[3].format : "B", "d") != 0) {
        PyErr_Format(PyExc_ValueError, "out: expected a writable C-contiguous float64 array "
                     "of shape (2, %zd)", k);
        goto out;
    }
    if (ob != Py_None && get_vec(ob, &v[4], k, 0, "bb")) goto out;
    const double *c = (const double *)v[2].buf;
    double *t = (double *)v[3].buf, *xg = t + k;
    for (Py_ssize_t j = 0; j < k; j++) {
        t[j] = 0.0;
        xg[j] = 0.0;
    }
    /* row by row, so that X and G are read along their rows (C order) */
    if (v[0].strides[1] == sizeof(double) && v[1].strides[1] == sizeof(double)) {
        for (Py_ssize_t i = 0; i < n; i++)
            kkt_row((const double *)AT(v[0], i, 0), (const double *)AT(v[1], i, 0), c[i], t,
                    xg, k);
    } else {
        for (Py_ssize_t i = 0; i < n; i++) {
            const double ci = c[i];
            for (Py_ssize_t j = 0; j < k; j++) {
                const double x = *(const double *)AT(v[0], i, j);
                const double g = *(const double *)AT(v[1], i, j);
                t[j] = kkt_max(t[j], x, g, ci);
                xg[j] += x * g;
            }
        }
    }
    if (ob != Py_None) {  /* numpy's t / maximum(sqrt(bb), tiny) and |x.g| */
        const double *bb = (const double *)v[4].buf;
        for (Py_ssize_t j = 0; j < k; j++) {
            const double d = sqrt(bb[j]);
            t[j] /= d != d || d > DBL_MIN ? d : DBL_MIN;
            xg[j] = fabs(xg[j]);
        }
    }
    result = Py_NewRef(Py_None);
out:
    release_all(v, 5);
    return result;
}

/* ---------------------------------------------------------------------------------------
 * The equilibrated Gram matrix of many right-hand sides with few unknowns
 * (``small.equilibrated_gram``): the range test on the squared column norms, the powers of
 * two that scale every column of A to a norm in [0.5, 1), the scaled Gram matrix and its
 * Cholesky factor with the pivot test, in one call where numpy and LAPACK made ten (about
 * 40 us of a 0.8 ms solve at 1797 x 16 with k = 64). */

/* Gs = diag(s) G diag(s) with s_i = 2^-e_i (c_i = sqrt(G_ii) = f 2^e_i, 0.5 <= f < 1) and its
 * lower Cholesky factor L (row-major, zero above the diagonal). Returns 0; -1 when a G_ii is
 * not in (lo, hi) (NaN is not); 1 when a pivot is not positive or the smallest squared pivot
 * is at most pivot_tol times the largest. G: row-major n x n. */
static int equilibrate_factor(const double *G, int n, double lo, double hi, double pivot_tol,
                              double *Gs, double *s, double *c, double *L)
{
    for (int i = 0; i < n; i++) {
        const double d = G[(size_t)i * n + i];
        if (!(d > lo && d < hi)) return -1;
        int e;
        c[i] = sqrt(d);
        frexp(c[i], &e);
        s[i] = ldexp(1.0, -e);
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            Gs[(size_t)i * n + j] = G[(size_t)i * n + j] * s[j] * s[i];
    double dmin = INFINITY, dmax = 0.0;
    for (int j = 0; j < n; j++) {
        double *lj = L + (size_t)j * n;
        double d = Gs[(size_t)j * n + j];
        for (int t = 0; t < j; t++) d -= lj[t] * lj[t];
        if (!(d > 0.0)) return 1;
        const double piv = sqrt(d);
        lj[j] = piv;
        for (int t = j + 1; t < n; t++) lj[t] = 0.0;
        for (int i = j + 1; i < n; i++) {
            const double *li = L + (size_t)i * n;
            double v = Gs[(size_t)i * n + j];
            for (int t = 0; t < j; t++) v -= li[t] * lj[t];
            L[(size_t)i * n + j] = v / piv;
        }
        if (piv < dmin) dmin = piv;
        if (piv > dmax) dmax = piv;
    }
    return dmin * dmin <= pivot_tol * dmax * dmax ? 1 : 0;
}

PyDoc_STRVAR(equilibrate_factor_doc,
"equilibrate_factor(G, lo, hi, pivot_tol, Gs, s, c, L)\n--\n\n"
"For G = A^T A (n x n float64, n <= 256, any strides): checks that every G_ii lies in\n"
"(lo, hi); writes c_i = sqrt(G_ii), s_i = 2^-e_i with c_i = f 2^e_i (0.5 <= f < 1), the\n"
"equilibrated Gs = diag(s) G diag(s) (exact: powers of two) and the lower Cholesky factor\n"
"L of Gs (zero above the diagonal); Gs and L n x n, s and c n, float64, C-contiguous.\n"
"Returns 0; -1 when a G_ii is outside the range or NaN; 1 when a pivot is not positive or\n"
"the smallest squared pivot is at most pivot_tol times the largest.");

static PyObject *py_equilibrate_factor(PyObject *self, PyObject *args)
{
    PyObject *oG, *oGs, *os, *oc, *oL;
    double lo, hi, pivot_tol;
    if (!PyArg_ParseTuple(args, "OdddOOOO", &oG, &lo, &hi, &pivot_tol, &oGs, &os, &oc, &oL))
        return NULL;
    Py_buffer v[5] = {{0}};
    PyObject *result = NULL;
    double *mem = NULL;
    if (get_2d(oG, &v[0], 0, "G")) goto out;
    const Py_ssize_t n = v[0].shape[0];
    if (n < 1 || n > MAXN || v[0].shape[1] != n) {
        PyErr_Format(PyExc_ValueError, "G: expected a square array with 1 to %d rows", MAXN);
        goto out;
    }
    if (get_rows64(oGs, &v[1], n, "Gs") || get_vec(os, &v[2], n, 1, "s")
        || get_vec(oc, &v[3], n, 1, "c") || get_rows64(oL, &v[4], n, "L"))
        goto out;
    mem = PyMem_Malloc((size_t)(n * n) * sizeof(double));
    if (mem == NULL) {
        PyErr_NoMemory();
        goto out;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        for (Py_ssize_t j = 0; j < n; j++) mem[i * n + j] = *(double *)AT(v[0], i, j);
    const int code = equilibrate_factor(mem, (int)n, lo, hi, pivot_tol, (double *)v[1].buf,
                                        (double *)v[2].buf, (double *)v[3].buf,
                                        (double *)v[4].buf);
    result = PyLong_FromLong(code);
out:
    PyMem_Free(mem);
    release_all(v, 5);
    return result;
}

/* ---------------------------------------------------------------------------------------
 * The start of bpp_columns: the unconstrained solutions X = G^{-1} C = L^-T L^-1 C of every
 * column at once, by forward and back substitution, SOLVE_TILE columns at a time held in
 * vector registers. LAPACK's dpotrs does the same substitutions through dtrsm, whose blocking
 * is made for large triangles: at n = 16 with k = 1797 it took 0.15-0.28 ms (3-6 GFLOP/s)
 * where this takes 0.07 ms; dpotrs wins from about n = 100 on. */

#define SOLVE_TILE 32

/* four doubles side by side (GCC and Clang vector extensions: one AVX register in the
 * x86-64-v3 clone, two SSE2 registers in the default one), read at any 8-byte boundary */
typedef double v4d __attribute__((vector_size(32), aligned(8)));

/* The substitutions for SOLVE_TILE columns of X (n x ld, C order, starting at X): each row of
 * the tile is accumulated in eight vector registers, eight independent chains of
 * multiply-adds, with one load of X per four of them and one entry of L shared by all. */
static inline __attribute__((always_inline)) void solve_tile(const double *restrict L, int n,
                                                             double *restrict X, Py_ssize_t ld)
{
    for (int pass = 0; pass < 2; pass++) {  /* L z = c, then L^T x = z */
        for (int r = 0; r < n; r++) {
            const int i = pass ? n - 1 - r : r;
            v4d acc[SOLVE_TILE / 4];
            v4d *xi = (v4d *)(X + (size_t)i * ld);
            for (int t = 0; t < SOLVE_TILE / 4; t++) acc[t] = xi[t];
            const int l0 = pass ? i + 1 : 0, l1 = pass ? n : i;
            for (int l = l0; l < l1; l++) {
                const double a = pass ? L[(size_t)l * n + i] : L[(size_t)i * n + l];
                const v4d *xl = (const v4d *)(X + (size_t)l * ld);
                for (int t = 0; t < SOLVE_TILE / 4; t++) acc[t] -= a * xl[t];
            }
            const double d = L[(size_t)i * n + i];
            for (int t = 0; t < SOLVE_TILE / 4; t++) xi[t] = acc[t] / d;
        }
    }
}

/* X (n x k, C order) holds C on entry and G^{-1} C on return; L: n x n row-major, lower;
 * pad: n * SOLVE_TILE doubles for the last columns. Returns the number of positive entries. */
HOT static Py_ssize_t chol_solve(const double *L, int n, double *X, Py_ssize_t k, double *pad)
{
    Py_ssize_t j0 = 0;
    for (; j0 + SOLVE_TILE <= k; j0 += SOLVE_TILE) solve_tile(L, n, X + j0, k);
    const Py_ssize_t w = k - j0;
    if (w > 0) {  /* the last columns, through a full tile padded with zeros */
        for (int i = 0; i < n; i++)
            for (int t = 0; t < SOLVE_TILE; t++)
                pad[i * SOLVE_TILE + t] = t < w ? X[(size_t)i * k + j0 + t] : 0.0;
        solve_tile(L, n, pad, SOLVE_TILE);
        for (int i = 0; i < n; i++)
            for (Py_ssize_t t = 0; t < w; t++) X[(size_t)i * k + j0 + t] = pad[i * SOLVE_TILE + t];
    }
    Py_ssize_t positive = 0;
    for (size_t e = 0; e < (size_t)n * (size_t)k; e++) positive += X[e] > 0.0;
    return positive;
}

/* The lower triangle of L (n x n, any strides) row-major in fresh memory, followed by room for
 * chol_solve's padded last tile (n * SOLVE_TILE doubles); NULL with MemoryError set. */
static double *lower_rows(const Py_buffer *L, Py_ssize_t n)
{
    double *Lr = PyMem_Malloc((size_t)(n * n + n * SOLVE_TILE) * sizeof(double));
    if (Lr == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        for (Py_ssize_t j = 0; j <= i; j++) Lr[i * n + j] = *(const double *)AT(*L, i, j);
    return Lr;
}

PyDoc_STRVAR(chol_solve_doc,
"chol_solve(L, C, X)\n--\n\n"
"X = G^{-1} C for G = L L^T: L the lower Cholesky factor (n x n float64, any strides; the\n"
"entries above the diagonal are not read), C (n x k float64, any strides), X (n x k float64,\n"
"C-contiguous, writable; it may not overlap C). Returns the number of positive entries of X.\n"
"Releases the GIL while it runs.");

static PyObject *py_chol_solve(PyObject *self, PyObject *args)
{
    PyObject *oL, *oC, *oX;
    if (!PyArg_ParseTuple(args, "OOO", &oL, &oC, &oX)) return NULL;
    Py_buffer v[3] = {{0}};
    PyObject *result = NULL;
    double *Lr = NULL;
    if (get_2d(oL, &v[0], 0, "L") || get_2d(oC, &v[1], 0, "C") || get_2d(oX, &v[2], 1, "X"))
        goto out;
    const Py_ssize_t n = v[0].shape[0], k = v[1].shape[1];
    if (v[0].shape[1] != n || n < 1 || n > MAXN) {
        PyErr_Format(PyExc_ValueError, "L: expected a square array of 1 to %d rows", MAXN);
        goto out;
    }
    if (v[1].shape[0] != n) {
        PyErr_SetString(PyExc_ValueError, "C: expected as many rows as L");
        goto out;
    }
    if (v[2].shape[0] != n || v[2].shape[1] != k || !PyBuffer_IsContiguous(&v[2], 'C')) {
        PyErr_Format(PyExc_ValueError, "X: expected a writable C-contiguous float64 array of "
                     "shape (%zd, %zd)", n, k);
        goto out;
    }
    if ((Lr = lower_rows(&v[0], n)) == NULL) goto out;
    double *X = (double *)v[2].buf;
    Py_ssize_t positive;
    Py_BEGIN_ALLOW_THREADS
    if (v[1].strides[1] == sizeof(double)) {
        for (Py_ssize_t i = 0; i < n; i++)
            memcpy(X + i * k, AT(v[1], i, 0), (size_t)k * sizeof(double));
    } else {
        for (Py_ssize_t i = 0; i < n; i++)
            for (Py_ssize_t j = 0; j < k; j++) X[i * k + j] = *(const double *)AT(v[1], i, j);
    }
    positive = chol_solve(Lr, (int)n, X, k, Lr + n * n);
    Py_END_ALLOW_THREADS
    result = PyLong_FromSsize_t(positive);
out:
    PyMem_Free(Lr);
    release_all(v, 3);
    return result;
}

PyDoc_STRVAR(inverse_cond_doc,
"inverse_cond(G, L, H)\n--\n\n"
"Writes H = G^{-1} (n x n float64, C-contiguous, writable) for G = L L^T (G and L n x n\n"
"float64, any strides; L lower, the entries above its diagonal not read) by chol_solve's\n"
"substitutions on the identity, and returns cond_1(G) = |G|_1 |H|_1 (the largest column sums\n"
"of absolute values; NaN when G or H has NaN), exact where LAPACK's dpocon estimates it\n"
"from below.");

static PyObject *py_inverse_cond(PyObject *self, PyObject *args)
{
    PyObject *oG, *oL, *oH;
    if (!PyArg_ParseTuple(args, "OOO", &oG, &oL, &oH)) return NULL;
    Py_buffer v[3] = {{0}};
    PyObject *result = NULL;
    double *Lr = NULL;
    if (get_2d(oG, &v[0], 0, "G") || get_2d(oL, &v[1], 0, "L")) goto out;
    const Py_ssize_t n = v[0].shape[0];
    if (v[0].shape[1] != n || n < 1 || n > MAXN || v[1].shape[0] != n || v[1].shape[1] != n) {
        PyErr_Format(PyExc_ValueError, "G, L: expected square arrays of one shape with 1 to "
                     "%d rows", MAXN);
        goto out;
    }
    if (get_rows64(oH, &v[2], n, "H")) goto out;
    if ((Lr = lower_rows(&v[1], n)) == NULL) goto out;
    double *H = (double *)v[2].buf, gnorm = 0.0, hnorm = 0.0;
    int nan = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        for (Py_ssize_t j = 0; j < n; j++) H[i * n + j] = i == j;
    chol_solve(Lr, (int)n, H, n, Lr + n * n);
    for (Py_ssize_t j = 0; j < n; j++) {
        double gs = 0.0, hs = 0.0;
        for (Py_ssize_t i = 0; i < n; i++) {
            gs += fabs(*(const double *)AT(v[0], i, j));
            hs += fabs(H[i * n + j]);
        }
        nan |= gs != gs || hs != hs;
        if (gs > gnorm) gnorm = gs;
        if (hs > hnorm) hnorm = hs;
    }
    result = PyFloat_FromDouble(nan ? NAN : gnorm * hnorm);
out:
    PyMem_Free(Lr);
    release_all(v, 3);
    return result;
}

static PyMethodDef methods[] = {
    {"bpp_columns", py_bpp_columns, METH_VARARGS, bpp_columns_doc},
    {"bpp_gram", py_bpp_gram, METH_VARARGS, bpp_gram_doc},
    {"certify", py_certify, METH_VARARGS, certify_doc},
    {"sub_sumsq", py_sub_sumsq, METH_VARARGS, sub_sumsq_doc},
    {"kkt_columns", py_kkt_columns, METH_VARARGS, kkt_columns_doc},
    {"chol_solve", py_chol_solve, METH_VARARGS, chol_solve_doc},
    {"inverse_cond", py_inverse_cond, METH_VARARGS, inverse_cond_doc},
    {"equilibrate_factor", py_equilibrate_factor, METH_VARARGS, equilibrate_factor_doc},
    {"solve_small", py_solve_small, METH_VARARGS, solve_small_doc},
    {"cg_start", py_cg_start, METH_VARARGS, cg_start_doc},
    {"cg_step", py_cg_step, METH_VARARGS, cg_step_doc},
    {"cg_exchange", py_cg_exchange, METH_VARARGS, cg_exchange_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_bppc",
    "Compiled block principal pivoting for many right-hand sides with few unknowns.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__bppc(void) { return PyModule_Create(&module); }
