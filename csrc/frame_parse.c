/* Streaming frame parser (RFC 6455 section 5). The checks run in a fixed
 * order that a pure-Python model mirrors, so the error a stream produces
 * does not depend on how it was split into reads. */
#include <string.h>
#include "frame.h"
#include "mask.h"

enum {
    ST_HEADER = 0,    /* collecting a header (hdr_len bytes kept in hdr) */
    ST_WHOLE,         /* between frames, holding one for wsf_take_whole */
    ST_PAYLOAD,       /* copying payload into dst */
    ST_PAYLOAD_UTF8,  /* same, validating it as UTF-8 on the way */
    ST_ERROR
};

/* Both paths fail with this one string, so errors compare equal. */
static const char E_UTF8[] = "invalid UTF-8";

static int fail(wsf_parser *p, unsigned code, const char *msg) {
    p->state = ST_ERROR;
    p->close_code = (uint16_t)code;
    p->error = msg;
    return WSF_ERROR;
}

void wsf_parser_init(wsf_parser *p, unsigned flags, uint64_t max_frame_size,
                     uint64_t max_message_size) {
    memset(p, 0, sizeof *p);
    p->flags = (uint8_t)flags;
    p->max_frame_size = max_frame_size;
    p->max_message_size = max_message_size;
}

void wsf_parser_set_dest(wsf_parser *p, uint8_t *dst) { p->dst = dst; }

int wsf_parser_in_message(const wsf_parser *p) { return p->msg_opcode != 0; }

