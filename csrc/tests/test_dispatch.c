/* Dispatch API: names, forcing, refusing, listing. */
#include "testutil.h"

static void test_dispatch_api(void)
{
    const char *names[8], *keep_m = wsf_get_path(WSF_PRIM_MASK), *keep_u = wsf_get_path(WSF_PRIM_UTF8);
    int prim, n, i, total;
    for (prim = 0; prim < WSF_PRIM_COUNT; prim++) {
        const char *cur;
        total = wsf_list_paths(prim, NULL, 0);
        n = wsf_list_paths(prim, names, 8);
        CHECK(n == total && n >= 1 && strcmp(names[0], "scalar") == 0, "list prim %d: %d/%d", prim, n, total);
        CHECK(wsf_list_paths(prim, names, 1) == 1, "max respected");
        CHECK(wsf_list_paths(prim, names, 0) == 0, "max 0");
        n = wsf_list_paths(prim, names, 8);
        for (i = 0; i < n; i++) {
            CHECK(wsf_set_path(prim, names[i]) == 0 && strcmp(wsf_get_path(prim), names[i]) == 0, "force %s",
                  names[i]);
        }
        cur = wsf_get_path(prim);
        CHECK(wsf_set_path(prim, "no-such-path") == -1 && wsf_get_path(prim) == cur, "unknown name refused");
        CHECK(wsf_set_path(prim, "sse2") == (prim == WSF_PRIM_MASK && strcmp(names[n > 1 ? 1 : 0], "sse2") == 0 ? 0 : -1),
              "sse2 is a masking path only");
        CHECK(wsf_set_path(prim, NULL) == 0 && strcmp(wsf_get_path(prim), names[n - 1]) == 0, "NULL = best");
        CHECK(wsf_set_path(prim, "scalar") == 0 && wsf_set_path(prim, "auto") == 0 &&
                  strcmp(wsf_get_path(prim), names[n - 1]) == 0,
              "auto = best");
    }
    CHECK(wsf_get_path(WSF_PRIM_COUNT) == NULL && wsf_get_path(-1) == NULL, "unknown prim");
    CHECK(wsf_set_path(WSF_PRIM_COUNT, "scalar") == -1 && wsf_list_paths(7, names, 8) == 0, "unknown prim set/list");
#if WSF_X86_64
    CHECK(wsf_set_path(WSF_PRIM_MASK, "neon") == -1, "neon on x86");
#endif
    wsf_set_path(WSF_PRIM_MASK, keep_m);
    wsf_set_path(WSF_PRIM_UTF8, keep_u);
}

void test_dispatch_register(void) { t_run("dispatch_api", test_dispatch_api); }
