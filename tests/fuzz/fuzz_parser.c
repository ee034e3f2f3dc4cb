/* libFuzzer target for the frame parser.
 *
 * Input: byte 0 picks the parser flags, size limits and split pattern,
 * byte 1 seeds the chunk sizes, the rest is the stream. The stream is
 * parsed whole and again in chunks; both must agree on every event and on
 * the error, since the parser's result may not depend on read boundaries.
 *
 * The stream is then parsed again, whole and in the same chunks, the way
 * the binding does it (FrameParser.feed in src/wsfast/codec/_frame.pxi): at each
 * position wsf_whole_frame first, and when it accepts, an exact-size heap
 * buffer for the payload and wsf_take_whole; else one step of wsf_parse.
 * A third fast run sometimes declines a frame wsf_whole_frame accepted and
 * calls wsf_parse instead, which the API allows. Every run must deliver
 * the same frames (opcode, flags, payload bytes) and end in the same
 * state (the same close code and error message).
 *
 * Then a frame built from the same bytes must encode and parse back
 * unchanged, by both paths. Any disagreement calls abort(). Input chunks
 * and payload destinations are exact-size heap buffers, so ASan catches
 * any access past them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "frame.h"
#include "mask.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

typedef struct {
    uint64_t hash;    /* over every wsf_parse event, headers included */
    unsigned events;
    unsigned frames;  /* complete frames, by either path */
    unsigned taken;   /* of them, taken by wsf_take_whole */
    uint8_t *log;     /* each frame: opcode, flags, in_message, len, payload */
    size_t log_len, log_cap;
    int result;
    unsigned code;
    const char *err;
} outcome;

static void mix(uint64_t *h, uint64_t v) {
    *h = (*h ^ v) * UINT64_C(0x100000001b3);
}

static void mix_bytes(uint64_t *h, const uint8_t *p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) mix(h, p[i]);
}

static void log_raw(outcome *o, const void *p, size_t n) {
    if (o->log_len + n > o->log_cap) {
        size_t cap = (o->log_len + n) * 2 + 64;
        uint8_t *grown = (uint8_t *)realloc(o->log, cap);
        CHECK(grown);
        o->log = grown;
        o->log_cap = cap;
    }
    if (n) memcpy(o->log + o->log_len, p, n);
    o->log_len += n;
}

/* Records a complete frame, whichever path delivered it. */
static void log_frame(outcome *o, const wsf_parser *p, const uint8_t *payload,
                      uint64_t len) {
    uint8_t head[11];
    int i;
    head[0] = p->opcode;
    head[1] = p->frame_flags;
    head[2] = (uint8_t)wsf_parser_in_message(p);
    for (i = 0; i < 8; i++) head[3 + i] = (uint8_t)(len >> (8 * i));
    log_raw(o, head, sizeof head);
    log_raw(o, payload, (size_t)len);
    o->frames++;
}

static uint32_t next_rand(uint32_t *s) {
    *s = *s * 1103515245u + 12345u;
    return *s >> 16;
}

/* mode 0: whole; 1: a byte at a time; 2: 0..7 bytes; 3: 0..199 bytes */
static size_t chunk_size(int mode, uint32_t *seed, size_t left) {
    size_t c;
    switch (mode) {
    case 0: c = left; break;
    case 1: c = 1; break;
    case 2: c = next_rand(seed) % 8; break;
    default: c = next_rand(seed) % 200; break;
    }
    return c < left ? c : left;
}

/* The size of the header at h, from its first two bytes; and its payload
 * length, which needs all of it. */
static size_t header_size_of(const uint8_t *h) {
    unsigned l7 = h[1] & 0x7F;
    return (l7 == 126 ? 4u : l7 == 127 ? 10u : 2u) + (h[1] & 0x80 ? 4u : 0u);
}

static uint64_t length_of(const uint8_t *h) {
    unsigned l7 = h[1] & 0x7F;
    uint64_t n = 0;
    int i;
    if (l7 < 126) return l7;
    if (l7 == 126) return ((uint64_t)h[2] << 8) | h[3];
    for (i = 2; i < 10; i++) n = (n << 8) | h[i];
    return n;
}

