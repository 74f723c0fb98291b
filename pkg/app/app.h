/* The assembled sidecar: every component built from a ks_config on one libuv loop.
 * ks_app_run() is what `kinesis-sidecar run` does: it returns the process exit code
 * after a graceful stop (SIGTERM/SIGINT, or POST /drain with exit_after_drain). */
#ifndef KS_APP_APP_H
#define KS_APP_APP_H

#include <stdbool.h>
#include <uv.h>

#include "config/config.h"
#include "core/err.h"

typedef struct ks_app ks_app;

typedef struct ks_app_options {
    uv_loop_t *loop;
    const ks_config *config; /* must outlive the app */
    const char *client_id;   /* NULL = hostname + random suffix */
} ks_app_options;

ks_err ks_app_new(const ks_app_options *opts, ks_app **out);
/* Starts serving probes, ensures the lease table, starts balancing. */
ks_err ks_app_start(ks_app *app);
/* Graceful stop; the loop ends when everything has closed. */
void ks_app_stop(ks_app *app);
void ks_app_destroy(ks_app *app); /* accepts NULL */
/* Exit code once the loop has ended: 0 after a clean drain. */
int ks_app_exit_code(const ks_app *app);

/* Builds a client id: $KS_CLIENT_ID, else hostname + "-" + 8 random hex digits. */
char *ks_app_make_client_id(void);

/* Convenience for main: new + start + run the loop + destroy. */
int ks_app_run(const ks_config *config);

#endif
