/* Internal: the compiled form of a check expression (shared by the parser and the
 * evaluator). Not for use outside pkg/batch. */
#ifndef KS_BATCH_CHECK_INT_H
#define KS_BATCH_CHECK_INT_H

#include <stdbool.h>
#include <stddef.h>

typedef enum ks_cnode_kind {
    KS_CN_THIS = 0,
    KS_CN_CONTENT,
    KS_CN_NULL,
    KS_CN_BOOL,
    KS_CN_NUM,
    KS_CN_STR,
    KS_CN_FIELD, /* a.name */
    KS_CN_NOT,   /* !a */
    KS_CN_AND,   /* a && b */
    KS_CN_OR,    /* a || b */
    KS_CN_EQ,    /* a == b */
    KS_CN_NE,
    KS_CN_LT,
    KS_CN_LE,
    KS_CN_GT,
    KS_CN_GE,
    KS_CN_CONTAINS,   /* a.contains(b) */
    KS_CN_HAS_PREFIX, /* a.has_prefix(b) */
    KS_CN_HAS_SUFFIX, /* a.has_suffix(b) */
} ks_cnode_kind;

typedef struct ks_cnode {
    ks_cnode_kind kind;
    struct ks_cnode *a, *b;
    bool bval;
    double num;
    char *str; /* KS_CN_STR value, KS_CN_FIELD name (NUL-terminated) */
    size_t len;
    int col; /* 1-based column, for runtime error messages */
} ks_cnode;

struct ks_check {
    ks_cnode *root;
    bool uses_this;
    bool uses_content;
};

void ks_cnode_free(ks_cnode *n);

#endif
