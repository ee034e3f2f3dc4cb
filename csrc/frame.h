/* Streaming WebSocket frame parser and encoder (RFC 6455 section 5).
 * Pure C99; knows nothing of Python. Plain structs and functions so that
 * any binding (Cython, cffi) can drive it. */
#ifndef WSFAST_FRAME_H
#define WSFAST_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include "utf8.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opcodes */
#define WSF_OP_CONT 0x0
#define WSF_OP_TEXT 0x1
#define WSF_OP_BINARY 0x2
#define WSF_OP_CLOSE 0x8
#define WSF_OP_PING 0x9
#define WSF_OP_PONG 0xA

/* Close codes the parser fails with */
#define WSF_CLOSE_PROTOCOL_ERROR 1002
#define WSF_CLOSE_INVALID_DATA 1007
#define WSF_CLOSE_TOO_BIG 1009

/* Parser flags (wsf_parser_init) */
#define WSF_PARSER_SERVER 0x01     /* peer is a client: frames must be masked */
#define WSF_PARSER_ALLOW_RSV1 0x02 /* permessage-deflate negotiated */
#define WSF_PARSER_NO_UTF8 0x04    /* skip UTF-8 checks of text payloads */

/* Frame flag bits in wsf_parser.frame_flags (as in the first header byte) */
#define WSF_FIN 0x80
#define WSF_RSV1 0x40

/* wsf_parse results */
#define WSF_NEED_MORE 0 /* all input consumed */
#define WSF_HEADER 1    /* a valid frame header: provide a destination */
#define WSF_FRAME 2     /* the frame's payload is complete in the destination */
#define WSF_ERROR (-1)  /* close_code and error say why; the parser stays failed */

/* Per-connection parser state. No buffer of its own: a header split across
 * reads is kept in hdr[]; the payload is unmasked straight into the
 * caller's destination. Fields below "state" are private. */
typedef struct wsf_parser {
    uint64_t max_frame_size;   /* 0 = unlimited */
    uint64_t max_message_size; /* 0 = unlimited; sum of a message's frames */
    uint64_t frame_len;        /* payload length of the current frame */
    uint64_t frame_done;       /* payload bytes of it delivered so far */
    uint64_t msg_len;          /* payload bytes of the current message */
    uint8_t *dst;              /* caller's destination, frame_len bytes */
    const char *error;         /* static string, set with WSF_ERROR */
    uint16_t close_code;       /* set with WSF_ERROR */
    uint8_t flags;             /* WSF_PARSER_* */
    uint8_t state;
    uint8_t opcode;      /* current frame's opcode */
    uint8_t frame_flags; /* current frame's FIN / RSV bits */
    uint8_t msg_opcode;  /* TEXT/BINARY while a fragmented message is open, else 0 */
    uint8_t msg_flags;   /* RSV bits of the open message's first frame */
    uint8_t hdr_len;
    uint8_t whole_hdr;   /* header size of the frame wsf_whole_frame accepted */
    uint8_t masked;
    uint8_t mask[4];
    uint8_t hdr[14];
    wsf_utf8 utf8;       /* text validation, carried across fragments */
} wsf_parser;

void wsf_parser_init(wsf_parser *p, unsigned flags, uint64_t max_frame_size,
                     uint64_t max_message_size);

/* Parses from in[*pos] up to in[len], advancing *pos. Returns:
 *  WSF_HEADER: a frame header is complete and valid; p->opcode,
 *      p->frame_flags and p->frame_len describe it. If frame_len > 0 the
 *      caller must call wsf_parser_set_dest() with room for frame_len bytes
 *      before calling wsf_parse again.
 *  WSF_FRAME: the current frame's payload is complete, unmasked, in the
 *      destination; UTF-8 and close-payload checks have passed.
 *  WSF_NEED_MORE: *pos == len; call again with more bytes.
 *  WSF_ERROR: p->close_code and p->error are set; every later call
 *      returns WSF_ERROR again.
 * Text payloads of messages whose first frame has RSV1 are compressed,
 * so their UTF-8 is the caller's to check after inflating. */
int wsf_parse(wsf_parser *p, const uint8_t *in, size_t len, size_t *pos);

