/* Portable masking kernel: 64-bit words, four per step. */
#include "mask_kernels.h"

void wsf_mask_scalar(uint8_t *dst, const uint8_t *src, size_t len,
                     const uint8_t key[4]) {
    uint8_t kk[8];
    uint64_t k, a, b, c, d;
    size_t i = 0;

    /* Key bytes repeated in memory order, so the XOR is endian-neutral. */
    memcpy(kk, key, 4);
    memcpy(kk + 4, key, 4);
    memcpy(&k, kk, 8);

    for (; len - i >= 32; i += 32) {
        memcpy(&a, src + i, 8);
        memcpy(&b, src + i + 8, 8);
        memcpy(&c, src + i + 16, 8);
        memcpy(&d, src + i + 24, 8);
        a ^= k;
        b ^= k;
        c ^= k;
        d ^= k;
        memcpy(dst + i, &a, 8);
        memcpy(dst + i + 8, &b, 8);
        memcpy(dst + i + 16, &c, 8);
        memcpy(dst + i + 24, &d, 8);
    }
    for (; len - i >= 16; i += 16) {
        memcpy(&a, src + i, 8);
        memcpy(&b, src + i + 8, 8);
        a ^= k;
        b ^= k;
        memcpy(dst + i, &a, 8);
        memcpy(dst + i + 8, &b, 8);
    }
    wsf_mask_tail(dst + i, src + i, len - i, key);
}
