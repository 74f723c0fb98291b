/* Lexer and recursive-descent parser of the check subset (see check.h). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/check.h"
#include "batch/check_int.h"
#include "core/buf.h"

#define MAX_DEPTH 64

typedef struct parser {
    const char *src;
    size_t pos;
    int depth;
    bool uses_this, uses_content;
    char *err;
    size_t errlen;
    bool failed;
} parser;

static void fail(parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(parser *p, size_t at, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    if (!p->err || !p->errlen)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "%s at column %zu", msg, at + 1);
}

void ks_cnode_free(ks_cnode *n)
{
    if (!n)
        return;
    ks_cnode_free(n->a);
    ks_cnode_free(n->b);
    free(n->str);
    free(n);
}

static ks_cnode *node(parser *p, ks_cnode_kind kind, size_t at)
{
    ks_cnode *n = calloc(1, sizeof(*n));
    if (!n)
        fail(p, at, "out of memory");
    else {
        n->kind = kind;
        n->col = (int)at + 1;
    }
    return n;
}

static void skip_ws(parser *p)
{
    while (p->src[p->pos] == ' ' || p->src[p->pos] == '\t' || p->src[p->pos] == '\n' ||
           p->src[p->pos] == '\r')
        p->pos++;
}

static bool is_ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

static bool is_ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* Reads an identifier at p->pos (no skip); returns its length. */
static size_t ident_len(const parser *p)
{
    size_t n = 0;
    if (!is_ident_start(p->src[p->pos]))
        return 0;
    while (is_ident_char(p->src[p->pos + n]))
        n++;
    return n;
}

static bool accept(parser *p, const char *tok)
{
    skip_ws(p);
    size_t n = strlen(tok);
    if (strncmp(p->src + p->pos, tok, n) != 0)
        return false;
    p->pos += n;
    return true;
}

