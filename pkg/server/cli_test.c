/* The CLI runs its own loop synchronously, so the admin server runs in a forked child
 * (stopped by PID at the end of each test). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/log.h"
#include "server/cli.h"
#include "server/server.h"

typedef struct child_state {
    int leases;        /* reported in /status */
    int release_after; /* status calls after a drain before leases drop to 0; <0 never */
    bool drained;
} child_state;

static bool g_app_shape; /* /status in the nested shape of earlier builds (set before the fork) */

static void c_status(void *ud, ks_buf *out)
{
    child_state *c = ud;
    if (c->drained && c->release_after >= 0 && c->release_after-- == 0)
        c->leases = 0;
    /* Earlier builds nested the coordinator's object: "leases":{"held":n,"leases":[...]}. */
    if (g_app_shape)
        ks_buf_appendf(out, "{\"client_id\":\"t\",\"leases\":{\"held\":%d,\"leases\":[", c->leases);
    else
        ks_buf_append_str(out, "{\"client_id\":\"t\",\"leases\":[");
    for (int i = 0; i < c->leases; i++)
        ks_buf_appendf(out, "%s{\"shard_id\":\"s%d\"}", i ? "," : "", i);
    ks_buf_append_str(out, g_app_shape ? "]},\"readers\":[]}" : "]}");
}

static void c_drain(void *ud)
{
    ((child_state *)ud)->drained = true;
}

static void stop_loop(uv_signal_t *s, int sig)
{
    (void)sig;
    uv_stop(s->loop);
}

static pid_t g_child; /* killed by the teardown if a test failed before reaping it */

static int kill_child(void **state)
{
    (void)state;
    if (g_child > 0) {
        kill(g_child, SIGKILL);
        waitpid(g_child, NULL, 0);
    }
    g_child = 0;
    return 0;
}

/* Forks a server; returns its pid and port. */
static pid_t spawn(int release_after, int *port)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        ks_log_set_level(KS_LOG_OFF);
        uv_loop_t loop;
        uv_loop_init(&loop);
        /* The SIGTERM handler must be in place before the parent learns the port:
         * otherwise a quick reap() kills the child with the default action. */
        uv_signal_t sig;
        uv_signal_init(&loop, &sig);
        uv_signal_start(&sig, stop_loop, SIGTERM);
        child_state st = {.leases = 2, .release_after = release_after};
        ks_server_opts o = {.loop = &loop,
                            .admin_address = "127.0.0.1:0",
                            .hooks = {.status = c_status, .drain = c_drain, .ud = &st}};
        ks_server *srv = NULL;
        if (ks_server_new(&o, &srv) != KS_OK)
            _exit(3);
        int p = ks_server_admin_port(srv);
        if (write(fds[1], &p, sizeof(p)) != (ssize_t)sizeof(p))
            _exit(3);
        close(fds[1]);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_close((uv_handle_t *)&sig, NULL);
        ks_server_destroy(srv);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        _exit(0);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], port, sizeof(*port)), (ssize_t)sizeof(*port));
    close(fds[0]);
    g_child = pid;
    return pid;
}

static void reap(pid_t pid)
{
    int status = 0;
    kill(pid, SIGTERM);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    g_child = 0;
}

static int run_cli(int (*fn)(int, char **), const char *a0, int port, const char *extra1,
                   const char *extra2)
{
    char addr[32];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    char *argv[8] = {(char *)a0, "--address", addr, (char *)extra1, (char *)extra2, NULL};
    int argc = 3 + (extra1 != NULL) + (extra2 != NULL);
    return fn(argc, argv);
}

static void test_drain_released(void **state)
{
    (void)state;
    int port = 0;
    pid_t pid = spawn(2, &port);
    assert_int_equal(run_cli(ks_cli_drain, "drain", port, "--timeout", "10s"), 0);
    reap(pid);
}

/* The nested /status shape of earlier builds ({"leases":{"leases":[...]}}) still counts as
 * drained when its list is empty (a drain against an older sidecar timed out). */
static void test_drain_released_app_shape(void **state)
{
    (void)state;
    int port = 0;
    g_app_shape = true;
    pid_t pid = spawn(2, &port);
    g_app_shape = false;
    assert_int_equal(run_cli(ks_cli_drain, "drain", port, "--timeout", "10s"), 0);
    reap(pid);
}

static void test_drain_times_out(void **state)
{
    (void)state;
    int port = 0;
    pid_t pid = spawn(-1, &port);
    assert_int_equal(run_cli(ks_cli_drain, "drain", port, "--timeout", "600ms"), 1);
    reap(pid);
}

static void test_drain_errors(void **state)
{
    (void)state;
    int port = 0;
    pid_t pid = spawn(0, &port);
    reap(pid); /* nobody listens on that port any more */
    assert_int_equal(run_cli(ks_cli_drain, "drain", port, NULL, NULL), 2);
    assert_int_equal(run_cli(ks_cli_drain, "drain", port, "--timeout", "soon"), 2);
    assert_int_equal(run_cli(ks_cli_drain, "drain", port, "--bogus", NULL), 2);
}

static void test_status(void **state)
{
    (void)state;
    int port = 0;
    pid_t pid = spawn(0, &port);
    assert_int_equal(run_cli(ks_cli_status, "status", port, NULL, NULL), 0);
    reap(pid);
    assert_int_equal(run_cli(ks_cli_status, "status", port, NULL, NULL), 2);
}

int main(void)
{
    ks_log_set_level(KS_LOG_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_drain_released, kill_child),
        cmocka_unit_test_teardown(test_drain_released_app_shape, kill_child),
        cmocka_unit_test_teardown(test_drain_times_out, kill_child),
        cmocka_unit_test_teardown(test_drain_errors, kill_child),
        cmocka_unit_test_teardown(test_status, kill_child),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
