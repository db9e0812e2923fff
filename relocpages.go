package main

/*
#define _GNU_SOURCE
#include <link.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

// find_relocations is a dl_iterate_phdr callback: for the object holding
// io[0], it sets io[0] and io[1] to the start and length of its relocation
// table (DT_RELA) when the table lies entirely inside a read-only,
// file-backed segment and the object has no text relocations, and io[0] to
// 0 otherwise.
static int find_relocations(struct dl_phdr_info* info, size_t size, void* data) {
	uintptr_t* io = data; // in: an address of this object; out: start, length
	uintptr_t base = info->dlpi_addr;
	const ElfW(Phdr)* dynamic = NULL;
	int ours = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr)* ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && io[0] >= base + ph->p_vaddr && io[0] < base + ph->p_vaddr + ph->p_memsz) {
			ours = 1;
		} else if (ph->p_type == PT_DYNAMIC) {
			dynamic = ph;
		}
	}
	if (!ours) {
		return 0;
	}
	io[0] = 0;
	if (dynamic == NULL) {
		return 1;
	}
	uintptr_t rela = 0, relasz = 0;
	for (const ElfW(Dyn)* d = (const ElfW(Dyn)*)(base + dynamic->p_vaddr); d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_RELA:
			rela = d->d_un.d_ptr;
			break;
		case DT_RELASZ:
			relasz = d->d_un.d_val;
			break;
		case DT_TEXTREL:
			return 1;
		}
	}
	// glibc rebases DT_RELA in place (the dynamic section is writable);
	// musl leaves it an offset.
	if (rela < base) {
		rela += base;
	}
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr)* ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && !(ph->p_flags & PF_W) &&
			rela >= base + ph->p_vaddr && rela + relasz <= base + ph->p_vaddr + ph->p_filesz) {
			io[0] = rela;
			io[1] = relasz;
		}
	}
	return 1;
}

// drop_relocation_pages gives back the resident pages of the relocation
// table of the object holding addr, once the dynamic linker has applied
// it. It returns the bytes given back, or 0 when find_relocations found no
// table it may drop, in which case it leaves everything as it is.
static size_t drop_relocation_pages(uintptr_t addr) {
	uintptr_t io[2] = {addr, 0};
	dl_iterate_phdr(find_relocations, io);
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = (io[0] + page - 1) & ~(page - 1);
	uintptr_t end = (io[0] + io[1]) & ~(page - 1);
	if (io[0] == 0 || end <= start || madvise((void*)start, end - start, MADV_DONTNEED) != 0) {
		return 0;
	}
	return end - start;
}

static uintptr_t this_object(void) { return (uintptr_t)&drop_relocation_pages; }
*/
import "C"

// The dynamic linker reads the library's relocation table whole when it
// loads it, to rebase every pointer in the Go runtime's tables (a
// c-shared library is position-independent), and never reads it again;
// its pages stayed in Falco's resident set for good: 1.1 MiB, about as
// much as the whole slab (BENCHMARKS.md, "Process memory"). They are clean
// pages of the file, so they are dropped from the process at init; were
// they read again, the kernel would map them again from the file.
func init() {
	C.drop_relocation_pages(C.this_object())
}
