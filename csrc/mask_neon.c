/* NEON masking kernel for AArch64: 16 bytes per vector, four per step. */
#include "mask_kernels.h"

#ifdef WSF_MASK_ARM64
#include <arm_neon.h>

void wsf_mask_neon(uint8_t *dst, const uint8_t *src, size_t len,
                   const uint8_t key[4]) {
    uint8_t kk[16];
    uint8x16_t k;
    size_t i = 0;

    /* Loading the repeated key as bytes keeps lane order right on either
     * endianness, unlike a dup of a 32-bit word. */
    memcpy(kk, key, 4);
    memcpy(kk + 4, key, 4);
    memcpy(kk + 8, kk, 8);
    k = vld1q_u8(kk);

    for (; len - i >= 64; i += 64) {
        uint8x16_t a = vld1q_u8(src + i);
        uint8x16_t b = vld1q_u8(src + i + 16);
        uint8x16_t c = vld1q_u8(src + i + 32);
        uint8x16_t d = vld1q_u8(src + i + 48);
        vst1q_u8(dst + i, veorq_u8(a, k));
        vst1q_u8(dst + i + 16, veorq_u8(b, k));
        vst1q_u8(dst + i + 32, veorq_u8(c, k));
        vst1q_u8(dst + i + 48, veorq_u8(d, k));
    }
    for (; len - i >= 16; i += 16)
        vst1q_u8(dst + i, veorq_u8(vld1q_u8(src + i), k));
    wsf_mask_tail(dst + i, src + i, len - i, key);
}

#else
/* ISO C forbids an empty translation unit. */
typedef int wsf_mask_neon_unused;
#endif
