/* SSE2 masking kernel: 16 bytes per vector, four vectors per step. */
#include "mask_kernels.h"

#ifdef WSF_MASK_X86
#include <emmintrin.h>

#define LOAD(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define STORE(p, v) _mm_storeu_si128((__m128i *)(void *)(p), (v))

void wsf_mask_sse2(uint8_t *dst, const uint8_t *src, size_t len,
                   uint32_t key) {
    __m128i k, last;
    size_t i = 0;

    if (len < 16) {
        wsf_mask_short(dst, src, len, key);
        return;
    }
    /* x86 is little-endian, so 32-bit lanes keep the key's byte order. */
    k = _mm_set1_epi32((int)key);
    /* The last vector is finished with one store overlapping the loop's
     * output; load it first, before an in-place loop overwrites it. */
    last = LOAD(src + len - 16);
    for (; len - i >= 64; i += 64) {
        __m128i a = LOAD(src + i), b = LOAD(src + i + 16);
        __m128i c = LOAD(src + i + 32), d = LOAD(src + i + 48);
        STORE(dst + i, _mm_xor_si128(a, k));
        STORE(dst + i + 16, _mm_xor_si128(b, k));
        STORE(dst + i + 32, _mm_xor_si128(c, k));
        STORE(dst + i + 48, _mm_xor_si128(d, k));
    }
    for (; len - i >= 16; i += 16)
        STORE(dst + i, _mm_xor_si128(LOAD(src + i), k));
    if (i < len)
        STORE(dst + len - 16,
              _mm_xor_si128(last, _mm_set1_epi32((int)wsf_key_rot(key, len & 3))));
}

#else
/* ISO C forbids an empty translation unit. */
typedef int wsf_mask_sse2_unused;
#endif
