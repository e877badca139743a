/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rempart reload: ask rempartd to load its policy again (the running one stays on error). */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "ipc.h"

static int run_reload(const struct rp_cli_global *g, int argc, char **argv)
{
	struct json_object *reply = NULL, *ok, *err;
	int r, ret;

	if (argc > 1) {
		if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
			printf("Usage: rempart reload\n\nReload the policy; on error the running policy stays in force.\n");
			return 0;
		}
		fprintf(stderr, "rempart reload: unexpected argument '%s'\n", argv[1]);
		return 2;
	}
	r = rp_ipc_call(g->socket_path, "reload", 30000, &reply);
	if (r < 0) {
		fprintf(stderr, "rempart: cannot reach rempartd at %s: %s\n", g->socket_path, strerror(-r));
		return 1;
	}
	if (json_object_object_get_ex(reply, "ok", &ok) && json_object_get_boolean(ok)) {
		printf("policy reloaded\n");
		ret = 0;
	} else {
		json_object_object_get_ex(reply, "error", &err);
		fprintf(stderr, "rempart: reload refused: %s\n", err ? json_object_get_string(err) : "unknown error");
		ret = 1;
	}
	json_object_put(reply);
	return ret;
}

RP_CLI_COMMAND(reload, "reload", "reload the policy (the running one stays on error)", run_reload)