/* Checks a frame both paths may deliver. */
static void check_frame(const wsf_parser *p, unsigned flags,
                        const uint8_t *payload, uint64_t len) {
    if (p->opcode == WSF_OP_CLOSE)
        CHECK(wsf_check_close_payload(payload, (size_t)len) == 0);
    if (p->opcode == WSF_OP_TEXT && (p->frame_flags & WSF_FIN) &&
        !(p->frame_flags & WSF_RSV1) && !(flags & WSF_PARSER_NO_UTF8))
        CHECK(wsf_utf8_valid(payload, (size_t)len));
}

/* fast: 0 = wsf_parse alone; 1 = wsf_whole_frame / wsf_take_whole first,
 * as the binding does; 2 = the same, but declining some accepted frames
 * (taking them through wsf_parse instead), chosen by dseed. */
static void run(outcome *o, unsigned flags, uint64_t maxf, uint64_t maxm,
                const uint8_t *s, size_t n, int mode, uint32_t seed,
                int fast, uint32_t dseed) {
    wsf_parser p;
    uint8_t *dst = NULL;
    size_t off = 0;
    int rc = WSF_NEED_MORE, empty_chunks = 0;

    memset(o, 0, sizeof *o);
    o->hash = UINT64_C(0xcbf29ce484222325);
    wsf_parser_init(&p, flags, maxf, maxm);
    while (off < n) {
        size_t c = chunk_size(mode, &seed, n - off), pos = 0;
        uint8_t *buf;
        /* bound the empty reads so the loop always ends */
        if (c == 0 && ++empty_chunks > 64) c = 1;
        buf = (uint8_t *)malloc(c ? c : 1);
        CHECK(buf);
        if (c) memcpy(buf, s + off, c);
        for (;;) {
            if (fast) {
                wsf_parser before;
                size_t plen = (size_t)-1;
                int got;
                memcpy(&before, &p, sizeof p);
                got = wsf_whole_frame(&p, buf, c, pos, &plen);
                CHECK(got == 0 || got == 1);
                if (!got) {
                    /* "changing nothing" */
                    CHECK(memcmp(&before, &p, sizeof p) == 0);
                } else {
                    size_t h = header_size_of(buf + pos), at = pos;
                    uint8_t *payload;
                    CHECK(dst == NULL);
                    CHECK(c - pos >= h && plen == length_of(buf + pos));
                    CHECK(plen <= c - pos - h);
                    CHECK(plen == p.frame_len);
                    CHECK(p.opcode == WSF_OP_TEXT || p.opcode == WSF_OP_BINARY);
                    CHECK(p.opcode == (buf[pos] & 0x0F) &&
                          p.frame_flags == (buf[pos] & 0xF0));
                    CHECK((p.frame_flags & 0xB0) == WSF_FIN);
                    CHECK(!(p.frame_flags & WSF_RSV1) ||
                          (flags & WSF_PARSER_ALLOW_RSV1));
                    CHECK(!maxf || plen <= maxf);
                    CHECK(!maxm || plen <= maxm);
                    CHECK(!wsf_parser_in_message(&p));
                    if (fast == 2 && next_rand(&dseed) % 3 == 0)
                        goto slow; /* wsf_parse drops the held frame */
                    /* exact size: malloc(0) is a valid, empty block */
                    payload = (uint8_t *)malloc(plen);
                    CHECK(payload || !plen);
                    rc = wsf_take_whole(&p, buf, c, &pos, payload, plen);
                    if (rc == WSF_FRAME) {
                        CHECK(pos == at + h + plen);
                        CHECK(!wsf_parser_in_message(&p));
                        check_frame(&p, flags, payload, plen);
                        log_frame(o, &p, payload, plen);
                        o->taken++;
                        free(payload);
                        continue;
                    }
                    CHECK(rc == WSF_ERROR);
                    free(payload);
                    break;
                }
            }
        slow:
            rc = wsf_parse(&p, buf, c, &pos);
            CHECK(pos <= c);
            if (rc == WSF_HEADER) {
                uint64_t left = n - (off + pos);
                size_t room;
                CHECK(dst == NULL);
                o->events++;
                mix(&o->hash, 1000 + p.opcode);
                mix(&o->hash, p.frame_flags);
                mix(&o->hash, p.frame_len);
                CHECK(!maxf || p.frame_len <= maxf);
                CHECK(p.opcode < 8 || (p.frame_len <= 125 && (p.frame_flags & WSF_FIN)));
                CHECK(p.frame_len >> 63 == 0);
                /* Exact size, except that a frame longer than what is left
                 * of the input can never finish: give it room for that. */
                room = (size_t)(p.frame_len < left ? p.frame_len : left);
                if (p.frame_len) {
                    dst = (uint8_t *)malloc(room ? room : 1);
                    CHECK(dst);
                    wsf_parser_set_dest(&p, dst);
                }
            } else if (rc == WSF_FRAME) {
                o->events++;
                mix(&o->hash, 2000 + p.opcode);
                if (p.frame_len) mix_bytes(&o->hash, dst, (size_t)p.frame_len);
                check_frame(&p, flags, dst, p.frame_len);
                log_frame(o, &p, dst, p.frame_len);
                free(dst);
                dst = NULL;
            } else {
                break;
            }
        }
        free(buf);
        off += pos;
        if (rc == WSF_ERROR) break;
        CHECK(pos == c);
    }
    if (rc != WSF_ERROR) {
        size_t pos = 0, plen;
        CHECK(wsf_whole_frame(&p, NULL, 0, 0, &plen) == 0);
        CHECK(wsf_parse(&p, NULL, 0, &pos) == WSF_NEED_MORE);
    }
    free(dst);
    o->result = rc;
    if (rc == WSF_ERROR) {
        /* a frame either role would take whole */
        static const uint8_t masked[6] = {0x81, 0x80, 0, 0, 0, 0};
        static const uint8_t plain[2] = {0x81, 0x00};
        size_t pos = 0, plen;
        o->code = p.close_code;
        o->err = p.error;
        CHECK(o->code == WSF_CLOSE_PROTOCOL_ERROR ||
              o->code == WSF_CLOSE_INVALID_DATA || o->code == WSF_CLOSE_TOO_BIG);
        CHECK(o->err != NULL);
        /* the error sticks, on either path */
        CHECK(!wsf_whole_frame(&p, masked, sizeof masked, 0, &plen));
        CHECK(!wsf_whole_frame(&p, plain, sizeof plain, 0, &plen));
        CHECK(wsf_take_whole(&p, masked, sizeof masked, &pos, NULL, 0) == WSF_ERROR);
        CHECK(wsf_parse(&p, s, n, &pos) == WSF_ERROR);
        CHECK(p.close_code == o->code && p.error == o->err);
    } else {
        CHECK(rc == WSF_NEED_MORE);
    }
}

