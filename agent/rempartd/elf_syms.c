/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Does an executable define a function? Used to find programs that embed a TLS library, such as
 * node exporting OpenSSL's symbols or a Go program with crypto/tls, so they can be hooked like the
 * library; and which Go release built a program (its calling convention).
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

/* Value of a defined function in a symbol table of the given type. Returns 1 found, 0 not. */
static int find_func_in(Elf *elf, Elf64_Word type, const char *symbol, GElf_Addr *value)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || sh.sh_entsize == 0)
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

/* Exported functions are in the dynamic symbol table, which a stripped binary keeps; a Go program
 * (no dynamic symbols of its own) names its functions in the full table, unless stripped. */
static int find_func(Elf *elf, const char *symbol, GElf_Addr *value)
{
	return find_func_in(elf, SHT_DYNSYM, symbol, value) || find_func_in(elf, SHT_SYMTAB, symbol, value);
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

/*
 * The .go.buildinfo section starts with "\xff Go buildinf:", the pointer size and a flags byte;
 * flag 2 (Go 1.18 and later) says the version string follows at offset 32, preceded by its
 * length as an unsigned varint. Older layouts point into the data instead: not read, and those
 * releases pass arguments on the stack anyway.
 */
int rp_elf_go_version(const char *path, char *buf, size_t len)
{
	static const char magic[] = "\xff Go buildinf:";
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	uint8_t head[64];
	Elf *elf;
	int fd, r;

	if (!buf || len == 0)
		return -EINVAL;
	r = open_elf(path, &fd, &elf);
	if (r < 0)
		return r;
	r = -ENOENT;
	if (elf_getshdrstrndx(elf, &shstrndx) < 0)
		goto out;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		uint64_t n = 0;
		unsigned shift = 0;
		size_t i;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strcmp(name, ".go.buildinfo") != 0)
			continue;
		if (sh.sh_size < sizeof(head) || pread(fd, head, sizeof(head), (off_t)sh.sh_offset) != (ssize_t)sizeof(head))
			break;
		if (memcmp(head, magic, sizeof(magic) - 1) != 0 || !(head[15] & 2))
			break;
		for (i = 32; i < sizeof(head) && shift < 63; i++, shift += 7) {
			n |= (uint64_t)(head[i] & 0x7f) << shift;
			if (!(head[i] & 0x80))
				break;
		}
		i++;
		if (i >= sizeof(head) || n == 0 || n > sizeof(head) - i || n >= len || memcmp(head + i, "go1.", 4) != 0)
			break;
		memcpy(buf, head + i, (size_t)n);
		buf[n] = '\0';
		r = 0;
		break;
	}
out:
	elf_end(elf);
	close(fd);
	return r;
}
