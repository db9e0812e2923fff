package main

// counters are the plugin's health figures, summed over its instances and
// served through plugin_get_metrics.
type counters struct {
	eventsDelivered    uint64
	bytesDelivered     uint64
	eventsOversized    uint64 // above eventSize, delivered whole
	eventsTooLarge     uint64 // above maxEventSize, skipped
	queueOverflows     uint64
	queueLength        uint64
	queueBytes         uint64 // held by the queued lines (see stream.Queue.Bytes)
	reconnects         uint64
	resumeGaps         uint64
	resumeFailures     uint64
	duplicatesDropped  uint64
	swarmDuplicates    uint64 // Swarm events dropped as another manager's copy
	daemonsConnected   uint64
	replayLinesSkipped uint64
	eventsUndecodable  uint64
}

func (c *counters) add(o counters) {
	c.eventsDelivered += o.eventsDelivered
	c.bytesDelivered += o.bytesDelivered
	c.eventsOversized += o.eventsOversized
	c.eventsTooLarge += o.eventsTooLarge
	c.queueOverflows += o.queueOverflows
	c.queueLength += o.queueLength
	c.queueBytes += o.queueBytes
	c.reconnects += o.reconnects
	c.resumeGaps += o.resumeGaps
	c.resumeFailures += o.resumeFailures
	c.duplicatesDropped += o.duplicatesDropped
	c.swarmDuplicates += o.swarmDuplicates
	c.daemonsConnected += o.daemonsConnected
	c.replayLinesSkipped += o.replayLinesSkipped
	c.eventsUndecodable += o.eventsUndecodable
}

// metricDefs fixes the names and order of the metrics. The names carry no
// "docker." prefix: libsinsp already names each plugin metric
// "<plugin name>.<metric name>" (falcosecurity/libs userspace/libsinsp
// plugin.cpp, sinsp_plugin::get_metrics), so users see docker.events_delivered.
var metricDefs = [...]struct {
	name      string
	monotonic bool
	value     func(*counters) uint64
}{
	{"events_delivered", true, func(c *counters) uint64 { return c.eventsDelivered }},
	{"bytes_delivered", true, func(c *counters) uint64 { return c.bytesDelivered }},
	{"events_oversized", true, func(c *counters) uint64 { return c.eventsOversized }},
	{"events_too_large", true, func(c *counters) uint64 { return c.eventsTooLarge }},
	{"queue_overflows", true, func(c *counters) uint64 { return c.queueOverflows }},
	{"queue_length", false, func(c *counters) uint64 { return c.queueLength }},
	{"queue_bytes", false, func(c *counters) uint64 { return c.queueBytes }},
	{"reconnects", true, func(c *counters) uint64 { return c.reconnects }},
	{"resume_gaps", true, func(c *counters) uint64 { return c.resumeGaps }},
	{"resume_failures", true, func(c *counters) uint64 { return c.resumeFailures }},
	{"duplicates_dropped", true, func(c *counters) uint64 { return c.duplicatesDropped }},
	{"swarm_duplicates_dropped", true, func(c *counters) uint64 { return c.swarmDuplicates }},
	{"daemons_connected", false, func(c *counters) uint64 { return c.daemonsConnected }},
	{"replay_lines_skipped", true, func(c *counters) uint64 { return c.replayLinesSkipped }},
	{"events_undecodable", true, func(c *counters) uint64 { return c.eventsUndecodable }},
}

// counters reads this instance's figures.
func (inst *instance) counters() counters {
	c := counters{
		eventsDelivered: inst.delivered.Load(),
		bytesDelivered:  inst.deliveredSize.Load(),
		eventsOversized: inst.oversizedN.Load(),
		queueOverflows:  inst.queue.Overflows(),
		queueLength:     uint64(inst.queue.Len()),
		queueBytes:      uint64(max(inst.queue.Bytes(), 0)),
	}
	for _, f := range inst.followers {
		c.eventsTooLarge += f.Stats.TooLarge.Load()
		c.reconnects += f.Stats.Reconnects.Load()
		c.resumeGaps += f.Stats.ResumeGaps.Load()
		c.resumeFailures += f.Stats.ResumeFailures.Load()
		c.duplicatesDropped += f.Stats.Duplicates.Load()
		if f.Stats.Connected.Load() {
			c.daemonsConnected++
		}
	}
	if inst.swarm != nil {
		c.swarmDuplicates = inst.swarm.Dropped()
	}
	if inst.replay != nil {
		c.replayLinesSkipped = inst.replay.Skipped()
		c.eventsTooLarge += inst.replay.TooLarge()
	}
	return c
}
