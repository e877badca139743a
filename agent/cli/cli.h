/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `rempart` subcommands. Each lives in its own cmd_<name>.c and registers itself with
 * RP_CLI_COMMAND; main.c dispatches. Commands return the process exit code:
 * 0 success, 1 failure of what was asked (e.g. daemon not ready, policy invalid), 2 usage error.
 */
#ifndef REMPART_CLI_H
#define REMPART_CLI_H

struct rp_cli_global {
	const char *socket_path; /* --socket, or the default control socket */
};

struct rp_cli_command {
	const char *name;
	const char *summary;  /* one line for `rempart --help` */
	int (*run)(const struct rp_cli_global *g, int argc, char **argv); /* argv[0] is the name */
	struct rp_cli_command *next;
};

void rp_cli_register(struct rp_cli_command *c);

#define RP_CLI_COMMAND(ident, cmdname, cmdsummary, fn)                          \
	static struct rp_cli_command ident##_command = {                        \
		.name = cmdname, .summary = cmdsummary, .run = fn,              \
	};                                                                      \
	__attribute__((constructor)) static void ident##_register(void)         \
	{                                                                       \
		rp_cli_register(&ident##_command);                              \
	}

#endif
