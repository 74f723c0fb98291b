/* Children reported by GetRecords join the shard listing until ListShards shows them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lease/lease_internal.h"

static ks_shard *listing(size_t n, const char *const *ids)
{
    ks_shard *s = calloc(n ? n : 1, sizeof(*s));
    for (size_t i = 0; i < n; i++)
        s[i].shard_id = strdup(ids[i]);
    return s;
}

static void free_listing(ks_shard *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)s[i].shard_id);
        free((char *)s[i].parent_shard_id);
        free((char *)s[i].adjacent_parent_shard_id);
    }
    free(s);
}

static void test_children_merge_until_listed(void **state)
{
    (void)state;
    ks_lease_stream st;
    memset(&st, 0, sizeof(st));
    st.n_children = 2;
    st.children = calloc(2, sizeof(*st.children));
    st.children[0] = (ks_lease_child){strdup("shardId-2"), {strdup("shardId-0"), NULL}};
    st.children[1] =
        (ks_lease_child){strdup("shardId-3"), {strdup("shardId-0"), strdup("shardId-1")}};

    /* The listing lags: neither child is there yet. */
    const char *const before[] = {"shardId-0", "shardId-1"};
    size_t n = 2;
    ks_shard *s = listing(n, before);
    assert_int_equal(ks_lease_merge_children(&st, &s, &n), KS_OK);
    assert_int_equal(n, 4);
    assert_string_equal(s[2].shard_id, "shardId-2");
    assert_string_equal(s[2].parent_shard_id, "shardId-0");
    assert_null(s[2].adjacent_parent_shard_id);
    assert_null(s[2].ending_sequence);
    assert_string_equal(s[3].adjacent_parent_shard_id, "shardId-1");
    free_listing(s, n);

    /* The listing caught up with one child: it is forgotten, the other stays. */
    const char *const after[] = {"shardId-0", "shardId-1", "shardId-2"};
    n = 3;
    s = listing(n, after);
    assert_int_equal(ks_lease_merge_children(&st, &s, &n), KS_OK);
    assert_int_equal(n, 4);
    assert_int_equal(st.n_children, 1);
    assert_string_equal(st.children[0].shard_id, "shardId-3");
    free_listing(s, n);
    ks_lease_children_clean_up(&st);
    assert_int_equal(st.n_children, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_children_merge_until_listed)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
