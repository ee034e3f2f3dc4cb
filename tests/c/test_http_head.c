/* Tests of csrc/http_head.c (the strict request-head fast path) and
 * csrc/accept_key.c, on exact-size heap copies. */
#include "test_util.h"
#include "http_head.h"
#include "accept_key.h"

#define MAXF 16

static const char UPGRADE[] =
    "GET /chat?x=1 HTTP/1.1\r\n"
    "Host: example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

static int parse(const char *s, size_t n, size_t max_head, size_t max_fields,
                 wsf_head_field *f, wsf_request_head *h) {
    unsigned char *buf = t_dup(s, n);
    int rc = wsf_parse_request_head(buf, n, max_head, f, max_fields, h);
    if (rc == WSF_HEAD_DONE) wsf_check_upgrade(buf, f, h);
    free(buf);
    return rc;
}

static int parse_str(const char *s, wsf_head_field *f, wsf_request_head *h) {
    return parse(s, strlen(s), 8192, MAXF, f, h);
}

static void test_upgrade(void) {
    wsf_head_field f[MAXF];
    wsf_request_head h;
    size_t n = strlen(UPGRADE);
    CHECK_EQ(parse_str(UPGRADE, f, &h), WSF_HEAD_DONE);
    CHECK_EQ(h.head_len, n);
    CHECK_EQ(h.nfields, 5);
    CHECK_EQ(h.target, 4);
    CHECK_EQ(h.target_len, 9);
    CHECK_EQ(h.upgrade, WSF_UPGRADE_WEBSOCKET | WSF_UPGRADE_VALID);
    CHECK_EQ(h.key, 3);
    CHECK(!memcmp(UPGRADE + f[3].value, "dGhlIHNhbXBsZSBub25jZQ==", 24));
    CHECK_EQ(f[3].value_len, 24);
    /* Every proper prefix needs more; one byte short of each limit declines. */
    for (size_t i = 0; i < n; i++) CHECK_EQ(parse(UPGRADE, i, 8192, MAXF, f, &h), WSF_HEAD_NEED_MORE);
    CHECK_EQ(parse(UPGRADE, n, n - 1, MAXF, f, &h), WSF_HEAD_DECLINE);
    CHECK_EQ(parse(UPGRADE, n, n, MAXF, f, &h), WSF_HEAD_DONE);
    CHECK_EQ(parse(UPGRADE, n, 8192, 4, f, &h), WSF_HEAD_DECLINE);
    CHECK_EQ(parse(UPGRADE, n, 8192, 5, f, &h), WSF_HEAD_DONE);
}

static void test_declined(void) {
    static const char *const heads[] = {
        "POST / HTTP/1.1\r\nHost: x\r\n\r\n",
        "get / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.0\r\nHost: x\r\n\r\n",
        "GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\nHost: x\n\n",
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\x7f\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: caf\xe9\r\n\r\n",
        "GET / HTTP/1.1\r\n: x\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        "GET / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\r\n\r\n",
        "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
    };
    wsf_head_field f[MAXF];
    wsf_request_head h;
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++)
        CHECK_EQ(parse_str(heads[i], f, &h), WSF_HEAD_DECLINE);
}

static void test_checks(void) {
    struct { const char *head; unsigned upgrade; } cases[] = {
        {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0},
        {"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c,\tWebSocket \r\n\r\n", WSF_UPGRADE_WEBSOCKET},
        /* no Connection: upgrade */
        {"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nSec-WebSocket-Key: "
         "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", WSF_UPGRADE_WEBSOCKET},
        /* two Host lines */
        {"GET / HTTP/1.1\r\nHost: x\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
         WSF_UPGRADE_WEBSOCKET},
        /* empty Host */
        {"GET / HTTP/1.1\r\nHost:\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
         WSF_UPGRADE_WEBSOCKET},
        /* version 8 */
        {"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
         WSF_UPGRADE_WEBSOCKET},
        /* a key of 15 bytes */
        {"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZ===\r\nSec-WebSocket-Version: 13\r\n\r\n",
         WSF_UPGRADE_WEBSOCKET},
        /* offers, valid */
        {"GET / HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: upgrade\r\n"
         "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13 \r\n"
         "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
         WSF_UPGRADE_WEBSOCKET | WSF_UPGRADE_VALID | WSF_UPGRADE_OFFERS},
    };
    wsf_head_field f[MAXF];
    wsf_request_head h;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_EQ(parse_str(cases[i].head, f, &h), WSF_HEAD_DONE);
        CHECK_EQ(h.upgrade, cases[i].upgrade);
    }
}

