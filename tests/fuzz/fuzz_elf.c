/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: any bytes as an executable the agent examines. rempartd, as root, reads the
 * executables every user may run (symbols, Go's function table and build info) to decide what to
 * hook: none of that may crash it or read out of bounds, and whatever function it finds must lie
 * within the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon.h"

static const char *const funcs[] = {"crypto/tls.(*Conn).Write", "crypto/tls.(*Conn).Close", "SSL_write"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], version[32];
	uint8_t code[64];
	int fd = memfd_create("fuzz-elf", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++) {
		uint64_t off = 0;
		ssize_t n;

		(void)rp_elf_defines(path, funcs[i]);
		n = rp_elf_func_code(path, funcs[i], &off, code, sizeof(code));
		if (n > (ssize_t)sizeof(code) || (n >= 0 && off >= size))
			abort();
		if (n > 0)
			(void)rp_go_probe_site(code, (size_t)n);
	}
	if (rp_elf_go_version(path, version, sizeof(version)) == 0 &&
	    (strlen(version) >= sizeof(version) || strncmp(version, "go1.", 4) != 0))
		abort();
	close(fd);
	return 0;
}
