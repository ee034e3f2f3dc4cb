"""The cffi binding of csrc/ (API mode): declarations and the module's C.

setup.py turns ``ffibuilder`` into the extension ``wsfast.codec._cffi._ffi``
and compiles csrc/ into it the way it does for the Cython bridge (strict
C99, each SIMD kernel with its own flags), so this file only says what
Python may call. Structs are declared partially (``...;``): cffi takes
their layout from the compiler, and the binding touches only the fields
named here. Imports nothing of wsfast: it runs before anything is built.
"""

import cffi

MODULE = "wsfast.codec._cffi._ffi"

CDEF = """
    /* mask.h */
    static const int WSF_MASK_SCALAR;
    static const int WSF_MASK_SSE2;
    static const int WSF_MASK_AVX2;
    static const int WSF_MASK_NEON;
    unsigned wsf_mask(uint8_t *dst, const uint8_t *src, size_t len,
                      const uint8_t *key, unsigned phase);
    unsigned wsf_mask_with(int kernel, uint8_t *dst, const uint8_t *src,
                           size_t len, const uint8_t *key, unsigned phase);
    int wsf_mask_supported(int kernel);
    int wsf_mask_active(void);
    const char *wsf_mask_kernel_name(int kernel);

    /* utf8.h */
    typedef struct { ...; } wsf_utf8;
    #define WSF_UTF8_INVALID ...
    #define WSF_UTF8_VALID ...
    int wsf_utf8_feed(wsf_utf8 *st, const uint8_t *p, size_t n);
    void wsf_utf8_reset(wsf_utf8 *st);
    int wsf_utf8_valid(const uint8_t *p, size_t n);

    /* frame.h */
    #define WSF_PARSER_SERVER ...
    #define WSF_PARSER_ALLOW_RSV1 ...
    #define WSF_PARSER_NO_UTF8 ...
    #define WSF_FIN ...
    #define WSF_RSV1 ...
    #define WSF_NEED_MORE ...
    #define WSF_HEADER ...
    #define WSF_FRAME ...
    typedef struct wsf_parser {
        uint64_t max_frame_size;
        uint64_t max_message_size;
        uint64_t frame_len;
        const char *error;
        uint16_t close_code;
        uint8_t opcode;
        uint8_t frame_flags;
        ...;
    } wsf_parser;
    void wsf_parser_init(wsf_parser *p, unsigned flags, uint64_t max_frame_size,
                         uint64_t max_message_size);
    int wsf_parse(wsf_parser *p, const uint8_t *in, size_t len, size_t *pos);
    void wsf_parser_set_dest(wsf_parser *p, uint8_t *dst);
    int wsf_whole_frame(wsf_parser *p, const uint8_t *in, size_t len, size_t pos,
                        size_t *payload_len);
    int wsf_take_whole(wsf_parser *p, const uint8_t *in, size_t len, size_t *pos,
                       uint8_t *dst, size_t dst_len);
    int wsf_parser_in_message(const wsf_parser *p);
    int wsf_check_close_payload(const uint8_t *payload, size_t len);
    int wsf_close_code_valid(unsigned code);
    size_t wsf_header_size(uint64_t payload_len, int masked);
    size_t wsf_encode_frame(uint8_t *out, unsigned opcode, unsigned flags,
                            const uint8_t *payload, size_t len, const uint8_t *mask);

    /* deflate.h */
    #define WSF_Z_OK ...
    #define WSF_Z_NOMEM ...
    #define WSF_Z_NO_CONTEXT ...
    #define WSF_Z_RELEASE ...
    #define WSF_Z_KEEP_WINDOW ...
    #define WSF_Z_HOLD ...
    #define WSF_Z_FLUSH ...
    #define WSF_Z_FINAL ...
    typedef struct wsf_buf { uint8_t *data; size_t len; size_t cap; } wsf_buf;
    void wsf_buf_free(wsf_buf *b);
    typedef struct wsf_deflater { int window_bits; const char *error; ...; } wsf_deflater;
    typedef struct wsf_inflater { uint64_t max_size; const char *error; ...; } wsf_inflater;
    int wsf_deflater_init(wsf_deflater *d, int window_bits, int mem_level,
                          int level, unsigned flags);
    int wsf_deflate(wsf_deflater *d, const uint8_t *in, size_t len, int mode,
                    wsf_buf *out);
    int wsf_deflater_release(wsf_deflater *d);
    int wsf_deflater_park(wsf_deflater *d);
    void wsf_deflater_end(wsf_deflater *d);
    size_t wsf_deflater_mem(const wsf_deflater *d);
    int wsf_inflater_init(wsf_inflater *s, int window_bits, uint64_t max_size,
                          unsigned flags);
    int wsf_inflate(wsf_inflater *s, const uint8_t *in, size_t len, int final,
                    wsf_buf *out, wsf_utf8 *utf8);
    int wsf_inflater_release(wsf_inflater *s);
    int wsf_inflater_park(wsf_inflater *s);
    void wsf_inflater_end(wsf_inflater *s);
    size_t wsf_inflater_mem(const wsf_inflater *s);
    int wsf_z_close_code(int rc);

    /* http_head.h, accept_key.h */
    #define WSF_HEAD_DONE ...
    #define WSF_UPGRADE_WEBSOCKET ...
    #define WSF_UPGRADE_VALID ...
    #define WSF_UPGRADE_OFFERS ...
    #define WSF_ACCEPT_LEN ...
    typedef struct wsf_head_field {
        uint32_t name, name_len;
        uint32_t value, value_len;
    } wsf_head_field;
    typedef struct wsf_request_head {
        size_t head_len;
        uint32_t target, target_len;
        uint32_t nfields;
        uint32_t key;
        unsigned upgrade;
    } wsf_request_head;
    int wsf_parse_request_head(const uint8_t *in, size_t len, size_t max_head_size,
                               wsf_head_field *fields, size_t max_fields,
                               wsf_request_head *head);
    void wsf_check_upgrade(const uint8_t *in, const wsf_head_field *fields,
                           wsf_request_head *head);
    int wsf_accept_key(const uint8_t *key, size_t key_len, uint8_t *out);

    /* this module's own helper (BATCH_SOURCE) */
    int wsfast_whole_frames(wsf_parser *p, const uint8_t *in, size_t len, size_t *pos,
                            uint8_t *out, size_t out_cap, size_t *lens, uint8_t *meta,
                            int max);
"""

