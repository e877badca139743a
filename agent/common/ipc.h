/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Control-socket protocol between rempartd and its clients: one JSON object per line, over a Unix
 * stream socket. A request is {"cmd": "status"|"reload"|..., ...}; the reply is one object with at
 * least {"ok": true|false} and, on failure, {"error": "..."}.
 */
#ifndef REMPART_IPC_H
#define REMPART_IPC_H

#include <stddef.h>
#include <json-c/json.h>

#define RP_IPC_MAX_LINE (1u << 20) /* a longer request or reply is refused */

/* Connect to a Unix stream socket. Returns fd or negative errno. */
int rp_ipc_connect(const char *path);
/* Send obj as one line. Returns 0 or negative errno. */
int rp_ipc_send(int fd, struct json_object *obj);
/* Read one line (up to RP_IPC_MAX_LINE) and parse it; timeout_ms < 0 waits forever. */
int rp_ipc_recv(int fd, int timeout_ms, struct json_object **out);
/* Connect, send {"cmd": cmd}, read the reply. */
int rp_ipc_call(const char *path, const char *cmd, int timeout_ms, struct json_object **reply);

#endif
