/* Internal: the per-instruction-set masking kernels behind mask.h.
 * Every kernel works at phase 0: dst[i] = src[i] ^ key[i & 3]. The
 * dispatcher rotates the key first, so kernels never deal with phase. */
#ifndef WSFAST_MASK_KERNELS_H
#define WSFAST_MASK_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#define WSF_MASK_X86 1
#endif
#if defined(__aarch64__) || defined(_M_ARM64)
#define WSF_MASK_ARM64 1
#endif

/* dst == src is allowed; any other overlap is not. Touches exactly len
 * bytes of each buffer. */
typedef void (*wsf_mask_fn)(uint8_t *dst, const uint8_t *src, size_t len,
                            const uint8_t key[4]);

void wsf_mask_scalar(uint8_t *dst, const uint8_t *src, size_t len,
                     const uint8_t key[4]);
#ifdef WSF_MASK_X86
void wsf_mask_sse2(uint8_t *dst, const uint8_t *src, size_t len,
                   const uint8_t key[4]);
/* Built with AVX2 enabled: call only after the CPU and OS say yes. */
void wsf_mask_avx2(uint8_t *dst, const uint8_t *src, size_t len,
                   const uint8_t key[4]);
#endif
#ifdef WSF_MASK_ARM64
void wsf_mask_neon(uint8_t *dst, const uint8_t *src, size_t len,
                   const uint8_t key[4]);
#endif

/* Remainder after a vector loop: fewer than 16 bytes, starting at phase 0
 * (the loops advance in multiples of 4). memcpy keeps the word accesses
 * free of alignment and aliasing UB and compiles to plain moves. */
static inline void wsf_mask_tail(uint8_t *dst, const uint8_t *src,
                                 size_t len, const uint8_t key[4]) {
    size_t i = 0;
    uint32_t k4, w4;
    memcpy(&k4, key, 4);
    if (len >= 8) {
        uint64_t k8, w8;
        uint8_t kk[8];
        memcpy(kk, key, 4);
        memcpy(kk + 4, key, 4);
        memcpy(&k8, kk, 8);
        memcpy(&w8, src, 8);
        w8 ^= k8;
        memcpy(dst, &w8, 8);
        i = 8;
    }
    if (len - i >= 4) {
        memcpy(&w4, src + i, 4);
        w4 ^= k4;
        memcpy(dst + i, &w4, 4);
        i += 4;
    }
    for (; i < len; i++)
        dst[i] = (uint8_t)(src[i] ^ key[i & 3]);
}

#endif
