/* blaslinear-floor: the raw cblas_sgemm floor, measured on its own from the command line. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blaslinear_floor.h"
#include "openblas_decl.h"

/* Without --iters, each repetition runs the op enough times to last at least this long, so a
 * sub-millisecond GEMM is not timed against the clock's own resolution and jitter. */
#define TARGET_REP_SECONDS 0.1

static const char* const op_names[BLFLOOR_OP_COUNT] = {
    "linear-forward", "param-forward", "linear-backward", "param-backward", "square"};

static void usage(const char* prog) {
    fprintf(stderr,
            "usage: %s OP M N K [--reps R] [--warmup W] [--threads T] [--iters I]\n"
            "       %s square n [--reps R] [--warmup W] [--threads T] [--iters I]\n"
            "  OP        linear-forward | param-forward | linear-backward | param-backward | square\n"
            "  M N K     batch rows, out_features, in_features (each >= 1)\n"
            "  --reps    timed repetitions (default 5)\n"
            "  --warmup  untimed runs of the op before timing (default 2)\n"
            "  --threads OpenBLAS threads, set with openblas_set_num_threads (default: unchanged)\n"
            "  --iters   runs per repetition (default: enough for %.2f s per repetition)\n",
            prog, prog, TARGET_REP_SECONDS);
}

/* A whole decimal int within [lo, INT_MAX]; nothing else. */
static int parse_int(const char* s, int lo, int* out) {
    if (s == NULL || *s == '\0') return 0;
    errno = 0;
    char* end = NULL;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > INT_MAX) return 0;
    *out = (int)v;
    return 1;
}

static int cmp_double(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

int main(int argc, char** argv) {
    const char* prog = argc > 0 ? argv[0] : "blaslinear-floor";
    int op = -1;
    int dims[3] = {0, 0, 0};
    int ndims = 0;
    int reps = 5, warmup = 2, threads = 0, iters = 0;

    if (argc < 2) {
        usage(prog);
        return 2;
    }
    for (int i = 0; i < BLFLOOR_OP_COUNT; ++i)
        if (strcmp(argv[1], op_names[i]) == 0) op = i;
    if (op < 0) {
        fprintf(stderr, "%s: unknown operation '%s'\n", prog, argv[1]);
        usage(prog);
        return 2;
    }

    for (int i = 2; i < argc; ++i) {
        const char* a = argv[i];
        if (strncmp(a, "--", 2) == 0) {
            const char* name = a + 2;
            const char* value = NULL;
            const char* eq = strchr(name, '=');
            size_t name_len = eq != NULL ? (size_t)(eq - name) : strlen(name);
            if (eq != NULL) value = eq + 1;
            else if (i + 1 < argc) value = argv[++i];
            int* target = NULL;
            int lo = 1;
            if (name_len == 4 && strncmp(name, "reps", 4) == 0) target = &reps;
            else if (name_len == 6 && strncmp(name, "warmup", 6) == 0) target = &warmup, lo = 0;
            else if (name_len == 7 && strncmp(name, "threads", 7) == 0) target = &threads;
            else if (name_len == 5 && strncmp(name, "iters", 5) == 0) target = &iters;
            if (target == NULL) {
                fprintf(stderr, "%s: unknown option '%s'\n", prog, a);
                usage(prog);
                return 2;
            }
            if (!parse_int(value, lo, target)) {
                fprintf(stderr, "%s: option '--%.*s' needs an integer >= %d, got '%s'\n", prog,
                        (int)name_len, name, lo, value != NULL ? value : "");
                usage(prog);
                return 2;
            }
        } else {
            if (ndims == 3 || !parse_int(a, 1, &dims[ndims])) {
                fprintf(stderr, "%s: bad or extra dimension '%s' (dimensions are integers >= 1)\n",
                        prog, a);
                usage(prog);
                return 2;
            }
            ++ndims;
        }
    }
    /* square takes n alone; N and K, if given, are accepted and ignored like the library does. */
    if (!(ndims == 3 || (op == BLFLOOR_SQUARE && ndims == 1))) {
        fprintf(stderr, "%s: %s needs %s, got %d dimension(s)\n", prog, op_names[op],
                op == BLFLOOR_SQUARE ? "n (or M N K)" : "M N K", ndims);
        usage(prog);
        return 2;
    }
    if (op == BLFLOOR_SQUARE) dims[1] = dims[2] = dims[0];
    const int m = dims[0], n = dims[1], k = dims[2];

    if (threads > 0) openblas_set_num_threads(threads);

    blfloor_ctx* ctx = blfloor_create(op, m, n, k, 42);
    if (ctx == NULL) {
        fprintf(stderr, "%s: cannot create %s M=%d N=%d K=%d (out of memory?)\n", prog, op_names[op],
                m, n, k);
        return 1;
    }
    const double flops = blfloor_flops(op, m, n, k);

    if (blfloor_run(ctx, warmup) != 0) {
        fprintf(stderr, "%s: warm-up failed\n", prog);
        blfloor_destroy(ctx);
        return 1;
    }
    if (iters == 0) {
        /* Double the run count until one batch lasts a tenth of the target, then scale to the
         * target; the calibration runs double as extra warm-up. */
        iters = 1;
        for (;;) {
            double t = blfloor_time(ctx, iters);
            if (t < 0) {
                fprintf(stderr, "%s: timing failed\n", prog);
                blfloor_destroy(ctx);
                return 1;
            }
            if (t >= TARGET_REP_SECONDS / 10 || iters >= INT_MAX / 2) {
                double want = (double)iters * TARGET_REP_SECONDS / (t > 0 ? t : 1e-9);
                iters = want >= (double)INT_MAX ? INT_MAX : (want < 1 ? 1 : (int)want + 1);
                break;
            }
            iters *= 2;
        }
    }

    printf("# blaslinear-floor op=%s M=%d N=%d K=%d threads=%d flops_per_run=%.0f runs_per_rep=%d "
           "warmup=%d\n",
           op_names[op], m, n, k, openblas_get_num_threads(), flops, iters, warmup);

    double* gflops = malloc((size_t)reps * sizeof *gflops);
    if (gflops == NULL) {
        fprintf(stderr, "%s: out of memory\n", prog);
        blfloor_destroy(ctx);
        return 1;
    }
    for (int r = 0; r < reps; ++r) {
        double t = blfloor_time(ctx, iters);
        if (t <= 0) {
            fprintf(stderr, "%s: timing failed in repetition %d\n", prog, r + 1);
            free(gflops);
            blfloor_destroy(ctx);
            return 1;
        }
        gflops[r] = flops * iters / t * 1e-9;
        printf("rep %d seconds=%.6f runs=%d us_per_run=%.3f gflops=%.2f\n", r + 1, t, iters,
               t / iters * 1e6, gflops[r]);
    }
    qsort(gflops, (size_t)reps, sizeof *gflops, cmp_double);
    double median = reps % 2 ? gflops[reps / 2] : 0.5 * (gflops[reps / 2 - 1] + gflops[reps / 2]);
    printf("summary op=%s M=%d N=%d K=%d median_gflops=%.2f min_gflops=%.2f max_gflops=%.2f\n",
           op_names[op], m, n, k, median, gflops[0], gflops[reps - 1]);

    free(gflops);
    blfloor_destroy(ctx);
    return 0;
}