# One call for a run of whole frames: a call through cffi costs far more
# than Cython's, so the binding's per-frame path takes whole frames in
# batches instead of two calls each. Plain C over csrc's public API.
BATCH_SOURCE = """
/* Takes the whole, unfragmented frames at in[*pos..len), at most max, the
 * way the Cython bridge's per-frame path does (wsf_whole_frame, then
 * wsf_take_whole), unmasking their payloads back to back into out. Frame i
 * gets its payload length in lens[i], its opcode in meta[2i] and its flag
 * bits in meta[2i+1]. Returns how many it took, stopping at the first frame
 * wsf_whole_frame declines (the caller goes on with wsf_parse); -1 - count
 * if wsf_take_whole then failed (p->close_code and p->error say why). */
static int wsfast_whole_frames(wsf_parser *p, const uint8_t *in, size_t len, size_t *pos,
                               uint8_t *out, size_t out_cap, size_t *lens, uint8_t *meta,
                               int max)
{
    int count = 0;
    size_t used = 0, n;
    while (count < max && wsf_whole_frame(p, in, len, *pos, &n)) {
        if (n > out_cap - used)
            break; /* cannot happen (payloads fit in the input), but never overrun */
        if (wsf_take_whole(p, in, len, pos, out + used, n) != WSF_FRAME)
            return -1 - count;
        lens[count] = n;
        meta[2 * count] = p->opcode;
        meta[2 * count + 1] = p->frame_flags;
        used += n;
        count++;
    }
    return count;
}
"""


def make_builder(include_dirs=("csrc",), libraries=(), define_macros=()):
    """An FFI builder for csrc/ with the build's include paths, libraries
    and macros (the zlib setting); csrc's objects are linked in by setup.py."""
    builder = cffi.FFI()
    builder.cdef(CDEF)
    builder.set_source(MODULE, '#include "wsfast.h"\n' + BATCH_SOURCE,
                       include_dirs=list(include_dirs), libraries=list(libraries),
                       define_macros=list(define_macros))
    return builder


ffibuilder = make_builder()