static void append_utf8(ks_buf *b, unsigned cp)
{
    if (cp < 0x80) {
        ks_buf_append_char(b, (char)cp);
    } else if (cp < 0x800) {
        ks_buf_append_char(b, (char)(0xC0 | (cp >> 6)));
        ks_buf_append_char(b, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        ks_buf_append_char(b, (char)(0xE0 | (cp >> 12)));
        ks_buf_append_char(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        ks_buf_append_char(b, (char)(0x80 | (cp & 0x3F)));
    } else {
        ks_buf_append_char(b, (char)(0xF0 | (cp >> 18)));
        ks_buf_append_char(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
        ks_buf_append_char(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        ks_buf_append_char(b, (char)(0x80 | (cp & 0x3F)));
    }
}

/* Parses a "..." literal at p->pos into a KS_CN_STR node. */
static ks_cnode *parse_string(parser *p)
{
    size_t start = p->pos;
    if (strncmp(p->src + p->pos, "\"\"\"", 3) == 0) {
        fail(p, start, "unsupported: triple-quoted strings");
        return NULL;
    }
    p->pos++;
    ks_buf b;
    ks_buf_init(&b);
    ks_buf_reserve(&b, 16);
    for (;;) {
        char c = p->src[p->pos];
        if (c == '\0') {
            fail(p, start, "unterminated string");
            break;
        }
        p->pos++;
        if (c == '"')
            break;
        if (c != '\\') {
            ks_buf_append_char(&b, c);
            continue;
        }
        char e = p->src[p->pos++];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            static const char map[] = "\"\\/\b\f\n\r\t";
            ks_buf_append_char(&b, map[simple - "\"\\/bfnrt"]);
        } else if (e == 'u') {
            unsigned cp = 0;
            for (int i = 0; i < 4; i++) {
                int h = ks_hex_digit(p->src[p->pos]);
                if (h < 0) {
                    fail(p, p->pos, "invalid \\u escape in string");
                    break;
                }
                cp = cp * 16 + (unsigned)h;
                p->pos++;
            }
            append_utf8(&b, cp);
        } else {
            fail(p, p->pos - 2, "invalid escape '\\%c' in string", e ? e : ' ');
            break;
        }
        if (p->failed)
            break;
    }
    ks_cnode *n = p->failed ? NULL : node(p, KS_CN_STR, start);
    if (!n) {
        ks_buf_clean_up(&b);
        return NULL;
    }
    n->len = b.len;
    n->str = b.data;
    return n;
}

static ks_cnode *parse_number(parser *p, bool neg, size_t start)
{
    const char *s = p->src + p->pos;
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s) {
        fail(p, p->pos, "expected a number");
        return NULL;
    }
    p->pos += (size_t)(end - s);
    ks_cnode *n = node(p, KS_CN_NUM, start);
    if (n)
        n->num = neg ? -v : v;
    return n;
}

static ks_cnode *parse_expr(parser *p);

/* Unsupported single characters, named for the error. */
static void fail_unexpected(parser *p)
{
    size_t at = p->pos;
    char c = p->src[at];
    const char *s = p->src + at;
    if (c == '\0')
        fail(p, at, "unexpected end of expression");
    else if (c == '$')
        fail(p, at, "unsupported: variables ($)");
    else if (c == '@')
        fail(p, at, "unsupported: metadata (@)");
    else if (c == '[')
        fail(p, at, "unsupported: array literals ([...])");
    else if (c == '{')
        fail(p, at, "unsupported: object literals ({...})");
    else if (strncmp(s, "==", 2) == 0 || strncmp(s, "!=", 2) == 0 || c == '<' || c == '>')
        fail(p, at, "unsupported: chained comparison (use parentheses and &&)");
    else if (strncmp(s, "=>", 2) == 0)
        fail(p, at, "unsupported operator '=>'");
    else if (c == '=' && s[1] != '=')
        fail(p, at, "unsupported: assignment '='");
    else if (c == '|' && s[1] != '|')
        fail(p, at, "unsupported operator '|' (coalesce)");
    else if (c == '&' && s[1] != '&')
        fail(p, at, "unsupported operator '&'");
    else if (strchr("+-*/%", c))
        fail(p, at, "unsupported operator '%c'", c);
    else if (c == '\'')
        fail(p, at, "unsupported: single-quoted strings (use \"...\")");
    else
        fail(p, at, "unexpected '%c'", c);
}

static ks_cnode *parse_primary(parser *p)
{
    skip_ws(p);
    size_t start = p->pos;
    char c = p->src[p->pos];
    if (c == '(') {
        p->pos++;
        ks_cnode *n = parse_expr(p);
        if (n && !accept(p, ")")) {
            fail(p, p->pos, "expected ')'");
            ks_cnode_free(n);
            return NULL;
        }
        return n;
    }
    if (c == '"')
        return parse_string(p);
    if (isdigit((unsigned char)c))
        return parse_number(p, false, start);
    if (c == '-' && (isdigit((unsigned char)p->src[p->pos + 1]) || p->src[p->pos + 1] == '.')) {
        p->pos++;
        return parse_number(p, true, start);
    }
    size_t n = ident_len(p);
    if (!n) {
        fail_unexpected(p);
        return NULL;
    }
    char name[64];
    snprintf(name, sizeof(name), "%.*s", (int)(n < 63 ? n : 63), p->src + p->pos);
    p->pos += n;
    skip_ws(p);
    if (p->src[p->pos] == '(') {
        if (strcmp(name, "content") == 0) {
            p->pos++;
            if (!accept(p, ")")) {
                fail(p, p->pos, "content() takes no arguments");
                return NULL;
            }
            p->uses_content = true;
            return node(p, KS_CN_CONTENT, start);
        }
        fail(p, start, "unsupported function '%s()' (supported: content())", name);
        return NULL;
    }
    if (strcmp(name, "this") == 0) {
        p->uses_this = true;
        return node(p, KS_CN_THIS, start);
    }
    if (strcmp(name, "true") == 0 || strcmp(name, "false") == 0) {
        ks_cnode *b = node(p, KS_CN_BOOL, start);
        if (b)
            b->bval = name[0] == 't';
        return b;
    }
    if (strcmp(name, "null") == 0)
        return node(p, KS_CN_NULL, start);
    static const char *const keywords[] = {"if",   "else",     "match",  "let", "root",   "meta",
                                           "from", "from_all", "import", "map", "deleted"};
    for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
        if (strcmp(name, keywords[i]) == 0) {
            fail(p, start, "unsupported keyword '%s'", name);
            return NULL;
        }
    }
    fail(p, start, "unsupported: bare identifier '%s' (use this.%s)", name, name);
    return NULL;
}

static ks_cnode *parse_postfix(parser *p)
{
    ks_cnode *n = parse_primary(p);
    while (n && !p->failed) {
        skip_ws(p);
        if (p->src[p->pos] != '.')
            break;
        size_t dot = p->pos++;
        ks_cnode *f = NULL;
        char c = p->src[p->pos];
        if (c == '"') {
            f = parse_string(p);
            if (f)
                f->kind = KS_CN_FIELD;
        } else if (isdigit((unsigned char)c) || ident_len(p)) {
            size_t len = 0;
            while (is_ident_char(p->src[p->pos + len]))
                len++;
            size_t at = p->pos;
            p->pos += len;
            skip_ws(p);
            if (p->src[p->pos] == '(') {
                char name[64];
                snprintf(name, sizeof(name), "%.*s", (int)(len < 63 ? len : 63), p->src + at);
                ks_cnode_kind k;
                if (strcmp(name, "contains") == 0)
                    k = KS_CN_CONTAINS;
                else if (strcmp(name, "has_prefix") == 0)
                    k = KS_CN_HAS_PREFIX;
                else if (strcmp(name, "has_suffix") == 0)
                    k = KS_CN_HAS_SUFFIX;
                else {
                    fail(p, dot,
                         "unsupported method '.%s()' (supported: contains, has_prefix, "
                         "has_suffix)",
                         name);
                    break;
                }
                p->pos++;
                ks_cnode *arg = parse_expr(p);
                if (arg && accept(p, ",")) {
                    fail(p, p->pos - 1, "method '.%s()' takes one argument", name);
                } else if (arg && !accept(p, ")")) {
                    fail(p, p->pos, "expected ')'");
                }
                ks_cnode *m = p->failed ? NULL : node(p, k, dot);
                if (!m) {
                    ks_cnode_free(arg);
                    break;
                }
                m->a = n;
                m->b = arg;
                n = m;
                continue;
            }
            f = node(p, KS_CN_FIELD, at);
            if (f) {
                f->str = ks_strndup(p->src + at, len);
                f->len = len;
                if (!f->str) {
                    fail(p, at, "out of memory");
                    ks_cnode_free(f);
                    f = NULL;
                }
            }
        } else {
            fail(p, p->pos, "expected a field name or method after '.'");
        }
        if (!f)
            break;
        f->a = n;
        n = f;
    }
    if (p->failed) {
        ks_cnode_free(n);
        return NULL;
    }
    return n;
}

static ks_cnode *parse_unary(parser *p)
{
    skip_ws(p);
    if (p->src[p->pos] == '!' && p->src[p->pos + 1] != '=') {
        size_t at = p->pos++;
        if (++p->depth > MAX_DEPTH) {
            fail(p, at, "expression nested too deeply");
            return NULL;
        }
        ks_cnode *a = parse_unary(p);
        p->depth--;
        ks_cnode *n = a ? node(p, KS_CN_NOT, at) : NULL;
        if (!n) {
            ks_cnode_free(a);
            return NULL;
        }
        n->a = a;
        return n;
    }
    return parse_postfix(p);
}

static ks_cnode *binary(parser *p, ks_cnode_kind k, size_t at, ks_cnode *a, ks_cnode *b)
{
    ks_cnode *n = (a && b) ? node(p, k, at) : NULL;
    if (!n) {
        ks_cnode_free(a);
        ks_cnode_free(b);
        return NULL;
    }
    n->a = a;
    n->b = b;
    return n;
}

static ks_cnode *parse_cmp(parser *p)
{
    static const struct {
        const char *tok;
        ks_cnode_kind kind;
    } ops[] = {{"==", KS_CN_EQ}, {"!=", KS_CN_NE}, {"<=", KS_CN_LE},
               {">=", KS_CN_GE}, {"<", KS_CN_LT},  {">", KS_CN_GT}};
    ks_cnode *a = parse_unary(p);
    if (!a)
        return NULL;
    skip_ws(p);
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        size_t at = p->pos;
        if (accept(p, ops[i].tok)) {
            ks_cnode *b = parse_unary(p);
            return binary(p, ops[i].kind, at, a, b);
        }
    }
    return a;
}

