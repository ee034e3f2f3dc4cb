/* SHA-1 (FIPS 180-4) and base64 for the handshake's accept value. */
#include "accept_key.h"

#include <string.h>

/* x86-64 with GCC or Clang: the SHA extensions (SHA-NI), chosen at run
 * time, do a block in about a tenth of the instructions of the portable
 * code below (a handshake hashes two blocks). Elsewhere: portable only. */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define WSF_SHA1_NI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
#define GUID_LEN 36
#define MAX_KEY 64

static uint32_t rol(uint32_t x, unsigned n) { return (x << n) | (x >> (32 - n)); }

static uint32_t load_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Portable block: the 80 rounds unrolled by macros, four groups of 20, so
 * each round's function, constant and message index are compile-time
 * constants (no per-round branch or counter). Ch as z ^ (x & (y ^ z)) and
 * Maj as (x & y) + (z & (x ^ y)) (the terms share no bit, so + is |): the
 * fewest operations, and Maj's terms add straight into the sum. */
#define WSF_CH(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define WSF_PAR(x, y, z) ((x) ^ (y) ^ (z))
#define WSF_MAJ(x, y, z) (((x) & (y)) + ((z) & ((x) ^ (y))))
/* Message word t, in a ring of 16: words 0-15 are loaded as first used;
 * W[t] = rol1(W[t-3] ^ W[t-8] ^ W[t-14] ^ W[t-16]) then replaces W[t-16],
 * the one word no later round needs. t is a constant: the test folds. */
#define WSF_W(t) \
    ((t) < 16 ? (w[(t) & 15] = load_be32(blk + 4 * ((t) & 15))) \
              : (w[(t) & 15] = rol(w[((t) + 13) & 15] ^ w[((t) + 8) & 15] ^ \
                                   w[((t) + 2) & 15] ^ w[(t) & 15], 1)))
/* Round t without moving the state: the new A lands in e and rol30(B) in
 * b, and the next round takes the names rotated one place instead (split
 * into three adds, GCC allocates registers with fewer copies). */
#define WSF_R(a, b, c, d, e, f, k, t) \
    e += WSF_W(t) + (k); \
    e += f(b, c, d); \
    e += rol(a, 5); \
    b = rol(b, 30)
/* Five rounds bring the names back to where they started. */
#define WSF_R5(f, k, t) \
    WSF_R(s0, s1, s2, s3, s4, f, k, (t)); \
    WSF_R(s4, s0, s1, s2, s3, f, k, (t) + 1); \
    WSF_R(s3, s4, s0, s1, s2, f, k, (t) + 2); \
    WSF_R(s2, s3, s4, s0, s1, f, k, (t) + 3); \
    WSF_R(s1, s2, s3, s4, s0, f, k, (t) + 4)
#define WSF_R20(f, k, t) \
    WSF_R5(f, k, (t)); WSF_R5(f, k, (t) + 5); WSF_R5(f, k, (t) + 10); WSF_R5(f, k, (t) + 15)

static void sha1_block(uint32_t h[5], const uint8_t *blk) {
    uint32_t w[16];
    uint32_t s0 = h[0], s1 = h[1], s2 = h[2], s3 = h[3], s4 = h[4];
    WSF_R20(WSF_CH, 0x5A827999u, 0);
    WSF_R20(WSF_PAR, 0x6ED9EBA1u, 20);
    WSF_R20(WSF_MAJ, 0x8F1BBCDCu, 40);
    WSF_R20(WSF_PAR, 0xCA62C1D6u, 60);
    h[0] += s0;
    h[1] += s1;
    h[2] += s2;
    h[3] += s3;
    h[4] += s4;
}
#undef WSF_CH
#undef WSF_PAR
#undef WSF_MAJ
#undef WSF_W
#undef WSF_R
#undef WSF_R5
#undef WSF_R20

#ifdef WSF_SHA1_NI
/* One 64-byte block with the SHA instructions. The state is kept as
 * ABCD (A in the top lane) and E (top lane of its register); each
 * sha1rnds4 does four rounds, whose function and constant its immediate
 * picks (0: rounds 0-19, 1: 20-39, 2: 40-59, 3: 60-79). Message words
 * 16-79 come four at a time from the 16 before them
 * (W[t] = rol1(W[t-3] ^ W[t-8] ^ W[t-14] ^ W[t-16])): sha1msg1 and a
 * xor give the first three terms, sha1msg2 the rest and the rotation. */
__attribute__((target("sha,sse4.1,ssse3")))
static void sha1_block_ni(uint32_t h[5], const uint8_t *b) {
    /* Big-endian words, word 0 in the top lane: reverse all 16 bytes. */
    const __m128i swap = _mm_set_epi64x(0x0001020304050607LL, 0x08090a0b0c0d0e0fLL);
    __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)h), 0x1B);
    __m128i e = _mm_set_epi32((int)h[4], 0, 0, 0);
    const __m128i abcd0 = abcd, e0 = e;
    __m128i w[4], prev, ew;
    w[0] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)b), swap);
    w[1] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(b + 16)), swap);
    w[2] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(b + 32)), swap);
    w[3] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(b + 48)), swap);
    /* Rounds 4g..4g+3: ew is E plus the group's words (the first group
     * adds E as given; later ones derive E from A four rounds back). */
    ew = _mm_add_epi32(e, w[0]);
    prev = abcd;
    abcd = _mm_sha1rnds4_epu32(abcd, ew, 0);
