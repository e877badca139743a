/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rempart: command-line client of rempartd and offline tools (scan, policy). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "paths.h"

static struct rp_cli_command *commands;

void rp_cli_register(struct rp_cli_command *c)
{
	/* Keep the list sorted by name so --help is stable. */
	struct rp_cli_command **p = &commands;
	while (*p && strcmp((*p)->name, c->name) < 0)
		p = &(*p)->next;
	c->next = *p;
	*p = c;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: rempart [--socket PATH] COMMAND [ARGS...]\n\n"
		   "Client of the Rempart data-loss-prevention agent (rempartd).\n\n"
		   "Options:\n"
		   "  -s, --socket PATH  control socket of rempartd (default %s)\n"
		   "  -h, --help         this help\n"
		   "  -V, --version      print the version\n\n"
		   "Commands:\n",
		RP_DEFAULT_SOCKET);
	for (struct rp_cli_command *c = commands; c; c = c->next)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f, "\n'rempart COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	struct rp_cli_global g = {.socket_path = RP_DEFAULT_SOCKET};
	int c;

	/* '+': stop at the first non-option, which is the command. */
	while ((c = getopt_long(argc, argv, "+s:hV", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			g.socket_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("rempart %s\n", RP_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (struct rp_cli_command *cmd = commands; cmd; cmd = cmd->next) {
		if (strcmp(cmd->name, argv[optind]) == 0) {
			int first = optind;
			optind = 0; /* full getopt reset for the subcommand's own options */
			return cmd->run(&g, argc - first, argv + first);
		}
	}
	fprintf(stderr, "rempart: unknown command '%s' (see rempart --help)\n", argv[optind]);
	return 2;
}
