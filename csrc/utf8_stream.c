/* Incremental UTF-8 API on top of the dispatched kernel. The state carries the bytes of an unfinished
   character (at most 3) so that every kernel call starts on a character boundary. */
#include "internal.h"

static unsigned seq_len(uint8_t lead) { return lead >= 0xF0 ? 4u : lead >= 0xE0 ? 3u : 2u; }

void wsf_utf8_init(wsf_utf8_state *st) { memset(st, 0, sizeof *st); }

int wsf_utf8_complete(const wsf_utf8_state *st)
{
    wsf_utf8_state copy = *st;
    return copy.opaque[0] == 0;
}

int wsf__u8st_fail(wsf_utf8_state *st, size_t *err, size_t at)
{
    st->opaque[0] = WSF_U8ST_FAILED;
    st->opaque[1] = 0;
    if (err) *err = at;
    return 0;
}

/* The state is read once, as a whole, and checked before any of it is used as a count or an index: a
   pending count of 1..3, a lead byte that starts a sequence (C2..F4) and more bytes needed than pending.
   A state that breaks this (memory corrupted, or a caller racing on it) is treated as failed, never used. */
static int state_pending(const wsf_utf8_state *st, uint8_t tmp[4], unsigned *npend, unsigned *need)
{
    wsf_utf8_state copy = *st;
    uint32_t s0 = copy.opaque[0], w = copy.opaque[1];
    size_t pos;
    *npend = s0 >> 8;
    *need = 0;
    if (s0 == 0) return 1;
    memcpy(tmp, &w, 4);
    if (s0 & 0xFFu) return 0;   /* failed (or a stray low bit) */
    *need = seq_len(tmp[0]);
    if (!(*npend >= 1 && *npend < *need && tmp[0] >= 0xC2 && tmp[0] <= 0xF4)) return 0;
    /* the pending bytes are a valid unfinished character (so an error offset is never before them) */
    return wsf__utf8_scalar(tmp, *npend, &pos) == 1 && pos == 0;
}

int wsf__u8st_head(wsf_utf8_state *st, const uint8_t *data, size_t len, size_t *used, size_t *err)
{
    uint8_t tmp[4] = {0, 0, 0, 0};
    unsigned need, take, npend;
    uint32_t w;
    size_t pos;
    *used = 0;
    if (!state_pending(st, tmp, &npend, &need)) return wsf__u8st_fail(st, err, 0);
    if (!npend) return 1;
    /* Finish the pending character: re-validate it with up to (need - npend) new bytes appended
       (npend < need <= 4, checked above, so tmp + npend + take stays inside tmp). */
    take = need - npend;
    if (take > len) take = (unsigned)len;
    memcpy(tmp + npend, data, take);
    if (!wsf__utf8_scalar(tmp, npend + take, &pos))
        return wsf__u8st_fail(st, err, pos > npend ? pos - npend : 0);   /* (the pending prefix is valid) */
    if (npend + take < need) {                          /* the chunk ended inside the character again */
        memcpy(&w, tmp, 4);
        st->opaque[0] = (uint32_t)(npend + take) << 8;
        st->opaque[1] = w;
    } else {
        st->opaque[0] = 0;
        st->opaque[1] = 0;
    }
    *used = take;
    return 1;
}

size_t wsf__u8st_want(const wsf_utf8_state *st)
{
    uint8_t tmp[4];
    unsigned npend, need;
    if (!state_pending(st, tmp, &npend, &need)) return 1;   /* head() then fails it, at byte 0 */
    return need - npend;
}

int wsf__u8st_tail(wsf_utf8_state *st, const uint8_t *tail, size_t n, size_t *err, size_t at)
{
    uint8_t tmp[4] = {0, 0, 0, 0};
    uint32_t w;
    if (n > 3) return wsf__u8st_fail(st, err, at);   /* a kernel broke its contract: refuse, never overflow */
    memcpy(tmp, tail, n);
    memcpy(&w, tmp, 4);
    st->opaque[0] = (uint32_t)n << 8;
    st->opaque[1] = w;
    return 1;
}

int wsf_utf8_feed(wsf_utf8_state *st, const uint8_t *data, size_t len, size_t *err)
{
    size_t i, pos;
    if (st->opaque[0] & WSF_U8ST_FAILED) {
        if (err) *err = 0;
        return 0;
    }
    if (len == 0) return 1;   /* nothing to do; data may be NULL */
    if (!wsf__u8st_head(st, data, len, &i, err)) return 0;
    if (i == len) return 1;
    if (!wsf__utf8_kernel()(data + i, len - i, &pos)) return wsf__u8st_fail(st, err, i + pos);
    return wsf__u8st_tail(st, data + i + pos, len - i - pos, err, i + pos);
}

int wsf_utf8_validate(const uint8_t *data, size_t len, size_t *err)
{
    size_t pos;
    if (len == 0) return 1;   /* data may be NULL */
    if (!wsf__utf8_kernel()(data, len, &pos)) {
        if (err) *err = pos;
        return 0;
    }
    if (pos != len) {                 /* valid prefix, unfinished last character */
        if (err) *err = len;
        return 0;
    }
    return 1;
}
