/* AVX2 masking kernel: 32 bytes per vector, four vectors per step.
 * This file alone is built with AVX2 enabled; the dispatcher calls it only
 * after checking the CPU and the OS. Regular stores on purpose: the payload
 * is read right after unmasking, so it should stay in cache. */
#include "mask_kernels.h"

#ifdef WSF_MASK_X86
#include <immintrin.h>

void wsf_mask_avx2(uint8_t *dst, const uint8_t *src, size_t len,
                   const uint8_t key[4]) {
    uint32_t k32;
    __m256i k;
    size_t i = 0;

    memcpy(&k32, key, 4); /* x86 is little-endian: lanes keep byte order */
    k = _mm256_set1_epi32((int)k32);

    for (; len - i >= 128; i += 128) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(src + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(src + i + 32));
        __m256i c = _mm256_loadu_si256((const __m256i *)(const void *)(src + i + 64));
        __m256i d = _mm256_loadu_si256((const __m256i *)(const void *)(src + i + 96));
        _mm256_storeu_si256((__m256i *)(void *)(dst + i), _mm256_xor_si256(a, k));
        _mm256_storeu_si256((__m256i *)(void *)(dst + i + 32), _mm256_xor_si256(b, k));
        _mm256_storeu_si256((__m256i *)(void *)(dst + i + 64), _mm256_xor_si256(c, k));
        _mm256_storeu_si256((__m256i *)(void *)(dst + i + 96), _mm256_xor_si256(d, k));
    }
    for (; len - i >= 32; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(src + i));
        _mm256_storeu_si256((__m256i *)(void *)(dst + i), _mm256_xor_si256(a, k));
    }
    if (len - i >= 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
        _mm_storeu_si128((__m128i *)(void *)(dst + i),
                         _mm_xor_si128(a, _mm256_castsi256_si128(k)));
        i += 16;
    }
    wsf_mask_tail(dst + i, src + i, len - i, key);
}

#else
/* ISO C forbids an empty translation unit. */
typedef int wsf_mask_avx2_unused;
#endif
