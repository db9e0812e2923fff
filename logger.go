package main

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include <stdlib.h>
#include "plugin_api.h"

// call_log_fn calls the framework's logger; cgo cannot call a C function
// pointer directly.
static inline void call_log_fn(ss_plugin_log_fn_t fn, ss_plugin_owner_t* o, const char* msg, ss_plugin_log_severity sev) {
	// A NULL component makes the framework print the plugin's name
	// (plugin_api.h, ss_plugin_log_fn_t).
	fn(o, NULL, msg, sev);
}
*/
import "C"

import (
	"log"
	"os"
	"unsafe"
)

// logger sends the plugin's messages to Falco's logger (the log_fn of
// ss_plugin_init_input), where they follow Falco's log level and outputs;
// when the framework gives no log_fn it falls back to stderr.
//
// log_fn may be called from any thread for the life of the plugin state
// (plugin_api.h: "It doesn't change during the whole plugin's lifecycle,
// it's safe to store it in the state"), so a logger is safe for concurrent
// use: it holds only values fixed at plugin_init.
type logger struct {
	owner  unsafe.Pointer       // ss_plugin_owner_t*, C memory of the framework
	fn     C.ss_plugin_log_fn_t // nil: stderr
	stderr *log.Logger
}

// newLogger builds the logger of a plugin state from its init input. The
// owner and log_fn members exist in every framework this plugin accepts
// (see requiredAPIVersion).
func newLogger(in *C.ss_plugin_init_input) *logger {
	l := stderrLogger()
	if in != nil && in.log_fn != nil {
		l.owner, l.fn = in.owner, in.log_fn
	}
	return l
}

// stderrLogger is the logger of a state that has no framework logger.
func stderrLogger() *logger {
	return &logger{stderr: log.New(os.Stderr, "[docker plugin] ", log.LstdFlags)}
}

// Error reports a failure the plugin could not hide from the user.
func (l *logger) Error(msg string) { l.print(C.SS_PLUGIN_LOG_SEV_ERROR, "error: ", msg) }

// Warn reports something the user should fix or know (data lost, a
// configuration ignored), while the plugin goes on.
func (l *logger) Warn(msg string) { l.print(C.SS_PLUGIN_LOG_SEV_WARNING, "warning: ", msg) }

// Info reports normal operation worth a line (a debug server listening).
func (l *logger) Info(msg string) { l.print(C.SS_PLUGIN_LOG_SEV_INFO, "", msg) }

func (l *logger) print(sev C.ss_plugin_log_severity, stderrPrefix, msg string) {
	if l.fn == nil {
		l.stderr.Print(stderrPrefix + msg)
		return
	}
	cmsg := C.CString(msg)
	defer C.free(unsafe.Pointer(cmsg))
	C.call_log_fn(l.fn, l.owner, cmsg, sev)
}
