/* Helpers for the credential tests (creds_testutil.c, linked into test binaries only). */
#ifndef KS_AWS_CREDS_TESTUTIL_H
#define KS_AWS_CREDS_TESTUTIL_H

/* Unsets every environment variable a credential source reads (AWS_ACCESS_KEY_ID, the web
 * identity, profile, container and IMDS variables) and points HOME at a directory that
 * does not exist, so that only what a test sets is seen. */
void ks_test_creds_env_clear(void);

#endif
