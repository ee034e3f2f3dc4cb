/* AVX2 masking kernel: 32 bytes per vector, four vectors per step.
 * This file alone is built with AVX2 enabled; the dispatcher calls it only
 * after checking the CPU and the OS. Regular stores on purpose: the payload
 * is read right after unmasking, so it should stay in cache. */
#include "mask_kernels.h"

#ifdef WSF_MASK_X86
#include <immintrin.h>

#define LOAD(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define STORE(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), (v))
#define LOAD16(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define STORE16(p, v) _mm_storeu_si128((__m128i *)(void *)(p), (v))

void wsf_mask_avx2(uint8_t *dst, const uint8_t *src, size_t len,
                   uint32_t key) {
    __m256i k, last;
    size_t i = 0;
    /* x86 is little-endian, so 32-bit lanes keep the key's byte order. */
    int kend = (int)wsf_key_rot(key, len & 3); /* key at the last vector */

    if (len < 16) {
        wsf_mask_short(dst, src, len, key);
        return;
    }
    if (len < 32) {
        /* Two overlapping 16-byte halves, both loaded before storing. */
        __m128i a = LOAD16(src), b = LOAD16(src + len - 16);
        STORE16(dst, _mm_xor_si128(a, _mm_set1_epi32((int)key)));
        STORE16(dst + len - 16, _mm_xor_si128(b, _mm_set1_epi32(kend)));
        return;
    }
    k = _mm256_set1_epi32((int)key);
    /* The last vector is finished with one store overlapping the loop's
     * output; load it first, before an in-place loop overwrites it. */
    last = LOAD(src + len - 32);
    for (; len - i >= 128; i += 128) {
        __m256i a = LOAD(src + i), b = LOAD(src + i + 32);
        __m256i c = LOAD(src + i + 64), d = LOAD(src + i + 96);
        STORE(dst + i, _mm256_xor_si256(a, k));
        STORE(dst + i + 32, _mm256_xor_si256(b, k));
        STORE(dst + i + 64, _mm256_xor_si256(c, k));
        STORE(dst + i + 96, _mm256_xor_si256(d, k));
    }
    for (; len - i >= 32; i += 32)
        STORE(dst + i, _mm256_xor_si256(LOAD(src + i), k));
    if (i < len)
        STORE(dst + len - 32, _mm256_xor_si256(last, _mm256_set1_epi32(kend)));
}

#else
/* ISO C forbids an empty translation unit. */
typedef int wsf_mask_avx2_unused;
#endif
