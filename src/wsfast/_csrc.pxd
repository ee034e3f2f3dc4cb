# Declarations of csrc/'s plain C API (csrc/wsfast.h) for the Cython bridge.
from libc.stdint cimport uint8_t, uint16_t, uint64_t

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
    int wsf_parser_in_message(const wsf_parser *p)
    int wsf_check_close_payload(const uint8_t *payload, size_t len)
    int wsf_close_code_valid(unsigned code)
    size_t wsf_header_size(uint64_t payload_len, int masked)
    size_t wsf_encode_header(uint8_t *out, unsigned opcode, unsigned flags,
                             uint64_t payload_len, const uint8_t *mask)
    size_t wsf_encode_frame(uint8_t *out, unsigned opcode, unsigned flags,
                            const uint8_t *payload, size_t len, const uint8_t *mask)
