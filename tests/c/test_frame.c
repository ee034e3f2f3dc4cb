/* Tests of the frame encoder and parser. Every stream is fed whole, a
 * byte at a time, split at every point and at random points; all feeds
 * must agree, including the error. Whole and split feeds run twice: with
 * wsf_parse alone, and taking whole frames with wsf_whole_frame /
 * wsf_take_whole first, as the Python binding does. Input chunks and
 * destinations are exact-size heap buffers so ASan catches any access
 * past them. */
#include <stdint.h>
#include "test_util.h"
#include "frame.h"
#include "mask.h"

#define SERVER WSF_PARSER_SERVER
#define CLIENT 0
#define PE WSF_CLOSE_PROTOCOL_ERROR
#define BAD_DATA WSF_CLOSE_INVALID_DATA
#define BIG WSF_CLOSE_TOO_BIG

/* --- stream builder ---------------------------------------------------- */

typedef struct {
    uint8_t *b;
    size_t n, cap;
} sbuf;

static void sb_room(sbuf *s, size_t more) {
    if (s->n + more > s->cap) {
        s->cap = (s->n + more) * 2;
        s->b = (uint8_t *)realloc(s->b, s->cap);
        if (!s->b) abort();
    }
}

static void sb_raw(sbuf *s, const void *p, size_t n) {
    sb_room(s, n);
    if (n) memcpy(s->b + s->n, p, n);
    s->n += n;
}

/* Appends a frame; masked frames get a key that varies with position. */
static void sb_frame(sbuf *s, unsigned op, unsigned fl, const void *payload,
                     size_t len, int masked) {
    uint8_t key[4];
    key[0] = (uint8_t)(0x37 + s->n);
    key[1] = 0xFA;
    key[2] = (uint8_t)(0x21 ^ s->n);
    key[3] = 0x3D;
    sb_room(s, wsf_header_size(len, masked) + len);
    s->n += wsf_encode_frame(s->b + s->n, op, fl, (const uint8_t *)payload,
                             len, masked ? key : NULL);
}

#define STR(lit) (lit), sizeof(lit) - 1

/* --- driver ------------------------------------------------------------ */

#define MAXF 64

typedef struct {
    int nheaders, nframes;
    uint8_t op[MAXF], fl[MAXF];
    uint64_t len[MAXF];
    unsigned char *data[MAXF];
    int in_msg[MAXF]; /* wsf_parser_in_message after each WSF_FRAME */
    int result;       /* WSF_NEED_MORE or WSF_ERROR once input ran out */
    unsigned code;
    const char *err;
} run_t;

static void run_free(run_t *r) {
    int i;
    for (i = 0; i < r->nheaders; i++) free(r->data[i]);
    memset(r, 0, sizeof *r);
}

/* Counts a check only when it fails: these run for every chunk. */
#define QCHECK(cond) do { if (!(cond)) CHECK(cond); } while (0)

/* 1: feed() takes whole frames through the fast path when it can. */
static int use_whole = 0;
static long whole_taken = 0; /* frames it took so, to see it did */

/* Feeds one chunk; returns the last wsf_parse result. */
static int feed(run_t *r, wsf_parser *p, const uint8_t *s, size_t n) {
    unsigned char *buf = t_dup(s, n);
    size_t pos = 0, plen;
    int rc;
    for (;;) {
        if (use_whole && wsf_whole_frame(p, buf, n, pos, &plen)) {
            int k = r->nheaders++;
            size_t before = pos;
            if (k >= MAXF) abort();
            QCHECK(plen == p->frame_len && plen < n);
            QCHECK(p->frame_flags & WSF_FIN);
            QCHECK(p->opcode == WSF_OP_TEXT || p->opcode == WSF_OP_BINARY);
            r->op[k] = p->opcode;
            r->fl[k] = p->frame_flags;
            r->len[k] = plen;
            r->data[k] = plen ? (unsigned char *)malloc(plen) : NULL;
            rc = wsf_take_whole(p, buf, n, &pos, r->data[k], plen);
            if (rc != WSF_FRAME) {
                QCHECK(rc == WSF_ERROR);
                break;
            }
            QCHECK(pos > before && pos - before >= plen + 2 && pos <= n);
            QCHECK(p->opcode == r->op[k] && p->frame_len == plen);
            r->in_msg[r->nframes++] = wsf_parser_in_message(p);
            whole_taken++;
            continue;
        }
        rc = wsf_parse(p, buf, n, &pos);
        if (rc == WSF_HEADER) {
            int k = r->nheaders++;
            if (k >= MAXF || p->frame_len > ((uint64_t)1 << 24)) abort();
            r->op[k] = p->opcode;
            r->fl[k] = p->frame_flags;
            r->len[k] = p->frame_len;
            r->data[k] = p->frame_len ? (unsigned char *)malloc((size_t)p->frame_len) : NULL;
            if (p->frame_len) wsf_parser_set_dest(p, r->data[k]);
        } else if (rc == WSF_FRAME) {
            QCHECK(r->nframes + 1 == r->nheaders);
            QCHECK(p->opcode == r->op[r->nframes]);
            r->in_msg[r->nframes++] = wsf_parser_in_message(p);
        } else {
            break;
        }
    }
    if (rc == WSF_NEED_MORE) QCHECK(pos == n);
    QCHECK(pos <= n);
    free(buf);
    return rc;
}

/* Feeds s split at cuts[0..ncuts) (ascending). */
static void run_cuts(run_t *r, unsigned flags, uint64_t maxf, uint64_t maxm,
                     const uint8_t *s, size_t n, const size_t *cuts,
                     size_t ncuts) {
    wsf_parser p;
    size_t i, start = 0;
    int rc = WSF_NEED_MORE;
    memset(r, 0, sizeof *r);
    memset(&p, 0xA5, sizeof p); /* init must not rely on a zeroed struct */
    wsf_parser_init(&p, flags, maxf, maxm);
    for (i = 0; i <= ncuts && rc != WSF_ERROR; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        rc = feed(r, &p, s + start, end - start);
        start = end;
    }
    r->result = rc;
    if (rc == WSF_ERROR) {
        /* frames either role would take whole */
        static const uint8_t masked[6] = {0x81, 0x80, 0, 0, 0, 0};
        static const uint8_t plain[2] = {0x81, 0x00};
        size_t pos = 0, plen;
        r->code = p.close_code;
        r->err = p.error;
        /* sticky, on either path */
        QCHECK(!wsf_whole_frame(&p, masked, 6, 0, &plen));
        QCHECK(!wsf_whole_frame(&p, plain, 2, 0, &plen));
        QCHECK(wsf_take_whole(&p, masked, 6, &pos, NULL, 0) == WSF_ERROR);
        QCHECK(p.close_code == r->code && p.error == r->err);
        QCHECK(wsf_parse(&p, (const uint8_t *)"\x81\x00", 2, &pos) == WSF_ERROR);
        QCHECK(wsf_parse(&p, NULL, 0, &pos) == WSF_ERROR);
        QCHECK(p.close_code == r->code);
        QCHECK(p.error == r->err);
    }
}

static int runs_equal(const run_t *a, const run_t *b) {
    int i;
    if (a->nheaders != b->nheaders || a->nframes != b->nframes ||
        a->result != b->result || a->code != b->code || a->err != b->err)
        return 0;
    for (i = 0; i < a->nheaders; i++) {
        if (a->op[i] != b->op[i] || a->fl[i] != b->fl[i] || a->len[i] != b->len[i])
            return 0;
        if (i < a->nframes &&
            (a->in_msg[i] != b->in_msg[i] ||
             (a->len[i] && memcmp(a->data[i], b->data[i], (size_t)a->len[i]))))
            return 0;
    }
    return 1;
}