/* Prints how two runs differ, then aborts. */
static void disagree(const char *what, const outcome *a, const outcome *b) {
    size_t i = 0;
    while (i < a->log_len && i < b->log_len && a->log[i] == b->log[i]) i++;
    fprintf(stderr,
            "fuzz_parser: %s disagree: %u vs %u frames (%u vs %u taken "
            "whole), result %d vs %d, close code %u vs %u, error \"%s\" vs "
            "\"%s\", frame logs of %zu vs %zu bytes first differ at %zu\n",
            what, a->frames, b->frames, a->taken, b->taken, a->result,
            b->result, a->code, b->code, a->err ? a->err : "",
            b->err ? b->err : "", a->log_len, b->log_len, i);
    abort();
}

/* Payload length of the first unfragmented data frame in a run's log;
 * 0 if there is none. */
static uint64_t first_data_len(const outcome *o) {
    size_t at = 0;
    while (at + 11 <= o->log_len) {
        const uint8_t *r = o->log + at;
        uint64_t len = 0;
        int i;
        for (i = 7; i >= 0; i--) len = (len << 8) | r[3 + i];
        if ((r[0] == WSF_OP_TEXT || r[0] == WSF_OP_BINARY) && (r[1] & WSF_FIN))
            return len;
        at += 11 + (size_t)len;
    }
    return 0;
}

/* Same frames, same end: the comparison that holds across both paths. */
static void expect_same(const char *what, const outcome *a, const outcome *b) {
    if (a->frames != b->frames || a->log_len != b->log_len ||
        (a->log_len && memcmp(a->log, b->log, a->log_len) != 0) ||
        a->result != b->result || a->code != b->code ||
        (a->err == NULL) != (b->err == NULL) ||
        (a->err && strcmp(a->err, b->err) != 0))
        disagree(what, a, b);
}

