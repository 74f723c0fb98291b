/* kinesis-sidecar: argv parsing and wiring only. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "batch/check.h"
#include "config/config.h"
#include "core/log.h"
#include "server/cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: kinesis-sidecar <command> [options]\n"
            "\n"
            "commands:\n"
            "  run -c FILE                      consume the configured streams and deliver\n"
            "  lint -c FILE                     validate a config without connecting anywhere\n"
            "  drain [--address A] [--timeout D] [--exit]\n"
            "                                   ask a running sidecar to hand its shards over\n"
            "                                   and wait (Kubernetes preStop hook)\n"
            "  status [--address A]             print a running sidecar's leases and state\n"
            "  tail [--address A] [--path P]    print records from the websocket output, acking\n"
            "  --version                        print the version\n");
}

static const char *config_arg(int argc, char **argv)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *path = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        if (c == 'c')
            path = optarg;
        else
            return NULL;
    }
    return path;
}

/* Loads a config, reporting every problem as FILE:LINE: key.path: message. Checks what
 * the config module leaves to others (the batching `check` expression). */
static ks_config *load_config(const char *path, size_t *n_errors)
{
    ks_config_diags diags;
    ks_config_diags_init(&diags);
    ks_config *cfg = NULL;
    ks_config_load_file(path, &cfg, &diags);
    if (cfg && cfg->input.batching.check) {
        char msg[256] = "";
        ks_check *chk = NULL;
        if (ks_check_compile(cfg->input.batching.check, &chk, msg, sizeof(msg)) != KS_OK)
            ks_config_diags_add(&diags, false, path, cfg->input.batching.check_line,
                                "input.aws_kinesis.batching.check", "%s", msg);
        ks_check_destroy(chk);
    }
    ks_config_diags_print(&diags, stderr);
    *n_errors = ks_config_diags_errors(&diags);
    ks_config_diags_clean_up(&diags);
    if (*n_errors) {
        ks_config_destroy(cfg);
        return NULL;
    }
    return cfg;
}

static int cmd_lint(int argc, char **argv)
{
    const char *path = config_arg(argc, argv);
    if (!path) {
        fprintf(stderr, "usage: kinesis-sidecar lint -c FILE\n");
        return 2;
    }
    size_t errors = 0;
    ks_config *cfg = load_config(path, &errors);
    if (!cfg) {
        fprintf(stderr, "%s: %zu error(s)\n", path, errors ? errors : 1);
        return 1;
    }
    ks_config_destroy(cfg);
    printf("%s: ok\n", path);
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    const char *path = config_arg(argc, argv);
    if (!path) {
        fprintf(stderr, "usage: kinesis-sidecar run -c FILE\n");
        return 2;
    }
    size_t errors = 0;
    ks_config *cfg = load_config(path, &errors);
    if (!cfg)
        return 2;
    ks_log_set_level(cfg->logger.level);
    ks_log_set_format(cfg->logger.format);
    int code = ks_app_run(cfg);
    ks_config_destroy(cfg);
    return code;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("kinesis-sidecar %s\n", KS_VERSION);
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "lint") == 0)
        return cmd_lint(argc - 1, argv + 1);
    if (strcmp(cmd, "drain") == 0)
        return ks_cli_drain(argc - 1, argv + 1);
    if (strcmp(cmd, "status") == 0)
        return ks_cli_status(argc - 1, argv + 1);
    if (strcmp(cmd, "tail") == 0)
        return ks_cli_tail(argc - 1, argv + 1);
    fprintf(stderr, "kinesis-sidecar: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
