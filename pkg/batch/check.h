/* batching.check: a documented subset of Bloblang, compiled once, evaluated per record
 * on its decoded bytes. See docs/delivery.md ("check expressions").
 *
 *   this, this.a.b, this."key with dots", this.items.0   field paths (JSON records)
 *   content()                                          the record bytes as a string
 *   "str" (escapes \" \\ \/ \b \f \n \r \t \uXXXX), 12, -1.5, true, false, null
 *   == != < <= > >=      (ordering on two numbers or two strings)
 *   && || !  ( )
 *   x.contains(y)   string contains substring; array (or object values) contains y
 *   x.has_prefix(s) x.has_suffix(s)   strings
 *
 * Semantics: `this` is the record parsed as JSON; a record that is not JSON makes
 * `this` its raw content as a string, so this.contains("END BATCH") matches plain
 * text records and this.x is null. A path through a missing key or a non-object is
 * null. == between different types is false. The expression must yield a bool.
 * Runtime type errors (e.g. "a" < 1, !"x", a non-bool result) are errors: the record
 * does not end the batch (as in Benthos, which logs failed checks). Anything outside
 * the subset is a compile error naming the construct and its column. */
#ifndef KS_BATCH_CHECK_H
#define KS_BATCH_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

typedef struct ks_check ks_check;

/* KS_ERR_PARSE with a message in err (e.g. "unsupported function 'now()' at column
 * 1") when the text is not in the subset. err may be NULL. */
ks_err ks_check_compile(const char *text, ks_check **out, char *err, size_t errlen);
void ks_check_destroy(ks_check *c); /* accepts NULL */

/* True when the expression reads `this` (the record must be JSON-parsed). */
bool ks_check_uses_this(const ks_check *c);

/* Evaluates on one record's decoded bytes. KS_ERR_INVALID (and *out = false) on a
 * runtime type error, described in err when err is not NULL. */
ks_err ks_check_eval_ex(const ks_check *c, const char *data, size_t len, bool *out, char *err,
                        size_t errlen);
ks_err ks_check_eval(const ks_check *c, const char *data, size_t len, bool *out);

#endif
