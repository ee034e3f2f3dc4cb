/* Portable masking kernel: 64-bit words, four per step. */
#include "mask_kernels.h"

void wsf_mask_scalar(uint8_t *dst, const uint8_t *src, size_t len,
                     uint32_t key) {
    uint64_t k = wsf_key64(key), last;
    size_t i = 0;

    if (len < 8) {
        wsf_mask_short(dst, src, len, key);
        return;
    }
    /* The last word is finished with one store overlapping the loop's
     * output; load it first, before an in-place loop overwrites it. */
    last = wsf_ld64(src + len - 8);
    for (; len - i >= 32; i += 32) {
        uint64_t a = wsf_ld64(src + i), b = wsf_ld64(src + i + 8);
        uint64_t c = wsf_ld64(src + i + 16), d = wsf_ld64(src + i + 24);
        wsf_st64(dst + i, a ^ k);
        wsf_st64(dst + i + 8, b ^ k);
        wsf_st64(dst + i + 16, c ^ k);
        wsf_st64(dst + i + 24, d ^ k);
    }
    for (; len - i >= 8; i += 8)
        wsf_st64(dst + i, wsf_ld64(src + i) ^ k);
    if (i < len)
        wsf_st64(dst + len - 8, last ^ wsf_key64(wsf_key_rot(key, len & 3)));
}