#define WSF_NEXT(g) \
    w[(g) & 3] = _mm_sha1msg2_epu32( \
        _mm_xor_si128(_mm_sha1msg1_epu32(w[(g) & 3], w[((g) + 1) & 3]), w[((g) + 2) & 3]), \
        w[((g) + 3) & 3])
#define WSF_ROUNDS(g, f) \
    ew = _mm_sha1nexte_epu32(prev, w[(g) & 3]); \
    prev = abcd; \
    abcd = _mm_sha1rnds4_epu32(abcd, ew, f)
    WSF_ROUNDS(1, 0); WSF_ROUNDS(2, 0); WSF_ROUNDS(3, 0);
    WSF_NEXT(4); WSF_ROUNDS(4, 0);
    WSF_NEXT(5); WSF_ROUNDS(5, 1); WSF_NEXT(6); WSF_ROUNDS(6, 1);
    WSF_NEXT(7); WSF_ROUNDS(7, 1); WSF_NEXT(8); WSF_ROUNDS(8, 1);
    WSF_NEXT(9); WSF_ROUNDS(9, 1);
    WSF_NEXT(10); WSF_ROUNDS(10, 2); WSF_NEXT(11); WSF_ROUNDS(11, 2);
    WSF_NEXT(12); WSF_ROUNDS(12, 2); WSF_NEXT(13); WSF_ROUNDS(13, 2);
    WSF_NEXT(14); WSF_ROUNDS(14, 2);
    WSF_NEXT(15); WSF_ROUNDS(15, 3); WSF_NEXT(16); WSF_ROUNDS(16, 3);
    WSF_NEXT(17); WSF_ROUNDS(17, 3); WSF_NEXT(18); WSF_ROUNDS(18, 3);
    WSF_NEXT(19); WSF_ROUNDS(19, 3);
#undef WSF_NEXT
#undef WSF_ROUNDS
    e = _mm_sha1nexte_epu32(prev, e0);
    abcd = _mm_shuffle_epi32(_mm_add_epi32(abcd, abcd0), 0x1B);
    _mm_storeu_si128((__m128i *)h, abcd);
    h[4] = (uint32_t)_mm_extract_epi32(e, 3);
}

/* SHA (cpuid leaf 7, EBX bit 29), SSSE3 and SSE4.1 (leaf 1, ECX bits 9
 * and 19): whether sha1_block_ni can run here. */
static int have_sha_ni(void) {
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid(1, a, b, c, d);
    if (!(c & (1u << 9)) || !(c & (1u << 19))) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 29) & 1;
}
#endif

typedef void (*sha1_block_fn)(uint32_t h[5], const uint8_t *b);

/* Chosen on first use; a race only stores the same choice twice. */
static sha1_block_fn pick_block(void) {
#ifdef WSF_SHA1_NI
    static sha1_block_fn chosen = NULL;
    if (chosen == NULL) chosen = have_sha_ni() ? sha1_block_ni : sha1_block;
    return chosen;
#else
    return sha1_block;
#endif
}

static void sha1_with(sha1_block_fn block, const uint8_t *data, size_t len, uint8_t digest[20]);

void wsf_sha1(const uint8_t *data, size_t len, uint8_t digest[20]) {
    sha1_with(pick_block(), data, len, digest);
}

void wsf_sha1_portable(const uint8_t *data, size_t len, uint8_t digest[20]) {
    sha1_with(sha1_block, data, len, digest);
}

static void sha1_with(sha1_block_fn block, const uint8_t *data, size_t len, uint8_t digest[20]) {
    uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
    size_t done = 0;
    for (; len - done >= 64; done += 64) block(h, data + done);
    /* Last block(s): the tail, 0x80, zeros, and the bit length. */
    uint8_t tail[128];
    size_t rest = len - done;
    memset(tail, 0, sizeof tail);
    if (rest) memcpy(tail, data + done, rest);
    tail[rest] = 0x80;
    size_t total = rest + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++) tail[total - 1 - i] = (uint8_t)(bits >> (8 * i));
    block(h, tail);
    if (total == 128) block(h, tail + 64);
    for (int i = 0; i < 5; i++) {
        digest[4 * i] = (uint8_t)(h[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(h[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(h[i] >> 8);
        digest[4 * i + 3] = (uint8_t)h[i];
    }
}

static const char B64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int wsf_accept_key(const uint8_t *key, size_t key_len, uint8_t *out) {
    uint8_t msg[MAX_KEY + GUID_LEN];
    uint8_t d[21];
    if (key_len > MAX_KEY) return -1;
    memcpy(msg, key, key_len);
    memcpy(msg + key_len, GUID, GUID_LEN);
    wsf_sha1(msg, key_len + GUID_LEN, d);
    d[20] = 0;
    /* 20 bytes: six groups of three, then two bytes and one '='. */
    for (int i = 0, o = 0; i < 21; i += 3, o += 4) {
        uint32_t v = ((uint32_t)d[i] << 16) | ((uint32_t)d[i + 1] << 8) | d[i + 2];
        out[o] = (uint8_t)B64[(v >> 18) & 63];
        out[o + 1] = (uint8_t)B64[(v >> 12) & 63];
        out[o + 2] = (uint8_t)B64[(v >> 6) & 63];
        out[o + 3] = i == 18 ? (uint8_t)'=' : (uint8_t)B64[v & 63];
    }
    return 0;
}
