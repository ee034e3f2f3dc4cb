/* SHA-1 (FIPS 180-4) and base64 for the handshake's accept value. */
#include "accept_key.h"

#include <string.h>

static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
#define GUID_LEN 36
#define MAX_KEY 64

static uint32_t rol(uint32_t x, unsigned n) { return (x << n) | (x >> (32 - n)); }

static void sha1_block(uint32_t h[5], const uint8_t *b) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = ((uint32_t)b[4 * i] << 24) | ((uint32_t)b[4 * i + 1] << 16) |
               ((uint32_t)b[4 * i + 2] << 8) | (uint32_t)b[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (bb & c) | (~bb & d);
            k = 0x5A827999u;
        } else if (i < 40) {
            f = bb ^ c ^ d;
            k = 0x6ED9EBA1u;
        } else if (i < 60) {
            f = (bb & c) | (bb & d) | (c & d);
            k = 0x8F1BBCDCu;
        } else {
            f = bb ^ c ^ d;
            k = 0xCA62C1D6u;
        }
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol(bb, 30);
        bb = a;
        a = t;
    }
    h[0] += a;
    h[1] += bb;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void wsf_sha1(const uint8_t *data, size_t len, uint8_t digest[20]) {
    uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
    size_t done = 0;
    for (; len - done >= 64; done += 64) sha1_block(h, data + done);
    /* Last block(s): the tail, 0x80, zeros, and the bit length. */
    uint8_t tail[128];
    size_t rest = len - done;
    memset(tail, 0, sizeof tail);
    if (rest) memcpy(tail, data + done, rest);
    tail[rest] = 0x80;
    size_t total = rest + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++) tail[total - 1 - i] = (uint8_t)(bits >> (8 * i));
    sha1_block(h, tail);
    if (total == 128) sha1_block(h, tail + 64);
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