static void test_accept_key(void) {
    uint8_t out[WSF_ACCEPT_LEN];
    unsigned char *key = t_dup("dGhlIHNhbXBsZSBub25jZQ==", 24);
    CHECK_EQ(wsf_accept_key(key, 24, out), 0); /* RFC 6455 section 1.3 */
    CHECK(!memcmp(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", WSF_ACCEPT_LEN));
    CHECK_EQ(wsf_accept_key(key, 65, out), -1);
    free(key);
    /* FIPS 180-2 examples: one block, and two blocks of padding. */
    uint8_t d[20];
    static const uint8_t abc[20] = {0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e,
                                    0x25, 0x71, 0x78, 0x50, 0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d};
    static const uint8_t two[20] = {0x84, 0x98, 0x3e, 0x44, 0x1c, 0x3b, 0xd2, 0x6e, 0xba, 0xae,
                                    0x4a, 0xa1, 0xf9, 0x51, 0x29, 0xe5, 0xe5, 0x46, 0x70, 0xf1};
    wsf_sha1((const uint8_t *)"abc", 3, d);
    CHECK(!memcmp(d, abc, 20));
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    wsf_sha1((const uint8_t *)m, strlen(m), d);
    CHECK(!memcmp(d, two, 20));
    wsf_sha1_portable((const uint8_t *)m, strlen(m), d);
    CHECK(!memcmp(d, two, 20));
    /* The empty message, and a million 'a' (FIPS 180-2 long example). */
    static const uint8_t empty[20] = {0xda, 0x39, 0xa3, 0xee, 0x5e, 0x6b, 0x4b, 0x0d, 0x32, 0x55,
                                      0xbf, 0xef, 0x95, 0x60, 0x18, 0x90, 0xaf, 0xd8, 0x07, 0x09};
    static const uint8_t million[20] = {0x34, 0xaa, 0x97, 0x3c, 0xd4, 0xc4, 0xda, 0xa4, 0xf6, 0x1e,
                                        0xeb, 0x2b, 0xdb, 0xad, 0x27, 0x31, 0x65, 0x34, 0x01, 0x6f};
    unsigned char *none = t_dup("", 0);
    wsf_sha1(none, 0, d);
    CHECK(!memcmp(d, empty, 20));
    wsf_sha1_portable(none, 0, d);
    CHECK(!memcmp(d, empty, 20));
    free(none);
    unsigned char *as = (unsigned char *)malloc(1000000);
    if (!as) abort();
    memset(as, 'a', 1000000);
    wsf_sha1(as, 1000000, d);
    CHECK(!memcmp(d, million, 20));
    wsf_sha1_portable(as, 1000000, d);
    CHECK(!memcmp(d, million, 20));
    free(as);
    /* Every length from 0 to 300 bytes (1 to 6 blocks, each padding case),
     * on exact-size copies (ASan sees any read past the end), at an odd
     * address too: the SHA-instruction path (where the CPU has it) against
     * the portable one, and the portable digests against Python's hashlib
     * (SHA-1 of the 301 digests in order), so the portable code is checked
     * on its own where it is the only one (ARM). */
    static const uint8_t all[20] = {0xe0, 0x76, 0x38, 0x5f, 0x2d, 0x06, 0xb3, 0xe9, 0xdc, 0x4d,
                                    0xb3, 0xc2, 0xfc, 0xf3, 0x96, 0xf3, 0x6c, 0xda, 0xe7, 0x9e};
    uint8_t data[300], fast[20], slow[20], odd[20], digests[301 * 20];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 131u + 7u);
    for (size_t n = 0; n <= sizeof data; n++) {
        unsigned char *copy = t_dup(data, n);
        unsigned char *shifted = (unsigned char *)malloc(n + 1);
        if (!shifted) abort();
        if (n) memcpy(shifted + 1, data, n);
        wsf_sha1(copy, n, fast);
        wsf_sha1_portable(copy, n, slow);
        wsf_sha1_portable(shifted + 1, n, odd);
        CHECK(!memcmp(fast, slow, 20));
        CHECK(!memcmp(odd, slow, 20));
        memcpy(digests + 20 * n, slow, 20);
        free(copy);
        free(shifted);
    }
    wsf_sha1_portable(digests, sizeof digests, d);
    CHECK(!memcmp(d, all, 20));
}

int main(void) {
    test_upgrade();
    test_declined();
    test_checks();
    test_accept_key();
    return t_report("test_http_head");
}