int wsf_close_code_valid(unsigned code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

int wsf_check_close_payload(const uint8_t *payload, size_t len) {
    if (len == 0)
        return 0;
    if (len == 1)
        return WSF_CLOSE_PROTOCOL_ERROR;
    if (!wsf_close_code_valid(((unsigned)payload[0] << 8) | payload[1]))
        return WSF_CLOSE_PROTOCOL_ERROR;
    if (!wsf_utf8_valid(payload + 2, len - 2))
        return WSF_CLOSE_INVALID_DATA;
    return 0;
}

/* Rules that need only the first two header bytes, so a bad frame fails
 * before the rest of its header arrives. */
static int check_head(wsf_parser *p, unsigned b0, unsigned b1) {
    unsigned op = b0 & 0x0F;
    unsigned allowed = (p->flags & WSF_PARSER_ALLOW_RSV1) ? WSF_RSV1 : 0;

    if (b0 & 0x70 & ~allowed)
        return fail(p, WSF_CLOSE_PROTOCOL_ERROR, "reserved bits set");
    if ((op >= 3 && op <= 7) || op >= 0xB)
        return fail(p, WSF_CLOSE_PROTOCOL_ERROR, "reserved opcode");
    if (op >= 8) {
        if (!(b0 & WSF_FIN))
            return fail(p, WSF_CLOSE_PROTOCOL_ERROR, "fragmented control frame");
        if ((b1 & 0x7F) > 125)
            return fail(p, WSF_CLOSE_PROTOCOL_ERROR, "control frame too long");
        if (b0 & WSF_RSV1)
            return fail(p, WSF_CLOSE_PROTOCOL_ERROR, "compressed control frame");
    }
    if (p->flags & WSF_PARSER_SERVER) {
        if (!(b1 & 0x80))
            return fail(p, WSF_CLOSE_PROTOCOL_ERROR, "unmasked client frame");
    } else if (b1 & 0x80) {
        return fail(p, WSF_CLOSE_PROTOCOL_ERROR, "masked server frame");
    }
    if (op == WSF_OP_CONT) {
        if (!p->msg_opcode)
            return fail(p, WSF_CLOSE_PROTOCOL_ERROR,
                        "unexpected continuation frame");
        if (b0 & WSF_RSV1)
            return fail(p, WSF_CLOSE_PROTOCOL_ERROR, "RSV1 on continuation frame");
    } else if (op <= WSF_OP_BINARY && p->msg_opcode) {
        return fail(p, WSF_CLOSE_PROTOCOL_ERROR, "expected continuation frame");
    }
    return 0;
}

static size_t header_size(unsigned b1) {
    unsigned l7 = b1 & 0x7F;
    size_t n = l7 == 126 ? 4 : l7 == 127 ? 10 : 2;
    return (b1 & 0x80) ? n + 4 : n;
}

/* h holds a whole header that passed check_head. */
static int take_header(wsf_parser *p, const uint8_t *h) {
    unsigned b0 = h[0], b1 = h[1], l7 = b1 & 0x7F;
    unsigned op = b0 & 0x0F;
    const uint8_t *key = h + 2;
    uint64_t len;
    int text;

    if (l7 < 126) {
        len = l7;
    } else if (l7 == 126) {
        len = ((uint64_t)h[2] << 8) | h[3];
        key = h + 4;
    } else {
        int i;
        len = 0;
        for (i = 2; i < 10; i++)
            len = (len << 8) | h[i];
        key = h + 10;
        if (len >> 63)
            return fail(p, WSF_CLOSE_PROTOCOL_ERROR, "invalid frame length");
    }
    if (p->max_frame_size && len > p->max_frame_size)
        return fail(p, WSF_CLOSE_TOO_BIG, "frame too big");
    if (op < 8) {
        if (op == WSF_OP_CONT) {
            /* Saturate rather than wrap, so the limit still holds. */
            p->msg_len = len > UINT64_MAX - p->msg_len ? UINT64_MAX
                                                       : p->msg_len + len;
        } else {
            p->msg_len = len;
        }
        if (p->max_message_size && p->msg_len > p->max_message_size)
            return fail(p, WSF_CLOSE_TOO_BIG, "message too big");
        if (op != WSF_OP_CONT) {
            p->msg_opcode = (uint8_t)((b0 & WSF_FIN) ? 0 : op);
            p->msg_flags = (uint8_t)(b0 & 0x70);
            wsf_utf8_reset(&p->utf8);
        }
    }
    /* A FIN text frame leaves msg_opcode 0, so its own opcode says text;
     * a continuation is text when the open message is. */
    text = op == WSF_OP_TEXT || (op == WSF_OP_CONT && p->msg_opcode == WSF_OP_TEXT);
    p->opcode = (uint8_t)op;
    p->frame_flags = (uint8_t)(b0 & 0xF0);
    p->frame_len = len;
    p->frame_done = 0;
    p->dst = NULL;
    p->masked = (uint8_t)(b1 >> 7);
    if (p->masked)
        memcpy(p->mask, key, 4);
    p->state = (text && !(p->msg_flags & WSF_RSV1) &&
                !(p->flags & WSF_PARSER_NO_UTF8))
                   ? ST_PAYLOAD_UTF8
                   : ST_PAYLOAD;
    return WSF_HEADER;
}

/* A header split across calls: gather it in hdr, never taking payload. */
static int header_slow(wsf_parser *p, const uint8_t *in, size_t len,
                       size_t *pos) {
    size_t i = *pos, avail = len - i, have = p->hdr_len, need, take;

    if (have < 2) {
        take = 2 - have < avail ? 2 - have : avail;
        if (take)
            memcpy(p->hdr + have, in + i, take);
        i += take;
        avail -= take;
        have += take;
        p->hdr_len = (uint8_t)have;
        *pos = i;
        if (have < 2)
            return WSF_NEED_MORE;
        if (check_head(p, p->hdr[0], p->hdr[1]))
            return WSF_ERROR;
    }
    need = header_size(p->hdr[1]);
    take = need - have < avail ? need - have : avail;
    if (take)
        memcpy(p->hdr + have, in + i, take);
    have += take;
    *pos = i + take;
    if (have < need) {
        p->hdr_len = (uint8_t)have;
        return WSF_NEED_MORE;
    }
    p->hdr_len = 0;
    return take_header(p, p->hdr);
}

static int finish_frame(wsf_parser *p) {
    if (p->state == ST_PAYLOAD_UTF8 && (p->frame_flags & WSF_FIN) &&
        p->utf8.state != 0)
        return fail(p, WSF_CLOSE_INVALID_DATA, E_UTF8);
    if (p->opcode == WSF_OP_CLOSE) {
        int rc = wsf_check_close_payload(p->dst, (size_t)p->frame_len);
        if (rc == WSF_CLOSE_PROTOCOL_ERROR)
            return fail(p, WSF_CLOSE_PROTOCOL_ERROR, "invalid close frame");
        if (rc)
            return fail(p, WSF_CLOSE_INVALID_DATA, "invalid close reason");
    } else if (p->opcode < 8 && (p->frame_flags & WSF_FIN)) {
        p->msg_opcode = 0;
        p->msg_len = 0;
    }
    p->state = ST_HEADER;
    p->dst = NULL;
    return WSF_FRAME;
}

int wsf_parse(wsf_parser *p, const uint8_t *in, size_t len, size_t *pos) {
    size_t i = *pos, avail = len - i, n;
    uint64_t left;
    uint8_t *d;

    if (p->state == ST_WHOLE) /* the binding took the slow path after all */
        p->state = ST_HEADER;
    if (p->state == ST_HEADER) {
        const uint8_t *h;
        size_t need;
        if (p->hdr_len != 0 || avail < 2)
            return header_slow(p, in, len, pos);
        h = in + i;
        if (check_head(p, h[0], h[1]))
            return WSF_ERROR;
        need = header_size(h[1]);
        if (avail < need) {
            memcpy(p->hdr, h, avail);
            p->hdr_len = (uint8_t)avail;
            *pos = len;
            return WSF_NEED_MORE;
        }
        *pos = i + need;
        return take_header(p, h);
    }
    if (p->state == ST_ERROR)
        return WSF_ERROR;

    left = p->frame_len - p->frame_done;
    n = left < avail ? (size_t)left : avail;
    if (n) {
        if (!p->dst) /* the binding forgot wsf_parser_set_dest */
            return fail(p, 1011, "no destination");
        d = p->dst + (size_t)p->frame_done;
        if (p->masked)
            wsf_mask(d, in + i, n, p->mask, (unsigned)p->frame_done & 3);
        else
            memcpy(d, in + i, n);
        p->frame_done += n;
        *pos = i + n;
        if (p->state == ST_PAYLOAD_UTF8 &&
            wsf_utf8_feed(&p->utf8, d, n) == WSF_UTF8_INVALID)
            return fail(p, WSF_CLOSE_INVALID_DATA, E_UTF8);
    }
    if (p->frame_done < p->frame_len)
        return WSF_NEED_MORE;
    return finish_frame(p);
}

/* --- Whole frames in one step ------------------------------------------ */

/* Every check of check_head and take_header, for the frames the fast path
 * takes (see wsf_whole_frame): the slow path could fail only on payload. */
int wsf_whole_frame(wsf_parser *p, const uint8_t *in, size_t len, size_t pos,
                    size_t *payload_len) {
    unsigned b0, b1, l7;
    size_t h, avail = len - pos;
    uint64_t n;

    if (p->state > ST_WHOLE || p->hdr_len || p->msg_opcode || pos > len ||
        avail < 2)
        return 0;
    in += pos;
    b0 = in[0];
    b1 = in[1];
    /* FIN, TEXT or BINARY, RSV2/RSV3 clear; RSV1 only when negotiated */
    if ((b0 & 0xB0) != WSF_FIN || ((b0 & 0x0F) - 1u) > 1u)
        return 0;
    if ((b0 & WSF_RSV1) && !(p->flags & WSF_PARSER_ALLOW_RSV1))
        return 0;
    /* masked exactly when the peer is a client */
    if ((b1 >> 7) != (p->flags & WSF_PARSER_SERVER))
        return 0;
    l7 = b1 & 0x7F;
    if (l7 < 126) {
        n = l7;
        h = 2;
    } else if (l7 == 126) {
        if (avail < 4)
            return 0;
        n = ((uint64_t)in[2] << 8) | in[3];
        h = 4;
    } else {
        int i;
        if (avail < 10)
            return 0;
        for (n = 0, i = 2; i < 10; i++)
            n = (n << 8) | in[i];
        h = 10;
    }
    h += (b1 >> 7) * 4u;
    /* whole; this also keeps n below 2^63, take_header's length rule */
    if (h > avail || n > avail - h)
        return 0;
    if ((p->max_frame_size && n > p->max_frame_size) ||
        (p->max_message_size && n > p->max_message_size))
        return 0;
    p->state = ST_WHOLE;
    p->whole_hdr = (uint8_t)h;
    p->opcode = (uint8_t)(b0 & 0x0F);
    p->frame_flags = (uint8_t)(b0 & 0xF0);
    p->frame_len = n;
    *payload_len = (size_t)n;
    return 1;
}

/* Up to this length wsf_take_whole unmasks 8 bytes at a time inline,
 * noting high bits on the way; beyond it the SIMD kernels win. */
#define WHOLE_INLINE_MAX 256

/* dst = src ^ key (phase 0). Returns nonzero if any output byte is >= 0x80,
 * i.e. the payload is not plain ASCII. */
static uint64_t unmask_small(uint8_t *dst, const uint8_t *src, size_t n,
                             const uint8_t *key) {
    uint32_t k32;
    uint64_t k, w, hi = 0;
    size_t i = 0;
    memcpy(&k32, key, 4);
    k = ((uint64_t)k32 << 32) | k32; /* the key twice, in memory order */
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, src + i, 8);
        w ^= k;
        memcpy(dst + i, &w, 8);
        hi |= w;
    }
    for (; i < n; i++) {
        dst[i] = (uint8_t)(src[i] ^ key[i & 3]);
        hi |= dst[i];
    }
    return hi & UINT64_C(0x8080808080808080);
}

