/* Tiny assertion helpers shared by the C tests. */
#ifndef WSFAST_TEST_UTIL_H
#define WSFAST_TEST_UTIL_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failures = 0;
static int t_checks = 0;

#define CHECK(cond)                                                        \
    do {                                                                   \
        t_checks++;                                                        \
        if (!(cond)) {                                                     \
            t_failures++;                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,         \
                    __LINE__, #cond);                                      \
        }                                                                  \
    } while (0)

#define CHECK_EQ(a, b)                                                     \
    do {                                                                   \
        long long _a = (long long)(a), _b = (long long)(b);                \
        t_checks++;                                                        \
        if (_a != _b) {                                                    \
            t_failures++;                                                  \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n", \
                    __FILE__, __LINE__, #a, _a, #b, _b);                   \
        }                                                                  \
    } while (0)

/* Exits with the plain closing line the test runners understand. */
static int t_report(const char *name) {
    printf("%s: %d passed, %d failed\n", name, t_checks - t_failures, t_failures);
    return t_failures ? 1 : 0;
}

/* Exact-size heap copy, so ASan catches any access past the end. */
static unsigned char *t_dup(const void *src, size_t n) {
    unsigned char *p = (unsigned char *)malloc(n ? n : 1);
    if (!p) abort();
    if (n) memcpy(p, src, n);
    return p;
}
#endif
