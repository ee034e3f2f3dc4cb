/* Tests of csrc/deflate.c: round trips against plain zlib, context
 * takeover, window sizes, fragmentation, bounded inflation, lazy
 * allocation and memory accounting. */
#define ZLIB_CONST
#include <stdint.h>
#include <zlib.h>
#include "deflate.h"
#include "test_util.h"

static const uint8_t TAIL[4] = {0x00, 0x00, 0xff, 0xff};

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

/* --- Reference zlib, independent of the code under test --------------- */

/* Raw-inflates data + 00 00 ff ff with a fresh stream, or with *zs when
 * given (context kept by the caller). Returns a malloc'd buffer and its
 * length in *olen, or NULL if zlib reports an error. */
static uint8_t *ref_inflate_with(z_stream *zs, const uint8_t *data, size_t len,
                                 size_t *olen) {
    size_t cap = len * 8 + 1024, n = 0;
    uint8_t *out = (uint8_t *)malloc(cap);
    uint8_t *in = (uint8_t *)malloc(len + 4);
    int r = Z_OK;

    if (len)
        memcpy(in, data, len);
    memcpy(in + len, TAIL, 4);
    zs->next_in = in;
    zs->avail_in = (uInt)(len + 4);
    while (zs->avail_in > 0 || n == cap) {
        if (cap - n < 1024) {
            cap *= 2;
            out = (uint8_t *)realloc(out, cap);
        }
        zs->next_out = out + n;
        zs->avail_out = (uInt)(cap - n);
        r = inflate(zs, Z_SYNC_FLUSH);
        n = cap - zs->avail_out;
        if (r != Z_OK && !(r == Z_BUF_ERROR && zs->avail_in == 0))
            break;
    }
    free(in);
    /* A stream end (BFINAL) keeps what came before it. */
    if (r != Z_OK && r != Z_BUF_ERROR && r != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    *olen = n;
    return out;
}

static uint8_t *ref_inflate(const uint8_t *data, size_t len, int wbits,
                            size_t *olen) {
    z_stream zs;
    uint8_t *out;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -wbits) != Z_OK)
        abort();
    out = ref_inflate_with(&zs, data, len, olen);
    inflateEnd(&zs);
    return out;
}

/* Raw deflate, sync flushed, tail stripped: a message as any peer sends. */
static uint8_t *ref_deflate(const uint8_t *data, size_t len, int wbits,
                            size_t *olen) {
    z_stream zs;
    size_t cap = len + len / 100 + 64;
    uint8_t *out = (uint8_t *)malloc(cap);
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 9, Z_DEFLATED, -wbits, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    zs.next_in = data;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_SYNC_FLUSH) != Z_OK || zs.avail_out == 0)
        abort();
    *olen = cap - zs.avail_out - 4;
    if (memcmp(out + *olen, TAIL, 4) != 0)
        abort();
    deflateEnd(&zs);
    return out;
}

/* --- Sample data -------------------------------------------------------- */

static uint8_t *make_json(size_t n, unsigned seed) {
    static const char *names[] = {"alice", "bob", "carol", "dave", "eve"};
    uint8_t *p = (uint8_t *)malloc(n);
    size_t i = 0;
    unsigned k = seed;
    while (i < n) {
        char rec[160];
        int m = snprintf(rec, sizeof rec,
                         "{\"id\":%u,\"user\":\"%s\",\"score\":%u,"
                         "\"tags\":[\"x%u\",\"y\"],\"ok\":%s},",
                         k, names[k % 5], (k * 7919u) % 1000u, k % 13u,
                         k % 3 ? "true" : "false");
        size_t c = (size_t)m < n - i ? (size_t)m : n - i;
        memcpy(p + i, rec, c);
        i += c;
        k++;
    }
    return p;
}

