/* kinesis-sidecar: argv parsing and wiring only. */
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: kinesis-sidecar <command> [options]\n"
               "  run -c FILE      consume and deliver\n"
               "  lint -c FILE     validate a config without connecting anywhere\n"
               "  --version        print the version\n");
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
        printf("kinesis-sidecar %s\n", KS_VERSION);
        return 0;
    }
    usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
    return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
}
