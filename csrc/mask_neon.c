/* NEON masking kernel for AArch64: 16 bytes per vector, four per step. */
#include "mask_kernels.h"

#ifdef WSF_MASK_ARM64
#include <arm_neon.h>

/* The key repeated across 16 bytes in memory order. */
static inline uint8x16_t key_vec(uint32_t key) {
#if defined(__AARCH64EB__)
    /* Big-endian lanes would reverse a dup'd word against ld1 bytes. */
    uint8_t b[16];
    uint64_t k8 = wsf_key64(key);
    memcpy(b, &k8, 8);
    memcpy(b + 8, &k8, 8);
    return vld1q_u8(b);
#else
    return vreinterpretq_u8_u32(vdupq_n_u32(key));
#endif
}

void wsf_mask_neon(uint8_t *dst, const uint8_t *src, size_t len,
                   uint32_t key) {
    uint8x16_t k, last;
    size_t i = 0;

    if (len < 16) {
        wsf_mask_short(dst, src, len, key);
        return;
    }
    k = key_vec(key);
    /* The last vector is finished with one store overlapping the loop's
     * output; load it first, before an in-place loop overwrites it. */
    last = vld1q_u8(src + len - 16);
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
    if (i < len)
        vst1q_u8(dst + len - 16,
                 veorq_u8(last, key_vec(wsf_key_rot(key, len & 3))));
}

#else
/* ISO C forbids an empty translation unit. */
typedef int wsf_mask_neon_unused;
#endif
