/* The handshake's request head, strict subset only (see http_head.h). */
#include "http_head.h"

#include <string.h>

/* Character classes, one bit each: C_TCHAR token (RFC 9110 5.6.2),
 * C_TARGET origin-form target (pchar, "/", "?"), C_VALUE field value
 * (VCHAR, SP, HTAB). Rows of 16 bytes, from 0x00. */
#define C_TCHAR 0x01
#define C_TARGET 0x02
#define C_VALUE 0x04

static const uint8_t classes[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    4, 7, 4, 5, 7, 7, 7, 7, 6, 6, 7, 7, 6, 7, 7, 6,
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 4, 6, 4, 6,
    6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 4, 4, 4, 5, 7,
    5, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 4, 5, 4, 7, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static size_t span(const uint8_t *in, size_t pos, size_t end, uint8_t cls) {
    while (pos < end && (classes[in[pos]] & cls)) pos++;
    return pos;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* 0 when a[0..n) equals the lowercase b[0..n), ignoring ASCII case. */
static int strncasecmp_ascii(const uint8_t *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (lower(a[i]) != (unsigned char)b[i]) return 1;
    return 0;
}

int wsf_parse_request_head(const uint8_t *in, size_t len, size_t max_head_size,
                           wsf_head_field *fields, size_t max_fields,
                           wsf_request_head *head) {
    /* Offsets are 32-bit; a head is never near that large. */
    size_t end = len < max_head_size ? len : max_head_size;
    if (end > 0x7fffffffu) end = 0x7fffffffu;
    int short_input = end == len; /* running out means "need more" */
#define NEED(n) \
    if (pos + (n) > end) return short_input ? WSF_HEAD_NEED_MORE : WSF_HEAD_DECLINE
    size_t pos = 0;
    NEED(4);
    if (memcmp(in, "GET ", 4) != 0) return WSF_HEAD_DECLINE;
    pos = 4;
    size_t t = pos;
    pos = span(in, pos, end, C_TARGET);
    NEED(1);
    if (pos == t || in[t] != '/' || in[pos] != ' ') return WSF_HEAD_DECLINE;
    head->target = (uint32_t)t;
    head->target_len = (uint32_t)(pos - t);
    pos++;
    NEED(10);
    if (memcmp(in + pos, "HTTP/1.1\r\n", 10) != 0) return WSF_HEAD_DECLINE;
    pos += 10;
    size_t n = 0;
    for (;;) {
        NEED(2);
        if (in[pos] == '\r') {
            if (in[pos + 1] != '\n') return WSF_HEAD_DECLINE;
            head->head_len = pos + 2;
            head->nfields = (uint32_t)n;
            head->upgrade = 0;
            head->key = 0;
            return WSF_HEAD_DONE;
        }
        size_t name = pos;
        pos = span(in, pos, end, C_TCHAR);
        NEED(1);
        if (pos == name || in[pos] != ':') return WSF_HEAD_DECLINE;
        size_t name_len = pos - name;
        /* llhttp has its own rules for these (and a body would follow). */
        if ((name_len == 14 && !strncasecmp_ascii(in + name, "content-length", 14)) ||
            (name_len == 17 && !strncasecmp_ascii(in + name, "transfer-encoding", 17)))
            return WSF_HEAD_DECLINE;
        pos++;
        size_t value = pos;
        pos = span(in, pos, end, C_VALUE);
        NEED(2);
        if (in[pos] != '\r' || in[pos + 1] != '\n') return WSF_HEAD_DECLINE;
        size_t value_end = pos;
        while (value < value_end && (in[value] == ' ' || in[value] == '\t')) value++;
        while (value_end > value && (in[value_end - 1] == ' ' || in[value_end - 1] == '\t'))
            value_end--;
        if (n == max_fields) return WSF_HEAD_DECLINE;
        fields[n].name = (uint32_t)name;
        fields[n].name_len = (uint32_t)name_len;
        fields[n].value = (uint32_t)value;
        fields[n].value_len = (uint32_t)(value_end - value);
        n++;
        pos += 2;
    }
#undef NEED
}

/* Whether the comma-separated list v[0..n) has the element tok
 * (lowercase), ignoring case and the spaces and tabs around elements. */
static int has_token(const uint8_t *v, size_t n, const char *tok, size_t tok_len) {
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && v[j] != ',') j++;
        size_t a = i, b = j;
        while (a < b && (v[a] == ' ' || v[a] == '\t')) a++;
        while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t')) b--;
        if (b - a == tok_len && !strncasecmp_ascii(v + a, tok, tok_len)) return 1;
        i = j + 1;
    }
    return 0;
}

static int is_name(const uint8_t *in, const wsf_head_field *f, const char *name, size_t len) {
    return f->name_len == len && !strncasecmp_ascii(in + f->name, name, len);
}

/* Base64 of exactly 16 bytes: 22 alphabet characters and "==". */
static int valid_key(const uint8_t *k, size_t n) {
    if (n != 24 || k[22] != '=' || k[23] != '=') return 0;
    for (size_t i = 0; i < 22; i++) {
        int c = k[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '+' || c == '/'))
            return 0;
    }
    return 1;
}

void wsf_check_upgrade(const uint8_t *in, const wsf_head_field *fields,
                       wsf_request_head *head) {
    unsigned hosts = 0, versions = 0, keys = 0, upgrade = 0;
    int host_ok = 0, version_ok = 0, connection = 0;
    uint32_t key = 0;
    for (uint32_t i = 0; i < head->nfields; i++) {
        const wsf_head_field *f = &fields[i];
        const uint8_t *v = in + f->value;
        switch (f->name_len) {
        case 4:
            if (is_name(in, f, "host", 4)) {
                hosts++;
                host_ok = f->value_len > 0;
            }
            break;
        case 7:
            if (is_name(in, f, "upgrade", 7) && has_token(v, f->value_len, "websocket", 9))
                upgrade |= WSF_UPGRADE_WEBSOCKET;
            break;
        case 10:
            if (is_name(in, f, "connection", 10) && has_token(v, f->value_len, "upgrade", 7))
                connection = 1;
            break;
        case 17:
            if (is_name(in, f, "sec-websocket-key", 17)) {
                keys++;
                key = i;
            }
            break;
        case 21:
            if (is_name(in, f, "sec-websocket-version", 21)) {
                versions++;
                version_ok = f->value_len == 2 && v[0] == '1' && v[1] == '3';
            }
            break;
        case 22:
            if (is_name(in, f, "sec-websocket-protocol", 22)) upgrade |= WSF_UPGRADE_OFFERS;
            break;
        case 24:
            if (is_name(in, f, "sec-websocket-extensions", 24)) upgrade |= WSF_UPGRADE_OFFERS;
            break;
        default:
            break;
        }
    }
    if ((upgrade & WSF_UPGRADE_WEBSOCKET) && hosts == 1 && host_ok && connection &&
        versions == 1 && version_ok && keys == 1 &&
        valid_key(in + fields[key].value, fields[key].value_len)) {
        upgrade |= WSF_UPGRADE_VALID;
        head->key = key;
    }
    head->upgrade = upgrade;
}
