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

/* Value of a defined function in the dynamic symbol table (exported functions live there; a
 * stripped binary keeps it). Returns 1 found, 0 not found. */
static int find_func(Elf *elf, const char *symbol, GElf_Addr *value)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || sh.sh_entsize == 0)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, (int)i, &sym))
				break;
			if (sym.st_shndx == SHN_UNDEF || GELF_ST_TYPE(sym.st_info) != STT_FUNC)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (name && strcmp(name, symbol) == 0) {
				*value = sym.st_value;
				return 1;
			}
		}
	}
	return 0;
}

/* Open path as ELF; *fd and *elf are set on success. */
static int open_elf(const char *path, int *fd, Elf **elf)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOTSUP;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return -errno;
	*elf = elf_begin(*fd, ELF_C_READ_MMAP, NULL);
	if (!*elf || elf_kind(*elf) != ELF_K_ELF) {
		if (*elf)
			elf_end(*elf);
		close(*fd);
		return -ENOEXEC;
	}
	return 0;
}

int rp_elf_defines(const char *path, const char *symbol)
{
	GElf_Addr value;
	Elf *elf;
	int fd, r;

	r = open_elf(path, &fd, &elf);
	if (r < 0)
		return r;
	r = find_func(elf, symbol, &value);
	elf_end(elf);
	close(fd);
	return r;
}

ssize_t rp_elf_func_bytes(const char *path, const char *symbol, uint8_t *buf, size_t len)
{
	Elf_Scn *scn = NULL;
	GElf_Addr value = 0;
	ssize_t r = -ENOENT;
	Elf *elf;
	int fd, e;

	e = open_elf(path, &fd, &elf);
	if (e < 0)
		return e;
	if (!find_func(elf, symbol, &value))
		goto out;
	/* The section holding the code tells where those bytes are in the file. */
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_EXECINSTR))
			continue;
		if (value < sh.sh_addr || value >= sh.sh_addr + sh.sh_size)
			continue;
		size_t avail = (size_t)(sh.sh_addr + sh.sh_size - value);
		if (len > avail)
			len = avail;
		r = pread(fd, buf, len, (off_t)(value - sh.sh_addr + sh.sh_offset));
		if (r < 0)
			r = -errno;
		break;
	}
out:
	elf_end(elf);
	close(fd);
	return r;
}
