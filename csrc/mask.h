/* XOR masking (RFC 6455 section 5.3), with one kernel per instruction set
 * chosen once at run time. Pure C99; knows nothing of Python. */
#ifndef WSFAST_MASK_H
#define WSFAST_MASK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    WSF_MASK_SCALAR = 0,
    WSF_MASK_SSE2 = 1,
    WSF_MASK_AVX2 = 2,
    WSF_MASK_NEON = 3,
    WSF_MASK_NKERNELS = 4
};

/* dst[i] = src[i] ^ key[(phase + i) & 3] for i in [0, len).
 * dst == src (in place) is allowed; any other overlap is not.
 * Reads and writes exactly len bytes of each buffer, never more.
 * Returns the key phase after the call, (phase + len) & 3, so a payload
 * split across reads can be unmasked piece by piece. */
unsigned wsf_mask(uint8_t *dst, const uint8_t *src, size_t len,
                  const uint8_t key[4], unsigned phase);

/* Same, with an explicit kernel (tests and benchmarks). The kernel must be
 * supported; an unsupported one falls back to scalar. */
unsigned wsf_mask_with(int kernel, uint8_t *dst, const uint8_t *src,
                       size_t len, const uint8_t key[4], unsigned phase);

/* 1 if the kernel is compiled in and the CPU runs it. */
int wsf_mask_supported(int kernel);

/* The kernel wsf_mask uses. Chosen on first use: WSFAST_MASK_IMPL
 * (scalar|sse2|avx2|neon) when set and supported, else the best one. */
int wsf_mask_active(void);

/* Force a kernel. Returns 0, or -1 if it is not supported. */
int wsf_mask_select(int kernel);

/* "scalar", "sse2", "avx2", "neon"; NULL for an unknown id. */
const char *wsf_mask_kernel_name(int kernel);

#ifdef __cplusplus
}
#endif
#endif
