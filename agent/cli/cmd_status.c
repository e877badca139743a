/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rempart status: is the agent attached and ready, to what, and what have its counters seen. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "ipc.h"

static void print_counters(const char *title, struct json_object *obj)
{
	if (!obj || !json_object_is_type(obj, json_type_object))
		return;
	printf("%s:\n", title);
	json_object_object_foreach(obj, key, val)
		printf("  %-20s %s\n", key, json_object_get_string(val));
}

static int run_status(const struct rp_cli_global *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct json_object *reply = NULL, *v, *pol, *probes;
	bool json = false;
	int c, r, ret = 1;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			printf("Usage: rempart status [--json]\n\n"
			       "Print the agent's state: policy in force, attached probes, counters.\n"
			       "Exits 0 when the agent is attached and ready, 1 otherwise.\n");
			return 0;
		default:
			return 2;
		}
	}
	r = rp_ipc_call(g->socket_path, "status", 5000, &reply);
	if (r < 0) {
		fprintf(stderr, "rempart: cannot reach rempartd at %s: %s\n", g->socket_path, strerror(-r));
		return 1;
	}
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PRETTY));
	} else {
		bool ready = json_object_object_get_ex(reply, "ready", &v) && json_object_get_boolean(v);
		printf("rempartd: %s\n", ready ? "ready" : "not ready");
		if (json_object_object_get_ex(reply, "policy", &pol)) {
			struct json_object *name, *serial, *err;
			printf("policy: %s (serial %s)\n",
			       json_object_object_get_ex(pol, "name", &name) ? json_object_get_string(name) : "?",
			       json_object_object_get_ex(pol, "serial", &serial) ? json_object_get_string(serial) : "?");
			if (json_object_object_get_ex(pol, "last_error", &err) && json_object_get_string_len(err))
				printf("policy reload error: %s\n", json_object_get_string(err));
		}
		if (json_object_object_get_ex(reply, "probes", &probes)) {
			size_t n = json_object_array_length(probes);
			printf("probes: %zu attached\n", n);
			for (size_t i = 0; i < n; i++) {
				struct json_object *p = json_object_array_get_idx(probes, i), *t, *f;
				json_object_object_get_ex(p, "target", &t);
				json_object_object_get_ex(p, "function", &f);
				printf("  %s:%s\n", json_object_get_string(t), json_object_get_string(f));
			}
		}
		if (json_object_object_get_ex(reply, "installed_programs", &v)) {
			struct json_object *ex, *done, *rel;
			printf("installed programs: %s examined for embedded TLS%s\n",
			       json_object_object_get_ex(v, "examined", &ex) ? json_object_get_string(ex) : "?",
			       json_object_object_get_ex(v, "complete", &done) && json_object_get_boolean(done)
				       ? ""
				       : " (still examining)");
			if (json_object_object_get_ex(v, "released", &rel) && json_object_get_int64(rel) > 0)
				printf("hooked files replaced on disk and no longer run: %s (their probes detached)\n",
				       json_object_get_string(rel));
		}
		json_object_object_get_ex(reply, "kernel_counters", &v);
		print_counters("kernel counters", v);
		json_object_object_get_ex(reply, "agent_counters", &v);
		print_counters("agent counters", v);
		if (json_object_object_get_ex(reply, "decoder_counters", &v))
			print_counters("decoder counters", v);
		json_object_object_get_ex(reply, "notify", &v);
		print_counters("notifications", v);
		if (json_object_object_get_ex(reply, "enforcement_counters", &v)) /* issue 5 */
			print_counters("enforcement counters", v);
	}
	ret = json_object_object_get_ex(reply, "ready", &v) && json_object_get_boolean(v) ? 0 : 1;
	json_object_put(reply);
	return ret;
}

RP_CLI_COMMAND(status, "status", "show whether the agent is ready, its probes and counters", run_status)
