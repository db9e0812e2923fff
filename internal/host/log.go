package host

/*
#include "cwrap.h"
*/
import "C"

import "unsafe"

// LogSeverity is ss_plugin_log_severity.
type LogSeverity int32

// Severities, with their values from plugin_types.h.
const (
	LogFatal    LogSeverity = C.SS_PLUGIN_LOG_SEV_FATAL
	LogCritical LogSeverity = C.SS_PLUGIN_LOG_SEV_CRITICAL
	LogError    LogSeverity = C.SS_PLUGIN_LOG_SEV_ERROR
	LogWarning  LogSeverity = C.SS_PLUGIN_LOG_SEV_WARNING
	LogNotice   LogSeverity = C.SS_PLUGIN_LOG_SEV_NOTICE
	LogInfo     LogSeverity = C.SS_PLUGIN_LOG_SEV_INFO
	LogDebug    LogSeverity = C.SS_PLUGIN_LOG_SEV_DEBUG
	LogTrace    LogSeverity = C.SS_PLUGIN_LOG_SEV_TRACE
)

// LogRecord is one call the plugin made to the framework's log_fn.
// Component is "" when the plugin passed NULL (libsinsp then prints the
// plugin's name).
type LogRecord struct {
	Component string
	Message   string
	Severity  LogSeverity
}

// logCapacity bounds the records kept per State; later ones are counted as
// dropped.
const logCapacity = 4096

// Logs returns what the plugin has sent to the State's log_fn so far, and
// how many records were dropped beyond the capacity. It is nil for a State
// initialised without InitOptions.Log. It may be called while the plugin
// logs from other threads.
func (s *State) Logs() (records []LogRecord, dropped uint64) {
	if s.log == nil {
		return nil, 0
	}
	var d C.uint64_t
	n := C.host_log_len(s.log, &d)
	entries := unsafe.Slice(C.host_log_entries(s.log), n)
	for _, e := range entries {
		records = append(records, LogRecord{Component: C.GoString(e.component), Message: C.GoString(e.msg), Severity: LogSeverity(e.severity)})
	}
	return records, uint64(d)
}
