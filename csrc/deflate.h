/* permessage-deflate (RFC 7692) compression core on zlib. Pure C99; knows
 * nothing of Python, and nothing of the handshake: the extension's
 * parameters are negotiated elsewhere and passed in here.
 *
 * One wsf_deflater per connection for what it sends, one wsf_inflater for
 * what it receives. Both hold no zlib memory until their first message,
 * and can give it back between messages. Output goes to a wsf_buf, a
 * plain malloc'd byte buffer the caller owns and reuses: a binding turns
 * it into a Python object with one copy (PyBytes_FromStringAndSize, or
 * wsf_encode_frame straight from it), then sets len = 0 for the next
 * message. zlib.h is not needed to use this header. */
#ifndef WSFAST_DEFLATE_H
#define WSFAST_DEFLATE_H

#include <stddef.h>
#include <stdint.h>
#include "utf8.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Results. Errors are negative; wsf_z_close_code maps them to the close
 * code to fail the connection with. */
#define WSF_Z_OK 0
#define WSF_Z_NOMEM (-1)    /* malloc failed (close 1011) */
#define WSF_Z_TOO_BIG (-2)  /* inflated message over max_size (close 1009) */
#define WSF_Z_BAD_DATA (-3) /* not valid compressed data (close 1007) */
#define WSF_Z_BAD_UTF8 (-4) /* inflated text is not UTF-8 (close 1007) */
#define WSF_Z_MISUSE (-5)   /* bad parameter, or not allowed now (close 1011) */

/* Flags for wsf_deflater_init / wsf_inflater_init */
#define WSF_Z_NO_CONTEXT 0x01 /* no_context_takeover: each message stands alone */
#define WSF_Z_RELEASE 0x02    /* free zlib state after each message instead
                                 of resetting it. Implies no context on a
                                 deflater; an inflater needs
                                 WSF_Z_NO_CONTEXT with it */
#define WSF_Z_KEEP_WINDOW 0x04 /* context takeover with little idle memory:
                                  after each message free zlib's state and
                                  keep only the window, the last
                                  2^window_bits bytes of plaintext; the next
                                  message starts a new stream primed with it
                                  (deflateSetDictionary/inflateSetDictionary).
                                  The output is the same as with the state
                                  kept. With WSF_Z_NO_CONTEXT or
                                  WSF_Z_RELEASE, as WSF_Z_RELEASE. */
#define WSF_Z_HOLD 0x08        /* with WSF_Z_KEEP_WINDOW: keep zlib's state
                                  after a message too (no priming cost for
                                  the next one) until wsf_deflater_park /
                                  wsf_inflater_park gives it back, down to
                                  the window: for a connection that is busy
                                  now and idle later. Same output. */

/* Modes for wsf_deflate */
#define WSF_Z_MORE 0  /* more of the message follows; zlib may hold data back */
#define WSF_Z_FLUSH 1 /* more follows, but flush all input so far to out */
#define WSF_Z_FINAL 2 /* end of the message */

#define WSF_Z_DEFAULT_MEM_LEVEL 8 /* zlib's; 5 saves memory for a little ratio */
#define WSF_Z_DEFAULT_LEVEL (-1)  /* zlib's default, currently 6 */

/* Growable output buffer. Zero-initialise; free with wsf_buf_free. The
 * functions below append at data + len and never shrink it. */
typedef struct wsf_buf {
    uint8_t *data; /* NULL until something is written */
    size_t len;    /* bytes in use */
    size_t cap;    /* bytes allocated */
} wsf_buf;

/* Makes room for at least extra more bytes. WSF_Z_OK or WSF_Z_NOMEM. */
int wsf_buf_reserve(wsf_buf *b, size_t extra);

/* Frees the memory and zeroes the struct. */
void wsf_buf_free(wsf_buf *b);

/* Compressor state for one direction. Set up with wsf_deflater_init; the
 * public fields are read-only afterwards. Plain data: may be copied or
 * moved freely, but only one copy may be used. */
typedef struct wsf_deflater {
    int window_bits;   /* 9..15 */
    int mem_level;     /* 1..9 */
    int level;         /* -1..9 */
    unsigned flags;    /* WSF_Z_* flags */
    const char *error; /* static text for the last error, else NULL */
    void *z;           /* private: zlib state, NULL while idle */
    uint8_t *hist;     /* private: WSF_Z_KEEP_WINDOW's window, or NULL */
    size_t hist_len;   /* private: bytes in hist */
    size_t hist_cap;   /* private: bytes allocated for hist */
    uint8_t in_msg;    /* private: a message is partly compressed */
    uint8_t failed;    /* private: state unusable until _end */
} wsf_deflater;

/* window_bits: the negotiated max window, 8..15. zlib cannot make raw
 * deflate with 8, so 8 is stored as 9; that is still safe for a peer
 * limited to 8, since zlib keeps 262 bytes of lookahead out of a 512-byte
 * window and so never refers more than 250 bytes back.
 * mem_level: 1..9, or 0 for WSF_Z_DEFAULT_MEM_LEVEL. zlib then holds about
 * 2^(window_bits+2) + 2^(mem_level+9) bytes plus ~6 KiB of state: 262 KiB
 * at 15/8, 38 KiB at 12/5, during a message; between messages too, unless
 * WSF_Z_KEEP_WINDOW keeps only the 2^window_bits bytes of window (priming
 * a new stream with them costs about 2 ns a byte of window, a few
 * microseconds per message at 12 bits). level: -1 (zlib default) or 0..9.
 * No memory is allocated here. Returns WSF_Z_OK or WSF_Z_MISUSE. */
int wsf_deflater_init(wsf_deflater *d, int window_bits, int mem_level,
                      int level, unsigned flags);

