/* Internal: the per-instruction-set masking kernels behind mask.h.
 *
 * Every kernel works at phase 0: dst[i] = src[i] ^ kb[i & 3], where kb are
 * the four bytes of `key` as laid out in memory (i.e. key was memcpy'd from
 * the 4-byte masking key). The dispatcher rotates the key to the phase
 * first. Passing the key in a register rather than as a byte array keeps
 * the rotation free of store-to-load forwarding stalls on short calls. */
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
                            uint32_t key);

void wsf_mask_scalar(uint8_t *dst, const uint8_t *src, size_t len,
                     uint32_t key);
#ifdef WSF_MASK_X86
void wsf_mask_sse2(uint8_t *dst, const uint8_t *src, size_t len,
                   uint32_t key);
/* Built with AVX2 enabled: call only after the CPU and OS say yes. */
void wsf_mask_avx2(uint8_t *dst, const uint8_t *src, size_t len,
                   uint32_t key);
#endif
#ifdef WSF_MASK_ARM64
void wsf_mask_neon(uint8_t *dst, const uint8_t *src, size_t len,
                   uint32_t key);
#endif

/* memcpy keeps unaligned word access free of alignment and aliasing UB;
 * compilers turn it into a plain move. */
static inline uint32_t wsf_ld32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline uint64_t wsf_ld64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static inline void wsf_st32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void wsf_st64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* Folds to a constant under optimization. */
static inline int wsf_little_endian(void) {
    const uint32_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* The key twice in a row, as 8 bytes in memory order (both halves are
 * equal, so this holds on either endianness). */
static inline uint64_t wsf_key64(uint32_t key) {
    return (uint64_t)key * UINT64_C(0x100000001);
}

/* The key as seen r bytes further on (r in 0..3): memory byte j of the
 * result is memory byte (j + r) & 3 of key. */
static inline uint32_t wsf_key_rot(uint32_t key, unsigned r) {
    uint64_t k = wsf_key64(key);
    if (wsf_little_endian())
        return (uint32_t)(k >> (8 * r));
    return (uint32_t)(k >> (32 - 8 * r));
}

/* len < 16 at phase 0. Two overlapping words cover 4..15 bytes with no
 * loop; both are loaded before either is stored so dst == src works. */
static inline void wsf_mask_short(uint8_t *dst, const uint8_t *src,
                                  size_t len, uint32_t key) {
    if (len >= 8) {
        uint64_t a = wsf_ld64(src), b = wsf_ld64(src + len - 8);
        wsf_st64(dst, a ^ wsf_key64(key));
        wsf_st64(dst + len - 8, b ^ wsf_key64(wsf_key_rot(key, len & 3)));
    } else if (len >= 4) {
        uint32_t a = wsf_ld32(src), b = wsf_ld32(src + len - 4);
        wsf_st32(dst, a ^ key);
        wsf_st32(dst + len - 4, b ^ wsf_key_rot(key, len & 3));
    } else {
        uint8_t kb[4];
        size_t i;
        memcpy(kb, &key, 4);
        for (i = 0; i < len; i++)
            dst[i] = (uint8_t)(src[i] ^ kb[i]);
    }
}

#endif
