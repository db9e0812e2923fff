package stream

// Line is one Docker event as it travels from a reader to the consumer: the
// JSON object exactly as the daemon (or the replay file) gave it, and the
// event's time, picked out on the reader's goroutine so that the consumer
// (Falco's thread) never parses anything.
type Line struct {
	// Data is the event's JSON object, without the trailing newline.
	Data []byte
	// TimeNano is the event's timeNano (or time in seconds scaled, when
	// timeNano is absent); zero when the event carries neither. The reader
	// parsed it (TimeNano); next_batch makes it the event's timestamp,
	// which is also what docker.time gives.
	TimeNano int64
	// Origin is the daemon the line came from; nil for a replay file.
	Origin *Origin
}

// Origin names a daemon: the endpoint as configured and the daemon's own
// name (GET /info), which for a Swarm node is its hostname.
type Origin struct {
	Host string
	Name string
}
