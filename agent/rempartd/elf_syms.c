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
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"

/* Value of a defined symbol of type stt (STT_FUNC, STT_OBJECT) in a symbol table of the given
 * type. Returns 1 found, 0 not. */
static int find_sym_in(Elf *elf, Elf64_Word type, const char *symbol, unsigned stt, GElf_Addr *value)
{
	size_t want = strlen(symbol) + 1;
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Scn *str_scn;
		Elf_Data *data, *strs;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || sh.sh_entsize == 0)
			continue;
		data = elf_getdata(scn, NULL);
		str_scn = elf_getscn(elf, sh.sh_link);
		strs = str_scn ? elf_getdata(str_scn, NULL) : NULL;
		if (!data || !strs || !strs->d_buf)
			continue;
		/* Names compared in the string table directly, bounds checked: a Go program has a
		 * hundred thousand symbols, and elf_strptr's own checks made this walk take 80 ms. */
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;

			if (!gelf_getsym(data, (int)i, &sym))
				break;
			if (sym.st_shndx == SHN_UNDEF || GELF_ST_TYPE(sym.st_info) != stt)
				continue;
			if (sym.st_name >= strs->d_size || strs->d_size - sym.st_name < want)
				continue;
			if (memcmp((const char *)strs->d_buf + sym.st_name, symbol, want) == 0) {
				*value = sym.st_value;
				return 1;
			}
		}
	}
	return 0;
}

static int find_func_in(Elf *elf, Elf64_Word type, const char *symbol, GElf_Addr *value)
{
	return find_sym_in(elf, type, symbol, STT_FUNC, value);
}

/* Section data by name, or NULL. */
static Elf_Data *section_named(Elf *elf, const char *name, GElf_Shdr *out)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx) < 0)
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, out) || out->sh_type != SHT_PROGBITS)
			continue;
		n = elf_strptr(elf, shstrndx, out->sh_name);
		if (n && strcmp(n, name) == 0)
			return elf_getdata(scn, NULL);
	}
	return NULL;
}

static uint64_t le_read(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/*
 * A Go program built by Go 1.18 or later keeps its function table (.gopclntab) when stripped of
 * its symbols: a header (magic 0xfffffff0 for 1.18-1.19, 0xfffffff1 for 1.20 and later, pointer
 * size, function count, text start and offsets of the name and function tables), then pairs of
 * (entry offset, function offset), each function starting with its entry offset and the offset
 * of its name. Every offset is checked against the section. Little-endian 64-bit only.
 */
static int find_go_func(Elf *elf, const char *symbol, GElf_Addr *value)
{
	GElf_Shdr sh, text_sh;
	/* A position-independent build keeps the table among its relocated read-only data. */
	Elf_Data *d = section_named(elf, ".gopclntab", &sh) ?: section_named(elf, ".data.rel.ro.gopclntab", &sh);
	const uint8_t *p;
	size_t n, want = strlen(symbol) + 1;
	uint64_t nfunc, text_start, names, pcln;
	uint32_t magic;

	if (!d || !d->d_buf || d->d_size < 8 + 8 * 8)
		return 0;
	p = d->d_buf;
	n = d->d_size;
	magic = (uint32_t)le_read(p, 4);
	if ((magic != 0xfffffff0u && magic != 0xfffffff1u) || p[4] || p[5] || p[7] != 8)
		return 0;
	nfunc = le_read(p + 8, 8);
	text_start = le_read(p + 24, 8);
	names = le_read(p + 32, 8);
	pcln = le_read(p + 64, 8);
	if (pcln >= n || names >= n || nfunc > (n - pcln) / 8)
		return 0;
	/* A position-independent build leaves text start to a relocation: .text is where it points. */
	if (!text_start && section_named(elf, ".text", &text_sh))
		text_start = text_sh.sh_addr;
	for (uint64_t i = 0; i < nfunc; i++) {
		uint64_t entry = le_read(p + pcln + 8 * i, 4), func = le_read(p + pcln + 8 * i + 4, 4);
		uint64_t name;

		if (func > n - pcln || n - pcln - func < 8)
			return 0;
		name = le_read(p + pcln + func + 4, 4); /* int32, never negative in a sane table */
		if (name >= n - names || n - names - name < want)
			continue;
		if (memcmp(p + names + name, symbol, want) == 0) {
			*value = text_start + entry;
			return 1;
		}
	}
	return 0;
}

/* Exported functions are in the dynamic symbol table, which a stripped binary keeps; a Go program
 * (no dynamic symbols of its own) names its functions in the full table, or when stripped in its
 * own function table. */
static int find_func(Elf *elf, const char *symbol, GElf_Addr *value)
{
	return find_func_in(elf, SHT_DYNSYM, symbol, value) || find_func_in(elf, SHT_SYMTAB, symbol, value) ||
	       find_go_func(elf, symbol, value);
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

int rp_elf_distance(const char *path, const char *func, const char *object, int64_t *distance)
{
	GElf_Addr from, to;
	Elf *elf;
	int fd, r;

	r = open_elf(path, &fd, &elf);
	if (r < 0)
		return r;
	r = find_sym_in(elf, SHT_DYNSYM, func, STT_FUNC, &from) && find_sym_in(elf, SHT_DYNSYM, object, STT_OBJECT, &to)
		    ? 0
		    : -ENOENT;
	if (r == 0)
		*distance = (int64_t)(to - from);
	elf_end(elf);
	close(fd);
	return r;
}

/* File offset of the code at value, from the executable section holding it, which must lie within
 * the file; -ENOENT if none. */
static int64_t code_offset(Elf *elf, int fd, GElf_Addr value, size_t *avail)
{
	Elf_Scn *scn = NULL;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_EXECINSTR))
			continue;
		if (sh.sh_offset > (uint64_t)st.st_size || sh.sh_size > (uint64_t)st.st_size - sh.sh_offset)
			continue;
		if (value < sh.sh_addr || value - sh.sh_addr >= sh.sh_size)
			continue;
		*avail = (size_t)(sh.sh_addr + sh.sh_size - value);
		return (int64_t)(value - sh.sh_addr + sh.sh_offset);
	}
	return -ENOENT;
}

