/* wsfast core: the one header a binding includes. */
#ifndef WSFAST_H
#define WSFAST_H
#include "mask.h"
#include "utf8.h"
#include "frame.h"
#include "deflate.h"
#include "http_head.h"
#include "accept_key.h"
#endif
