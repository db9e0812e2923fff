// Dynamic loading helpers for package host. They live in C so that dlerror()
// is read on the same OS thread as the failing dlopen/dlsym: a goroutine may
// change threads between two separate cgo calls.

#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

#include "cwrap.h"

// host_dlopen opens path with RTLD_NOW|RTLD_LOCAL. On failure it returns NULL
// and sets *err to a malloc'ed copy of dlerror(), to be freed by the caller.
void* host_dlopen(const char* path, char** err) {
	*err = NULL;
	dlerror();
	void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char* e = dlerror();
		*err = strdup(e ? e : "dlopen failed");
	}
	return h;
}

static const struct {
	const char* name;
	size_t offset;
	int required;
} host_symbols[] = {
#define SYM(f, req) {"plugin_" #f, offsetof(host_api, f), req}
	SYM(get_required_api_version, 1),
	SYM(get_version, 1),
	SYM(get_name, 1),
	SYM(get_description, 1),
	SYM(get_contact, 1),
	SYM(get_id, 1),
	SYM(get_event_source, 1),
	SYM(get_fields, 1),
	SYM(get_last_error, 1),
	SYM(init, 1),
	SYM(destroy, 1),
	SYM(open, 1),
	SYM(close, 1),
	SYM(next_batch, 1),
	SYM(extract_fields, 1),
	SYM(get_init_schema, 0),
	SYM(list_open_params, 0),
	SYM(event_to_string, 0),
	SYM(get_progress, 0),
	SYM(get_metrics, 0),
	SYM(get_extract_event_sources, 0),
#undef SYM
};

// host_resolve fills api with the plugin_* symbols of handle. It returns NULL
// on success, or the name of the first required symbol that is missing.
const char* host_resolve(void* handle, host_api* api) {
	for (size_t i = 0; i < sizeof(host_symbols) / sizeof(host_symbols[0]); i++) {
		void* sym = dlsym(handle, host_symbols[i].name);
		if (!sym && host_symbols[i].required) {
			return host_symbols[i].name;
		}
		// POSIX guarantees that a data pointer returned by dlsym can hold a
		// function pointer; every field of host_api is a function pointer.
		memcpy((char*)api + host_symbols[i].offset, &sym, sizeof(sym));
	}
	return NULL;
}
