/* Tests of mask.h: every kernel the CPU supports, and the dispatcher,
 * against a naive byte loop. */
#include "mask.h"
#include "test_util.h"

#include <stdint.h>

#define MAX_LEN 300
#define MAX_OFF 64
#define BIG (1024 * 1024 + 7)
#define GUARD 0xA5

static const uint8_t KEY[4] = {0x37, 0xfa, 0x21, 0x3d};

/* -1 stands for the dispatcher, wsf_mask; otherwise a kernel id. */
static unsigned apply(int kernel, uint8_t *dst, const uint8_t *src,
                      size_t len, const uint8_t key[4], unsigned phase) {
    if (kernel < 0)
        return wsf_mask(dst, src, len, key, phase);
    return wsf_mask_with(kernel, dst, src, len, key, phase);
}

static void naive(uint8_t *dst, const uint8_t *src, size_t len,
                  const uint8_t key[4], unsigned phase) {
    size_t i;
    for (i = 0; i < len; i++)
        dst[i] = (uint8_t)(src[i] ^ key[(phase + i) & 3]);
}

static void fill(uint8_t *p, size_t n, unsigned seed) {
    size_t i;
    uint32_t x = 2463534242u ^ seed;
    for (i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

static int all_guard(const uint8_t *p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != GUARD)
            return 0;
    return 1;
}

/* Every length, phase and start offset, in place and out of place. Buffers
 * end exactly at base + off + len so ASan sees any access past the end;
 * the bytes before off are guards that must stay untouched. */
static void test_small(int kernel) {
    size_t len, off;
    unsigned phase;
    uint8_t want[MAX_LEN], orig[MAX_LEN];
    int bad = 0, badphase = 0;

    for (len = 0; len <= MAX_LEN; len++) {
        for (off = 0; off < MAX_OFF; off++) {
            uint8_t *src = (uint8_t *)malloc(off + len ? off + len : 1);
            uint8_t *dst = (uint8_t *)malloc(off + len ? off + len : 1);
            if (!src || !dst)
                abort();
            for (phase = 0; phase < 4; phase++) {
                unsigned got;
                fill(orig, len, (unsigned)(len * 131 + off * 7 + phase));
                naive(want, orig, len, KEY, phase);

                memset(src, GUARD, off);
                memset(dst, GUARD, off);
                if (len)
                    memcpy(src + off, orig, len);
                got = apply(kernel, dst + off, src + off, len, KEY, phase);
                if (got != ((phase + len) & 3))
                    badphase++;
                if ((len && memcmp(dst + off, want, len) != 0) ||
                    (len && memcmp(src + off, orig, len) != 0) ||
                    !all_guard(dst, off) || !all_guard(src, off)) {
                    if (!bad)
                        fprintf(stderr, "kernel %d: copy len=%zu off=%zu "
                                "phase=%u wrong\n", kernel, len, off, phase);
                    bad++;
                }

                /* In place. */
                got = apply(kernel, src + off, src + off, len, KEY, phase);
                if (got != ((phase + len) & 3))
                    badphase++;
                if ((len && memcmp(src + off, want, len) != 0) ||
                    !all_guard(src, off)) {
                    if (!bad)
                        fprintf(stderr, "kernel %d: in-place len=%zu "
                                "off=%zu phase=%u wrong\n", kernel, len, off,
                                phase);
                    bad++;
                }
            }
            free(src);
            free(dst);
        }
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(badphase, 0);
}

/* Phases above 3 are taken modulo 4. */
static void test_phase_wrap(int kernel) {
    uint8_t src[40], want[40], got[40];
    unsigned phase;
    fill(src, sizeof src, 99);
    for (phase = 4; phase < 12; phase++) {
        naive(want, src, sizeof src, KEY, phase & 3);
        CHECK_EQ(apply(kernel, got, src, sizeof src, KEY, phase),
                 (phase + sizeof src) & 3);
        CHECK(memcmp(got, want, sizeof src) == 0);
    }
    CHECK_EQ(apply(kernel, got, src, 5, KEY, 0xFFFFFFFFu), (3 + 5) & 3);
}

static void test_big(int kernel) {
    static const size_t offs[] = {0, 1, 3, 17, 33};
    uint8_t *orig = (uint8_t *)malloc(BIG);
    uint8_t *want = (uint8_t *)malloc(BIG);
    size_t o;
    unsigned phase;
    if (!orig || !want)
        abort();
    fill(orig, BIG, 12345);
    for (o = 0; o < sizeof offs / sizeof offs[0]; o++) {
        size_t len = BIG - offs[o];
        for (phase = 0; phase < 4; phase++) {
            uint8_t *src = t_dup(orig, len);
            uint8_t *dst = (uint8_t *)malloc(len);
            if (!dst)
                abort();
            naive(want, orig, len, KEY, phase);
            CHECK_EQ(apply(kernel, dst, src, len, KEY, phase),
                     (phase + len) & 3);
            CHECK(memcmp(dst, want, len) == 0);
            CHECK_EQ(apply(kernel, src, src, len, KEY, phase),
                     (phase + len) & 3);
            CHECK(memcmp(src, want, len) == 0);
            free(src);
            free(dst);
        }
    }
    free(orig);
    free(want);
}

/* Masking in pieces, carrying the returned phase, equals masking whole. */
static void test_split(int kernel) {
    enum { N = 300 };
    uint8_t orig[N], want[N];
    size_t cut, step;
    unsigned phase;
    int bad = 0;

    fill(orig, N, 777);
    for (phase = 0; phase < 4; phase++) {
        naive(want, orig, N, KEY, phase);
        /* Two pieces, cut at every point; each piece in its own exact-size
         * buffer. */
        for (cut = 0; cut <= N; cut++) {
            uint8_t *a = t_dup(orig, cut);
            uint8_t *b = t_dup(orig + cut, N - cut);
            unsigned p = apply(kernel, a, a, cut, KEY, phase);
            p = apply(kernel, b, b, N - cut, KEY, p);
            if (p != ((phase + N) & 3) || memcmp(a, want, cut) != 0 ||
                memcmp(b, want + cut, N - cut) != 0)
                bad++;
            free(a);
            free(b);
        }
        /* Many pieces of each fixed size. */
        for (step = 1; step <= 70; step++) {
            uint8_t buf[N];
            size_t at = 0;
            unsigned p = phase;
            while (at < N) {
                size_t n = N - at < step ? N - at : step;
                p = apply(kernel, buf + at, orig + at, n, KEY, p);
                at += n;
            }
            if (p != ((phase + N) & 3) || memcmp(buf, want, N) != 0)
                bad++;
        }
    }
    CHECK_EQ(bad, 0);
}

static void run_all(int kernel) {
    test_small(kernel);
    test_phase_wrap(kernel);
    test_big(kernel);
    test_split(kernel);
}

/* The kernel wsf_mask should pick first, from the environment and CPU. */
static int expected_first(void) {
    const char *env = getenv("WSFAST_MASK_IMPL");
    int k;
    if (env)
        for (k = 0; k < WSF_MASK_NKERNELS; k++)
            if (strcmp(env, wsf_mask_kernel_name(k)) == 0 &&
                wsf_mask_supported(k))
                return k;
    if (wsf_mask_supported(WSF_MASK_AVX2))
        return WSF_MASK_AVX2;
    if (wsf_mask_supported(WSF_MASK_NEON))
        return WSF_MASK_NEON;
    if (wsf_mask_supported(WSF_MASK_SSE2))
        return WSF_MASK_SSE2;
    return WSF_MASK_SCALAR;
}

static void test_selection(void) {
    int k, first = wsf_mask_active();
    const char *env = getenv("WSFAST_MASK_IMPL");

    printf("mask: active kernel %s (WSFAST_MASK_IMPL=%s); supported:",
           wsf_mask_kernel_name(first), env ? env : "");
    for (k = 0; k < WSF_MASK_NKERNELS; k++)
        if (wsf_mask_supported(k))
            printf(" %s", wsf_mask_kernel_name(k));
    printf("\n");

    CHECK_EQ(first, expected_first());
    CHECK_EQ(wsf_mask_active(), first); /* stable once chosen */
    CHECK(wsf_mask_supported(first));

    CHECK(strcmp(wsf_mask_kernel_name(WSF_MASK_SCALAR), "scalar") == 0);
    CHECK(strcmp(wsf_mask_kernel_name(WSF_MASK_SSE2), "sse2") == 0);
    CHECK(strcmp(wsf_mask_kernel_name(WSF_MASK_AVX2), "avx2") == 0);
    CHECK(strcmp(wsf_mask_kernel_name(WSF_MASK_NEON), "neon") == 0);
    CHECK(wsf_mask_kernel_name(-1) == NULL);
    CHECK(wsf_mask_kernel_name(WSF_MASK_NKERNELS) == NULL);

    CHECK(wsf_mask_supported(WSF_MASK_SCALAR));
    CHECK(!wsf_mask_supported(-1));
    CHECK(!wsf_mask_supported(WSF_MASK_NKERNELS));
#if defined(__x86_64__) || defined(_M_X64)
    CHECK(wsf_mask_supported(WSF_MASK_SSE2)); /* baseline on x86-64 */
    CHECK(!wsf_mask_supported(WSF_MASK_NEON));
#endif
#if defined(__aarch64__) || defined(_M_ARM64)
    CHECK(wsf_mask_supported(WSF_MASK_NEON));
    CHECK(!wsf_mask_supported(WSF_MASK_SSE2));
    CHECK(!wsf_mask_supported(WSF_MASK_AVX2));
#endif

    /* Out-of-range and unsupported kernels are refused and change nothing. */
    CHECK_EQ(wsf_mask_select(-1), -1);
    CHECK_EQ(wsf_mask_select(WSF_MASK_NKERNELS), -1);
    for (k = 0; k < WSF_MASK_NKERNELS; k++) {
        if (!wsf_mask_supported(k)) {
            uint8_t src[64], want[64], got[64];
            CHECK_EQ(wsf_mask_select(k), -1);
            CHECK_EQ(wsf_mask_active(), first);
            /* wsf_mask_with falls back to scalar and is still right. */
            fill(src, sizeof src, 5);
            naive(want, src, sizeof src, KEY, 1);
            CHECK_EQ(wsf_mask_with(k, got, src, sizeof src, KEY, 1),
                     (1 + sizeof src) & 3);
            CHECK(memcmp(got, want, sizeof src) == 0);
        }
    }
    for (k = 0; k < WSF_MASK_NKERNELS; k++) {
        if (wsf_mask_supported(k)) {
            CHECK_EQ(wsf_mask_select(k), 0);
            CHECK_EQ(wsf_mask_active(), k);
        }
    }
}

int main(void) {
    int k;

    test_selection();

    for (k = 0; k < WSF_MASK_NKERNELS; k++)
        if (wsf_mask_supported(k))
            run_all(k);
    /* The dispatcher (with its short-buffer path) on every kernel. */
    for (k = 0; k < WSF_MASK_NKERNELS; k++) {
        if (wsf_mask_supported(k)) {
            CHECK_EQ(wsf_mask_select(k), 0);
            run_all(-1);
        }
    }
    return t_report("test_mask");
}
