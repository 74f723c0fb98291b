/* Check-expression (Bloblang subset) parser and evaluator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "batch/check.h"

typedef enum { T_FALSE = 0, T_TRUE, T_RTERR } want_t;

static const struct {
    const char *expr;
    const char *record;
    want_t want;
} cases[] = {
    /* the seed's examples */
    {"this.type == \"end_of_transaction\"", "{\"type\":\"end_of_transaction\"}", T_TRUE},
    {"this.type == \"end_of_transaction\"", "{\"type\":\"begin\"}", T_FALSE},
    {"this.type == \"end_of_transaction\"", "not json at all", T_FALSE},
    {"this.type == \"end_of_transaction\"", "", T_FALSE},
    {"this.contains(\"END BATCH\")", "line with END BATCH inside", T_TRUE},
    {"this.contains(\"END BATCH\")", "an ordinary line", T_FALSE},
    {"this.contains(\"END BATCH\")", "\"json string END BATCH\"", T_TRUE},
    {"this.contains(\"END BATCH\")", "[\"a\",\"END BATCH\"]", T_TRUE},
    {"this.contains(\"END BATCH\")", "[\"a\",\"END BATCH!\"]", T_FALSE},
    {"this.contains(\"END BATCH\")", "{\"m\":\"END BATCH\"}", T_TRUE}, /* object values */
    {"this.contains(\"END BATCH\")", "42", T_RTERR},
    /* paths */
    {"this.a.b == 1", "{\"a\":{\"b\":1}}", T_TRUE},
    {"this.a.b == 1.0", "{\"a\":{\"b\":1}}", T_TRUE},
    {"this.a.b == null", "{\"a\":{}}", T_TRUE},
    {"this.a.b.c == null", "{\"a\":\"str\"}", T_TRUE},
    {"this.x == null", "plain text", T_TRUE},
    {"this.items.1 == \"y\"", "{\"items\":[\"x\",\"y\"]}", T_TRUE},
    {"this.items.7 == null", "{\"items\":[\"x\"]}", T_TRUE},
    {"this.\"a.b\" == true", "{\"a.b\":true}", T_TRUE},
    {"this == \"raw\"", "raw", T_TRUE},
    /* literals, equality across types */
    {"this.n == \"1\"", "{\"n\":1}", T_FALSE},
    {"this.n != \"1\"", "{\"n\":1}", T_TRUE},
    {"null == null", "", T_TRUE},
    {"true", "x", T_TRUE},
    {"false", "x", T_FALSE},
    {"this.o == this.p", "{\"o\":{\"a\":[1,2]},\"p\":{\"a\":[1,2]}}", T_TRUE},
    {"this.o == this.p", "{\"o\":{\"a\":[1,2]},\"p\":{\"a\":[2,1]}}", T_FALSE},
    {"\"a\\\"b\\u00e9\\n\" == this.s", "{\"s\":\"a\\\"b\\u00e9\\n\"}", T_TRUE},
    /* ordering */
    {"this.n > 10", "{\"n\":11}", T_TRUE},
    {"this.n >= 11", "{\"n\":11}", T_TRUE},
    {"this.n < -1.5", "{\"n\":-2}", T_TRUE},
    {"this.n <= 2", "{\"n\":3}", T_FALSE},
    {"this.s < \"b\"", "{\"s\":\"abc\"}", T_TRUE},
    {"this.s > \"ab\"", "{\"s\":\"abc\"}", T_TRUE},
    {"this.n < \"b\"", "{\"n\":1}", T_RTERR},
    {"this.missing > 1", "{}", T_RTERR},
    /* boolean logic */
    {"this.a == 1 && this.b == 2", "{\"a\":1,\"b\":2}", T_TRUE},
    {"this.a == 1 && this.b == 2", "{\"a\":1,\"b\":3}", T_FALSE},
    {"this.a == 1 || this.b == 2", "{\"a\":0,\"b\":2}", T_TRUE},
    {"!(this.a == 1)", "{\"a\":0}", T_TRUE},
    {"!this.flag", "{\"flag\":false}", T_TRUE},
    {"!!this.flag", "{\"flag\":true}", T_TRUE},
    {"this.a == 1 || this.b == 2 && this.c == 3", "{\"a\":1}", T_TRUE}, /* && binds tighter */
    {"(this.a == 1 || this.b == 2) && this.c == 3", "{\"a\":1}", T_FALSE},
    {"false && this.x", "{}", T_FALSE}, /* short-circuit: this.x never evaluated */
    {"true || 1", "{}", T_TRUE},
    {"this.x && true", "{\"x\":\"s\"}", T_RTERR},
    {"!this.s", "{\"s\":\"x\"}", T_RTERR},
    {"this.s", "{\"s\":\"x\"}", T_RTERR}, /* not a bool */
    {"this.flag", "{\"flag\":true}", T_TRUE},
    /* content() and methods */
    {"content() == \"hello\"", "hello", T_TRUE},
    {"content().has_prefix(\"he\")", "hello", T_TRUE},
    {"content().has_suffix(\"lo\")", "hello", T_TRUE},
    {"content().has_suffix(\"hello!\")", "hello", T_FALSE},
    {"content().contains(\"\")", "", T_TRUE},
    {"content().contains(\"a\")", "{\"a\":1}", T_TRUE}, /* content is the raw text */
    {"this.tags.contains(\"x\")", "{\"tags\":[\"a\",\"x\"]}", T_TRUE},
    {"this.nums.contains(2)", "{\"nums\":[1,2,3]}", T_TRUE},
    {"this.nums.contains(\"2\")", "{\"nums\":[1,2,3]}", T_FALSE},
    {"this.s.has_prefix(1)", "{\"s\":\"1x\"}", T_RTERR},
    {"this.s.contains(1)", "{\"s\":\"1x\"}", T_RTERR},
    {"this.s.contains(this.t)", "{\"s\":\"abc\",\"t\":\"bc\"}", T_TRUE},
    {"  this.a  ==\n  1  ", "{\"a\":1}", T_TRUE},
};