/* Encodes a frame from the fuzz bytes and parses it back, whole and in
 * two pieces, then whole through the fast path, which must take it
 * exactly when it is a FIN data frame, and no prefix of it. */
static void roundtrip(const uint8_t *data, size_t size) {
    static const unsigned ops[8] = {WSF_OP_TEXT, WSF_OP_BINARY, WSF_OP_PING,
                                    WSF_OP_PONG, WSF_OP_BINARY, WSF_OP_TEXT,
                                    WSF_OP_BINARY, WSF_OP_BINARY};
    unsigned sel, op, fl, pflags;
    int masked, half;
    uint8_t key[4] = {0, 0, 0, 0};
    const uint8_t *src;
    uint8_t *payload, *frame, *dst = NULL;
    size_t len, n, hlen, cut, pos;
    wsf_parser p;

    if (size < 1) return;
    sel = data[0];
    src = data + 1;
    len = size - 1;
    op = ops[sel & 7];
    masked = (sel >> 3) & 1;
    fl = op >= 8 || (sel & 0x10) ? WSF_FIN : 0;
    if (op < 8 && (sel & 0x20)) fl |= WSF_RSV1;
    if (op >= 8 && len > 125) len = 125;
    if (masked) memcpy(key, src, len < 4 ? len : 4);
    half = (sel >> 6) & 1;
    /* sometimes repeat the bytes to reach the 64-bit length form */
    n = (sel & 0x80) && op < 8 ? len * 40 + 1 : len;
    payload = (uint8_t *)malloc(n ? n : 1);
    CHECK(payload);
    {
        size_t i;
        for (i = 0; i < n; i++) payload[i] = len ? (uint8_t)(src[i % len] + i / len) : 0;
    }
    len = n;
    hlen = wsf_header_size(len, masked);
    frame = (uint8_t *)malloc(hlen + len);
    CHECK(frame);
    CHECK(wsf_encode_frame(frame, op, fl, payload, len, masked ? key : NULL) == hlen + len);
    CHECK(wsf_encode_header(frame, op, fl, len, masked ? key : NULL) == hlen);
    CHECK(hlen == (len < 126 ? 2u : len < 65536 ? 4u : 10u) + (masked ? 4u : 0u));

    pflags = (masked ? WSF_PARSER_SERVER : 0) | WSF_PARSER_NO_UTF8 |
             ((fl & WSF_RSV1) ? WSF_PARSER_ALLOW_RSV1 : 0);
    cut = hlen + len;
    if (half && size >= 2)
        cut = ((size_t)(src[0] ^ src[size - 2]) * 131u) % (hlen + len + 1);
    wsf_parser_init(&p, pflags, 0, 0);
    pos = 0;
    {
        /* piece one: the bytes before the cut */
        uint8_t *a = (uint8_t *)malloc(cut ? cut : 1), *b;
        size_t blen = hlen + len - cut;
        int rc;
        CHECK(a);
        if (cut) memcpy(a, frame, cut);
        if (cut < hlen + len) {
            wsf_parser q;
            size_t plen;
            wsf_parser_init(&q, pflags, 0, 0);
            CHECK(!wsf_whole_frame(&q, a, cut, 0, &plen));
        }
        rc = wsf_parse(&p, a, cut, &pos);
        if (rc == WSF_HEADER) {
            CHECK(p.opcode == op && p.frame_flags == fl && p.frame_len == len);
            dst = (uint8_t *)malloc(len ? len : 1);
            CHECK(dst);
            wsf_parser_set_dest(&p, dst);
            rc = wsf_parse(&p, a, cut, &pos);
        }
        CHECK(pos == cut || rc == WSF_FRAME);
        free(a);
        b = (uint8_t *)malloc(blen ? blen : 1);
        CHECK(b);
        if (blen) memcpy(b, frame + cut, blen);
        pos = 0;
        if (rc != WSF_FRAME) {
            rc = wsf_parse(&p, b, blen, &pos);
            if (rc == WSF_HEADER) {
                CHECK(!dst);
                CHECK(p.opcode == op && p.frame_flags == fl && p.frame_len == len);
                dst = (uint8_t *)malloc(len ? len : 1);
                CHECK(dst);
                wsf_parser_set_dest(&p, dst);
                rc = wsf_parse(&p, b, blen, &pos);
            }
        }
        CHECK(rc == WSF_FRAME);
        CHECK(pos == blen);
        CHECK(len == 0 || memcmp(dst, payload, len) == 0);
        CHECK(wsf_parser_in_message(&p) == (op < 8 && !(fl & WSF_FIN)));
        CHECK(wsf_parse(&p, b, blen, &pos) == WSF_NEED_MORE);
        free(b);
    }
    {
        /* the fast path, from the exact-size encoded frame */
        size_t plen = 0;
        int got;
        wsf_parser_init(&p, pflags, 0, 0);
        got = wsf_whole_frame(&p, frame, hlen + len, 0, &plen);
        CHECK(got == (op < 8 && (fl & WSF_FIN)));
        if (got) {
            uint8_t *d = (uint8_t *)malloc(len);
            CHECK(d || !len);
            CHECK(plen == len && p.opcode == op && p.frame_flags == fl);
            pos = 0;
            CHECK(wsf_take_whole(&p, frame, hlen + len, &pos, d, len) == WSF_FRAME);
            CHECK(pos == hlen + len);
            CHECK(len == 0 || memcmp(d, payload, len) == 0);
            CHECK(!wsf_parser_in_message(&p));
            free(d);
        }
    }
    free(dst);
    free(frame);
    free(payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const uint64_t frame_limits[4] = {0, 0, 125, 1000};
    static const uint64_t msg_limits[4] = {0, 200, 0, 3000};
    unsigned sel, flags;
    uint64_t maxf, maxm, lim;
    outcome whole, split, fast_whole, fast_split, mixed;
    int mode;
    const uint8_t *s;
    size_t n;

    if (size < 2) return 0;
    sel = data[0];
    flags = sel & (WSF_PARSER_SERVER | WSF_PARSER_ALLOW_RSV1 | WSF_PARSER_NO_UTF8);
    maxf = frame_limits[(sel >> 3) & 3];
    maxm = msg_limits[(sel >> 3) & 3];
    mode = 1 + (int)((sel >> 5) % 3);
    s = data + 2;
    n = size - 2;
    run(&whole, flags, maxf, maxm, s, n, 0, 0, 0, 0);
    run(&split, flags, maxf, maxm, s, n, mode, data[1], 0, 0);
    CHECK(whole.result == split.result && whole.code == split.code &&
          whole.err == split.err && whole.events == split.events &&
          whole.hash == split.hash);
    expect_same("wsf_parse whole and split", &whole, &split);

    /* the binding's way: whole, in the same chunks, and declining some */
    run(&fast_whole, flags, maxf, maxm, s, n, 0, 0, 1, 0);
    expect_same("wsf_parse and the fast path, whole", &whole, &fast_whole);
    run(&fast_split, flags, maxf, maxm, s, n, mode, data[1], 1, 0);
    expect_same("wsf_parse and the fast path, split", &split, &fast_split);
    run(&mixed, flags, maxf, maxm, s, n, 0, 0, 2, data[1] ^ 0x5Au);
    expect_same("wsf_parse and the fast path, declining some", &whole, &mixed);
    /* a byte at a time, no frame is ever whole */
    CHECK(mode != 1 || fast_split.taken == 0);

    /* Both limits right at a frame's length and one below it, wherever
     * the input's frames are: a limit check off by one in either path
     * shows without the fuzzer having to hit a limit in the table. */
    lim = first_data_len(&whole);
    if (lim) {
        outcome a, b;
        run(&a, flags, lim, lim - 1, s, n, 0, 0, 0, 0);
        run(&b, flags, lim, lim - 1, s, n, 0, 0, 1, 0);
        expect_same("wsf_parse and the fast path, message limit at a frame", &a, &b);
        free(a.log);
        free(b.log);
        run(&a, flags, lim - 1, lim, s, n, 0, 0, 0, 0);
        run(&b, flags, lim - 1, lim, s, n, 0, 0, 1, 0);
        expect_same("wsf_parse and the fast path, frame limit at a frame", &a, &b);
        free(a.log);
        free(b.log);
    }

    free(whole.log);
    free(split.log);
    free(fast_whole.log);
    free(fast_split.log);
    free(mixed.log);

    roundtrip(data + 1, size - 1);
    return 0;
}
