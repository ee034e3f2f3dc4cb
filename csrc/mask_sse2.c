/* SSE2 masking kernel: 16 bytes per vector, four vectors per step. */
#include "mask_kernels.h"

#ifdef WSF_MASK_X86
#include <emmintrin.h>

void wsf_mask_sse2(uint8_t *dst, const uint8_t *src, size_t len,
                   const uint8_t key[4]) {
    uint32_t k32;
    __m128i k;
    size_t i = 0;

    memcpy(&k32, key, 4); /* x86 is little-endian: lanes keep byte order */
    k = _mm_set1_epi32((int)k32);

    for (; len - i >= 64; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(src + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(src + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(src + i + 48));
        _mm_storeu_si128((__m128i *)(void *)(dst + i), _mm_xor_si128(a, k));
        _mm_storeu_si128((__m128i *)(void *)(dst + i + 16), _mm_xor_si128(b, k));
        _mm_storeu_si128((__m128i *)(void *)(dst + i + 32), _mm_xor_si128(c, k));
        _mm_storeu_si128((__m128i *)(void *)(dst + i + 48), _mm_xor_si128(d, k));
    }
    for (; len - i >= 16; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
        _mm_storeu_si128((__m128i *)(void *)(dst + i), _mm_xor_si128(a, k));
    }
    wsf_mask_tail(dst + i, src + i, len - i, key);
}

#else
/* ISO C forbids an empty translation unit. */
typedef int wsf_mask_sse2_unused;
#endif
