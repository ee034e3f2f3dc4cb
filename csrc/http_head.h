/* A fast path for the opening handshake's request head (RFC 9112 syntax,
 * RFC 6455 section 4.2.1 checks). Pure C99 (no Python headers), no allocation.
 *
 * It accepts only a strict, common subset: "GET <origin-form target>
 * HTTP/1.1", header names that are tokens, values of visible ASCII,
 * spaces and tabs, no Content-Length or Transfer-Encoding, no obs-fold,
 * no leading blank lines, within the caller's size and count limits.
 * Everything else (errors included) is declined, for the general parser
 * to accept or refuse with its status: this path never refuses. */
#ifndef WSFAST_HTTP_HEAD_H
#define WSFAST_HTTP_HEAD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* wsf_parse_request_head results */
#define WSF_HEAD_NEED_MORE 0 /* no end of head yet, the subset so far */
#define WSF_HEAD_DONE 1      /* a whole head in the subset: see wsf_request_head */
#define WSF_HEAD_DECLINE 2   /* outside the subset or over a limit */

/* One header line: offsets into the caller's input. The value has its
 * surrounding spaces and tabs removed. */
typedef struct wsf_head_field {
    uint32_t name, name_len;
    uint32_t value, value_len;
} wsf_head_field;

/* What wsf_check_upgrade found (bits of wsf_request_head.upgrade) */
#define WSF_UPGRADE_WEBSOCKET 0x01 /* Upgrade holds the token websocket */
#define WSF_UPGRADE_VALID 0x02     /* every RFC 6455 4.2.1 check passed */
#define WSF_UPGRADE_OFFERS 0x04    /* Sec-WebSocket-Protocol or -Extensions present */

typedef struct wsf_request_head {
    size_t head_len;     /* bytes of the head, up to and with CRLF CRLF */
    uint32_t target, target_len; /* the request-target (the method is GET) */
    uint32_t nfields;    /* header lines, in fields[0..nfields) */
    uint32_t key;        /* with WSF_UPGRADE_VALID: the Sec-WebSocket-Key field */
    unsigned upgrade;    /* WSF_UPGRADE_* (wsf_check_upgrade) */
} wsf_request_head;

/* Parses in[0..len). Reads at most min(len, max_head_size) bytes.
 * On WSF_HEAD_DONE, head and fields[0..head->nfields) describe it;
 * more than max_fields header lines or a head longer than max_head_size
 * are declined (the general parser answers 431). */
int wsf_parse_request_head(const uint8_t *in, size_t len, size_t max_head_size,
                           wsf_head_field *fields, size_t max_fields,
                           wsf_request_head *head);

/* Sets head->upgrade (and head->key) from a parsed head: whether it asks
 * for WebSocket, whether it passes every check of RFC 6455 section 4.2.1
 * (one non-empty Host; Upgrade has websocket; Connection has upgrade; one
 * Sec-WebSocket-Version, "13"; one Sec-WebSocket-Key of 16 bytes in
 * base64), and whether it offers subprotocols or extensions. */
void wsf_check_upgrade(const uint8_t *in, const wsf_head_field *fields,
                       wsf_request_head *head);

#ifdef __cplusplus
}
#endif
#endif
