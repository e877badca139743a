/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Does an executable define (export) a function? Used to find programs that embed a TLS library
 * and export its symbols, such as node with OpenSSL, so they can be hooked like the library.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

int rp_elf_defines(const char *path, const char *symbol)
{
	Elf *elf = NULL;
	Elf_Scn *scn = NULL;
	int fd, r = 0;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOTSUP;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		r = -ENOEXEC;
		goto out;
	}
	/* Exported functions are in .dynsym; a stripped binary keeps it. */
	while ((scn = elf_nextscn(elf, scn)) && r == 0) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || sh.sh_entsize == 0)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		size_t n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, (int)i, &sym))
				break;
			if (sym.st_shndx == SHN_UNDEF || GELF_ST_TYPE(sym.st_info) != STT_FUNC)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (name && strcmp(name, symbol) == 0) {
				r = 1;
				break;
			}
		}
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return r;
}
