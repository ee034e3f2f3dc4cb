/* permessage-deflate (RFC 7692) on zlib: see deflate.h.
 *
 * Each direction keeps its z_stream in a heap block that also counts the
 * bytes zlib allocates through it, so an idle stream costs nothing and a
 * live one can report its footprint. */
#define ZLIB_CONST
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "deflate.h"

/* zlib counts in uInt; longer buffers go through in slices. The input
 * slice is overridable so tests can exercise slicing on small inputs. */
#ifndef WSF_Z_IN_SLICE
#define WSF_Z_IN_SLICE ((size_t)1 << 30)
#endif
#define IN_SLICE ((size_t)(WSF_Z_IN_SLICE))
#define OUT_SLICE ((size_t)1 << 30)
/* Output per inflate() call while validating UTF-8, so the validator reads
 * bytes still in cache. */
#define UTF8_SLICE ((size_t)64 * 1024)
/* Cap on a first guess at output size; doubling takes over from there,
 * so a huge input does not reserve a huge buffer up front. */
#define MAX_GUESS ((size_t)16 << 20)

/* What a sync flush ends with; stripped by the sender, re-added here. */
static const uint8_t flush_tail[4] = {0x00, 0x00, 0xff, 0xff};
static const uint8_t no_bytes[1] = {0};

/* --- Counting allocator ------------------------------------------------ */

/* Each block carries its size in a header padded to the strictest
 * alignment, so z_free can subtract it again. */
typedef union {
    long double ld;
    long long ll;
    double d;
    void *p;
} max_align;
#define HDR sizeof(max_align)

typedef struct zstate {
    z_stream zs;
    size_t mem; /* bytes held: this block plus zlib's, headers included */
} zstate;

static voidpf z_alloc(voidpf opaque, uInt items, uInt size) {
    zstate *st = (zstate *)opaque;
    unsigned char *p;
    size_t n;

    if (size != 0 && items > (SIZE_MAX - HDR) / size)
        return Z_NULL;
    n = (size_t)items * size + HDR;
    p = (unsigned char *)malloc(n);
    if (!p)
        return Z_NULL;
    memcpy(p, &n, sizeof n);
    st->mem += n;
    return p + HDR;
}

static void z_free(voidpf opaque, voidpf ptr) {
    zstate *st = (zstate *)opaque;
    unsigned char *p;
    size_t n;

    if (!ptr)
        return;
    p = (unsigned char *)ptr - HDR;
    memcpy(&n, p, sizeof n);
    st->mem -= n;
    free(p);
}

static zstate *zstate_new(void) {
    zstate *st = (zstate *)calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->mem = sizeof *st;
    st->zs.zalloc = z_alloc;
    st->zs.zfree = z_free;
    st->zs.opaque = st;
    return st;
}

/* --- Output buffer ----------------------------------------------------- */

/* Ensures at least need free bytes. When it must grow, it aims for want
 * free bytes or a doubling, but never leaves more than limit free (the
 * inflater's cap on output). Requires need <= limit. */
static int buf_room(wsf_buf *b, size_t need, size_t want, size_t limit) {
    size_t grow;
    uint8_t *p;

    if (b->cap - b->len >= need)
        return WSF_Z_OK;
    grow = want > need ? want : need;
    if (grow < b->cap)
        grow = b->cap;
    if (grow > limit)
        grow = limit;
    if (grow > SIZE_MAX - b->len)
        return WSF_Z_NOMEM;
    p = (uint8_t *)realloc(b->data, b->len + grow);
    if (!p)
        return WSF_Z_NOMEM;
    b->data = p;
    b->cap = b->len + grow;
    return WSF_Z_OK;
}

int wsf_buf_reserve(wsf_buf *b, size_t extra) {
    return buf_room(b, extra, extra, SIZE_MAX);
}

