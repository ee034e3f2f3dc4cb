# Declarations of csrc/'s plain C API (csrc/wsfast.h) for the Cython bridge.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t

cdef extern from "wsfast.h" nogil:
    # mask.h
    enum:
        WSF_MASK_SCALAR
        WSF_MASK_SSE2
        WSF_MASK_AVX2
        WSF_MASK_NEON
        WSF_MASK_NKERNELS
    unsigned wsf_mask(uint8_t *dst, const uint8_t *src, size_t len,
                      const uint8_t *key, unsigned phase)
    unsigned wsf_mask_with(int kernel, uint8_t *dst, const uint8_t *src,
                           size_t len, const uint8_t *key, unsigned phase)
    int wsf_mask_supported(int kernel)
    int wsf_mask_active()
    int wsf_mask_select(int kernel)
    const char *wsf_mask_kernel_name(int kernel)

    # utf8.h
    ctypedef struct wsf_utf8:
        uint8_t state
    int WSF_UTF8_INVALID
    int WSF_UTF8_VALID
    int WSF_UTF8_PARTIAL
    int wsf_utf8_feed(wsf_utf8 *st, const uint8_t *p, size_t n)
    void wsf_utf8_reset(wsf_utf8 *st)
    int wsf_utf8_valid(const uint8_t *p, size_t n)

    # frame.h
    int WSF_PARSER_SERVER
    int WSF_PARSER_ALLOW_RSV1
    int WSF_PARSER_NO_UTF8
    int WSF_FIN
    int WSF_RSV1
    int WSF_NEED_MORE
    int WSF_HEADER
    int WSF_FRAME
    int WSF_ERROR
    ctypedef struct wsf_parser:
        uint64_t max_frame_size
        uint64_t max_message_size
        uint64_t frame_len
        const char *error
        uint16_t close_code
        uint8_t opcode
        uint8_t frame_flags
        uint8_t msg_opcode
        uint8_t msg_flags
    void wsf_parser_init(wsf_parser *p, unsigned flags, uint64_t max_frame_size,
                         uint64_t max_message_size)
    int wsf_parse(wsf_parser *p, const uint8_t *inp, size_t len, size_t *pos)
    void wsf_parser_set_dest(wsf_parser *p, uint8_t *dst)
    int wsf_whole_frame(wsf_parser *p, const uint8_t *inp, size_t len,
                        size_t pos, size_t *payload_len)
    int wsf_take_whole(wsf_parser *p, const uint8_t *inp, size_t len, size_t *pos,
                       uint8_t *dst, size_t dst_len)
    int wsf_parser_in_message(const wsf_parser *p)
    int wsf_check_close_payload(const uint8_t *payload, size_t len)
    int wsf_close_code_valid(unsigned code)
    size_t wsf_header_size(uint64_t payload_len, int masked)
    size_t wsf_encode_header(uint8_t *out, unsigned opcode, unsigned flags,
                             uint64_t payload_len, const uint8_t *mask)
    size_t wsf_encode_frame(uint8_t *out, unsigned opcode, unsigned flags,
                            const uint8_t *payload, size_t len, const uint8_t *mask)
    size_t wsf_header_size_unmasked(uint64_t payload_len)
    size_t wsf_encode_header_unmasked(uint8_t *out, unsigned opcode, unsigned flags,
                                      uint64_t payload_len)

    # deflate.h
    int WSF_Z_OK
    int WSF_Z_NOMEM
    int WSF_Z_TOO_BIG
    int WSF_Z_BAD_DATA
    int WSF_Z_BAD_UTF8
    int WSF_Z_MISUSE
    int WSF_Z_NO_CONTEXT
    int WSF_Z_RELEASE
    int WSF_Z_KEEP_WINDOW
    int WSF_Z_HOLD
    int WSF_Z_MORE
    int WSF_Z_FLUSH
    int WSF_Z_FINAL
    ctypedef struct wsf_buf:
        uint8_t *data
        size_t len
        size_t cap
    void wsf_buf_free(wsf_buf *b)
    ctypedef struct wsf_deflater:
        int window_bits
        int mem_level
        const char *error
    ctypedef struct wsf_inflater:
        uint64_t max_size
        int window_bits
        const char *error
    int wsf_deflater_init(wsf_deflater *d, int window_bits, int mem_level,
                          int level, unsigned flags)
    int wsf_deflate(wsf_deflater *d, const uint8_t *inp, size_t len, int mode,
                    wsf_buf *out)
    int wsf_deflater_release(wsf_deflater *d)
    int wsf_deflater_park(wsf_deflater *d)
    void wsf_deflater_end(wsf_deflater *d)
    size_t wsf_deflater_mem(const wsf_deflater *d)
    int wsf_inflater_init(wsf_inflater *s, int window_bits, uint64_t max_size,
                          unsigned flags)
    int wsf_inflate(wsf_inflater *s, const uint8_t *inp, size_t len, int final,
                    wsf_buf *out, wsf_utf8 *utf8)
    int wsf_inflater_release(wsf_inflater *s)
    int wsf_inflater_park(wsf_inflater *s)
    void wsf_inflater_end(wsf_inflater *s)
    size_t wsf_inflater_mem(const wsf_inflater *s)
    int wsf_z_close_code(int rc)

    # http_head.h
    int WSF_HEAD_NEED_MORE
    int WSF_HEAD_DONE
    int WSF_HEAD_DECLINE
    int WSF_UPGRADE_WEBSOCKET
    int WSF_UPGRADE_VALID
    int WSF_UPGRADE_OFFERS
    ctypedef struct wsf_head_field:
        uint32_t name, name_len, value, value_len
    ctypedef struct wsf_request_head:
        size_t head_len
        uint32_t target, target_len, nfields, key
        unsigned upgrade
    int wsf_parse_request_head(const uint8_t *inp, size_t len, size_t max_head_size,
                               wsf_head_field *fields, size_t max_fields,
                               wsf_request_head *head)
    void wsf_check_upgrade(const uint8_t *inp, const wsf_head_field *fields,
                           wsf_request_head *head)

    # accept_key.h
    enum:
        WSF_ACCEPT_LEN
    int wsf_accept_key(const uint8_t *key, size_t key_len, uint8_t *out)
