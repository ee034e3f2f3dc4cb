/* mask.h: picks a masking kernel once, from the CPU's features and the
 * WSFAST_MASK_IMPL environment variable, and routes calls to it. */
#include "mask.h"
#include "mask_kernels.h"

#include <stdlib.h>
#include <string.h>

/* x86 feature detection needs cpuid/xgetbv, spelled per compiler. */
#if defined(WSF_MASK_X86) && defined(_MSC_VER)
#include <intrin.h>
#include <immintrin.h>
#define WSF_MASK_X86_DETECT 1
#elif defined(WSF_MASK_X86) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define WSF_MASK_X86_DETECT 1
#endif

/* Below this length wsf_mask stays inline (wsf_mask_short). */
#define WSF_MASK_SMALL 16

static const char *const kernel_names[WSF_MASK_NKERNELS] = {
    "scalar", "sse2", "avx2", "neon"};

static const wsf_mask_fn kernel_fns[WSF_MASK_NKERNELS] = {
    wsf_mask_scalar,
#ifdef WSF_MASK_X86
    wsf_mask_sse2,
    wsf_mask_avx2,
#else
    NULL,
    NULL,
#endif
#ifdef WSF_MASK_ARM64
    wsf_mask_neon,
#else
    NULL,
#endif
};

/* Both caches are filled lazily. Threads racing on first use compute and
 * store the same value, and an int store is not torn on any target we
 * build for, so the race is benign and needs no lock. */
static int cpu_mask = -1; /* bit n set: kernel n runs on this CPU */
static int active = -1;   /* kernel in use, or -1 before first use */

#ifdef WSF_MASK_X86_DETECT
/* r = eax, ebx, ecx, edx of cpuid(leaf, subleaf). */
static void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) {
#if defined(_MSC_VER)
    int v[4];
    __cpuidex(v, (int)leaf, (int)sub);
    r[0] = (unsigned)v[0];
    r[1] = (unsigned)v[1];
    r[2] = (unsigned)v[2];
    r[3] = (unsigned)v[3];
#else
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
#endif
}

/* XCR0: which register states the OS saves. Only valid with OSXSAVE. */
static unsigned long long xcr0(void) {
#if defined(_MSC_VER)
    return (unsigned long long)_xgetbv(0);
#else
    unsigned lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
#endif
}

static int x86_features(void) {
    int found = 1 << WSF_MASK_SCALAR;
    unsigned r[4], max_leaf, ecx1;

#if defined(_MSC_VER)
    cpuid(0, 0, r);
    max_leaf = r[0];
#else
    max_leaf = __get_cpuid_max(0, NULL); /* 0 on a CPU without cpuid */
#endif
    if (max_leaf < 1)
        return found;
    cpuid(1, 0, r);
    ecx1 = r[2];
    if (r[3] & (1u << 26))
        found |= 1 << WSF_MASK_SSE2;

    /* AVX2 needs the CPU bit and an OS that saves the YMM state across
     * context switches: AVX and OSXSAVE, then XCR0 bits 1 (SSE) and 2
     * (AVX). */
    if (max_leaf < 7 || !(ecx1 & (1u << 27)) || !(ecx1 & (1u << 28)))
        return found;
    if ((xcr0() & 6) != 6)
        return found;
    cpuid(7, 0, r);
    if (r[1] & (1u << 5))
        found |= 1 << WSF_MASK_AVX2;
    return found;
}
#endif

static int cpu_features(void) {
    int m = cpu_mask;
    if (m < 0) {
#if defined(WSF_MASK_X86_DETECT)
        m = x86_features();
#elif defined(WSF_MASK_ARM64)
        m = (1 << WSF_MASK_SCALAR) | (1 << WSF_MASK_NEON); /* baseline ISA */
#else
        m = 1 << WSF_MASK_SCALAR;
#endif
        cpu_mask = m;
    }
    return m;
}

int wsf_mask_supported(int kernel) {
    if (kernel < 0 || kernel >= WSF_MASK_NKERNELS || !kernel_fns[kernel])
        return 0;
    return (cpu_features() >> kernel) & 1;
}

const char *wsf_mask_kernel_name(int kernel) {
    if (kernel < 0 || kernel >= WSF_MASK_NKERNELS)
        return NULL;
    return kernel_names[kernel];
}

static int choose(void) {
    static const int best_first[] = {WSF_MASK_AVX2, WSF_MASK_NEON,
                                     WSF_MASK_SSE2};
    const char *env = getenv("WSFAST_MASK_IMPL");
    size_t i;
    int k;

    if (env && *env) {
        for (k = 0; k < WSF_MASK_NKERNELS; k++)
            if (strcmp(env, kernel_names[k]) == 0 && wsf_mask_supported(k))
                return k;
        /* Unknown or unsupported: fall through to the best one. */
    }
    for (i = 0; i < sizeof best_first / sizeof best_first[0]; i++)
        if (wsf_mask_supported(best_first[i]))
            return best_first[i];
    return WSF_MASK_SCALAR;
}

int wsf_mask_active(void) {
    int k = active;
    if (k < 0) {
        k = choose();
        active = k;
    }
    return k;
}

int wsf_mask_select(int kernel) {
    if (!wsf_mask_supported(kernel))
        return -1;
    active = kernel;
    return 0;
}

unsigned wsf_mask(uint8_t *dst, const uint8_t *src, size_t len,
                  const uint8_t key[4], unsigned phase) {
    uint32_t k;
    phase &= 3;
    k = wsf_key_rot(wsf_ld32(key), phase);
    /* Short buffers: an inline path beats the indirect call. */
    if (len < WSF_MASK_SMALL)
        wsf_mask_short(dst, src, len, k);
    else
        kernel_fns[wsf_mask_active()](dst, src, len, k);
    return (unsigned)((phase + len) & 3);
}

unsigned wsf_mask_with(int kernel, uint8_t *dst, const uint8_t *src,
                       size_t len, const uint8_t key[4], unsigned phase) {
    phase &= 3;
    if (!wsf_mask_supported(kernel))
        kernel = WSF_MASK_SCALAR;
    kernel_fns[kernel](dst, src, len, wsf_key_rot(wsf_ld32(key), phase));
    return (unsigned)((phase + len) & 3);
}
