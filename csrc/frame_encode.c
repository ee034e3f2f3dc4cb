/* Frame encoder (RFC 6455 section 5.2): always the minimal length form. */
#include <string.h>
#include "frame.h"
#include "mask.h"

size_t wsf_header_size(uint64_t payload_len, int masked) {
    size_t n = payload_len < 126 ? 2 : payload_len <= 0xFFFF ? 4 : 10;
    return masked ? n + 4 : n;
}

size_t wsf_encode_header(uint8_t *out, unsigned opcode, unsigned flags,
                         uint64_t payload_len, const uint8_t *mask) {
    size_t n;
    uint8_t mbit = mask ? 0x80 : 0;

    /* FIN and all three RSV bits pass through, so tests can build any
     * header the parser must reject. */
    out[0] = (uint8_t)((flags & 0xF0) | (opcode & 0x0F));
    if (payload_len < 126) {
        out[1] = (uint8_t)(mbit | payload_len);
        n = 2;
    } else if (payload_len <= 0xFFFF) {
        out[1] = (uint8_t)(mbit | 126);
        out[2] = (uint8_t)(payload_len >> 8);
        out[3] = (uint8_t)payload_len;
        n = 4;
    } else {
        int i;
        out[1] = (uint8_t)(mbit | 127);
        for (i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)(payload_len >> (56 - 8 * i));
        n = 10;
    }
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

size_t wsf_encode_frame(uint8_t *out, unsigned opcode, unsigned flags,
                        const uint8_t *payload, size_t len,
                        const uint8_t *mask) {
    size_t n = wsf_encode_header(out, opcode, flags, len, mask);
    if (len) {
        if (mask)
            wsf_mask(out + n, payload, len, mask, 0);
        else
            memcpy(out + n, payload, len);
    }
    return n + len;
}