/* Compresses in[0..len) as the next piece of the current message and
 * appends the result to out. mode is WSF_Z_MORE, WSF_Z_FLUSH or
 * WSF_Z_FINAL; after WSF_Z_FINAL the output of all the message's pieces,
 * concatenated, is its payload (raw deflate, sync-flushed, with the
 * trailing 00 00 ff ff removed as RFC 7692 section 7.2.1 asks). An empty
 * message compresses to the single byte 00. in may be NULL if len == 0.
 * Under no_context_takeover the state is reset, or with WSF_Z_RELEASE
 * freed, after the final piece; otherwise the window carries over, in
 * zlib's state or, with WSF_Z_KEEP_WINDOW, as plaintext only. After an
 * error, calls return WSF_Z_MISUSE until wsf_deflater_end. */
int wsf_deflate(wsf_deflater *d, const uint8_t *in, size_t len, int mode,
                wsf_buf *out);

/* Frees the zlib state, and a WSF_Z_KEEP_WINDOW window, while no message
 * is in progress (else returns WSF_Z_MISUSE). Always allowed between
 * messages, even with context takeover: the next message is then
 * compressed without the old window, which any peer decodes. */
int wsf_deflater_release(wsf_deflater *d);

/* Between messages, under WSF_Z_KEEP_WINDOW: frees zlib's state and keeps
 * only the window, as if WSF_Z_HOLD were not set; the next message starts
 * a primed stream and makes the same output. Does nothing otherwise.
 * WSF_Z_MISUSE during a message. */
int wsf_deflater_park(wsf_deflater *d);

/* Frees everything, whatever the state; the settings are kept, so the
 * deflater may be used again as if just initialised. */
void wsf_deflater_end(wsf_deflater *d);

/* Bytes held from malloc for zlib's state (window, hash chains, pending
 * output, bookkeeping) and for a WSF_Z_KEEP_WINDOW window; 0 while idle
 * otherwise. malloc's own overhead not counted. */
size_t wsf_deflater_mem(const wsf_deflater *d);

/* Decompressor state for one direction; as wsf_deflater. */
typedef struct wsf_inflater {
    uint64_t max_size; /* max bytes per inflated message, 0 = unlimited;
                          may be changed between messages */
    uint64_t msg_size; /* bytes inflated so far of the current message */
    int window_bits;   /* 9..15 */
    unsigned flags;    /* WSF_Z_* flags */
    const char *error; /* static text for the last error, else NULL */
    void *z;           /* private: zlib state, NULL while idle */
    uint8_t *hist;     /* private: WSF_Z_KEEP_WINDOW's window, or NULL */
    size_t hist_len;   /* private: bytes in hist */
    size_t hist_cap;   /* private: bytes allocated for hist */
    uint8_t in_msg;    /* private: a message is partly inflated */
    uint8_t failed;    /* private: state unusable until _end */
    uint8_t ended;     /* private: a BFINAL block just ended the stream */
} wsf_inflater;

/* window_bits: the negotiated max window of the peer, 8..15 (8 is stored
 * as 9: a larger window decodes anything a smaller one produced).
 * max_size: see the struct. Flags: WSF_Z_RELEASE needs WSF_Z_NO_CONTEXT,
 * since with context takeover the window must survive between messages
 * (WSF_Z_KEEP_WINDOW keeps only that window).
 * Returns WSF_Z_OK or WSF_Z_MISUSE. */
int wsf_inflater_init(wsf_inflater *s, int window_bits, uint64_t max_size,
                      unsigned flags);

/* Inflates in[0..len), the next piece of the current message's payload as
 * it came off the wire, and appends the output to out. final: 1 for the
 * message's last piece (the 00 00 ff ff tail is then added here), else 0.
 * in may be NULL if len == 0.
 * Fails with WSF_Z_TOO_BIG as soon as the message would inflate past
 * max_size; out then never grew more than max_size + 1 bytes over the
 * whole message. Other errors: WSF_Z_BAD_DATA (also for a message that
 * does not end on a deflate block boundary), WSF_Z_NOMEM, WSF_Z_MISUSE.
 * utf8: NULL, or validation state fed each chunk of output as it is
 * produced, while it is still in cache (reset it before each message);
 * then WSF_Z_BAD_UTF8 on invalid or, at the final piece, unfinished text.
 * After an error, calls return WSF_Z_MISUSE until wsf_inflater_end. */
int wsf_inflate(wsf_inflater *s, const uint8_t *in, size_t len, int final,
                wsf_buf *out, wsf_utf8 *utf8);

/* Frees the zlib state between messages. Returns WSF_Z_MISUSE, freeing
 * nothing, during a message or when context takeover still needs zlib's
 * window; WSF_Z_OK otherwise (a WSF_Z_KEEP_WINDOW window is kept). */
int wsf_inflater_release(wsf_inflater *s);

/* As wsf_deflater_park: under WSF_Z_KEEP_WINDOW, keeps zlib's window and
 * frees the rest. WSF_Z_MISUSE during a message. */
int wsf_inflater_park(wsf_inflater *s);

/* Frees everything, whatever the state; settings are kept. */
void wsf_inflater_end(wsf_inflater *s);

/* As wsf_deflater_mem. About 7 KiB of state plus the 2^window_bits window,
 * which zlib allocates on first output: 39 KiB at 15, 11 KiB at 12; with
 * WSF_Z_KEEP_WINDOW, between messages, at most the 2^window_bits window. */
size_t wsf_inflater_mem(const wsf_inflater *s);

/* The close code for a WSF_Z_* error: 1009, 1007 or 1011; 0 for WSF_Z_OK. */
int wsf_z_close_code(int rc);

#ifdef __cplusplus
}
#endif
#endif