void wsf_buf_free(wsf_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static size_t sat_add(size_t a, size_t b) {
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* --- WSF_Z_KEEP_WINDOW's window --------------------------------------- */

/* Makes room for need bytes in *hist, growing by half at least (up to max)
 * so a run of small messages does not realloc every time. */
static int hist_grow(uint8_t **hist, size_t *cap, size_t need, size_t max) {
    size_t n = *cap + *cap / 2;
    uint8_t *p;

    if (need <= *cap)
        return WSF_Z_OK;
    if (n < need)
        n = need;
    if (n > max)
        n = max;
    p = (uint8_t *)realloc(*hist, n);
    if (!p)
        return WSF_Z_NOMEM;
    *hist = p;
    *cap = n;
    return WSF_Z_OK;
}

/* Appends in[0..len) to the window of at most w bytes in *hist. */
static int hist_push(uint8_t **hist, size_t *hlen, size_t *cap, size_t w,
                     const uint8_t *in, size_t len) {
    size_t keep;

    if (len == 0)
        return WSF_Z_OK;
    if (len >= w) {
        in += len - w;
        len = w;
    }
    keep = *hlen < w - len ? *hlen : w - len;
    if (hist_grow(hist, cap, keep + len, w) != WSF_Z_OK)
        return WSF_Z_NOMEM;
    if (keep < *hlen)
        memmove(*hist, *hist + (*hlen - keep), keep);
    memcpy(*hist + keep, in, len);
    *hlen = keep + len;
    return WSF_Z_OK;
}

static void hist_free(uint8_t **hist, size_t *hlen, size_t *cap) {
    free(*hist);
    *hist = NULL;
    *hlen = *cap = 0;
}

/* Whether a stream keeps only its window between messages: not without
 * context takeover, which WSF_Z_RELEASE implies on a deflater (and needs
 * on an inflater). */
static int keeps_window(unsigned flags) {
    return (flags & WSF_Z_KEEP_WINDOW) &&
           !(flags & (WSF_Z_NO_CONTEXT | WSF_Z_RELEASE));
}

/* --- Deflater ---------------------------------------------------------- */

static int d_fail(wsf_deflater *d, int rc, const char *why) {
    d->failed = 1;
    d->error = why;
    return rc;
}

static void d_free(wsf_deflater *d) {
    zstate *st = (zstate *)d->z;
    if (st) {
        deflateEnd(&st->zs);
        free(st);
        d->z = NULL;
    }
}

int wsf_deflater_init(wsf_deflater *d, int window_bits, int mem_level,
                      int level, unsigned flags) {
    memset(d, 0, sizeof *d);
    if (window_bits == 8)
        window_bits = 9;
    if (mem_level == 0)
        mem_level = WSF_Z_DEFAULT_MEM_LEVEL;
    d->window_bits = window_bits;
    d->mem_level = mem_level;
    d->level = level;
    d->flags = flags;
    if (window_bits < 9 || window_bits > 15 || mem_level < 1 ||
        mem_level > 9 || level < -1 || level > 9 ||
        (flags & ~(unsigned)(WSF_Z_NO_CONTEXT | WSF_Z_RELEASE |
                             WSF_Z_KEEP_WINDOW | WSF_Z_HOLD)))
        return d_fail(d, WSF_Z_MISUSE, "invalid deflate parameters");
    return WSF_Z_OK;
}

static int d_start(wsf_deflater *d) {
    zstate *st = zstate_new();
    int r;

    if (!st)
        return d_fail(d, WSF_Z_NOMEM, "out of memory");
    /* Negative window bits: raw deflate, no zlib header or checksum. */
    r = deflateInit2(&st->zs, d->level, Z_DEFLATED, -d->window_bits,
                     d->mem_level, Z_DEFAULT_STRATEGY);
    if (r != Z_OK) {
        free(st);
        if (r == Z_MEM_ERROR)
            return d_fail(d, WSF_Z_NOMEM, "out of memory");
        return d_fail(d, WSF_Z_MISUSE, "deflateInit2 failed");
    }
    d->z = st;
    /* Raw deflate: the window may be set before the first deflate call.
     * zlib then hashes it all, so the output is what a stream kept since
     * the last message would have made. */
    if (d->hist_len && deflateSetDictionary(&st->zs, d->hist,
                                            (uInt)d->hist_len) != Z_OK)
        return d_fail(d, WSF_Z_MISUSE, "deflateSetDictionary failed");
    return WSF_Z_OK;
}

int wsf_deflate(wsf_deflater *d, const uint8_t *in, size_t len, int mode,
                wsf_buf *out) {
    z_stream *zs;
    size_t start = out->len;
    int end_flush, rc;

    if (d->failed)
        return WSF_Z_MISUSE;
    if (mode != WSF_Z_MORE && mode != WSF_Z_FLUSH && mode != WSF_Z_FINAL)
        return WSF_Z_MISUSE;
    if (!d->z && (rc = d_start(d)) != WSF_Z_OK)
        return rc;
    zs = &((zstate *)d->z)->zs;
    end_flush = mode == WSF_Z_MORE ? Z_NO_FLUSH : Z_SYNC_FLUSH;
    d->in_msg = 1;
    /* The window for the next stream. zlib takes all of in (below), so
     * taking it first does not change what this message refers to: the
     * dictionary was set when the stream started. */
    if (keeps_window(d->flags) &&
        hist_push(&d->hist, &d->hist_len, &d->hist_cap,
                  (size_t)1 << d->window_bits, in, len) != WSF_Z_OK)
        return d_fail(d, WSF_Z_NOMEM, "out of memory");
    zs->next_in = no_bytes;
    zs->avail_in = 0;

    for (;;) {
        size_t room, want;
        int r;

        if (zs->avail_in == 0 && len > 0) {
            size_t n = len < IN_SLICE ? len : IN_SLICE;
            zs->next_in = in;
            zs->avail_in = (uInt)n;
            in += n;
            len -= n;
        }
        /* More than 6 bytes of room, or zlib may repeat a flush marker;
         * a first guess of 2:1 saves a few reallocs on large messages. */
        want = zs->avail_in / 2 + len / 2 + 256;
        rc = buf_room(out, 64, want < MAX_GUESS ? want : MAX_GUESS, SIZE_MAX);
        if (rc != WSF_Z_OK)
            return d_fail(d, rc, "out of memory");
        room = out->cap - out->len;
        if (room > OUT_SLICE)
            room = OUT_SLICE;
        zs->next_out = out->data + out->len;
        zs->avail_out = (uInt)room;
        r = deflate(zs, len > 0 ? Z_NO_FLUSH : end_flush);
        out->len += room - zs->avail_out;
        if (r == Z_BUF_ERROR && zs->avail_in == 0 && len == 0)
            break; /* nothing new since the last flush */
        if (r != Z_OK)
            return d_fail(d, WSF_Z_MISUSE, zs->msg ? zs->msg : "deflate failed");
        /* Room left over means zlib has flushed all it was asked to. */
        if (zs->avail_in == 0 && len == 0 && zs->avail_out != 0)
            break;
    }
    if (mode != WSF_Z_FINAL)
        return WSF_Z_OK;

    if (out->len - start >= 4 &&
        memcmp(out->data + out->len - 4, flush_tail, 4) == 0) {
        out->len -= 4;
    } else if (out->len == start) {
        /* zlib had nothing to add since an earlier flush, so the stream is
         * byte-aligned: a lone 00 opens an empty stored block that the
         * receiver's appended 00 00 ff ff completes. */
        if (buf_room(out, 1, 1, SIZE_MAX) != WSF_Z_OK)
            return d_fail(d, WSF_Z_NOMEM, "out of memory");
        out->data[out->len++] = 0;
    } else {
        return d_fail(d, WSF_Z_MISUSE, "sync flush did not end with 00 00 ff ff");
    }
    d->in_msg = 0;
    if (keeps_window(d->flags) && (d->flags & WSF_Z_HOLD))
        return WSF_Z_OK; /* until wsf_deflater_park */
    if (d->flags & (WSF_Z_RELEASE | WSF_Z_KEEP_WINDOW))
        d_free(d);
    else if ((d->flags & WSF_Z_NO_CONTEXT) && deflateReset(zs) != Z_OK)
        return d_fail(d, WSF_Z_MISUSE, "deflateReset failed");
    return WSF_Z_OK;
}

int wsf_deflater_release(wsf_deflater *d) {
    if (d->in_msg)
        return WSF_Z_MISUSE;
    d_free(d);
    hist_free(&d->hist, &d->hist_len, &d->hist_cap);
    return WSF_Z_OK;
}

int wsf_deflater_park(wsf_deflater *d) {
    if (d->in_msg || d->failed)
        return WSF_Z_MISUSE;
    /* The window was kept as plaintext all along (wsf_deflate). */
    if (keeps_window(d->flags))
        d_free(d);
    return WSF_Z_OK;
}

void wsf_deflater_end(wsf_deflater *d) {
    d_free(d);
    hist_free(&d->hist, &d->hist_len, &d->hist_cap);
    d->in_msg = 0;
    d->failed = 0;
    d->error = NULL;
}

size_t wsf_deflater_mem(const wsf_deflater *d) {
    return (d->z ? ((const zstate *)d->z)->mem : 0) + d->hist_cap;
}

/* --- Inflater ---------------------------------------------------------- */

static int i_fail(wsf_inflater *s, int rc, const char *why) {
    s->failed = 1;
    s->error = why;
    return rc;
}

static void i_free(wsf_inflater *s) {
    zstate *st = (zstate *)s->z;
    if (st) {
        inflateEnd(&st->zs);
        free(st);
        s->z = NULL;
    }
}

int wsf_inflater_init(wsf_inflater *s, int window_bits, uint64_t max_size,
                      unsigned flags) {
    memset(s, 0, sizeof *s);
    if (window_bits == 8)
        window_bits = 9;
    s->window_bits = window_bits;
    s->max_size = max_size;
    s->flags = flags;
    if (window_bits < 9 || window_bits > 15 ||
        (flags & ~(unsigned)(WSF_Z_NO_CONTEXT | WSF_Z_RELEASE |
                             WSF_Z_KEEP_WINDOW | WSF_Z_HOLD)) ||
        ((flags & WSF_Z_RELEASE) && !(flags & WSF_Z_NO_CONTEXT)))
        return i_fail(s, WSF_Z_MISUSE, "invalid inflate parameters");
    return WSF_Z_OK;
}

static int i_start(wsf_inflater *s) {
    zstate *st = zstate_new();
    int r;

    if (!st)
        return i_fail(s, WSF_Z_NOMEM, "out of memory");
    r = inflateInit2(&st->zs, -s->window_bits);
    if (r != Z_OK) {
        free(st);
        if (r == Z_MEM_ERROR)
            return i_fail(s, WSF_Z_NOMEM, "out of memory");
        return i_fail(s, WSF_Z_MISUSE, "inflateInit2 failed");
    }
    s->z = st;
    if (s->hist_len && inflateSetDictionary(&st->zs, s->hist,
                                            (uInt)s->hist_len) != Z_OK)
        return i_fail(s, WSF_Z_NOMEM, "inflateSetDictionary failed");
    return WSF_Z_OK;
}

/* WSF_Z_KEEP_WINDOW at the end of a message: zlib's window (the last
 * 2^window_bits bytes of output, across BFINAL restarts) is all the next
 * message may refer to, so it is kept and the rest freed. */
static int i_keep_window(wsf_inflater *s) {
    z_stream *zs = &((zstate *)s->z)->zs;
    uInt n = 0;

    if (inflateGetDictionary(zs, Z_NULL, &n) != Z_OK)
        return i_fail(s, WSF_Z_MISUSE, "inflateGetDictionary failed");
    if (hist_grow(&s->hist, &s->hist_cap, n, (size_t)1 << s->window_bits) !=
            WSF_Z_OK ||
        n > s->hist_cap)
        return i_fail(s, WSF_Z_NOMEM, "out of memory");
    if (n)
        inflateGetDictionary(zs, s->hist, &n);
    s->hist_len = n;
    i_free(s);
    return WSF_Z_OK;
}

/* After a block with BFINAL set (RFC 7692 section 7.2.3.4) zlib refuses
 * further input; what follows is a new raw stream that may still refer
 * back, so the window is carried over into it. */
static int i_restart(wsf_inflater *s, z_stream *zs) {
    uInt n = 0;
    Bytef *dict = NULL;

    if (inflateGetDictionary(zs, Z_NULL, &n) != Z_OK)
        return i_fail(s, WSF_Z_MISUSE, "inflateGetDictionary failed");
    if (n) {
        dict = (Bytef *)malloc(n);
        if (!dict)
            return i_fail(s, WSF_Z_NOMEM, "out of memory");
        inflateGetDictionary(zs, dict, &n);
    }
    /* Leaves next_in/avail_in alone, so the rest of the input follows. */
    if (inflateReset(zs) != Z_OK ||
        (n && inflateSetDictionary(zs, dict, n) != Z_OK)) {
        free(dict);
        return i_fail(s, WSF_Z_NOMEM, "cannot restart inflate");
    }
    free(dict);
    return WSF_Z_OK;
}

/* Inflates in[0..len) into out within the message's size limit. flush is
 * Z_BLOCK for the appended tail, so that zlib stops on the block boundary
 * the message must end on; *boundary then says whether it did. */
static int i_run(wsf_inflater *s, const uint8_t *in, size_t len, int flush,
                 wsf_buf *out, wsf_utf8 *utf8, int *boundary) {
    z_stream *zs = &((zstate *)s->z)->zs;

    zs->next_in = no_bytes;
    zs->avail_in = 0;
    for (;;) {
        size_t room, made, allowed, want;
        uInt in_before;
        int r, rc;

        if (zs->avail_in == 0 && len > 0) {
            size_t n = len < IN_SLICE ? len : IN_SLICE;
            zs->next_in = in;
            zs->avail_in = (uInt)n;
            in += n;
            len -= n;
        }
        /* One byte of room past the limit tells a message of exactly
         * max_size from one that is longer. */
        allowed = SIZE_MAX;
        if (s->max_size && s->max_size - s->msg_size < (uint64_t)(SIZE_MAX - 1))
            allowed = (size_t)(s->max_size - s->msg_size) + 1;
        want = sat_add(zs->avail_in, len);
        want = want > MAX_GUESS / 4 ? MAX_GUESS : want * 4 + 1024;
        rc = buf_room(out, allowed < 1024 ? allowed : 1024, want, allowed);
        if (rc != WSF_Z_OK)
            return i_fail(s, rc, "out of memory");
        room = out->cap - out->len;
        if (room > allowed)
            room = allowed;
        if (utf8 && room > UTF8_SLICE)
            room = UTF8_SLICE;
        if (room > OUT_SLICE)
            room = OUT_SLICE;
        zs->next_out = out->data + out->len;
        zs->avail_out = (uInt)room;
        in_before = zs->avail_in;
        r = inflate(zs, flush);
        made = room - zs->avail_out;
        if (made) {
            s->msg_size += made;
            if (s->max_size && s->msg_size > s->max_size) {
                out->len += made;
                return i_fail(s, WSF_Z_TOO_BIG, "message too big");
            }
            if (utf8 && wsf_utf8_feed(utf8, out->data + out->len, made) ==
                            WSF_UTF8_INVALID) {
                out->len += made;
                return i_fail(s, WSF_Z_BAD_UTF8, "invalid UTF-8");
            }
            out->len += made;
        }
        if (in_before != zs->avail_in)
            s->ended = 0;
        /* A call without progress may step past a boundary zlib stopped
         * at without moving, so only calls that moved data count. */
        if (made || in_before != zs->avail_in)
            *boundary = (zs->data_type & 128) != 0;

        switch (r) {
        case Z_STREAM_END:
            if ((rc = i_restart(s, zs)) != WSF_Z_OK)
                return rc;
            s->ended = 1;
            if (zs->avail_in == 0 && len == 0)
                return WSF_Z_OK;
            break;
        case Z_OK:
        case Z_BUF_ERROR:
            /* Room left over: zlib wants more input, none is pending. */
            if (zs->avail_in == 0 && len == 0 && zs->avail_out != 0)
                return WSF_Z_OK;
            if (r == Z_BUF_ERROR)
                return i_fail(s, WSF_Z_MISUSE, "inflate made no progress");
            break;
        case Z_DATA_ERROR:
        case Z_NEED_DICT:
            return i_fail(s, WSF_Z_BAD_DATA, "invalid compressed data");
        case Z_MEM_ERROR:
            return i_fail(s, WSF_Z_NOMEM, "out of memory");
        default:
            return i_fail(s, WSF_Z_MISUSE, "inflate failed");
        }
    }
}

int wsf_inflate(wsf_inflater *s, const uint8_t *in, size_t len, int final,
                wsf_buf *out, wsf_utf8 *utf8) {
    int rc, boundary = 0;

    if (s->failed)
        return WSF_Z_MISUSE;
    if (!s->z && (rc = i_start(s)) != WSF_Z_OK)
        return rc;
    s->in_msg = 1;
    rc = i_run(s, in, len, Z_SYNC_FLUSH, out, utf8, &boundary);
    if (rc != WSF_Z_OK || !final)
        return rc;
    /* A sender that closed the stream with BFINAL and added nothing after
     * it has no use for the tail; fed to a fresh stream it would not
     * parse. */
    if (!s->ended) {
        size_t before = out->len;
        rc = i_run(s, flush_tail, sizeof flush_tail, Z_BLOCK, out, utf8,
                   &boundary);
        if (rc != WSF_Z_OK)
            return rc;
        /* A genuine tail is an empty stored block: it yields no output and
         * leaves no bits buffered. Anything else means the message was cut
         * inside a block and the tail was read as data. */
        if (!s->ended &&
            !(boundary && out->len == before &&
              (((zstate *)s->z)->zs.data_type & 7) == 0))
            return i_fail(s, WSF_Z_BAD_DATA,
                          "compressed message ends inside a block");
    }
    if (utf8 && wsf_utf8_feed(utf8, no_bytes, 0) != WSF_UTF8_VALID)
        return i_fail(s, WSF_Z_BAD_UTF8, "invalid UTF-8");
    s->in_msg = 0;
    s->ended = 0;
    s->msg_size = 0;
    if (keeps_window(s->flags))
        return (s->flags & WSF_Z_HOLD) ? WSF_Z_OK : i_keep_window(s);
    if (s->flags & (WSF_Z_RELEASE | WSF_Z_KEEP_WINDOW))
        i_free(s);
    else if ((s->flags & WSF_Z_NO_CONTEXT) &&
             inflateReset(&((zstate *)s->z)->zs) != Z_OK)
        return i_fail(s, WSF_Z_MISUSE, "inflateReset failed");
    return WSF_Z_OK;
}

int wsf_inflater_release(wsf_inflater *s) {
    if (s->in_msg || (s->z && !(s->flags & WSF_Z_NO_CONTEXT)))
        return WSF_Z_MISUSE;
    i_free(s);
    return WSF_Z_OK;
}

int wsf_inflater_park(wsf_inflater *s) {
    if (s->in_msg || s->failed)
        return WSF_Z_MISUSE;
    if (keeps_window(s->flags) && s->z)
        return i_keep_window(s);
    return WSF_Z_OK;
}

void wsf_inflater_end(wsf_inflater *s) {
    i_free(s);
    hist_free(&s->hist, &s->hist_len, &s->hist_cap);
    s->in_msg = 0;
    s->failed = 0;
    s->ended = 0;
    s->msg_size = 0;
    s->error = NULL;
}

size_t wsf_inflater_mem(const wsf_inflater *s) {
    return (s->z ? ((const zstate *)s->z)->mem : 0) + s->hist_cap;
}

int wsf_z_close_code(int rc) {
    switch (rc) {
    case WSF_Z_OK:
        return 0;
    case WSF_Z_TOO_BIG:
        return 1009;
    case WSF_Z_BAD_DATA:
    case WSF_Z_BAD_UTF8:
        return 1007;
    default:
        return 1011;
    }
}
