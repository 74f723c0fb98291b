/* Unit tests: base64, ks_batch, codecs (byte-exact). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/log.h"
#include "sink/base64.h"
#include "sink/codec.h"
#include "sink/sink.h"

static const struct {
    const char *plain;
    const char *b64;
} rfc4648[] = {{"", ""},
               {"f", "Zg=="},
               {"fo", "Zm8="},
               {"foo", "Zm9v"},
               {"foob", "Zm9vYg=="},
               {"fooba", "Zm9vYmE="},
               {"foobar", "Zm9vYmFy"}};

static void test_base64_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
        ks_buf b;
        ks_buf_init(&b);
        assert_int_equal(ks_base64_encode(rfc4648[i].plain, strlen(rfc4648[i].plain), &b), KS_OK);
        assert_int_equal(b.len, strlen(rfc4648[i].b64));
        if (b.len)
            assert_memory_equal(b.data, rfc4648[i].b64, b.len);
        ks_buf_reset(&b);
        assert_int_equal(ks_base64_decode(rfc4648[i].b64, strlen(rfc4648[i].b64), &b), KS_OK);
        assert_int_equal(b.len, strlen(rfc4648[i].plain));
        if (b.len)
            assert_memory_equal(b.data, rfc4648[i].plain, b.len);
        size_t n = 99;
        assert_true(ks_base64_decoded_len(rfc4648[i].b64, strlen(rfc4648[i].b64), &n));
        assert_int_equal(n, strlen(rfc4648[i].plain));
        ks_buf_clean_up(&b);
    }
}

static void test_base64_unpadded_and_invalid(void **state)
{
    (void)state;
    ks_buf b;
    ks_buf_init(&b);
    assert_int_equal(ks_base64_decode("Zm9vYg", 6, &b), KS_OK);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "foob", 4);
    static const char *bad[] = {
        "Z", "Zg=", "Zm9v!", "Zm 9v", "=Zg=", "Zm=v", "Zm9vY", "Zg==\n", "Zm9v-_8=", "===="};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ks_buf_reset(&b);
        ks_buf_append_str(&b, "keep");
        assert_int_equal(ks_base64_decode(bad[i], strlen(bad[i]), &b), KS_ERR_PARSE);
        assert_int_equal(b.len, 4); /* untouched */
        size_t n = 0;
        assert_false(ks_base64_decoded_len(bad[i], strlen(bad[i]), &n));
    }
    ks_err err = KS_ERR_IO;
    ks_buf_reset(&b);
    assert_true(ks_base64_decode_or_raw("no!", 3, &b, &err));
    assert_int_equal(err, KS_OK);
    assert_string_equal(b.data, "no!");
    ks_buf_clean_up(&b);
}

static void test_base64_roundtrip_all_bytes(void **state)
{
    (void)state;
    unsigned char in[777];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (unsigned char)(i * 131 + 7);
    for (size_t n = 0; n <= sizeof(in); n += (n < 20 ? 1 : 37)) {
        ks_buf e, d;
        ks_buf_init(&e);
        ks_buf_init(&d);
        assert_int_equal(ks_base64_encode(in, n, &e), KS_OK);
        assert_int_equal(e.len, (n + 2) / 3 * 4);
        assert_int_equal(ks_base64_decode(e.data ? e.data : "", e.len, &d), KS_OK);
        assert_int_equal(d.len, n);
        if (n)
            assert_memory_equal(d.data, in, n);
        ks_buf_clean_up(&e);
        ks_buf_clean_up(&d);
    }
}

static ks_batch *make_batch(void)
{
    ks_batch *b = NULL;
    assert_int_equal(ks_batch_new("orders", "shardId-000000000001", &b), KS_OK);
    /* "hello" and "wo\"rld\n" */
    assert_int_equal(ks_batch_add(b, "aGVsbG8=", 8, "pk-1", "4960001", 1764149913123), KS_OK);
    assert_int_equal(ks_batch_add(b, "d28icmxkCg==", 12, "p\"k", "4960002", 1764149913999), KS_OK);
    return b;
}

static void test_batch_basics(void **state)
{
    (void)state;
    ks_batch *a = NULL, *b = NULL;
    assert_int_equal(ks_batch_new("s", "sh", &a), KS_OK);
    assert_int_equal(ks_batch_new("s", "sh", &b), KS_OK);
    assert_true(b->id != a->id);
    assert_null(ks_batch_last_sequence(a));
    char data[] = "Zm9v";
    char seq[] = "123";
    assert_int_equal(ks_batch_add(a, data, 4, "k", seq, 5), KS_OK);
    data[0] = 'X';
    seq[0] = '9';
    assert_string_equal(a->records[0].data_b64, "Zm9v");
    assert_string_equal(ks_batch_last_sequence(a), "123");
    assert_int_equal(a->records[0].data_len, 3);
    for (int i = 0; i < 40; i++) { /* growth */
        char sq[16];
        snprintf(sq, sizeof(sq), "%d", 1000 + i);
        assert_int_equal(ks_batch_add(a, "Zg==", 4, "k", sq, i), KS_OK);
    }
    assert_int_equal(a->n_records, 41);
    assert_int_equal(a->data_bytes, 3 + 40);
    assert_string_equal(ks_batch_last_sequence(a), "1039");
    /* invalid base64 counts as its raw length (what the codecs deliver) */
    assert_int_equal(ks_batch_add(b, "@@@", 3, "k", "1", 0), KS_OK);
    assert_int_equal(b->records[0].data_len, 3);
    ks_batch_destroy(a);
    ks_batch_destroy(b);
    ks_batch_destroy(NULL);
}