static ks_cnode *parse_and(parser *p)
{
    ks_cnode *a = parse_cmp(p);
    while (a) {
        skip_ws(p);
        size_t at = p->pos;
        if (!accept(p, "&&"))
            break;
        a = binary(p, KS_CN_AND, at, a, parse_cmp(p));
    }
    return a;
}

static ks_cnode *parse_expr(parser *p)
{
    if (++p->depth > MAX_DEPTH) {
        fail(p, p->pos, "expression nested too deeply");
        return NULL;
    }
    ks_cnode *a = parse_and(p);
    while (a) {
        skip_ws(p);
        size_t at = p->pos;
        if (!accept(p, "||"))
            break;
        a = binary(p, KS_CN_OR, at, a, parse_and(p));
    }
    p->depth--;
    return a;
}

ks_err ks_check_compile(const char *text, ks_check **out, char *err, size_t errlen)
{
    parser p = {.src = text ? text : "", .err = err, .errlen = errlen};
    if (err && errlen)
        err[0] = '\0';
    skip_ws(&p);
    if (!p.src[p.pos]) {
        fail(&p, p.pos, "empty check expression");
        return KS_ERR_PARSE;
    }
    ks_cnode *root = parse_expr(&p);
    if (root) {
        skip_ws(&p);
        if (p.src[p.pos]) {
            if (p.src[p.pos] == ')')
                fail(&p, p.pos, "unexpected ')'");
            else
                fail_unexpected(&p);
        }
    }
    ks_check *c = p.failed ? NULL : calloc(1, sizeof(*c));
    if (!c) {
        ks_cnode_free(root);
        return p.failed ? KS_ERR_PARSE : KS_ERR_NOMEM;
    }
    c->root = root;
    c->uses_this = p.uses_this;
    c->uses_content = p.uses_content;
    *out = c;
    return KS_OK;
}

void ks_check_destroy(ks_check *c)
{
    if (!c)
        return;
    ks_cnode_free(c->root);
    free(c);
}

bool ks_check_uses_this(const ks_check *c)
{
    return c->uses_this;
}
