/* blfloor_read_bandwidth: how fast every thread together can read a buffer of a given footprint, the
 * memory side of the benchmark's roofline. Each thread streams its own contiguous part with the widest
 * vector loads this CPU has (chosen at run time) and XORs them into a value that is published, so the
 * compiler cannot drop the loads. */
#define _POSIX_C_SOURCE 200809L

#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blaslinear_floor.h"
#include "blaslinear_floor_internal.h"

/* Each thread's part is a whole number of blocks: 4 loads of 64 bytes per loop turn, which also keeps
 * every part 64-byte aligned. */
#define BLOCK_BYTES 256u

/* A timed repetition reads the buffer enough times to move at least this much, so that a repetition
 * of a cache-sized buffer lasts milliseconds and the barrier's wake-up latency stays a small part of
 * it. */
#define MIN_BYTES_PER_REPETITION ((size_t)256 << 20)

/* More threads than this is a caller's mistake, not a machine. */
#define MAX_THREADS 4096

typedef uint64_t (*read_fn)(const unsigned char* p, size_t blocks);

__attribute__((target("avx512f"))) static uint64_t read_avx512(const unsigned char* p, size_t blocks) {
    __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
    for (size_t i = 0; i < blocks; ++i, p += BLOCK_BYTES) {
        a = _mm512_xor_si512(a, _mm512_load_si512((const void*)(p + 0)));
        b = _mm512_xor_si512(b, _mm512_load_si512((const void*)(p + 64)));
        c = _mm512_xor_si512(c, _mm512_load_si512((const void*)(p + 128)));
        d = _mm512_xor_si512(d, _mm512_load_si512((const void*)(p + 192)));
    }
    __m512i all = _mm512_xor_si512(_mm512_xor_si512(a, b), _mm512_xor_si512(c, d));
    uint64_t lanes[8];
    _mm512_storeu_si512((void*)lanes, all);
    uint64_t r = 0;
    for (int i = 0; i < 8; ++i) r ^= lanes[i];
    return r;
}

__attribute__((target("avx2"))) static uint64_t read_avx2(const unsigned char* p, size_t blocks) {
    __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
    __m256i e = a, f = a, g = a, h = a;
    for (size_t i = 0; i < blocks; ++i, p += BLOCK_BYTES) {
        a = _mm256_xor_si256(a, _mm256_load_si256((const __m256i*)(p + 0)));
        b = _mm256_xor_si256(b, _mm256_load_si256((const __m256i*)(p + 32)));
        c = _mm256_xor_si256(c, _mm256_load_si256((const __m256i*)(p + 64)));
        d = _mm256_xor_si256(d, _mm256_load_si256((const __m256i*)(p + 96)));
        e = _mm256_xor_si256(e, _mm256_load_si256((const __m256i*)(p + 128)));
        f = _mm256_xor_si256(f, _mm256_load_si256((const __m256i*)(p + 160)));
        g = _mm256_xor_si256(g, _mm256_load_si256((const __m256i*)(p + 192)));
        h = _mm256_xor_si256(h, _mm256_load_si256((const __m256i*)(p + 224)));
    }
    __m256i all = _mm256_xor_si256(_mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d)),
                                   _mm256_xor_si256(_mm256_xor_si256(e, f), _mm256_xor_si256(g, h)));
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i*)lanes, all);
    return lanes[0] ^ lanes[1] ^ lanes[2] ^ lanes[3];
}

/* For a CPU without AVX2: 8-byte loads, which the compiler may widen to SSE2. */
static uint64_t read_plain(const unsigned char* p, size_t blocks) {
    const uint64_t* q = (const uint64_t*)(const void*)p;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i < blocks * (BLOCK_BYTES / 8); i += 4) {
        a ^= q[i];
        b ^= q[i + 1];
        c ^= q[i + 2];
        d ^= q[i + 3];
    }
    return a ^ b ^ c ^ d;
}

static read_fn pick_reader(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return read_avx512;
    if (__builtin_cpu_supports("avx2")) return read_avx2;
    return read_plain;
}

static double now_seconds(void) {
    struct timespec t;
    if (clock_gettime(CLOCK_MONOTONIC, &t) != 0) return -1.0;
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* What the threads of one measurement share. The start gate holds every thread back until all of
 * them exist: a thread that could not be created would otherwise leave the others waiting at the
 * barrier for ever, so on a failure the gate says abort and no thread reaches the barrier. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t opened;
    int gate; /* 0 closed, 1 go, -1 abort */
    pthread_barrier_t barrier;
    read_fn reader;
    size_t blocks;
    size_t passes;
    long long rounds; /* one untimed round, then the timed repetitions */
} shared_state;

typedef struct {
    shared_state* shared;
    unsigned char* part;
    uint64_t sink;
} worker;

static int wait_for_gate(shared_state* s) {
    pthread_mutex_lock(&s->lock);
    while (s->gate == 0) pthread_cond_wait(&s->opened, &s->lock);
    int gate = s->gate;
    pthread_mutex_unlock(&s->lock);
    return gate;
}

