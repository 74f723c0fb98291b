/* Operator subcommands of the kinesis-sidecar binary; each runs its own libuv loop in
 * the calling process and returns the process exit code.
 *
 *   kinesis-sidecar drain  [--address A] [--timeout D] [--exit] [--token-file F]
 *       POST /drain, then poll GET /status until no lease is held or the timeout passes
 *       (default 30s). Exit 0 = all leases released, 1 = timed out, 2 = error.
 *       --exit: also ask the sidecar to exit once drained (POST /drain?exit=1).
 *       Usable as a Kubernetes preStop hook.
 *   kinesis-sidecar status [--address A] [--token-file F]
 *       GET /status and pretty-print it. Exit 0 on 200, 2 otherwise.
 *   kinesis-sidecar tail   [--address A] [--path P] [--token-file F] [--json]
 *       Websocket client of the records endpoint: prints each record's decoded data (or the
 *       record JSON with --json), one per line, and acks every batch. Runs until SIGINT or
 *       the server closes the connection (exit 0), 2 on errors.
 *
 * --address defaults to 127.0.0.1:4195 (drain/status) and 127.0.0.1:4196 (tail). */
#ifndef KS_SERVER_CLI_H
#define KS_SERVER_CLI_H

/* argv[0] is the subcommand name ("drain", ...). */
int ks_cli_drain(int argc, char **argv);
int ks_cli_status(int argc, char **argv);
int ks_cli_tail(int argc, char **argv);

#endif
