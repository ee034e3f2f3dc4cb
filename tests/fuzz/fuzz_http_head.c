/* libFuzzer target for the request-head fast path (csrc/http_head.c).
 *
 * Input: byte 0 picks the limits (head size, header lines), the rest is
 * the bytes of a read. Every call gets an exact-size heap copy, so ASan
 * catches any read past the input. Checked on every input:
 *  - an accepted head is well formed: "GET /... HTTP/1.1" CRLF, each line
 *    a token, ':', a value of VCHAR/SP/HTAB without surrounding blanks,
 *    ending in CRLF CRLF at head_len, within both limits, with no
 *    Content-Length or Transfer-Encoding line;
 *  - the answer depends only on the head: the same input cut at head_len
 *    gives the same head and fields, every shorter cut needs more, and one
 *    less byte or one less line of limit declines;
 *  - wsf_check_upgrade is deterministic and its key (when valid) is a
 *    24-byte base64 value, whose accept key has 28 base64 bytes.
 * The differential check against llhttp is in Python
 * (tests/python/test_http_fast_path.py). Any failure calls abort(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "accept_key.h"
#include "http_head.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define MAXF 64

static int tchar(uint8_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int blank(uint8_t c) { return c == ' ' || c == '\t'; }

static int value_char(uint8_t c) { return (c >= 0x21 && c <= 0x7e) || blank(c); }

static int same_name(const uint8_t *p, size_t n, const char *name) {
    if (n != strlen(name)) return 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c >= 'A' && c <= 'Z') c += 32;
        if (c != (uint8_t)name[i]) return 0;
    }
    return 1;
}

static int run(const uint8_t *data, size_t len, size_t max_head, size_t max_fields,
               wsf_head_field *f, wsf_request_head *h) {
    uint8_t *copy = (uint8_t *)malloc(len ? len : 1);
    CHECK(copy);
    if (len) memcpy(copy, data, len);
    int rc = wsf_parse_request_head(copy, len, max_head, f, max_fields, h);
    if (rc == WSF_HEAD_DONE) wsf_check_upgrade(copy, f, h);
    free(copy);
    return rc;
}

static void check_well_formed(const uint8_t *in, const wsf_request_head *h,
                              const wsf_head_field *f, size_t max_head, size_t max_fields) {
    CHECK(h->head_len >= 18 && h->head_len <= max_head && h->nfields <= max_fields);
    CHECK(!memcmp(in, "GET /", 5) && h->target == 4 && in[4] == '/');
    CHECK(!memcmp(in + 4 + h->target_len, " HTTP/1.1\r\n", 11));
    for (uint32_t i = 0; i < h->target_len; i++) CHECK(in[4 + i] > 0x20 && in[4 + i] < 0x7f);
    CHECK(!memcmp(in + h->head_len - 4, "\r\n\r\n", 4));
    size_t line = 4 + h->target_len + 11;
    for (uint32_t i = 0; i < h->nfields; i++) {
        CHECK(f[i].name == line && f[i].name_len > 0);
        for (uint32_t j = 0; j < f[i].name_len; j++) CHECK(tchar(in[f[i].name + j]));
        CHECK(in[f[i].name + f[i].name_len] == ':');
        CHECK(!same_name(in + f[i].name, f[i].name_len, "content-length"));
        CHECK(!same_name(in + f[i].name, f[i].name_len, "transfer-encoding"));
        size_t v = f[i].value, n = f[i].value_len;
        CHECK(v > f[i].name + f[i].name_len && v + n + 2 <= h->head_len);
        for (size_t j = f[i].name + f[i].name_len + 1; j < v; j++) CHECK(blank(in[j]));
        for (size_t j = 0; j < n; j++) CHECK(value_char(in[v + j]));
        if (n) CHECK(!blank(in[v]) && !blank(in[v + n - 1]));
        size_t end = v + n;
        while (in[end] != '\r') CHECK(blank(in[end++]));
        CHECK(in[end + 1] == '\n');
        line = end + 2;
    }
    CHECK(line + 2 == h->head_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static wsf_head_field f[MAXF], g[MAXF];
    wsf_request_head h, k;
    if (size < 1) return 0;
    size_t max_head = (data[0] & 0x0f) == 0 ? 8192 : 16 + (size_t)(data[0] & 0x0f) * 24;
    size_t max_fields = (data[0] >> 4) == 0 ? MAXF : (size_t)(data[0] >> 4);
    data++;
    size--;
    int rc = run(data, size, max_head, max_fields, f, &h);
    CHECK(rc == WSF_HEAD_NEED_MORE || rc == WSF_HEAD_DONE || rc == WSF_HEAD_DECLINE);
    if (rc != WSF_HEAD_DONE) return 0;
    check_well_formed(data, &h, f, max_head, max_fields);
    /* Cut at the end of the head: the same answer. */
    CHECK(run(data, h.head_len, max_head, max_fields, g, &k) == WSF_HEAD_DONE);
    CHECK(k.head_len == h.head_len && k.nfields == h.nfields && k.upgrade == h.upgrade &&
          k.key == h.key && k.target_len == h.target_len);
    CHECK(!memcmp(f, g, h.nfields * sizeof f[0]));
    /* Shorter cuts need more; tighter limits decline. */
    for (size_t cut = 0; cut < h.head_len; cut += 1 + cut / 8)
        CHECK(run(data, cut, max_head, max_fields, g, &k) == WSF_HEAD_NEED_MORE);
    CHECK(run(data, size, h.head_len - 1, max_fields, g, &k) == WSF_HEAD_DECLINE);
    if (h.nfields) CHECK(run(data, size, max_head, h.nfields - 1, g, &k) == WSF_HEAD_DECLINE);
    if (h.upgrade & WSF_UPGRADE_VALID) {
        CHECK(h.upgrade & WSF_UPGRADE_WEBSOCKET);
        CHECK(f[h.key].value_len == 24 && data[f[h.key].value + 22] == '=');
        uint8_t accept[WSF_ACCEPT_LEN];
        CHECK(wsf_accept_key(data + f[h.key].value, 24, accept) == 0);
        CHECK(accept[WSF_ACCEPT_LEN - 1] == '=');
    }
    return 0;
}