static void test_eval_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ks_check *c = NULL;
        char err[256];
        if (ks_check_compile(cases[i].expr, &c, err, sizeof(err)) != KS_OK)
            fail_msg("compile %s: %s", cases[i].expr, err);
        bool res = true;
        ks_err rc =
            ks_check_eval_ex(c, cases[i].record, strlen(cases[i].record), &res, err, sizeof(err));
        if (cases[i].want == T_RTERR) {
            if (rc != KS_ERR_INVALID || res)
                fail_msg("%s on %s: expected a runtime error", cases[i].expr, cases[i].record);
            assert_true(err[0] != '\0');
        } else if (rc != KS_OK || res != (cases[i].want == T_TRUE)) {
            fail_msg("%s on %s: got rc=%d res=%d (%s)", cases[i].expr, cases[i].record, rc, res,
                     err);
        }
        ks_check_destroy(c);
    }
}

static void test_compile_errors_name_the_construct(void **state)
{
    (void)state;
    static const struct {
        const char *expr;
        const char *msg; /* substring of the error */
    } bad[] = {
        {"", "empty"},
        {"   ", "empty"},
        {"now() > 1", "unsupported function 'now()'"},
        {"uuid_v4() == \"x\"", "unsupported function 'uuid_v4()'"},
        {"this.a.uppercase() == \"X\"", "unsupported method '.uppercase()'"},
        {"this.a.length() > 1", "unsupported method '.length()'"},
        {"this.a + 1 == 2", "unsupported operator '+'"},
        {"this.a - 1 == 2", "unsupported operator '-'"},
        {"this.a * 2 == 2", "unsupported operator '*'"},
        {"this.a / 2 == 2", "unsupported operator '/'"},
        {"this.a % 2 == 0", "unsupported operator '%'"},
        {"this.a | \"x\"", "unsupported operator '|'"},
        {"$foo == 1", "unsupported: variables"},
        {"@kafka_key == \"k\"", "unsupported: metadata"},
        {"meta(\"k\") == \"v\"", "unsupported function 'meta()'"},
        {"if this.a { true } else { false }", "unsupported keyword 'if'"},
        {"match this.a { _ => true }", "unsupported keyword 'match'"},
        {"let x = 1", "unsupported keyword 'let'"},
        {"root = this", "unsupported keyword 'root'"},
        {"type == \"x\"", "unsupported: bare identifier 'type' (use this.type)"},
        {"this.a == [1,2]", "unsupported: array literals"},
        {"this.a == {\"k\":1}", "unsupported: object literals"},
        {"this.a = 1", "unsupported: assignment"},
        {"this.a == 'x'", "single-quoted"},
        {"this.a == \"\"\"raw\"\"\"", "triple-quoted"},
        {"this.a == \"open", "unterminated string"},
        {"this.a == \"\\q\"", "invalid escape"},
        {"(this.a == 1", "expected ')'"},
        {"this.a == 1)", "unexpected ')'"},
        {"this.a ==", "unexpected end of expression"},
        {"this.", "expected a field name"},
        {"this.a == 1 == true", "chained comparison"},
        {"this.contains(\"a\", \"b\")", "takes one argument"},
        {"content(1)", "content() takes no arguments"},
        {"this.a.contains(\"x\"", "expected ')'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ks_check *c = NULL;
        char err[256] = "";
        ks_err rc = ks_check_compile(bad[i].expr, &c, err, sizeof(err));
        if (rc != KS_ERR_PARSE || c != NULL)
            fail_msg("'%s' compiled (rc=%d)", bad[i].expr, rc);
        if (!strstr(err, bad[i].msg))
            fail_msg("'%s': error '%s' does not contain '%s'", bad[i].expr, err, bad[i].msg);
    }
    /* the column points at the construct */
    char err[256];
    ks_check *c = NULL;
    assert_int_equal(ks_check_compile("this.a == now()", &c, err, sizeof(err)), KS_ERR_PARSE);
    assert_non_null(strstr(err, "at column 11"));
}

static void test_deep_nesting_is_an_error_not_a_crash(void **state)
{
    (void)state;
    char expr[4096];
    size_t n = 0;
    for (int i = 0; i < 1000; i++)
        expr[n++] = '(';
    memcpy(expr + n, "true", 5);
    ks_check *c = NULL;
    char err[256];
    assert_int_equal(ks_check_compile(expr, &c, err, sizeof(err)), KS_ERR_PARSE);
    assert_non_null(strstr(err, "nested too deeply"));
    memset(expr, '!', 1000);
    memcpy(expr + 1000, "true", 5);
    assert_int_equal(ks_check_compile(expr, &c, err, sizeof(err)), KS_ERR_PARSE);
}

static void test_uses_this(void **state)
{
    (void)state;
    ks_check *c = NULL;
    assert_int_equal(ks_check_compile("content().contains(\"x\")", &c, NULL, 0), KS_OK);
    assert_false(ks_check_uses_this(c));
    /* binary content with NULs is fine */
    bool res = false;
    assert_int_equal(ks_check_eval(c, "\0\0x", 3, &res), KS_OK);
    assert_true(res);
    ks_check_destroy(c);
    assert_int_equal(ks_check_compile("this.a == 1", &c, NULL, 0), KS_OK);
    assert_true(ks_check_uses_this(c));
    /* JSON with trailing garbage is not JSON: this is the raw string, this.a null */
    assert_int_equal(ks_check_eval(c, "{\"a\":1} x", 9, &res), KS_OK);
    assert_false(res);
    assert_int_equal(ks_check_eval(c, " {\"a\":1}\n", 9, &res), KS_OK);
    assert_true(res);
    ks_check_destroy(c);
    ks_check_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval_cases),
        cmocka_unit_test(test_compile_errors_name_the_construct),
        cmocka_unit_test(test_deep_nesting_is_an_error_not_a_crash),
        cmocka_unit_test(test_uses_this),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