ssize_t rp_elf_func_code(const char *path, const char *symbol, uint64_t *offset, uint8_t *buf, size_t len)
{
	GElf_Addr value = 0;
	ssize_t r = -ENOENT;
	size_t avail = 0;
	int64_t off;
	Elf *elf;
	int fd, e;

	e = open_elf(path, &fd, &elf);
	if (e < 0)
		return e;
	if (find_func(elf, symbol, &value) && (off = code_offset(elf, fd, value, &avail)) >= 0) {
		if (offset)
			*offset = (uint64_t)off;
		if (len > avail)
			len = avail;
		r = buf && len ? pread(fd, buf, len, (off_t)off) : 0;
		if (r < 0)
			r = -errno;
	}
	elf_end(elf);
	close(fd);
	return r;
}

ssize_t rp_elf_func_bytes(const char *path, const char *symbol, uint8_t *buf, size_t len)
{
	return rp_elf_func_code(path, symbol, NULL, buf, len);
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
	const uint8_t *head;
	GElf_Shdr sh;
	Elf_Data *d;
	uint64_t n = 0;
	unsigned shift = 0;
	size_t i, size;
	Elf *elf;
	int fd, r;

	if (!buf || len == 0)
		return -EINVAL;
	r = open_elf(path, &fd, &elf);
	if (r < 0)
		return r;
	r = -ENOENT;
	d = section_named(elf, ".go.buildinfo", &sh);
	if (!d || !d->d_buf || d->d_size < 33)
		goto out;
	head = d->d_buf;
	size = d->d_size < 64 ? d->d_size : 64; /* the version is near the start */
	if (memcmp(head, magic, sizeof(magic) - 1) != 0 || !(head[15] & 2))
		goto out;
	for (i = 32; i < size && shift < 63; i++, shift += 7) {
		n |= (uint64_t)(head[i] & 0x7f) << shift;
		if (!(head[i] & 0x80))
			break;
	}
	i++;
	if (i >= size || n < 4 || n > size - i || n >= len || memcmp(head + i, "go1.", 4) != 0)
		goto out;
	memcpy(buf, head + i, (size_t)n);
	buf[n] = '\0';
	r = 0;
out:
	elf_end(elf);
	close(fd);
	return r;
}
