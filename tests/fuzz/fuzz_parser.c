/* libFuzzer target for the frame parser.
 *
 * Input: byte 0 picks the parser flags, size limits and split pattern,
 * byte 1 seeds the chunk sizes, the rest is the stream. The stream is
 * parsed whole and again in chunks; both must agree on every event and on
 * the error, since the parser's result may not depend on read boundaries.
 * Then a frame built from the same bytes must encode and parse back
 * unchanged. Any disagreement calls abort(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "frame.h"
#include "mask.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

typedef struct {
    uint64_t hash; /* over every event, its header fields and payloads */
    unsigned events;
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

static void run(outcome *o, unsigned flags, uint64_t maxf, uint64_t maxm,
                const uint8_t *s, size_t n, int mode, uint32_t seed) {
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
            rc = wsf_parse(&p, buf, c, &pos);
            CHECK(pos <= c);
            if (rc == WSF_HEADER) {
                uint64_t left = n - (off + pos);
                size_t room;
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
                if (p.opcode == WSF_OP_CLOSE)
                    CHECK(wsf_check_close_payload(dst, (size_t)p.frame_len) == 0);
                if (p.opcode == WSF_OP_TEXT && (p.frame_flags & WSF_FIN) &&
                    !(p.frame_flags & WSF_RSV1) && !(flags & WSF_PARSER_NO_UTF8))
                    CHECK(wsf_utf8_valid(dst, (size_t)p.frame_len));
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
        size_t pos = 0;
        CHECK(wsf_parse(&p, NULL, 0, &pos) == WSF_NEED_MORE);
    }
    free(dst);
    o->result = rc;
    if (rc == WSF_ERROR) {
        size_t pos = 0;
        o->code = p.close_code;
        o->err = p.error;
        CHECK(o->code == WSF_CLOSE_PROTOCOL_ERROR ||
              o->code == WSF_CLOSE_INVALID_DATA || o->code == WSF_CLOSE_TOO_BIG);
        CHECK(o->err != NULL);
        CHECK(wsf_parse(&p, s, n, &pos) == WSF_ERROR && p.close_code == o->code);
    } else {
        CHECK(rc == WSF_NEED_MORE);
    }
}

/* Encodes a frame from the fuzz bytes and parses it back, whole and in
 * two pieces. */
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
    free(dst);
    free(frame);
    free(payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const uint64_t frame_limits[4] = {0, 0, 125, 1000};
    static const uint64_t msg_limits[4] = {0, 200, 0, 3000};
    unsigned sel, flags;
    outcome whole, split;
    int mode;

    if (size < 2) return 0;
    sel = data[0];
    flags = sel & (WSF_PARSER_SERVER | WSF_PARSER_ALLOW_RSV1 | WSF_PARSER_NO_UTF8);
    mode = 1 + (int)((sel >> 5) % 3);
    run(&whole, flags, frame_limits[(sel >> 3) & 3], msg_limits[(sel >> 3) & 3],
        data + 2, size - 2, 0, 0);
    run(&split, flags, frame_limits[(sel >> 3) & 3], msg_limits[(sel >> 3) & 3],
        data + 2, size - 2, mode, data[1]);
    CHECK(whole.result == split.result && whole.code == split.code &&
          whole.err == split.err && whole.events == split.events &&
          whole.hash == split.hash);

    roundtrip(data + 1, size - 1);
    return 0;
}