static uint32_t rng_state = 12345;
static uint32_t rng(void) {
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

/* Runs s whole, then split every which way; each feed must match the
 * whole one. The whole run is left in *out (caller frees). */
static void check_splits(run_t *out, unsigned flags, uint64_t maxf,
                         uint64_t maxm, const uint8_t *s, size_t n, int line) {
    run_t r;
    size_t *cuts = (size_t *)malloc((n + 1) * sizeof *cuts);
    size_t i, j;
    int bad = 0;
    if (!cuts) abort();
    use_whole = 0;
    run_cuts(out, flags, maxf, maxm, s, n, NULL, 0);
    /* a byte at a time (no frame is ever whole in one byte) */
    for (i = 1; i < n; i++) cuts[i - 1] = i;
    run_cuts(&r, flags, maxf, maxm, s, n, cuts, n ? n - 1 : 0);
    bad += !runs_equal(out, &r);
    run_free(&r);
    for (use_whole = 0; use_whole < 2; use_whole++) {
        if (use_whole) {
            run_cuts(&r, flags, maxf, maxm, s, n, NULL, 0);
            bad += !runs_equal(out, &r);
            run_free(&r);
        }
        /* two pieces, at every point (long streams: all through the
         * header, then a sample) */
        for (i = 0; i <= n; i += n > 600 && i >= 20 ? n / 23 : 1) {
            cuts[0] = i;
            run_cuts(&r, flags, maxf, maxm, s, n, cuts, 1);
            bad += !runs_equal(out, &r);
            run_free(&r);
        }
        /* random pieces, empty ones included */
        for (j = 0; j < 20; j++) {
            size_t nc = 0, at = 0;
            while (nc < n && at <= n) {
                at += rng() % (n > 4096 ? 9000 : j < 10 ? 4 : 40);
                if (at > n) break;
                cuts[nc++] = at;
            }
            run_cuts(&r, flags, maxf, maxm, s, n, cuts, nc);
            bad += !runs_equal(out, &r);
            run_free(&r);
        }
    }
    use_whole = 0;
    free(cuts);
    t_checks++;
    if (bad) {
        t_failures++;
        fprintf(stderr, "line %d: %d split feeds disagree with the whole feed\n",
                line, bad);
    }
}

/* Expects the stream to fail with code/err after nframes whole frames. */
static void expect_error(unsigned flags, uint64_t maxf, uint64_t maxm,
                         const sbuf *s, unsigned code, const char *err,
                         int nframes, int line) {
    run_t r;
    check_splits(&r, flags, maxf, maxm, s->b, s->n, line);
    t_checks++;
    if (r.result != WSF_ERROR || r.code != code || r.nframes != nframes ||
        !r.err || strcmp(r.err, err) != 0) {
        t_failures++;
        fprintf(stderr,
                "line %d: got result %d code %u \"%s\" after %d frames; "
                "want error %u \"%s\" after %d\n",
                line, r.result, r.code, r.err ? r.err : "", r.nframes, code,
                err, nframes);
    }
    run_free(&r);
}
#define EXPECT_ERROR(fl, mf, mm, s, code, err, nf) \
    expect_error(fl, mf, mm, s, code, err, nf, __LINE__)

/* Expects the stream to parse into nframes frames and want more. */
static void expect_ok(unsigned flags, uint64_t maxf, uint64_t maxm,
                      const sbuf *s, int nframes, int line) {
    run_t r;
    check_splits(&r, flags, maxf, maxm, s->b, s->n, line);
    t_checks++;
    if (r.result != WSF_NEED_MORE || r.nframes != nframes) {
        t_failures++;
        fprintf(stderr, "line %d: got result %d (%u \"%s\") after %d frames; want %d frames\n",
                line, r.result, r.code, r.err ? r.err : "", r.nframes, nframes);
    }
    run_free(&r);
}
#define EXPECT_OK(fl, mf, mm, s, nf) expect_ok(fl, mf, mm, s, nf, __LINE__)

/* The first two header bytes of a frame alone, after what s holds. */
static void sb_head2(sbuf *s, unsigned b0, unsigned b1) {
    uint8_t h[2];
    h[0] = (uint8_t)b0;
    h[1] = (uint8_t)b1;
    sb_raw(s, h, 2);
}

/* --- tests ------------------------------------------------------------- */

static void test_encode_vectors(void) {
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    uint8_t out[80];
    size_t n;

    CHECK_EQ(wsf_header_size(0, 0), 2);
    CHECK_EQ(wsf_header_size(125, 0), 2);
    CHECK_EQ(wsf_header_size(126, 0), 4);
    CHECK_EQ(wsf_header_size(65535, 0), 4);
    CHECK_EQ(wsf_header_size(65536, 0), 10);
    CHECK_EQ(wsf_header_size(UINT64_MAX >> 1, 0), 10);
    CHECK_EQ(wsf_header_size(0, 1), 6);
    CHECK_EQ(wsf_header_size(126, 1), 8);
    CHECK_EQ(wsf_header_size(65536, 1), 14);

    /* RFC 6455 section 5.7 */
    n = wsf_encode_frame(out, WSF_OP_TEXT, WSF_FIN, (const uint8_t *)"Hello", 5, NULL);
    CHECK_EQ(n, 7);
    CHECK(memcmp(out, "\x81\x05Hello", 7) == 0);
    n = wsf_encode_frame(out, WSF_OP_TEXT, WSF_FIN, (const uint8_t *)"Hello", 5, key);
    CHECK_EQ(n, 11);
    CHECK(memcmp(out, "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11) == 0);
    n = wsf_encode_frame(out, WSF_OP_TEXT, 0, (const uint8_t *)"Hel", 3, NULL);
    CHECK(n == 5 && memcmp(out, "\x01\x03Hel", 5) == 0);
    n = wsf_encode_frame(out, WSF_OP_CONT, WSF_FIN, (const uint8_t *)"lo", 2, NULL);
    CHECK(n == 4 && memcmp(out, "\x80\x02lo", 4) == 0);
    n = wsf_encode_frame(out, WSF_OP_PING, WSF_FIN, (const uint8_t *)"Hello", 5, NULL);
    CHECK(n == 7 && memcmp(out, "\x89\x05Hello", 7) == 0);
    n = wsf_encode_frame(out, WSF_OP_PONG, WSF_FIN, (const uint8_t *)"Hello", 5, key);
    CHECK(n == 11 && memcmp(out, "\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11) == 0);
    n = wsf_encode_header(out, WSF_OP_BINARY, WSF_FIN, 256, NULL);
    CHECK(n == 4 && memcmp(out, "\x82\x7e\x01\x00", 4) == 0);
    n = wsf_encode_header(out, WSF_OP_BINARY, WSF_FIN, 65536, NULL);
    CHECK(n == 10 && memcmp(out, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10) == 0);
    n = wsf_encode_header(out, WSF_OP_BINARY, WSF_FIN | WSF_RSV1, 65535, key);
    CHECK(n == 8 && memcmp(out, "\xc2\xfe\xff\xff\x37\xfa\x21\x3d", 8) == 0);
    n = wsf_encode_header(out, WSF_OP_TEXT, 0, 125, NULL);
    CHECK(n == 2 && memcmp(out, "\x01\x7d", 2) == 0);
    n = wsf_encode_header(out, WSF_OP_CLOSE, WSF_FIN, 0, key);
    CHECK(n == 6 && memcmp(out, "\x88\x80\x37\xfa\x21\x3d", 6) == 0);
    n = wsf_encode_header(out, WSF_OP_BINARY, WSF_FIN, UINT64_C(0x0102030405060708), NULL);
    CHECK(n == 10 && memcmp(out, "\x82\x7f\x01\x02\x03\x04\x05\x06\x07\x08", 10) == 0);
    n = wsf_encode_frame(out, WSF_OP_BINARY, WSF_FIN, NULL, 0, NULL);
    CHECK(n == 2 && memcmp(out, "\x82\x00", 2) == 0);
}

/* Valid UTF-8 of exactly len bytes, with characters of every length. */
static void fill_text(uint8_t *b, size_t len) {
    static const char *const chars[4] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9d\x84\x9e"};
    size_t i = 0, k = 0;
    while (i < len) {
        size_t cl = k % 4 + 1;
        if (cl > len - i) cl = 1;
        memcpy(b + i, chars[cl - 1], cl);
        i += cl;
        k++;
    }
}

static void fill_payload(uint8_t *b, size_t len, unsigned op) {
    size_t i;
    if (op == WSF_OP_TEXT || op == WSF_OP_CONT) {
        fill_text(b, len);
    } else if (op == WSF_OP_CLOSE && len >= 2) {
        b[0] = 0x03;
        b[1] = 0xE8;
        fill_text(b + 2, len - 2);
    } else {
        for (i = 0; i < len; i++) b[i] = (uint8_t)(i * 131 + 7);
    }
}

/* encode -> parse for every opcode, length form, role and FIN state */
static void test_roundtrip(void) {
    static const unsigned ops[] = {WSF_OP_CONT, WSF_OP_TEXT, WSF_OP_BINARY,
                                   WSF_OP_CLOSE, WSF_OP_PING, WSF_OP_PONG};
    static const size_t lens[] = {0, 1, 2, 125, 126, 127, 65535, 65536, 70001};
    size_t oi, li;
    int role, fin;
    for (role = 0; role < 2; role++) {
        unsigned flags = role ? SERVER : CLIENT;
        for (oi = 0; oi < sizeof ops / sizeof *ops; oi++) {
            unsigned op = ops[oi];
            for (li = 0; li < sizeof lens / sizeof *lens; li++) {
                size_t len = lens[li];
                for (fin = 0; fin < 2; fin++) {
                    sbuf s = {0};
                    run_t r;
                    uint8_t *payload;
                    int first = 0;
                    if (op >= 8 && (len > 125 || !fin)) continue;
                    if (op == WSF_OP_CLOSE && len == 1) continue;
                    payload = (uint8_t *)malloc(len + 1);
                    fill_payload(payload, len, op);
                    if (op == WSF_OP_CONT) {
                        sb_frame(&s, WSF_OP_TEXT, 0, "ab", 2, role);
                        first = 1;
                    }
                    sb_frame(&s, op, fin ? WSF_FIN : 0, payload, len, role);
                    check_splits(&r, flags, 0, 0, s.b, s.n, __LINE__);
                    CHECK_EQ(r.result, WSF_NEED_MORE);
                    CHECK_EQ(r.nframes, first + 1);
                    CHECK_EQ(r.op[first], op);
                    CHECK_EQ(r.fl[first], fin ? WSF_FIN : 0);
                    CHECK_EQ(r.len[first], len);
                    CHECK(len == 0 || (r.nframes > first &&
                                       memcmp(r.data[first], payload, len) == 0));
                    CHECK_EQ(r.in_msg[first], op < 8 && !fin);
                    run_free(&r);
                    free(payload);
                    free(s.b);
                }
            }
        }
    }
}

/* Lengths in the 64-bit form are checked from the header alone. */
static void test_long_headers(void) {
    static const uint8_t key[4] = {1, 2, 3, 4};
    static const uint64_t lens[] = {UINT64_C(0x100000005), UINT64_C(0x7FFFFFFFFFFFFFFF),
                                    65536};
    size_t i;
    int masked;
    for (i = 0; i < sizeof lens / sizeof *lens; i++) {
        for (masked = 0; masked < 2; masked++) {
            uint8_t h[14];
            size_t n = wsf_encode_header(h, WSF_OP_BINARY, WSF_FIN, lens[i], masked ? key : NULL);
            size_t pos = 0, k;
            wsf_parser p;
            unsigned char *c = t_dup(h, n);
            CHECK_EQ(n, masked ? 14 : 10);
            wsf_parser_init(&p, masked ? SERVER : CLIENT, 0, 0);
            CHECK_EQ(wsf_parse(&p, c, n, &pos), WSF_HEADER);
            CHECK_EQ(pos, n);
            CHECK(p.frame_len == lens[i]);
            CHECK_EQ(p.opcode, WSF_OP_BINARY);
            CHECK_EQ(p.frame_flags, WSF_FIN);
            /* a byte at a time */
            wsf_parser_init(&p, masked ? SERVER : CLIENT, 0, 0);
            for (k = 0; k < n; k++) {
                pos = k;
                CHECK_EQ(wsf_parse(&p, c, k + 1, &pos), k + 1 < n ? WSF_NEED_MORE : WSF_HEADER);
                CHECK_EQ(pos, k + 1);
            }
            CHECK(p.frame_len == lens[i]);
            /* frame limit: just above fails, equal passes */
            wsf_parser_init(&p, masked ? SERVER : CLIENT, lens[i] - 1, 0);
            pos = 0;
            CHECK_EQ(wsf_parse(&p, c, n, &pos), WSF_ERROR);
            CHECK_EQ(p.close_code, BIG);
            CHECK(strcmp(p.error, "frame too big") == 0);
            wsf_parser_init(&p, masked ? SERVER : CLIENT, lens[i], lens[i] - 1);
            pos = 0;
            CHECK_EQ(wsf_parse(&p, c, n, &pos), WSF_ERROR);
            CHECK_EQ(p.close_code, BIG);
            CHECK(strcmp(p.error, "message too big") == 0);
            free(c);
        }
    }
    {
        sbuf s = {0};
        /* most significant bit set */
        sb_raw(&s, STR("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00"));
        EXPECT_ERROR(CLIENT, 0, 0, &s, PE, "invalid frame length", 0);
        /* ... is checked before the frame limit */
        EXPECT_ERROR(CLIENT, 10, 10, &s, PE, "invalid frame length", 0);
        /* and needs the whole header */
        s.n--;
        EXPECT_OK(CLIENT, 0, 0, &s, 0);
        s.n = 0;
        /* non-minimal length encodings are accepted */
        sb_raw(&s, STR("\x82\x7f\x00\x00\x00\x00\x00\x00\x00\x03xyz"));
        sb_raw(&s, STR("\x82\x7e\x00\x02zz"));
        sb_raw(&s, STR("\x89\x7e\x00\x00"));
        EXPECT_ERROR(CLIENT, 0, 0, &s, PE, "control frame too long", 2);
        s.n -= 4;
        EXPECT_OK(CLIENT, 0, 0, &s, 2);
        free(s.b);
    }
}

/* Rules on the first two bytes, in order; each also fails on those two
 * bytes alone, before the rest of the header arrives. */
static void test_head_rules(void) {
    static const struct {
        unsigned flags, b0, b1;
        int open; /* open a text message first */
        const char *err;
    } cases[] = {
        {SERVER, 0xA1, 0x80, 0, "reserved bits set"},               /* RSV2 */
        {SERVER, 0x91, 0x80, 0, "reserved bits set"},               /* RSV3 */
        {SERVER, 0xC1, 0x80, 0, "reserved bits set"},               /* RSV1 not negotiated */
        {SERVER | WSF_PARSER_ALLOW_RSV1, 0xE1, 0x80, 0, "reserved bits set"},
        {SERVER | WSF_PARSER_ALLOW_RSV1, 0xF3, 0x80, 0, "reserved bits set"}, /* before opcode */
        {SERVER, 0x83, 0x80, 0, "reserved opcode"},
        {SERVER, 0x84, 0x80, 0, "reserved opcode"},
        {SERVER, 0x85, 0x80, 0, "reserved opcode"},
        {SERVER, 0x86, 0x80, 0, "reserved opcode"},
        {SERVER, 0x87, 0x80, 0, "reserved opcode"},
        {SERVER, 0x8B, 0x80, 0, "reserved opcode"},
        {SERVER, 0x8C, 0x80, 0, "reserved opcode"},
        {SERVER, 0x8D, 0x80, 0, "reserved opcode"},
        {SERVER, 0x8E, 0x80, 0, "reserved opcode"},
        {SERVER, 0x0F, 0x7F, 0, "reserved opcode"},                 /* before control rules */
        {SERVER, 0x09, 0x80, 0, "fragmented control frame"},
        {SERVER, 0x08, 0x7E, 0, "fragmented control frame"},        /* before length, mask */
        {SERVER, 0x8A, 0xFE, 0, "control frame too long"},
        {SERVER, 0x89, 0xFF, 0, "control frame too long"},
        {CLIENT, 0x88, 0x7E, 0, "control frame too long"},
        {SERVER | WSF_PARSER_ALLOW_RSV1, 0xC9, 0xFE, 0, "control frame too long"},
        {SERVER | WSF_PARSER_ALLOW_RSV1, 0xC9, 0x80, 0, "compressed control frame"},
        {CLIENT | WSF_PARSER_ALLOW_RSV1, 0xC8, 0x80, 0, "compressed control frame"}, /* before mask */
        {SERVER, 0x81, 0x00, 0, "unmasked client frame"},
        {SERVER, 0x89, 0x05, 0, "unmasked client frame"},
        {SERVER, 0x80, 0x00, 0, "unmasked client frame"},           /* before continuation */
        {CLIENT, 0x82, 0x80, 0, "masked server frame"},
        {CLIENT, 0x00, 0x80, 0, "masked server frame"},
        {SERVER, 0x80, 0x80, 0, "unexpected continuation frame"},
        {SERVER, 0x00, 0x85, 0, "unexpected continuation frame"},
        {CLIENT | WSF_PARSER_ALLOW_RSV1, 0xC0, 0x00, 0, "unexpected continuation frame"},
        {CLIENT | WSF_PARSER_ALLOW_RSV1, 0xC0, 0x00, 1, "RSV1 on continuation frame"},
        {SERVER | WSF_PARSER_ALLOW_RSV1, 0x40, 0x80, 1, "RSV1 on continuation frame"},
        {SERVER, 0x81, 0x80, 1, "expected continuation frame"},
        {SERVER, 0x02, 0x80, 1, "expected continuation frame"},
        {CLIENT | WSF_PARSER_ALLOW_RSV1, 0xC1, 0x00, 1, "expected continuation frame"},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof *cases; i++) {
        unsigned flags = cases[i].flags;
        int masked = (flags & SERVER) != 0, opened = cases[i].open;
        sbuf s = {0};
        if (opened) sb_frame(&s, WSF_OP_TEXT, 0, "x", 1, masked);
        /* two bytes alone */
        sb_head2(&s, cases[i].b0, cases[i].b1);
        expect_error(flags, 0, 0, &s, PE, cases[i].err, opened, (int)(1000 + i));
        /* with the rest of the header and some payload after it */
        sb_raw(&s, STR("\x00\x05\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b"));
        expect_error(flags, 0, 0, &s, PE, cases[i].err, opened, (int)(2000 + i));
        free(s.b);
    }
    {
        /* the allowed cases of the same rules */
        sbuf s = {0};
        sb_frame(&s, WSF_OP_TEXT, WSF_FIN | WSF_RSV1, "\xff", 1, 1);
        sb_frame(&s, WSF_OP_BINARY, WSF_RSV1, "ab", 2, 1);
        sb_frame(&s, WSF_OP_PING, WSF_FIN, "", 0, 1);
        sb_frame(&s, WSF_OP_CONT, 0, "c", 1, 1);
        sb_frame(&s, WSF_OP_CONT, WSF_FIN, "d", 1, 1);
        EXPECT_OK(SERVER | WSF_PARSER_ALLOW_RSV1, 0, 0, &s, 5);
        EXPECT_ERROR(SERVER, 0, 0, &s, PE, "reserved bits set", 0);
        EXPECT_ERROR(CLIENT | WSF_PARSER_ALLOW_RSV1, 0, 0, &s, PE, "masked server frame", 0);
        free(s.b);
    }
}

static void test_size_limits(void) {
    static const uint8_t ten[10] = {0};
    static const uint8_t big[125] = {0};
    sbuf s = {0};
    /* frame limit: equal passes, one more fails, control frames too */
    sb_frame(&s, WSF_OP_BINARY, WSF_FIN, ten, 10, 1);
    sb_frame(&s, WSF_OP_PING, WSF_FIN, ten, 10, 1);
    EXPECT_OK(SERVER, 10, 0, &s, 2);
    sb_frame(&s, WSF_OP_PING, WSF_FIN, big, 11, 1);
    EXPECT_ERROR(SERVER, 10, 0, &s, BIG, "frame too big", 2);
    s.n = 0;
    sb_frame(&s, WSF_OP_TEXT, WSF_FIN, big, 11, 1);
    EXPECT_ERROR(SERVER, 10, 0, &s, BIG, "frame too big", 0);
    EXPECT_ERROR(SERVER, 10, 5, &s, BIG, "frame too big", 0); /* before message */
    EXPECT_ERROR(SERVER, 0, 10, &s, BIG, "message too big", 0);
    EXPECT_OK(SERVER, 11, 11, &s, 1);
    /* checked once the header is whole, not before */
    s.n--;
    s.n -= 11;
    EXPECT_OK(SERVER, 10, 0, &s, 0);

    /* message limit: the sum of a message's frames; control frames and
     * earlier messages do not count */
    s.n = 0;
    sb_frame(&s, WSF_OP_BINARY, 0, ten, 3, 1);
    sb_frame(&s, WSF_OP_PING, WSF_FIN, big, 100, 1);
    sb_frame(&s, WSF_OP_CONT, 0, ten, 0, 1);
    sb_frame(&s, WSF_OP_CONT, WSF_FIN, ten, 3, 1);
    sb_frame(&s, WSF_OP_TEXT, WSF_FIN, ten, 6, 1);
    sb_frame(&s, WSF_OP_TEXT, 0, ten, 5, 1);
    sb_frame(&s, WSF_OP_CONT, WSF_FIN, ten, 1, 1);
    EXPECT_OK(SERVER, 0, 6, &s, 7);
    sb_frame(&s, WSF_OP_BINARY, 0, ten, 3, 1);
    sb_frame(&s, WSF_OP_PONG, WSF_FIN, ten, 4, 1);
    sb_frame(&s, WSF_OP_CONT, 0, ten, 3, 1);
    sb_frame(&s, WSF_OP_CONT, WSF_FIN, ten, 1, 1);
    EXPECT_ERROR(SERVER, 0, 6, &s, BIG, "message too big", 10);
    free(s.b);
}

/* Control frames inside a fragmented message, and the message state. */
static void test_interleaved(void) {
    sbuf s = {0};
    run_t r;
    int masked;
    for (masked = 0; masked < 2; masked++) {
        s.n = 0;
        sb_frame(&s, WSF_OP_TEXT, 0, "Hel\xe2\x82", 5, masked);
        sb_frame(&s, WSF_OP_PING, WSF_FIN, "p", 1, masked);
        sb_frame(&s, WSF_OP_PONG, WSF_FIN, "", 0, masked);
        sb_frame(&s, WSF_OP_CONT, 0, "\xac", 1, masked);
        sb_frame(&s, WSF_OP_CONT, 0, "", 0, masked);
        sb_frame(&s, WSF_OP_CLOSE, WSF_FIN, "\x03\xe8ok", 4, masked);
        sb_frame(&s, WSF_OP_CONT, WSF_FIN, "lo", 2, masked);
        sb_frame(&s, WSF_OP_BINARY, WSF_FIN, "\xff", 1, masked);
        check_splits(&r, masked ? SERVER : CLIENT, 0, 0, s.b, s.n, __LINE__);
        CHECK_EQ(r.result, WSF_NEED_MORE);
        CHECK_EQ(r.nframes, 8);
        CHECK_EQ(r.op[0], WSF_OP_TEXT);
        CHECK_EQ(r.op[1], WSF_OP_PING);
        CHECK_EQ(r.op[2], WSF_OP_PONG);
        CHECK_EQ(r.op[3], WSF_OP_CONT);
        CHECK_EQ(r.op[5], WSF_OP_CLOSE);
        CHECK_EQ(r.fl[6], WSF_FIN);
        CHECK_EQ(r.in_msg[0], 1);
        CHECK_EQ(r.in_msg[1], 1);
        CHECK_EQ(r.in_msg[2], 1);
        CHECK_EQ(r.in_msg[5], 1);
        CHECK_EQ(r.in_msg[6], 0);
        CHECK_EQ(r.in_msg[7], 0);
        CHECK(memcmp(r.data[0], "Hel\xe2\x82", 5) == 0);
        CHECK(memcmp(r.data[5], "\x03\xe8ok", 4) == 0);
        CHECK(memcmp(r.data[6], "lo", 2) == 0);
        run_free(&r);
    }
    /* a new message after the last one ended */
    s.n = 0;
    sb_frame(&s, WSF_OP_BINARY, 0, "a", 1, 1);
    sb_frame(&s, WSF_OP_CONT, WSF_FIN, "b", 1, 1);
    sb_frame(&s, WSF_OP_CONT, WSF_FIN, "c", 1, 1);
    EXPECT_ERROR(SERVER, 0, 0, &s, PE, "unexpected continuation frame", 2);
    s.n = 0;
    sb_frame(&s, WSF_OP_BINARY, 0, "a", 1, 1);
    sb_frame(&s, WSF_OP_PING, WSF_FIN, "", 0, 1);
    sb_frame(&s, WSF_OP_TEXT, WSF_FIN, "b", 1, 1);
    EXPECT_ERROR(SERVER, 0, 0, &s, PE, "expected continuation frame", 2);
    free(s.b);
}

static void test_utf8_rules(void) {
    sbuf s = {0};
    uint8_t big[300];
    /* fail fast, mid-frame: the rest of the frame never arrives */
    memset(big, 'x', sizeof big);
    big[150] = 0xFF;
    sb_frame(&s, WSF_OP_TEXT, WSF_FIN, big, sizeof big, 1);
    s.n -= 149;
    EXPECT_ERROR(SERVER, 0, 0, &s, BAD_DATA, "invalid UTF-8", 0);
    s.n -= 1;
    EXPECT_OK(SERVER, 0, 0, &s, 0);
    /* fail fast on the second byte of a surrogate */
    s.n = 0;
    sb_frame(&s, WSF_OP_TEXT, WSF_FIN, "ok \xed\xa0\x80", 6, 1);
    s.n -= 1;
    EXPECT_ERROR(SERVER, 0, 0, &s, BAD_DATA, "invalid UTF-8", 0);
    /* ... also across fragments */
    s.n = 0;
    sb_frame(&s, WSF_OP_TEXT, 0, "ok \xed", 4, 1);
    sb_frame(&s, WSF_OP_PING, WSF_FIN, "\xed", 1, 1);
    sb_frame(&s, WSF_OP_CONT, 0, "\xa0", 1, 1);
    EXPECT_ERROR(SERVER, 0, 0, &s, BAD_DATA, "invalid UTF-8", 2);
    /* truncated at the end of a final frame */
    s.n = 0;
    sb_frame(&s, WSF_OP_TEXT, WSF_FIN, "ab\xe2\x82", 4, 1);
    EXPECT_ERROR(SERVER, 0, 0, &s, BAD_DATA, "invalid UTF-8", 0);
    s.n = 0;
    sb_frame(&s, WSF_OP_TEXT, 0, "ab\xe2\x82", 4, 1);
    EXPECT_OK(SERVER, 0, 0, &s, 1);
    sb_frame(&s, WSF_OP_CONT, WSF_FIN, "", 0, 1);
    EXPECT_ERROR(SERVER, 0, 0, &s, BAD_DATA, "invalid UTF-8", 1);
    s.n = 0;
    sb_frame(&s, WSF_OP_TEXT, 0, "ab\xe2", 3, 0);
    sb_frame(&s, WSF_OP_CONT, 0, "\x82", 1, 0);
    sb_frame(&s, WSF_OP_CONT, WSF_FIN, "\xac!", 2, 0);
    EXPECT_OK(CLIENT, 0, 0, &s, 3);
    /* a new text message starts from a clean validator */
    s.n = 0;
    sb_frame(&s, WSF_OP_BINARY, 0, "\xe2", 1, 0);
    sb_frame(&s, WSF_OP_CONT, WSF_FIN, "\xff", 1, 0);
    sb_frame(&s, WSF_OP_TEXT, WSF_FIN, "fine", 4, 0);
    EXPECT_OK(CLIENT, 0, 0, &s, 3);
    /* NO_UTF8 skips text */
    s.n = 0;
    sb_frame(&s, WSF_OP_TEXT, 0, "\xff\xe2", 2, 1);
    sb_frame(&s, WSF_OP_CONT, WSF_FIN, "\xc0", 1, 1);
    EXPECT_ERROR(SERVER, 0, 0, &s, BAD_DATA, "invalid UTF-8", 0);
    EXPECT_OK(SERVER | WSF_PARSER_NO_UTF8, 0, 0, &s, 2);
    /* compressed messages are the caller's to check; the next
     * uncompressed one is checked again */
    s.n = 0;
    sb_frame(&s, WSF_OP_TEXT, WSF_RSV1, "\xff\xe2", 2, 1);
    sb_frame(&s, WSF_OP_CONT, 0, "\xc0", 1, 1);
    sb_frame(&s, WSF_OP_CONT, WSF_FIN, "\xe2", 1, 1);
    sb_frame(&s, WSF_OP_TEXT, WSF_FIN | WSF_RSV1, "\xe2", 1, 1);
    EXPECT_OK(SERVER | WSF_PARSER_ALLOW_RSV1, 0, 0, &s, 4);
    sb_frame(&s, WSF_OP_TEXT, WSF_FIN, "\xe2", 1, 1);
    EXPECT_ERROR(SERVER | WSF_PARSER_ALLOW_RSV1, 0, 0, &s, BAD_DATA, "invalid UTF-8", 4);
    free(s.b);
}

static void test_close(void) {
    static const struct {
        const char *p;
        size_t n;
        unsigned code;
    } cases[] = {
        {"", 0, 0},
        {"\x03", 1, PE},
        {"\x03\xe8", 2, 0},
        {"\x03\xe8" "bye \xe2\x82\xac", 9, 0},
        {"\x03\xeb", 2, 0},     /* 1003 */
        {"\x03\xec", 2, PE},    /* 1004 */
        {"\x03\xed", 2, PE},    /* 1005 */
        {"\x03\xee", 2, PE},    /* 1006 */
        {"\x03\xef", 2, 0},     /* 1007 */
        {"\x03\xf6", 2, 0},     /* 1014 */
        {"\x03\xf7", 2, PE},    /* 1015 */
        {"\x03\xe7", 2, PE},    /* 999 */
        {"\x00\x00", 2, PE},
        {"\x0b\xb7", 2, PE},    /* 2999 */
        {"\x0b\xb8", 2, 0},     /* 3000 */
        {"\x13\x87", 2, 0},     /* 4999 */
        {"\x13\x88", 2, PE},    /* 5000 */
        {"\xff\xff", 2, PE},
        {"\x03\xe8\xff", 3, BAD_DATA},
        {"\x03\xe8" "ab\xe2\x82", 6, BAD_DATA},
        {"\x03\xec\xff", 3, PE},    /* the code is checked first */
    };
    size_t i;
    unsigned c;
    for (i = 0; i < sizeof cases / sizeof *cases; i++) {
        unsigned char *d = t_dup(cases[i].p, cases[i].n);
        sbuf s = {0};
        CHECK_EQ(wsf_check_close_payload(d, cases[i].n), cases[i].code);
        sb_frame(&s, WSF_OP_CLOSE, WSF_FIN, d, cases[i].n, 1);
        if (cases[i].code == 0) {
            expect_ok(SERVER, 0, 0, &s, 1, (int)(3000 + i));
            expect_ok(SERVER | WSF_PARSER_NO_UTF8, 0, 0, &s, 1, (int)(3000 + i));
        } else {
            const char *err = cases[i].code == PE ? "invalid close frame" : "invalid close reason";
            expect_error(SERVER, 0, 0, &s, cases[i].code, err, 0, (int)(3000 + i));
            expect_error(SERVER | WSF_PARSER_NO_UTF8, 0, 0, &s, cases[i].code, err, 0,
                         (int)(3000 + i));
        }
        free(s.b);
        free(d);
    }
    CHECK_EQ(wsf_check_close_payload(NULL, 0), 0);
    for (c = 0; c < 70000; c++) {
        int want = (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) ||
                   (c >= 3000 && c <= 4999);
        if (wsf_close_code_valid(c) != want) {
            CHECK_EQ(c, -1);
            break;
        }
    }
    CHECK(!wsf_close_code_valid(0xFFFFFFFFu));
}

/* Zero-length frames, the calling contract, and the sticky error. */
static void test_contract(void) {
    static const uint8_t ping0[6] = {0x89, 0x80, 1, 2, 3, 4};
    wsf_parser p;
    size_t pos = 0;
    unsigned char *c = t_dup(ping0, 6), *d;

    wsf_parser_init(&p, SERVER, 0, 0);
    CHECK_EQ(wsf_parse(&p, c, 6, &pos), WSF_HEADER);
    CHECK_EQ(pos, 6);
    CHECK_EQ(p.frame_len, 0);
    CHECK_EQ(wsf_parse(&p, c, 6, &pos), WSF_FRAME);
    CHECK_EQ(wsf_parse(&p, c, 6, &pos), WSF_NEED_MORE);
    pos = 0;
    CHECK_EQ(wsf_parse(&p, c, 6, &pos), WSF_HEADER);
    pos = 0;
    CHECK_EQ(wsf_parse(&p, NULL, 0, &pos), WSF_FRAME);
    pos = 0;
    CHECK_EQ(wsf_parse(&p, NULL, 0, &pos), WSF_NEED_MORE);
    CHECK_EQ(pos, 0);
    free(c);

    /* init zeroes and keeps the settings */
    memset(&p, 0xFF, sizeof p);
    wsf_parser_init(&p, SERVER | WSF_PARSER_NO_UTF8, 7, 9);
    CHECK_EQ(p.flags, SERVER | WSF_PARSER_NO_UTF8);
    CHECK_EQ(p.max_frame_size, 7);
    CHECK_EQ(p.max_message_size, 9);
    CHECK_EQ(p.state, 0);
    CHECK_EQ(p.msg_opcode, 0);
    CHECK_EQ(p.hdr_len, 0);
    CHECK_EQ(p.close_code, 0);
    CHECK(p.error == NULL && p.dst == NULL);
    CHECK_EQ(p.utf8.state, 0);
    CHECK(!wsf_parser_in_message(&p));

    /* a payload split at every point lands at the right offsets and is
     * unmasked with the right key phase */
    {
        uint8_t payload[37], frame[64];
        size_t n, i, k;
        for (i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)(i * 7);
        n = wsf_encode_frame(frame, WSF_OP_BINARY, WSF_FIN, payload, sizeof payload,
                             (const uint8_t *)"\x11\x22\x33\x44");
        for (k = 6; k < n; k++) {
            unsigned char *a = t_dup(frame, k), *b = t_dup(frame + k, n - k);
            wsf_parser_init(&p, SERVER, 0, 0);
            pos = 0;
            CHECK_EQ(wsf_parse(&p, a, k, &pos), WSF_HEADER);
            d = (unsigned char *)malloc(sizeof payload);
            wsf_parser_set_dest(&p, d);
            CHECK_EQ(wsf_parse(&p, a, k, &pos), WSF_NEED_MORE);
            CHECK_EQ(p.frame_done, k - 6);
            pos = 0;
            CHECK_EQ(wsf_parse(&p, b, n - k, &pos), WSF_FRAME);
            CHECK_EQ(pos, n - k);
            CHECK(memcmp(d, payload, sizeof payload) == 0);
            free(d);
            free(a);
            free(b);
        }
    }

    /* a binding that forgets the destination gets an error, not a crash */
    {
        static const uint8_t f[] = {0x82, 0x02, 'h', 'i'};
        c = t_dup(f, sizeof f);
        wsf_parser_init(&p, CLIENT, 0, 0);
        pos = 0;
        CHECK_EQ(wsf_parse(&p, c, sizeof f, &pos), WSF_HEADER);
        CHECK_EQ(wsf_parse(&p, c, sizeof f, &pos), WSF_ERROR);
        CHECK_EQ(p.close_code, 1011);
        free(c);
    }

    /* sticky: later input, valid or not, changes nothing */
    {
        static const uint8_t f[] = {0x83, 0x00, 0x81, 0x00};
        c = t_dup(f, sizeof f);
        wsf_parser_init(&p, CLIENT, 0, 0);
        pos = 0;
        CHECK_EQ(wsf_parse(&p, c, sizeof f, &pos), WSF_ERROR);
        CHECK_EQ(p.close_code, PE);
        pos = 2;
        CHECK_EQ(wsf_parse(&p, c, sizeof f, &pos), WSF_ERROR);
        CHECK_EQ(p.close_code, PE);
        CHECK(strcmp(p.error, "reserved opcode") == 0);
        free(c);
    }
}

/* Random streams of valid frames with random splits. */
static void test_random_streams(void) {
    int iter;
    for (iter = 0; iter < 300; iter++) {
        sbuf s = {0};
        run_t r;
        int masked = iter & 1, nf = 0, open = 0, i, nframes = 1 + (int)(rng() % 12);
        uint8_t payload[300];
        for (i = 0; i < nframes; i++) {
            unsigned kind = rng() % 4, len = rng() % (rng() % 4 == 0 ? 300 : 20);
            unsigned op;
            if (kind == 0) {
                op = WSF_OP_PING + rng() % 2;
                if (len > 125) len = 125;
                fill_payload(payload, len, op);
                sb_frame(&s, op, WSF_FIN, payload, len, masked);
            } else {
                int fin = rng() % 2;
                op = open ? WSF_OP_CONT : (kind == 1 ? WSF_OP_BINARY : WSF_OP_TEXT);
                if (!open) open = op;
                fill_payload(payload, len, open == WSF_OP_TEXT ? WSF_OP_TEXT : WSF_OP_BINARY);
                sb_frame(&s, op, fin ? WSF_FIN : 0, payload, len, masked);
                if (fin) open = 0;
            }
            nf++;
        }
        check_splits(&r, masked ? SERVER : CLIENT, 0, 0, s.b, s.n, __LINE__);
        CHECK_EQ(r.result, WSF_NEED_MORE);
        CHECK_EQ(r.nframes, nf);
        run_free(&r);
        free(s.b);
    }
}

/* --- the whole-frame fast path ----------------------------------------- */

/* A fresh parser's wsf_whole_frame over an exact-size copy of s[0..n). */
static int whole(unsigned flags, uint64_t maxf, uint64_t maxm,
                 const uint8_t *s, size_t n, size_t *plen) {
    wsf_parser p;
    unsigned char *b = t_dup(s, n);
    int got;
    wsf_parser_init(&p, flags, maxf, maxm);
    got = wsf_whole_frame(&p, b, n, 0, plen);
    free(b);
    return got;
}

/* It takes exactly the frames it promises, and wsf_parse accepts the same
 * header: every first byte, both mask bits, every length form, every
 * parser flag. Each taken frame's payload comes out right, and no
 * strict prefix of one is whole. */
static void test_whole_rules(void) {
    static const size_t lens[] = {0, 1, 7, 8, 9, 16, 125, 126, 256, 257, 65535, 65536};
    uint8_t *payload = (uint8_t *)malloc(65536);
    unsigned flags, b0;
    int masked, bad = 0, taken = 0;
    size_t li;
    if (!payload) abort();
    for (flags = 0; flags < 8; flags++) {
        for (b0 = 0; b0 < 256; b0++) {
            for (masked = 0; masked < 2; masked++) {
                for (li = 0; li < sizeof lens / sizeof *lens; li++) {
                    size_t len = lens[li], plen = 0, hlen, pos = 0, cut;
                    unsigned op = b0 & 0x0F;
                    int want = (b0 & 0x80) && (op == 1 || op == 2) && !(b0 & 0x30) &&
                               (!(b0 & 0x40) || (flags & WSF_PARSER_ALLOW_RSV1)) &&
                               masked == (int)(flags & SERVER);
                    sbuf s = {0};
                    wsf_parser p;
                    unsigned char *b, *d;
                    if (len > 300 && (b0 & 0x0F) > 2) continue; /* keep it quick */
                    fill_payload(payload, len, op == 1 ? WSF_OP_TEXT : WSF_OP_BINARY);
                    sb_frame(&s, op, b0 & 0xF0, payload, len, masked);
                    hlen = s.n - len;
                    if (whole(flags, 0, 0, s.b, s.n, &plen) != want) bad++;
                    if (!want) {
                        free(s.b);
                        continue;
                    }
                    /* prefixes: through the header, then the payload's end */
                    for (cut = 0; cut < s.n; cut = cut < hlen + 1 ? cut + 1 : s.n - 1 > cut ? s.n - 1 : s.n)
                        if (whole(flags, 0, 0, s.b, cut, &plen)) bad++;
                    /* the slow path takes the same header */
                    b = t_dup(s.b, s.n);
                    wsf_parser_init(&p, flags, 0, 0);
                    if (wsf_parse(&p, b, s.n, &pos) != WSF_HEADER || p.opcode != op ||
                        p.frame_flags != (b0 & 0xF0) || p.frame_len != len || pos != hlen)
                        bad++;
                    /* and the fast path hands out the payload */
                    wsf_parser_init(&p, flags, 0, 0);
                    pos = 0;
                    d = (unsigned char *)malloc(len ? len : 1);
                    if (!wsf_whole_frame(&p, b, s.n, 0, &plen) || plen != len ||
                        p.opcode != op || p.frame_flags != (b0 & 0xF0) ||
                        wsf_take_whole(&p, b, s.n, &pos, d, len) != WSF_FRAME ||
                        pos != s.n || (len && memcmp(d, payload, len) != 0) ||
                        wsf_parser_in_message(&p))
                        bad++;
                    taken++;
                    free(d);
                    free(b);
                    free(s.b);
                }
            }
        }
    }
    free(payload);
    CHECK_EQ(bad, 0);
    CHECK_EQ(taken, 8 * 12 * 3); /* 0x81, 0x82; 0xC1, 0xC2 with RSV1 allowed */
}

/* Frames over a limit, inside a fragmented message or after a split
 * header go the slow way, which reports the error. */
static void test_whole_state(void) {
    uint8_t x[20];
    sbuf s = {0};
    size_t plen = 99, pos;
    wsf_parser p;
    unsigned char *b, *d;

    memset(x, 'x', sizeof x);
    sb_frame(&s, WSF_OP_TEXT, WSF_FIN, x, 10, 1);
    CHECK(whole(SERVER, 10, 10, s.b, s.n, &plen) && plen == 10);
    CHECK(whole(SERVER, 10, 0, s.b, s.n, &plen));
    CHECK(whole(SERVER, 0, 10, s.b, s.n, &plen));
    CHECK(!whole(SERVER, 9, 0, s.b, s.n, &plen));
    CHECK(!whole(SERVER, 0, 9, s.b, s.n, &plen));
    EXPECT_ERROR(SERVER, 9, 0, &s, BIG, "frame too big", 0);
    EXPECT_ERROR(SERVER, 0, 9, &s, BIG, "message too big", 0);
    EXPECT_OK(SERVER, 10, 10, &s, 1);

    /* a fragmented message is open: its frames, and a data frame that
     * wrongly interrupts it, go to wsf_parse */
    s.n = 0;
    sb_frame(&s, WSF_OP_TEXT, 0, x, 3, 1);
    sb_frame(&s, WSF_OP_BINARY, WSF_FIN, x, 3, 1);
    b = t_dup(s.b, s.n);
    wsf_parser_init(&p, SERVER, 0, 0);
    CHECK(!wsf_whole_frame(&p, b, s.n, 0, &plen));
    pos = 0;
    CHECK_EQ(wsf_parse(&p, b, s.n, &pos), WSF_HEADER);
    d = (unsigned char *)malloc(3);
    wsf_parser_set_dest(&p, d);
    CHECK(!wsf_whole_frame(&p, b, s.n, pos, &plen)); /* mid-frame */
    CHECK_EQ(wsf_parse(&p, b, s.n, &pos), WSF_FRAME);
    CHECK(wsf_parser_in_message(&p));
    CHECK(!wsf_whole_frame(&p, b, s.n, pos, &plen));
    free(b);
    free(d);
    EXPECT_ERROR(SERVER, 0, 0, &s, PE, "expected continuation frame", 1);

    /* a header split across reads is finished by wsf_parse */
    s.n = 0;
    sb_frame(&s, WSF_OP_TEXT, WSF_FIN, x, 5, 1);
    b = t_dup(s.b, s.n);
    wsf_parser_init(&p, SERVER, 0, 0);
    pos = 0;
    CHECK_EQ(wsf_parse(&p, b, 1, &pos), WSF_NEED_MORE);
    pos = 0;
    CHECK(!wsf_whole_frame(&p, b + 1, s.n - 1, 0, &plen));
    /* positions at or past the end */
    wsf_parser_init(&p, SERVER, 0, 0);
    CHECK(!wsf_whole_frame(&p, b, s.n, s.n, &plen));
    CHECK(!wsf_whole_frame(&p, b, s.n, s.n + 1, &plen));
    CHECK(!wsf_whole_frame(&p, b, s.n, s.n - 1, &plen));
    CHECK(wsf_whole_frame(&p, b, s.n, 0, &plen) && plen == 5);
    free(b);
    free(s.b);
}

/* A binding that gets the protocol wrong gets an error, never an access
 * outside the buffers it passed; a held frame it drops is parsed again. */
static void test_whole_misuse(void) {
    static const char hello[] = "hello";
    sbuf s = {0};
    size_t plen, pos;
    wsf_parser p;
    unsigned char *b, *d = (unsigned char *)malloc(5);

    sb_frame(&s, WSF_OP_TEXT, WSF_FIN, hello, 5, 1);
    b = t_dup(s.b, s.n);

    /* nothing held */
    wsf_parser_init(&p, SERVER, 0, 0);
    pos = 0;
    CHECK_EQ(wsf_take_whole(&p, b, s.n, &pos, d, 5), WSF_ERROR);
    CHECK_EQ(p.close_code, 1011);
    CHECK_EQ(pos, 0);
    CHECK(!wsf_whole_frame(&p, b, s.n, 0, &plen)); /* and it sticks */
    /* wrong destination size; input shorter than the held frame; a
     * position that moved */
    {
        static const struct { size_t dlen, len, pos; } bad[] = {
            {4, 11, 0}, {6, 11, 0}, {5, 10, 0}, {5, 6, 0}, {5, 0, 0}, {5, 11, 1}, {5, 11, 12}};
        size_t i;
        for (i = 0; i < sizeof bad / sizeof *bad; i++) {
            unsigned char *c = t_dup(b, bad[i].len);
            wsf_parser_init(&p, SERVER, 0, 0);
            CHECK(wsf_whole_frame(&p, b, s.n, 0, &plen) && plen == 5);
            pos = bad[i].pos;
            CHECK_EQ(wsf_take_whole(&p, c, bad[i].len, &pos, d, bad[i].dlen), WSF_ERROR);
            CHECK_EQ(p.close_code, 1011);
            CHECK_EQ(pos, bad[i].pos);
            free(c);
        }
    }
    /* taken twice: the second take finds nothing held */
    wsf_parser_init(&p, SERVER, 0, 0);
    pos = 0;
    CHECK(wsf_whole_frame(&p, b, s.n, 0, &plen));
    CHECK_EQ(wsf_take_whole(&p, b, s.n, &pos, d, 5), WSF_FRAME);
    CHECK(memcmp(d, hello, 5) == 0);
    CHECK_EQ(wsf_take_whole(&p, b, s.n, &pos, d, 5), WSF_ERROR);
    CHECK_EQ(p.close_code, 1011);
    /* held, then dropped for wsf_parse: the same frame, the slow way */
    wsf_parser_init(&p, SERVER, 0, 0);
    pos = 0;
    CHECK(wsf_whole_frame(&p, b, s.n, 0, &plen));
    CHECK(wsf_whole_frame(&p, b, s.n, 0, &plen)); /* asking again is fine */
    CHECK_EQ(wsf_parse(&p, b, s.n, &pos), WSF_HEADER);
    CHECK(p.opcode == WSF_OP_TEXT && p.frame_len == 5 && pos == 6);
    memset(d, 0, 5);
    wsf_parser_set_dest(&p, d);
    CHECK_EQ(wsf_parse(&p, b, s.n, &pos), WSF_FRAME);
    CHECK(memcmp(d, hello, 5) == 0 && pos == s.n);
    CHECK_EQ(wsf_take_whole(&p, b, s.n, &pos, d, 5), WSF_ERROR); /* nothing held */
    free(b);
    free(d);
    free(s.b);
}

/* UTF-8 of whole text frames: every length around the 8-byte blocks and
 * the inline/SIMD boundary, a bad byte at the start, middle and end, a
 * sequence cut at the end, valid multi-byte text, both roles; and what
 * is not checked (compressed, NO_UTF8, binary). */
static void test_whole_utf8(void) {
    static const size_t lens[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 125, 126, 255, 256, 257, 300};
    uint8_t t[300];
    size_t li, k;
    int masked;
    for (masked = 0; masked < 2; masked++) {
        unsigned role = masked ? SERVER : CLIENT;
        for (li = 0; li < sizeof lens / sizeof *lens; li++) {
            size_t len = lens[li], at[3];
            sbuf s = {0};
            at[0] = 0;
            at[1] = len / 2;
            at[2] = len - 1;
            for (k = 0; k < 3; k++) {
                memset(t, 'a', len);
                t[at[k]] = 0xFF;
                s.n = 0;
                sb_frame(&s, WSF_OP_TEXT, WSF_FIN, "ok", 2, masked);
                sb_frame(&s, WSF_OP_TEXT, WSF_FIN, t, len, masked);
                EXPECT_ERROR(role, 0, 0, &s, BAD_DATA, "invalid UTF-8", 1);
                EXPECT_OK(role | WSF_PARSER_NO_UTF8, 0, 0, &s, 2);
                s.n = 0;
                sb_frame(&s, WSF_OP_BINARY, WSF_FIN, t, len, masked);
                sb_frame(&s, WSF_OP_TEXT, WSF_FIN | WSF_RSV1, t, len, masked);
                EXPECT_OK(role | WSF_PARSER_ALLOW_RSV1, 0, 0, &s, 2);
            }
            /* a 3-byte sequence cut short at the end */
            if (len >= 2) {
                memset(t, 'a', len);
                t[len - 2] = 0xE2;
                t[len - 1] = 0x82;
                s.n = 0;
                sb_frame(&s, WSF_OP_TEXT, WSF_FIN, t, len, masked);
                EXPECT_ERROR(role, 0, 0, &s, BAD_DATA, "invalid UTF-8", 0);
            }
            fill_text(t, len);
            s.n = 0;
            sb_frame(&s, WSF_OP_TEXT, WSF_FIN, t, len, masked);
            sb_frame(&s, WSF_OP_TEXT, WSF_FIN, t, len, masked);
            EXPECT_OK(role, 0, 0, &s, 2);
            free(s.b);
        }
    }
}

/* The inline encoder helpers write what wsf_encode_header writes. */
static void test_encode_unmasked_inline(void) {
    static const uint64_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, UINT64_C(1) << 32,
                                    UINT64_MAX >> 1};
    static const unsigned flags[] = {0, WSF_FIN, WSF_FIN | WSF_RSV1, 0xF0, 0x70};
    uint8_t a[16], b[16];
    size_t li, fi;
    unsigned op;
    int bad = 0;
    for (li = 0; li < sizeof lens / sizeof *lens; li++) {
        for (fi = 0; fi < sizeof flags / sizeof *flags; fi++) {
            for (op = 0; op < 16; op++) {
                size_t n = wsf_encode_header(a, op, flags[fi], lens[li], NULL);
                memset(b, 0xEE, sizeof b);
                if (wsf_encode_header_unmasked(b, op, flags[fi], lens[li]) != n ||
                    wsf_header_size_unmasked(lens[li]) != n ||
                    wsf_header_size(lens[li], 0) != n || memcmp(a, b, n) != 0 ||
                    b[n] != 0xEE)
                    bad++;
            }
        }
    }
    CHECK_EQ(bad, 0);
}

int main(void) {
    test_encode_vectors();
    test_roundtrip();
    test_long_headers();
    test_head_rules();
    test_size_limits();
    test_interleaved();
    test_utf8_rules();
    test_close();
    test_contract();
    test_random_streams();
    test_whole_rules();
    test_whole_state();
    test_whole_misuse();
    test_whole_utf8();
    test_encode_unmasked_inline();
    /* the streams above went through the fast path too */
    CHECK(whole_taken > 10000);
    return t_report("test_frame");
}