static void test_codec_lines(void **state)
{
    (void)state;
    ks_batch *b = make_batch();
    ks_buf out;
    ks_buf_init(&out);
    size_t bad = 9;
    assert_int_equal(ks_codec_encode(KS_CODEC_LINES, b, &out, &bad), KS_OK);
    assert_int_equal(bad, 0);
    static const char want[] = "hello\nwo\"rld\n\n";
    assert_int_equal(out.len, sizeof(want) - 1);
    assert_memory_equal(out.data, want, out.len);
    ks_buf_clean_up(&out);
    ks_batch_destroy(b);
}

static void test_codec_json_lines(void **state)
{
    (void)state;
    ks_batch *b = make_batch();
    ks_buf out;
    ks_buf_init(&out);
    assert_int_equal(ks_codec_encode(KS_CODEC_JSON_LINES, b, &out, NULL), KS_OK);
    static const char want[] =
        "{\"data\":\"aGVsbG8=\",\"partition_key\":\"pk-1\",\"sequence_number\":\"4960001\","
        "\"shard_id\":\"shardId-000000000001\",\"stream\":\"orders\","
        "\"arrival_timestamp\":\"2025-11-26T09:38:33.123Z\"}\n"
        "{\"data\":\"d28icmxkCg==\",\"partition_key\":\"p\\\"k\",\"sequence_number\":\"4960002\","
        "\"shard_id\":\"shardId-000000000001\",\"stream\":\"orders\","
        "\"arrival_timestamp\":\"2025-11-26T09:38:33.999Z\"}\n";
    assert_int_equal(out.len, sizeof(want) - 1);
    assert_memory_equal(out.data, want, out.len);
    ks_buf_reset(&out);
    assert_int_equal(ks_codec_record_json(b, &b->records[0], &out), KS_OK);
    assert_int_equal(out.data[out.len - 1], '}');
    ks_buf_clean_up(&out);
    ks_batch_destroy(b);
}

static void test_codec_length_prefixed(void **state)
{
    (void)state;
    ks_batch *b = make_batch();
    ks_buf out;
    ks_buf_init(&out);
    assert_int_equal(ks_codec_encode(KS_CODEC_LENGTH_PREFIXED, b, &out, NULL), KS_OK);
    static const unsigned char want[] = {0, 0, 0, 5,   'h', 'e', 'l', 'l', 'o', 0,
                                         0, 0, 7, 'w', 'o', '"', 'r', 'l', 'd', '\n'};
    assert_int_equal(out.len, sizeof(want));
    assert_memory_equal(out.data, want, out.len);
    ks_buf_clean_up(&out);
    ks_batch_destroy(b);
}

static void test_codec_invalid_base64(void **state)
{
    (void)state;
    ks_log_set_level(KS_LOG_OFF);
    ks_batch *b = NULL;
    assert_int_equal(ks_batch_new("s", "sh", &b), KS_OK);
    assert_int_equal(ks_batch_add(b, "not base64!", 11, "k", "1", 0), KS_OK);
    assert_int_equal(ks_batch_add(b, "Zm9v", 4, "k", "2", 0), KS_OK);
    ks_buf out;
    ks_buf_init(&out);
    size_t bad = 0;
    assert_int_equal(ks_codec_encode(KS_CODEC_LINES, b, &out, &bad), KS_OK);
    assert_int_equal(bad, 1);
    assert_string_equal(out.data, "not base64!\nfoo\n");
    ks_buf_reset(&out);
    assert_int_equal(ks_codec_encode(KS_CODEC_LENGTH_PREFIXED, b, &out, &bad), KS_OK);
    assert_int_equal(bad, 1);
    assert_int_equal(out.len, 4 + 11 + 4 + 3);
    assert_int_equal((unsigned char)out.data[3], 11);
    ks_buf_reset(&out);
    assert_int_equal(ks_codec_encode(KS_CODEC_JSON_LINES, b, &out, &bad), KS_OK);
    assert_int_equal(bad, 0); /* passed through untouched */
    assert_non_null(strstr(out.data, "\"data\":\"not base64!\""));
    ks_buf_clean_up(&out);
    ks_batch_destroy(b);
    ks_log_set_level(KS_LOG_INFO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_vectors),
        cmocka_unit_test(test_base64_unpadded_and_invalid),
        cmocka_unit_test(test_base64_roundtrip_all_bytes),
        cmocka_unit_test(test_batch_basics),
        cmocka_unit_test(test_codec_lines),
        cmocka_unit_test(test_codec_json_lines),
        cmocka_unit_test(test_codec_length_prefixed),
        cmocka_unit_test(test_codec_invalid_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