/* The destination for the current frame's payload (frame_len bytes). It
 * must stay valid until WSF_FRAME. */
void wsf_parser_set_dest(wsf_parser *p, uint8_t *dst);

/* --- Whole frames in one step -----------------------------------------
 * The common case without the WSF_HEADER / set_dest round trip: a FIN
 * TEXT or BINARY frame outside a fragmented message, header and payload
 * both inside the input. A binding checks with wsf_whole_frame, allocates
 * the payload's destination, and takes the frame with wsf_take_whole;
 * anything else goes through wsf_parse, which also reports every error.
 * Mixing the two is fine: the parser's state is the same either way. */

/* 1 if in[pos..len) starts with such a frame and the parser is between
 * frames: its header passes every rule and size limit, so only the
 * payload's UTF-8 can still fail. p->opcode, p->frame_flags and
 * p->frame_len (also *payload_len) then describe it, and the parser holds
 * it for wsf_take_whole; nothing is consumed. Else 0, changing nothing:
 * call wsf_parse. Reads only within in[pos..len). */
int wsf_whole_frame(wsf_parser *p, const uint8_t *in, size_t len, size_t pos,
                    size_t *payload_len);

/* Takes the frame wsf_whole_frame just accepted, from the same in, len
 * and *pos: unmasks its payload into dst (dst_len bytes, the payload
 * length), checks the UTF-8 of uncompressed text, and advances *pos past
 * it. Returns WSF_FRAME or WSF_ERROR (invalid UTF-8; or close code 1011
 * when no frame is held, the input is too short for it, or dst_len is
 * wrong: a binding bug). A binding that calls wsf_parse instead drops
 * the held frame, unconsumed. */
int wsf_take_whole(wsf_parser *p, const uint8_t *in, size_t len, size_t *pos,
                   uint8_t *dst, size_t dst_len);

/* 1 while a fragmented message is open (between its first and last frame). */
int wsf_parser_in_message(const wsf_parser *p);

/* Validates a close frame's payload: 0 if valid, else the close code to
 * fail with (1002 bad length or code, 1007 bad reason). */
int wsf_check_close_payload(const uint8_t *payload, size_t len);

/* 1 if a close code may appear on the wire (RFC 6455 7.4, IANA registry). */
int wsf_close_code_valid(unsigned code);

/* --- Encoder ---------------------------------------------------------- */

/* Bytes the header of a frame takes: 2, 4 or 10, plus 4 if masked. */
size_t wsf_header_size(uint64_t payload_len, int masked);

/* Writes the header into out (wsf_header_size bytes) and returns its
 * size. flags: WSF_FIN | WSF_RSV1 bits. mask: 4 bytes, or NULL. */
size_t wsf_encode_header(uint8_t *out, unsigned opcode, unsigned flags,
                         uint64_t payload_len, const uint8_t *mask);

/* Writes header and payload (masked when mask != NULL) into out, which
 * must have wsf_header_size(len, mask != NULL) + len bytes. Returns the
 * total written. payload may not overlap out. */
size_t wsf_encode_frame(uint8_t *out, unsigned opcode, unsigned flags,
                        const uint8_t *payload, size_t len,
                        const uint8_t *mask);

/* Unmasked frames, inline for a binding's per-frame path; the same bytes
 * as wsf_header_size / wsf_encode_header with mask == NULL. */
static inline size_t wsf_header_size_unmasked(uint64_t payload_len) {
    return payload_len < 126 ? 2 : payload_len <= 0xFFFF ? 4 : 10;
}

static inline size_t wsf_encode_header_unmasked(uint8_t *out, unsigned opcode,
                                                unsigned flags,
                                                uint64_t payload_len) {
    int i;
    out[0] = (uint8_t)((flags & 0xF0) | (opcode & 0x0F));
    if (payload_len < 126) {
        out[1] = (uint8_t)payload_len;
        return 2;
    }
    if (payload_len <= 0xFFFF) {
        out[1] = 126;
        out[2] = (uint8_t)(payload_len >> 8);
        out[3] = (uint8_t)payload_len;
        return 4;
    }
    out[1] = 127;
    for (i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(payload_len >> (56 - 8 * i));
    return 10;
}

#ifdef __cplusplus
}
#endif
#endif