static void open_gate(shared_state* s, int gate) {
    pthread_mutex_lock(&s->lock);
    s->gate = gate;
    pthread_cond_broadcast(&s->opened);
    pthread_mutex_unlock(&s->lock);
}

/* Touches the part from its own thread (so its pages are placed near it), with non-zero bytes so they
 * are real pages and not the shared zero page, then meets the others at the barrier twice per round:
 * once to start together, once to finish together. Worker 0 is the calling thread and records the
 * time between the two. Returns the best bytes per second of the timed rounds (worker 0 only). */
static double run_worker(worker* w, size_t total_bytes) {
    shared_state* s = w->shared;
    memset(w->part, 0x5A, s->blocks * BLOCK_BYTES);
    uint64_t sink = 0;
    double best = -1.0;
    int clock_ok = 1;
    for (long long r = 0; r < s->rounds; ++r) {
        pthread_barrier_wait(&s->barrier);
        double t0 = total_bytes != 0 ? now_seconds() : 0.0;
        for (size_t p = 0; p < s->passes; ++p) sink ^= s->reader(w->part, s->blocks) + p;
        pthread_barrier_wait(&s->barrier);
        if (total_bytes == 0) continue;
        double t1 = now_seconds();
        if (t0 < 0 || t1 < 0) clock_ok = 0;
        /* Round 0 is untimed: it brings the buffer into the caches it fits in and the clocks up. */
        if (r > 0 && t1 > t0) {
            double rate = (double)total_bytes * (double)s->passes / (t1 - t0);
            if (rate > best) best = rate;
        }
    }
    w->sink = sink;
    return clock_ok ? best : -1.0;
}

static void* worker_main(void* arg) {
    worker* w = (worker*)arg;
    if (wait_for_gate(w->shared) > 0) run_worker(w, 0);
    return NULL;
}

/* Where the XOR of every thread's reads goes, so the reads have an observable effect. */
static volatile uint64_t blfloor_bandwidth_sink;

static double measure(unsigned char* buffer, size_t blocks_per_thread, int threads, int repetitions) {
    size_t part_bytes = blocks_per_thread * BLOCK_BYTES;
    size_t total = part_bytes * (size_t)threads;

    shared_state s = {.gate = 0,
                      .reader = pick_reader(),
                      .blocks = blocks_per_thread,
                      .passes = (MIN_BYTES_PER_REPETITION + total - 1) / total,
                      .rounds = (long long)repetitions + 1};
    worker* workers = calloc((size_t)threads, sizeof *workers);
    pthread_t* ids = calloc((size_t)threads, sizeof *ids);
    double best = -1.0;
    int have_lock = 0, have_cond = 0, have_barrier = 0;
    if (workers == NULL || ids == NULL) goto done;
    have_lock = pthread_mutex_init(&s.lock, NULL) == 0;
    have_cond = have_lock && pthread_cond_init(&s.opened, NULL) == 0;
    have_barrier = have_cond && pthread_barrier_init(&s.barrier, NULL, (unsigned)threads) == 0;
    if (!have_barrier) goto done;

    for (int t = 0; t < threads; ++t) workers[t] = (worker){&s, buffer + (size_t)t * part_bytes, 0};
    int started = 1;
    while (started < threads && pthread_create(&ids[started], NULL, worker_main, &workers[started]) == 0)
        ++started;
    open_gate(&s, started == threads ? 1 : -1);
    if (started == threads) best = run_worker(&workers[0], total);
    uint64_t sink = workers[0].sink;
    for (int t = 1; t < started; ++t) {
        pthread_join(ids[t], NULL);
        sink ^= workers[t].sink;
    }
    blfloor_bandwidth_sink ^= sink;

done:
    if (have_barrier) pthread_barrier_destroy(&s.barrier);
    if (have_cond) pthread_cond_destroy(&s.opened);
    if (have_lock) pthread_mutex_destroy(&s.lock);
    free(ids);
    free(workers);
    return best;
}

BLFLOOR_API double blfloor_read_bandwidth(size_t bytes, int threads, int repetitions) {
    if (bytes == 0 || threads < 1 || threads > MAX_THREADS || repetitions < 1) return -1.0;
    size_t per_thread = bytes / (size_t)threads + (bytes % (size_t)threads != 0);
    size_t blocks = per_thread / BLOCK_BYTES + (per_thread % BLOCK_BYTES != 0);
    if (blocks > SIZE_MAX / BLOCK_BYTES / (size_t)threads) return -1.0;
    size_t total = blocks * BLOCK_BYTES * (size_t)threads;

    void* buffer = NULL;
    if (posix_memalign(&buffer, BLFLOOR_ALIGNMENT, total) != 0) return -1.0;
    double rate = measure((unsigned char*)buffer, blocks, threads, repetitions);
    free(buffer);
    return rate;
}