int wsf_take_whole(wsf_parser *p, const uint8_t *in, size_t len, size_t *pos,
                   uint8_t *dst, size_t dst_len) {
    size_t i = *pos, h = p->whole_hdr, n = (size_t)p->frame_len;
    const uint8_t *src;
    int ascii = 0;

    /* Bounds re-checked: a confused binding gets an error, never an overrun. */
    if (p->state != ST_WHOLE || n != dst_len || i > len || len - i < h ||
        len - i - h < n)
        return p->state == ST_ERROR ? WSF_ERROR
                                    : fail(p, 1011, "no whole frame held");
    src = in + i + h;
    *pos = i + h + n;
    /* What take_header and finish_frame leave after such a frame. */
    p->state = ST_HEADER;
    p->frame_done = n;
    p->msg_flags = (uint8_t)(p->frame_flags & 0x70);
    p->msg_len = 0;
    p->dst = NULL;
    if (n == 0)
        return WSF_FRAME;
    if (!(p->flags & WSF_PARSER_SERVER)) /* server frames are unmasked */
        memcpy(dst, src, n);
    else if (n <= WHOLE_INLINE_MAX)
        ascii = !unmask_small(dst, src, n, src - 4);
    else
        wsf_mask(dst, src, n, src - 4, 0);
    if (p->opcode == WSF_OP_TEXT && !ascii &&
        !(p->frame_flags & WSF_RSV1) && !(p->flags & WSF_PARSER_NO_UTF8) &&
        !wsf_utf8_valid(dst, n))
        return fail(p, WSF_CLOSE_INVALID_DATA, E_UTF8);
    return WSF_FRAME;
}