static uint8_t *make_random(size_t n) {
    uint8_t *p = (uint8_t *)malloc(n ? n : 1);
    size_t i;
    for (i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
    return p;
}

/* --- Helpers around the API --------------------------------------------- */

static int deflate_msg(wsf_deflater *d, const uint8_t *m, size_t n, wsf_buf *out) {
    out->len = 0;
    return wsf_deflate(d, m, n, WSF_Z_FINAL, out);
}

static int inflate_msg(wsf_inflater *s, const uint8_t *c, size_t n, wsf_buf *out) {
    out->len = 0;
    return wsf_inflate(s, c, n, 1, out, NULL);
}

static int same(const wsf_buf *b, const void *m, size_t n) {
    return b->len == n && (n == 0 || memcmp(b->data, m, n) == 0);
}

/* Our output must be what plain zlib makes of it, with both our inflater
 * and a fresh reference one. */
static void check_roundtrip(const uint8_t *m, size_t n, int wbits, int level) {
    wsf_deflater d;
    wsf_inflater s;
    wsf_buf c = {0}, o = {0};
    uint8_t *ref;
    size_t rlen = 0;

    CHECK_EQ(wsf_deflater_init(&d, wbits, 8, level, 0), WSF_Z_OK);
    CHECK_EQ(wsf_inflater_init(&s, wbits, n, 0), WSF_Z_OK);
    CHECK_EQ(deflate_msg(&d, m, n, &c), WSF_Z_OK);
    ref = ref_inflate(c.data, c.len, wbits == 8 ? 8 : wbits, &rlen);
    CHECK(ref != NULL);
    CHECK(ref && rlen == n && (n == 0 || memcmp(ref, m, n) == 0));
    free(ref);
    CHECK_EQ(inflate_msg(&s, c.data, c.len, &o), WSF_Z_OK);
    CHECK(same(&o, m, n));
    wsf_deflater_end(&d);
    wsf_inflater_end(&s);
    wsf_buf_free(&c);
    wsf_buf_free(&o);
}

static void test_roundtrips(void) {
    uint8_t *json = make_json(16384, 1);
    uint8_t *rnd1m = make_random(1 << 20);
    uint8_t *text1m = make_json(1 << 20, 7);
    wsf_deflater d;
    wsf_buf c = {0};
    int level;

    check_roundtrip(NULL, 0, 15, -1);
    check_roundtrip((const uint8_t *)"Hello", 5, 15, -1);
    check_roundtrip(json, 16384, 15, -1);
    check_roundtrip(json, 16384, 12, -1);
    check_roundtrip(rnd1m, 1 << 20, 15, -1);
    check_roundtrip(text1m, 1 << 20, 15, -1);
    check_roundtrip(text1m, 1 << 20, 12, 1);
    for (level = 0; level <= 9; level++)
        check_roundtrip(json, 16384, 15, level);

    /* Random data must not grow much; text must shrink a lot. */
    wsf_deflater_init(&d, 15, 8, -1, 0);
    CHECK_EQ(deflate_msg(&d, rnd1m, 1 << 20, &c), WSF_Z_OK);
    CHECK(c.len < (1 << 20) + 1024);
    CHECK_EQ(deflate_msg(&d, text1m, 1 << 20, &c), WSF_Z_OK);
    CHECK(c.len < (1 << 20) / 5);
    wsf_deflater_end(&d);

    /* An empty message is the single byte 00 (RFC 7692 7.2.3.6), also
     * under context takeover after other messages. */
    wsf_deflater_init(&d, 15, 8, -1, 0);
    CHECK_EQ(deflate_msg(&d, NULL, 0, &c), WSF_Z_OK);
    CHECK(c.len == 1 && c.data[0] == 0);
    CHECK_EQ(deflate_msg(&d, json, 100, &c), WSF_Z_OK);
    CHECK_EQ(deflate_msg(&d, NULL, 0, &c), WSF_Z_OK);
    CHECK(c.len == 1 && c.data[0] == 0);
    wsf_deflater_end(&d);

    wsf_buf_free(&c);
    free(json);
    free(rnd1m);
    free(text1m);
}

/* The examples of RFC 7692 section 7.2.3. */
static void test_rfc_examples(void) {
    static const uint8_t hello1[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    static const uint8_t hello2[] = {0xf2, 0x00, 0x11, 0x00, 0x00};
    static const uint8_t stored[] = {0x00, 0x05, 0x00, 0xfa, 0xff, 0x48,
                                     0x65, 0x6c, 0x6c, 0x6f, 0x00};
    static const uint8_t bfinal[] = {0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00};
    static const uint8_t two[] = {0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff,
                                  0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00};
    wsf_deflater d;
    wsf_inflater s;
    wsf_buf c = {0}, o = {0};

    /* zlib's output for "Hello" is the RFC's, twice with takeover. */
    wsf_deflater_init(&d, 15, 8, -1, 0);
    CHECK_EQ(deflate_msg(&d, (const uint8_t *)"Hello", 5, &c), WSF_Z_OK);
    CHECK(same(&c, hello1, sizeof hello1));
    CHECK_EQ(deflate_msg(&d, (const uint8_t *)"Hello", 5, &c), WSF_Z_OK);
    CHECK(same(&c, hello2, sizeof hello2));
    wsf_deflater_end(&d);

    wsf_inflater_init(&s, 15, 0, 0);
    CHECK_EQ(inflate_msg(&s, hello1, sizeof hello1, &o), WSF_Z_OK);
    CHECK(same(&o, "Hello", 5));
    CHECK_EQ(inflate_msg(&s, hello2, sizeof hello2, &o), WSF_Z_OK);
    CHECK(same(&o, "Hello", 5));
    CHECK_EQ(inflate_msg(&s, stored, sizeof stored, &o), WSF_Z_OK);
    CHECK(same(&o, "Hello", 5));
    CHECK_EQ(inflate_msg(&s, two, sizeof two, &o), WSF_Z_OK);
    CHECK(same(&o, "Hello", 5));
    /* Split across two frames. */
    o.len = 0;
    CHECK_EQ(wsf_inflate(&s, hello1, 3, 0, &o, NULL), WSF_Z_OK);
    CHECK_EQ(wsf_inflate(&s, hello1 + 3, 4, 1, &o, NULL), WSF_Z_OK);
    CHECK(same(&o, "Hello", 5));
    wsf_inflater_end(&s);

    /* BFINAL: the window survives the end of the stream, so a following
     * message may still refer back to "Hello". */
    wsf_inflater_init(&s, 15, 0, 0);
    CHECK_EQ(inflate_msg(&s, bfinal, sizeof bfinal, &o), WSF_Z_OK);
    CHECK(same(&o, "Hello", 5));
    CHECK_EQ(inflate_msg(&s, hello2, sizeof hello2, &o), WSF_Z_OK);
    CHECK(same(&o, "Hello", 5));
    /* BFINAL without the trailing 00 is accepted too. */
    CHECK_EQ(inflate_msg(&s, bfinal, 7, &o), WSF_Z_OK);
    CHECK(same(&o, "Hello", 5));
    CHECK_EQ(inflate_msg(&s, hello2, sizeof hello2, &o), WSF_Z_OK);
    CHECK(same(&o, "Hello", 5));
    /* Two streams in one message: the first closed with BFINAL, the next
     * starting right after it. */
    {
        uint8_t m[15];
        memcpy(m, bfinal, 7);
        memcpy(m + 7, bfinal, 8);
        CHECK_EQ(inflate_msg(&s, m, 15, &o), WSF_Z_OK);
        CHECK(same(&o, "HelloHello", 10));
    }
    /* The empty message. */
    CHECK_EQ(inflate_msg(&s, (const uint8_t *)"", 1, &o), WSF_Z_OK);
    CHECK_EQ(o.len, 0);
    wsf_inflater_end(&s);

    wsf_buf_free(&c);
    wsf_buf_free(&o);
}

static void test_context_takeover(void) {
    wsf_deflater d;
    wsf_inflater s;
    wsf_buf c = {0}, o = {0};
    z_stream ref;
    size_t first = 0, second = 0;
    int i, ok = 1;

    wsf_deflater_init(&d, 15, 8, -1, 0);
    wsf_inflater_init(&s, 15, 1 << 20, 0);
    memset(&ref, 0, sizeof ref);
    inflateInit2(&ref, -15);
    for (i = 0; i < 1000; i++) {
        char m[256];
        int n = snprintf(m, sizeof m,
                         "{\"type\":\"update\",\"seq\":%d,\"symbol\":\"ABC\","
                         "\"price\":%d.%02d,\"volume\":%d}",
                         i, 100 + i % 7, i % 100, (i * 37) % 5000);
        uint8_t *r;
        size_t rlen = 0;
        if (deflate_msg(&d, (const uint8_t *)m, (size_t)n, &c) != WSF_Z_OK)
            ok = 0;
        if (i == 0)
            first = c.len;
        if (i == 1)
            second = c.len;
        /* A long-lived reference stream decodes the same bytes. */
        r = ref_inflate_with(&ref, c.data, c.len, &rlen);
        if (!r || rlen != (size_t)n || memcmp(r, m, (size_t)n) != 0)
            ok = 0;
        free(r);
        if (inflate_msg(&s, c.data, c.len, &o) != WSF_Z_OK || !same(&o, m, (size_t)n))
            ok = 0;
    }
    CHECK(ok);
    CHECK(second < first);
    CHECK(second * 2 < first);
    inflateEnd(&ref);
    wsf_deflater_end(&d);
    wsf_inflater_end(&s);
    wsf_buf_free(&c);
    wsf_buf_free(&o);
}

static void test_no_context_takeover(void) {
    uint8_t *json = make_json(4096, 3);
    wsf_deflater d, dt;
    wsf_inflater s;
    wsf_buf c = {0}, c1 = {0}, o = {0};
    int i, ok = 1;

    /* Each message stands alone: a fresh inflater decodes it, and the
     * same message compresses the same every time. */
    wsf_deflater_init(&d, 15, 8, -1, WSF_Z_NO_CONTEXT);
    wsf_inflater_init(&s, 15, 0, WSF_Z_NO_CONTEXT);
    CHECK_EQ(deflate_msg(&d, json, 4096, &c1), WSF_Z_OK);
    for (i = 0; i < 50; i++) {
        uint8_t *r;
        size_t rlen = 0;
        if (deflate_msg(&d, json, 4096, &c) != WSF_Z_OK || !same(&c, c1.data, c1.len))
            ok = 0;
        r = ref_inflate(c.data, c.len, 15, &rlen);
        if (!r || rlen != 4096 || memcmp(r, json, 4096) != 0)
            ok = 0;
        free(r);
        if (inflate_msg(&s, c.data, c.len, &o) != WSF_Z_OK || !same(&o, json, 4096))
            ok = 0;
    }
    CHECK(ok);
    wsf_deflater_end(&d);

    /* A message that leans on the previous one fails once the inflater
     * has dropped its window. */
    wsf_deflater_init(&dt, 15, 8, -1, 0);
    CHECK_EQ(deflate_msg(&dt, json, 4096, &c), WSF_Z_OK);
    CHECK_EQ(inflate_msg(&s, c.data, c.len, &o), WSF_Z_OK);
    CHECK_EQ(deflate_msg(&dt, json, 4096, &c), WSF_Z_OK);
    CHECK(c.len < 100);
    CHECK_EQ(inflate_msg(&s, c.data, c.len, &o), WSF_Z_BAD_DATA);
    CHECK(s.error != NULL);
    wsf_deflater_end(&dt);
    wsf_inflater_end(&s);

    wsf_buf_free(&c);
    wsf_buf_free(&c1);
    wsf_buf_free(&o);
    free(json);
}

static void test_window_bits(void) {
    uint8_t *json = make_json(65536, 11);
    uint8_t *blk = make_random(1000);
    wsf_deflater d;
    wsf_inflater s;
    wsf_buf c = {0}, o = {0};
    int wb;

    for (wb = 8; wb <= 15; wb++) {
        /* Our deflater's output decodes with a reference window of exactly
         * wb, even for 8 which is compressed with 9. */
        check_roundtrip(json, 65536, wb, -1);
        /* And our inflater decodes a peer using that window. */
        if (wb >= 9) {
            size_t n = 0;
            uint8_t *p = ref_deflate(json, 65536, wb, &n);
            wsf_inflater_init(&s, wb, 0, 0);
            CHECK_EQ(inflate_msg(&s, p, n, &o), WSF_Z_OK);
            CHECK(same(&o, json, 65536));
            wsf_inflater_end(&s);
            free(p);
        }
    }
    wsf_deflater_init(&d, 8, 8, -1, 0);
    CHECK_EQ(d.window_bits, 9);
    wsf_inflater_init(&s, 8, 0, 0);
    CHECK_EQ(s.window_bits, 9);

    /* A peer using more window than agreed is caught when it reaches back
     * into an earlier message. (Within one message zlib checks distances
     * only against what lies outside its current output buffer.) */
    wsf_deflater_init(&d, 15, 8, -1, 0);
    CHECK_EQ(deflate_msg(&d, blk, 1000, &c), WSF_Z_OK);
    CHECK_EQ(inflate_msg(&s, c.data, c.len, &o), WSF_Z_OK);
    CHECK(same(&o, blk, 1000));
    CHECK_EQ(deflate_msg(&d, blk, 1000, &c), WSF_Z_OK);
    CHECK(c.len < 100);
    CHECK_EQ(inflate_msg(&s, c.data, c.len, &o), WSF_Z_BAD_DATA);
    wsf_deflater_end(&d);
    wsf_inflater_end(&s);

    wsf_buf_free(&c);
    wsf_buf_free(&o);
    free(json);
    free(blk);
}

/* Pieces of every size, both ways. */
static void test_fragments(void) {
    uint8_t *msg = make_json(600, 5);
    const size_t n = 600;
    wsf_deflater d;
    wsf_inflater s;
    wsf_buf c = {0}, whole = {0}, o = {0};
    size_t k, i;
    int mode, ok = 1;

    wsf_deflater_init(&d, 12, 5, -1, WSF_Z_NO_CONTEXT);
    CHECK_EQ(deflate_msg(&d, msg, n, &whole), WSF_Z_OK);
    for (mode = WSF_Z_MORE; mode <= WSF_Z_FLUSH; mode++) {
        for (k = 1; k <= n; k++) {
            uint8_t *r;
            size_t rlen = 0;
            c.len = 0;
            for (i = 0; i < n; i += k) {
                size_t m = n - i < k ? n - i : k;
                /* The last piece is final half of the time, else an empty
                 * final piece follows. */
                int last = i + m == n && (k & 1);
                if (wsf_deflate(&d, msg + i, m, last ? WSF_Z_FINAL : mode, &c) != WSF_Z_OK)
                    ok = 0;
            }
            if (!(k & 1) && wsf_deflate(&d, NULL, 0, WSF_Z_FINAL, &c) != WSF_Z_OK)
                ok = 0;
            r = ref_inflate(c.data, c.len, 12, &rlen);
            if (!r || rlen != n || memcmp(r, msg, n) != 0)
                ok = 0;
            free(r);
            /* Unflushed pieces leave zlib's output as for one piece. */
            if (mode == WSF_Z_MORE && !same(&c, whole.data, whole.len))
                ok = 0;
        }
    }
    CHECK(ok);

    /* Inflate the compressed message in pieces of every size. */
    wsf_inflater_init(&s, 12, n, WSF_Z_NO_CONTEXT);
    ok = 1;
    for (k = 1; k <= whole.len; k++) {
        o.len = 0;
        for (i = 0; i < whole.len; i += k) {
            size_t m = whole.len - i < k ? whole.len - i : k;
            int last = i + m == whole.len && (k & 1);
            if (wsf_inflate(&s, whole.data + i, m, last, &o, NULL) != WSF_Z_OK)
                ok = 0;
        }
        if (!(k & 1) && wsf_inflate(&s, NULL, 0, 1, &o, NULL) != WSF_Z_OK)
            ok = 0;
        if (!same(&o, msg, n))
            ok = 0;
    }
    CHECK(ok);
    wsf_inflater_end(&s);
    wsf_deflater_end(&d);

    /* Same with context takeover across the messages. */
    wsf_deflater_init(&d, 15, 8, -1, 0);
    wsf_inflater_init(&s, 15, n, 0);
    ok = 1;
    for (k = 1; k <= 64; k++) {
        CHECK_EQ(deflate_msg(&d, msg, n, &c), WSF_Z_OK);
        o.len = 0;
        for (i = 0; i < c.len; i += k) {
            size_t m = c.len - i < k ? c.len - i : k;
            if (wsf_inflate(&s, c.data + i, m, i + m == c.len, &o, NULL) != WSF_Z_OK)
                ok = 0;
        }
        if (!same(&o, msg, n))
            ok = 0;
    }
    CHECK(ok);
    wsf_deflater_end(&d);
    wsf_inflater_end(&s);

    wsf_buf_free(&c);
    wsf_buf_free(&whole);
    wsf_buf_free(&o);
    free(msg);
}

/* m zeros as a self-contained piece of raw deflate, sync flushed with the
 * 00 00 ff ff kept: such pieces may follow each other in one stream. */
static uint8_t *zeros_piece(size_t m, size_t *olen) {
    static const uint8_t zeros[1 << 16];
    z_stream zs;
    size_t cap = m / 200 + 1024;
    uint8_t *out = (uint8_t *)malloc(cap);
    memset(&zs, 0, sizeof zs);
    /* Run-length matching: the best ratio for zeros, and fast. */
    if (deflateInit2(&zs, 9, Z_DEFLATED, -15, 9, Z_RLE) != Z_OK)
        abort();
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    while (m > 0) {
        size_t k = m < sizeof zeros ? m : sizeof zeros;
        m -= k;
        zs.next_in = zeros;
        zs.avail_in = (uInt)k;
        if (deflate(&zs, m ? Z_NO_FLUSH : Z_SYNC_FLUSH) != Z_OK || zs.avail_out == 0)
            abort();
    }
    *olen = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

/* A message of n zeros, tail stripped. Built from repeated 1 MiB pieces,
 * so even 1 GiB costs little to make. */
static uint8_t *make_bomb(uint64_t n, size_t *olen) {
    size_t plen = 0, rlen = 0, len = 0;
    uint64_t k, count = n >> 20;
    uint8_t *piece = zeros_piece(1 << 20, &plen);
    uint8_t *rest = zeros_piece((size_t)(n & ((1 << 20) - 1)), &rlen);
    uint8_t *out = (uint8_t *)malloc((size_t)count * plen + rlen);

    for (k = 0; k < count; k++, len += plen)
        memcpy(out + len, piece, plen);
    if (n & ((1 << 20) - 1)) {
        memcpy(out + len, rest, rlen);
        len += rlen;
    }
    if (len < 4 || memcmp(out + len - 4, TAIL, 4) != 0)
        abort();
    *olen = len - 4;
    free(piece);
    free(rest);
    return out;
}

static void test_bomb(void) {
    const size_t limit = 1 << 20;
    size_t blen = 0, glen = 0, i;
    uint8_t *bomb = make_bomb((uint64_t)64 << 20, &blen);
    uint8_t *gbomb = make_bomb((uint64_t)1 << 30, &glen);
    wsf_inflater s;
    wsf_buf o = {0};
    wsf_utf8 u = {0};
    int rc = WSF_Z_OK;

    CHECK(blen < 128 * 1024);
    CHECK(glen < 2 * 1024 * 1024);

    wsf_inflater_init(&s, 15, limit, 0);
    CHECK_EQ(inflate_msg(&s, bomb, blen, &o), WSF_Z_TOO_BIG);
    CHECK(o.cap <= limit + 1);
    CHECK(o.len <= limit + 1);
    CHECK(s.msg_size <= limit + 1);
    CHECK_EQ(wsf_z_close_code(WSF_Z_TOO_BIG), 1009);
    CHECK(wsf_inflater_mem(&s) < 64 * 1024);
    /* Failed for good until ended. */
    CHECK_EQ(inflate_msg(&s, bomb, 10, &o), WSF_Z_MISUSE);
    wsf_inflater_end(&s);
    wsf_buf_free(&o);

    /* 1 GiB in ~1 MiB, fed as frames of 64 KiB: stops on the piece that
     * crosses the limit, long before the end. */
    wsf_inflater_init(&s, 15, limit, 0);
    for (i = 0; i < glen && rc == WSF_Z_OK; i += 65536) {
        size_t m = glen - i < 65536 ? glen - i : 65536;
        rc = wsf_inflate(&s, gbomb + i, m, i + m == glen, &o, NULL);
    }
    CHECK_EQ(rc, WSF_Z_TOO_BIG);
    CHECK(i <= 65536);
    CHECK(o.cap <= limit + 1);
    wsf_inflater_end(&s);

    /* A reused buffer with more room than the limit is not filled past it. */
    o.len = 0;
    wsf_buf_reserve(&o, 8 * limit);
    wsf_inflater_init(&s, 15, limit, 0);
    CHECK_EQ(inflate_msg(&s, bomb, blen, &o), WSF_Z_TOO_BIG);
    CHECK(o.len <= limit + 1);
    wsf_inflater_end(&s);
    wsf_buf_free(&o);

    /* Also while validating UTF-8 (zeros are valid). */
    wsf_inflater_init(&s, 15, limit, 0);
    o.len = 0;
    CHECK_EQ(wsf_inflate(&s, bomb, blen, 1, &o, &u), WSF_Z_TOO_BIG);
    CHECK(o.cap <= limit + 1);
    wsf_inflater_end(&s);
    wsf_buf_free(&o);

    /* Without a limit it all comes out. */
    wsf_inflater_init(&s, 15, 0, 0);
    CHECK_EQ(inflate_msg(&s, bomb, blen, &o), WSF_Z_OK);
    CHECK_EQ(o.len, (size_t)64 << 20);
    CHECK(o.len == ((size_t)64 << 20) && o.data[0] == 0 && o.data[o.len - 1] == 0);
    s.max_size = UINT64_MAX;
    CHECK_EQ(inflate_msg(&s, bomb, blen, &o), WSF_Z_OK);
    CHECK_EQ(o.len, (size_t)64 << 20);
    wsf_inflater_end(&s);
    wsf_buf_free(&o);

    /* Exactly at the limit passes, one byte over fails. */
    {
        size_t zlen = 0;
        uint8_t *z = make_bomb(limit, &zlen);
        wsf_inflater_init(&s, 15, limit, 0);
        CHECK_EQ(inflate_msg(&s, z, zlen, &o), WSF_Z_OK);
        CHECK_EQ(o.len, limit);
        CHECK(o.cap <= limit + 1);
        s.max_size = limit - 1;
        CHECK_EQ(inflate_msg(&s, z, zlen, &o), WSF_Z_TOO_BIG);
        wsf_inflater_end(&s);
        free(z);
    }
    /* The limit is per message: many messages each under it pass. */
    {
        size_t zlen = 0;
        uint8_t *z = make_bomb(1000, &zlen);
        int k, ok = 1;
        wsf_inflater_init(&s, 15, 1000, WSF_Z_NO_CONTEXT);
        for (k = 0; k < 3000; k++)
            if (inflate_msg(&s, z, zlen, &o) != WSF_Z_OK || o.len != 1000)
                ok = 0;
        CHECK(ok);
        wsf_inflater_end(&s);
        free(z);
    }

    wsf_buf_free(&o);
    free(bomb);
    free(gbomb);
}

static void test_corrupt(void) {
    static const uint8_t bad_type[] = {0xff, 0xff, 0xff};
    static const uint8_t hello1[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    uint8_t *json = make_json(2000, 9);
    wsf_deflater d;
    wsf_inflater s;
    wsf_buf c = {0}, o = {0};
    int i, ok = 1;

    wsf_inflater_init(&s, 15, 0, 0);
    CHECK_EQ(inflate_msg(&s, bad_type, sizeof bad_type, &o), WSF_Z_BAD_DATA);
    CHECK(s.error != NULL);
    CHECK_EQ(wsf_z_close_code(WSF_Z_BAD_DATA), 1007);
    CHECK_EQ(inflate_msg(&s, hello1, sizeof hello1, &o), WSF_Z_MISUSE);
    wsf_inflater_end(&s);
    CHECK_EQ(inflate_msg(&s, hello1, sizeof hello1, &o), WSF_Z_OK);
    CHECK(same(&o, "Hello", 5));

    /* Cut short: the message no longer ends on a block boundary. */
    wsf_deflater_init(&d, 15, 8, -1, 0);
    CHECK_EQ(deflate_msg(&d, json, 2000, &c), WSF_Z_OK);
    wsf_inflater_end(&s);
    CHECK_EQ(inflate_msg(&s, c.data, c.len - 3, &o), WSF_Z_BAD_DATA);
    wsf_inflater_end(&s);
    CHECK_EQ(inflate_msg(&s, hello1, sizeof hello1 - 1, &o), WSF_Z_BAD_DATA);
    wsf_inflater_end(&s);
    /* The tail left in by the sender is not valid either. */
    {
        uint8_t m[sizeof hello1 + 4];
        memcpy(m, hello1, sizeof hello1);
        memcpy(m + sizeof hello1, TAIL, 4);
        CHECK_EQ(inflate_msg(&s, m, sizeof m, &o), WSF_Z_BAD_DATA);
        wsf_inflater_end(&s);
    }

    /* Garbage and flipped bits: an answer, never a crash. */
    for (i = 0; i < 3000; i++) {
        uint8_t junk[300];
        size_t n = rnd() % sizeof junk, j;
        int rc;
        if (i & 1) {
            n = c.len;
            memcpy(junk, c.data, n < sizeof junk ? n : sizeof junk);
            if (n > sizeof junk)
                n = sizeof junk;
            junk[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8));
        } else {
            for (j = 0; j < n; j++)
                junk[j] = (uint8_t)rnd();
        }
        s.max_size = 4096;
        {
            uint8_t *dup = t_dup(junk, n);
            rc = inflate_msg(&s, dup, n, &o);
            free(dup);
        }
        if (rc != WSF_Z_OK && rc != WSF_Z_BAD_DATA && rc != WSF_Z_TOO_BIG)
            ok = 0;
        if (rc == WSF_Z_OK) {
            /* Whatever passed must agree with plain zlib, which stops at
             * a BFINAL block where we go on. */
            size_t rlen = 0;
            uint8_t *r = ref_inflate(junk, n, 15, &rlen);
            if (!r || rlen > o.len || (rlen && memcmp(o.data, r, rlen) != 0))
                ok = 0;
            free(r);
        }
        wsf_inflater_end(&s);
    }
    CHECK(ok);
    wsf_deflater_end(&d);
    wsf_inflater_end(&s);
    wsf_buf_free(&c);
    wsf_buf_free(&o);
    free(json);
}

static void test_utf8_option(void) {
    /* "é" and "€" repeated well past one 64 KiB slice, so some sequence
     * straddles two chunks of output. */
    const size_t n = 300001;
    uint8_t *text = (uint8_t *)malloc(n);
    wsf_deflater d;
    wsf_inflater s;
    wsf_buf c = {0}, o = {0};
    wsf_utf8 u;
    size_t i;

    for (i = 0; i + 5 <= n; i += 5) {
        text[i] = 0xc3, text[i + 1] = 0xa9;
        text[i + 2] = 0xe2, text[i + 3] = 0x82, text[i + 4] = 0xac;
    }
    text[n - 1] = 'x';
    wsf_deflater_init(&d, 15, 8, -1, 0);
    wsf_inflater_init(&s, 15, 0, 0);
    CHECK_EQ(deflate_msg(&d, text, n, &c), WSF_Z_OK);
    wsf_utf8_reset(&u);
    o.len = 0;
    CHECK_EQ(wsf_inflate(&s, c.data, c.len, 1, &o, &u), WSF_Z_OK);
    CHECK(same(&o, text, n));

    /* An invalid byte deep inside. */
    text[200000] = 0xff;
    CHECK_EQ(deflate_msg(&d, text, n, &c), WSF_Z_OK);
    wsf_utf8_reset(&u);
    o.len = 0;
    CHECK_EQ(wsf_inflate(&s, c.data, c.len, 1, &o, &u), WSF_Z_BAD_UTF8);
    CHECK(o.len < n);
    CHECK_EQ(wsf_z_close_code(WSF_Z_BAD_UTF8), 1007);
    wsf_inflater_end(&s);
    wsf_deflater_end(&d);

    /* Text cut inside a sequence fails at the final piece only. */
    wsf_deflater_init(&d, 15, 8, -1, 0);
    wsf_inflater_init(&s, 15, 0, 0);
    CHECK_EQ(deflate_msg(&d, (const uint8_t *)"ab\xe2\x82", 4, &c), WSF_Z_OK);
    wsf_utf8_reset(&u);
    o.len = 0;
    CHECK_EQ(wsf_inflate(&s, c.data, c.len, 0, &o, &u), WSF_Z_OK);
    CHECK_EQ(wsf_inflate(&s, NULL, 0, 1, &o, &u), WSF_Z_BAD_UTF8);
    wsf_inflater_end(&s);
    wsf_deflater_end(&d);

    wsf_buf_free(&c);
    wsf_buf_free(&o);
    free(text);
}

static void test_lazy_and_release(void) {
    uint8_t *json = make_json(3000, 2);
    wsf_deflater d;
    wsf_inflater s;
    wsf_buf c = {0}, o = {0};
    size_t dm, im, fresh;

    /* Nothing is allocated before the first message. */
    wsf_deflater_init(&d, 15, 8, -1, 0);
    wsf_inflater_init(&s, 15, 0, 0);
    CHECK_EQ(wsf_deflater_mem(&d), 0);
    CHECK_EQ(wsf_inflater_mem(&s), 0);
    CHECK(d.z == NULL && s.z == NULL);
    CHECK_EQ(wsf_deflater_release(&d), WSF_Z_OK);
    CHECK_EQ(wsf_inflater_release(&s), WSF_Z_OK);

    CHECK_EQ(deflate_msg(&d, json, 3000, &c), WSF_Z_OK);
    CHECK_EQ(inflate_msg(&s, c.data, c.len, &o), WSF_Z_OK);
    fresh = c.len;
    dm = wsf_deflater_mem(&d);
    im = wsf_inflater_mem(&s);
    CHECK(dm > 200 * 1024);
    CHECK(im > 32 * 1024);
    /* With context takeover the inflater's window is still needed. */
    CHECK_EQ(wsf_inflater_release(&s), WSF_Z_MISUSE);
    CHECK_EQ(wsf_inflater_mem(&s), im);

    /* Not in the middle of a message. */
    c.len = 0;
    CHECK_EQ(wsf_deflate(&d, json, 1000, WSF_Z_MORE, &c), WSF_Z_OK);
    CHECK_EQ(wsf_deflater_release(&d), WSF_Z_MISUSE);
    CHECK_EQ(wsf_deflate(&d, json + 1000, 2000, WSF_Z_FINAL, &c), WSF_Z_OK);
    CHECK_EQ(inflate_msg(&s, c.data, c.len, &o), WSF_Z_OK);
    CHECK(same(&o, json, 3000));
    /* Between messages the deflater may drop its context even though the
     * peer keeps its own: the next message just refers to nothing old. */
    CHECK_EQ(wsf_deflater_release(&d), WSF_Z_OK);
    CHECK_EQ(wsf_deflater_mem(&d), 0);
    CHECK_EQ(deflate_msg(&d, json, 3000, &c), WSF_Z_OK);
    CHECK_EQ(c.len, fresh);
    CHECK_EQ(inflate_msg(&s, c.data, c.len, &o), WSF_Z_OK);
    CHECK(same(&o, json, 3000));
    o.len = 0;
    CHECK_EQ(wsf_inflate(&s, c.data, 10, 0, &o, NULL), WSF_Z_OK);
    CHECK_EQ(wsf_inflater_release(&s), WSF_Z_MISUSE);
    wsf_deflater_end(&d);
    wsf_inflater_end(&s);
    CHECK_EQ(wsf_deflater_mem(&d), 0);
    CHECK_EQ(wsf_inflater_mem(&s), 0);

    /* No context takeover: reset keeps the memory, release frees it. */
    wsf_deflater_init(&d, 15, 8, -1, WSF_Z_NO_CONTEXT);
    wsf_inflater_init(&s, 15, 0, WSF_Z_NO_CONTEXT);
    CHECK_EQ(deflate_msg(&d, json, 3000, &c), WSF_Z_OK);
    CHECK_EQ(inflate_msg(&s, c.data, c.len, &o), WSF_Z_OK);
    CHECK_EQ(wsf_deflater_mem(&d), dm);
    CHECK_EQ(wsf_inflater_mem(&s), im);
    CHECK_EQ(wsf_inflater_release(&s), WSF_Z_OK);
    CHECK_EQ(wsf_deflater_release(&d), WSF_Z_OK);
    CHECK_EQ(wsf_deflater_mem(&d), 0);
    CHECK_EQ(wsf_inflater_mem(&s), 0);
    wsf_deflater_end(&d);
    wsf_inflater_end(&s);

    wsf_deflater_init(&d, 15, 8, -1, WSF_Z_NO_CONTEXT | WSF_Z_RELEASE);
    wsf_inflater_init(&s, 15, 0, WSF_Z_NO_CONTEXT | WSF_Z_RELEASE);
    CHECK_EQ(deflate_msg(&d, json, 3000, &c), WSF_Z_OK);
    CHECK_EQ(wsf_deflater_mem(&d), 0);
    CHECK_EQ(inflate_msg(&s, c.data, c.len, &o), WSF_Z_OK);
    CHECK_EQ(wsf_inflater_mem(&s), 0);
    CHECK(same(&o, json, 3000));
    /* Mid-message the state is there. */
    o.len = 0;
    CHECK_EQ(wsf_inflate(&s, c.data, 5, 0, &o, NULL), WSF_Z_OK);
    CHECK(wsf_inflater_mem(&s) > 0);
    CHECK_EQ(wsf_inflate(&s, c.data + 5, c.len - 5, 1, &o, NULL), WSF_Z_OK);
    CHECK_EQ(wsf_inflater_mem(&s), 0);
    CHECK(same(&o, json, 3000));
    wsf_deflater_end(&d);
    wsf_inflater_end(&s);

    wsf_buf_free(&c);
    wsf_buf_free(&o);
    free(json);
}

/* zlib's documented needs: deflate ~ 2^(wb+2) + 2^(ml+9), inflate
 * ~ 7 KiB + 2^wb once it has output. */
static void test_memory(void) {
    static const struct {
        int wb, ml;
        size_t dmin, dmax, imin, imax;
    } cases[] = {
        {12, 5, 16 * 1024 + 16 * 1024, 48 * 1024, 4 * 1024, 16 * 1024},
        {15, 8, 256 * 1024, 300 * 1024, 32 * 1024, 44 * 1024},
        {9, 1, 2 * 1024, 16 * 1024, 512, 12 * 1024},
    };
    uint8_t *json = make_json(10000, 4);
    wsf_buf c = {0}, o = {0};
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wsf_deflater d;
        wsf_inflater s;
        size_t dm, im;
        wsf_deflater_init(&d, cases[i].wb, cases[i].ml, -1, 0);
        wsf_inflater_init(&s, cases[i].wb, 0, 0);
        CHECK_EQ(deflate_msg(&d, json, 10000, &c), WSF_Z_OK);
        CHECK_EQ(inflate_msg(&s, c.data, c.len, &o), WSF_Z_OK);
        dm = wsf_deflater_mem(&d);
        im = wsf_inflater_mem(&s);
        CHECK(dm >= cases[i].dmin && dm <= cases[i].dmax);
        CHECK(im >= cases[i].imin && im <= cases[i].imax);
        /* Steady: more messages allocate nothing more. */
        CHECK_EQ(deflate_msg(&d, json, 10000, &c), WSF_Z_OK);
        CHECK_EQ(inflate_msg(&s, c.data, c.len, &o), WSF_Z_OK);
        CHECK_EQ(wsf_deflater_mem(&d), dm);
        CHECK_EQ(wsf_inflater_mem(&s), im);
        wsf_deflater_end(&d);
        wsf_inflater_end(&s);
        CHECK_EQ(wsf_deflater_mem(&d), 0);
        CHECK_EQ(wsf_inflater_mem(&s), 0);
    }
    wsf_buf_free(&c);
    wsf_buf_free(&o);
    free(json);
}

/* WSF_Z_KEEP_WINDOW: across 1,000 messages of varied sizes (some beyond
 * the window, some in fragments), each way against plain zlib streams
 * that keep their state; between messages only the window is held, and
 * the output is the same as a deflater that keeps zlib's state. */
static void test_keep_window(void) {
    static const int bits[] = {9, 12, 15};
    size_t b;

    for (b = 0; b < sizeof bits / sizeof bits[0]; b++) {
        int wb = bits[b];
        size_t w = (size_t)1 << wb;
        wsf_deflater d, keep;
        wsf_inflater s;
        wsf_buf c = {0}, ck = {0}, o = {0};
        z_stream ref, zd;
        uint8_t *zout = (uint8_t *)malloc(1 << 16);
        int i, ok = 1, same_out = 1, small = 1;

        CHECK_EQ(wsf_deflater_init(&d, wb, 5, -1, WSF_Z_KEEP_WINDOW), WSF_Z_OK);
        CHECK_EQ(wsf_deflater_init(&keep, wb, 5, -1, 0), WSF_Z_OK);
        CHECK_EQ(wsf_inflater_init(&s, wb, 1 << 20, WSF_Z_KEEP_WINDOW), WSF_Z_OK);
        memset(&ref, 0, sizeof ref);
        inflateInit2(&ref, -wb);
        memset(&zd, 0, sizeof zd);
        deflateInit2(&zd, 6, Z_DEFLATED, -wb, 8, Z_DEFAULT_STRATEGY);
        for (i = 0; i < 1000; i++) {
            size_t n = (rnd() % 8 == 0) ? 1000 + rnd() % 20000 : 20 + rnd() % 600;
            uint8_t *m = make_json(n, (unsigned)i);
            uint8_t *r;
            size_t rlen = 0, zlen;

            if (i % 10 == 3) { /* in three pieces */
                c.len = 0;
                if (wsf_deflate(&d, m, n / 3, WSF_Z_FLUSH, &c) != WSF_Z_OK ||
                    wsf_deflate(&d, m + n / 3, n / 3, WSF_Z_MORE, &c) != WSF_Z_OK ||
                    wsf_deflate(&d, m + 2 * (n / 3), n - 2 * (n / 3), WSF_Z_FINAL,
                                &c) != WSF_Z_OK)
                    ok = 0;
                /* the kept stream must see the message too */
                if (deflate_msg(&keep, m, n, &ck) != WSF_Z_OK)
                    ok = 0;
            } else {
                if (deflate_msg(&d, m, n, &c) != WSF_Z_OK ||
                    deflate_msg(&keep, m, n, &ck) != WSF_Z_OK)
                    ok = 0;
                if (c.len != ck.len || memcmp(c.data, ck.data, c.len) != 0)
                    same_out = 0;
            }
            if (wsf_deflater_mem(&d) > w)
                small = 0;
            r = ref_inflate_with(&ref, c.data, c.len, &rlen);
            if (!r || rlen != n || memcmp(r, m, n) != 0)
                ok = 0;
            free(r);

            /* the other way: a zlib stream that keeps its state */
            zd.next_in = m;
            zd.avail_in = (uInt)n;
            zd.next_out = zout;
            zd.avail_out = 1 << 16;
            if (deflate(&zd, Z_SYNC_FLUSH) != Z_OK || zd.avail_in != 0)
                ok = 0;
            zlen = (1 << 16) - zd.avail_out - 4;
            if (inflate_msg(&s, zout, zlen, &o) != WSF_Z_OK || !same(&o, m, n))
                ok = 0;
            if (wsf_inflater_mem(&s) > w)
                small = 0;
            free(m);
        }
        CHECK(ok);
        CHECK(same_out);
        CHECK(small);
        CHECK(wsf_deflater_mem(&d) > 0);
        CHECK(wsf_inflater_mem(&s) > 0);
        /* The inflater keeps its window through release; the deflater
         * drops it, and its next message stands alone. */
        CHECK_EQ(wsf_inflater_release(&s), WSF_Z_OK);
        CHECK_EQ(wsf_inflater_mem(&s), w);
        CHECK_EQ(wsf_deflater_release(&d), WSF_Z_OK);
        CHECK_EQ(wsf_deflater_mem(&d), 0);
        {
            static const char m[] = "after release, a message standing alone";
            uint8_t *r;
            size_t rlen = 0;
            CHECK_EQ(deflate_msg(&d, (const uint8_t *)m, sizeof m - 1, &c), WSF_Z_OK);
            r = ref_inflate(c.data, c.len, wb, &rlen);
            CHECK(r && rlen == sizeof m - 1 && memcmp(r, m, rlen) == 0);
            free(r);
        }
        inflateEnd(&ref);
        deflateEnd(&zd);
        free(zout);
        wsf_deflater_end(&d);
        wsf_deflater_end(&keep);
        wsf_inflater_end(&s);
        CHECK_EQ(wsf_deflater_mem(&d), 0);
        CHECK_EQ(wsf_inflater_mem(&s), 0);
        wsf_buf_free(&c);
        wsf_buf_free(&ck);
        wsf_buf_free(&o);
    }

    /* With no_context_takeover the flag just frees everything. */
    {
        wsf_deflater d;
        wsf_inflater s;
        wsf_buf c = {0}, o = {0};
        uint8_t *m = make_json(3000, 9);
        CHECK_EQ(wsf_deflater_init(&d, 12, 5, -1, WSF_Z_NO_CONTEXT | WSF_Z_KEEP_WINDOW), WSF_Z_OK);
        CHECK_EQ(wsf_inflater_init(&s, 12, 0, WSF_Z_NO_CONTEXT | WSF_Z_KEEP_WINDOW), WSF_Z_OK);
        CHECK_EQ(deflate_msg(&d, m, 3000, &c), WSF_Z_OK);
        CHECK_EQ(inflate_msg(&s, c.data, c.len, &o), WSF_Z_OK);
        CHECK(same(&o, m, 3000));
        CHECK_EQ(wsf_deflater_mem(&d), 0);
        CHECK_EQ(wsf_inflater_mem(&s), 0);
        /* mid-message the deflater holds zlib's state */
        c.len = 0;
        CHECK_EQ(wsf_deflate(&d, m, 100, WSF_Z_FLUSH, &c), WSF_Z_OK);
        CHECK(wsf_deflater_mem(&d) > 4096);
        CHECK_EQ(wsf_deflater_release(&d), WSF_Z_MISUSE);
        wsf_deflater_end(&d);
        wsf_inflater_end(&s);
        wsf_buf_free(&c);
        wsf_buf_free(&o);
        free(m);
    }
}

static void test_misuse(void) {
    wsf_deflater d;
    wsf_inflater s;
    wsf_buf c = {0};

    CHECK_EQ(wsf_deflater_init(&d, 7, 8, -1, 0), WSF_Z_MISUSE);
    CHECK_EQ(wsf_deflate(&d, (const uint8_t *)"x", 1, WSF_Z_FINAL, &c), WSF_Z_MISUSE);
    CHECK_EQ(wsf_deflater_init(&d, 16, 8, -1, 0), WSF_Z_MISUSE);
    CHECK_EQ(wsf_deflater_init(&d, 15, 10, -1, 0), WSF_Z_MISUSE);
    CHECK_EQ(wsf_deflater_init(&d, 15, 8, 10, 0), WSF_Z_MISUSE);
    CHECK_EQ(wsf_deflater_init(&d, 15, 8, -2, 0), WSF_Z_MISUSE);
    CHECK_EQ(wsf_deflater_init(&d, 15, 8, -1, 0x80), WSF_Z_MISUSE);
    CHECK_EQ(wsf_deflater_init(&d, 15, 0, -1, 0), WSF_Z_OK);
    CHECK_EQ(d.mem_level, WSF_Z_DEFAULT_MEM_LEVEL);
    CHECK_EQ(wsf_deflate(&d, (const uint8_t *)"x", 1, 7, &c), WSF_Z_MISUSE);
    CHECK_EQ(wsf_deflater_mem(&d), 0);
    wsf_deflater_end(&d);

    CHECK_EQ(wsf_inflater_init(&s, 7, 0, 0), WSF_Z_MISUSE);
    CHECK_EQ(wsf_inflater_init(&s, 16, 0, 0), WSF_Z_MISUSE);
    CHECK_EQ(wsf_inflater_init(&s, 15, 0, WSF_Z_RELEASE), WSF_Z_MISUSE);
    CHECK_EQ(wsf_inflater_init(&s, 15, 0, 0x80), WSF_Z_MISUSE);
    CHECK_EQ(wsf_z_close_code(WSF_Z_OK), 0);
    CHECK_EQ(wsf_z_close_code(WSF_Z_NOMEM), 1011);
    CHECK_EQ(wsf_z_close_code(WSF_Z_MISUSE), 1011);

    CHECK_EQ(wsf_buf_reserve(&c, 100), WSF_Z_OK);
    CHECK(c.cap >= 100 && c.len == 0);
    wsf_buf_free(&c);
    CHECK(c.data == NULL && c.cap == 0);
}

int main(void) {
    test_roundtrips();
    test_rfc_examples();
    test_context_takeover();
    test_no_context_takeover();
    test_window_bits();
    test_fragments();
    test_bomb();
    test_corrupt();
    test_utf8_option();
    test_lazy_and_release();
    test_memory();
    test_keep_window();
    test_misuse();
    return t_report("test_deflate");
}
