package main

import "sync"

// instanceRegistry is the registry of a plugin state's open instances: for
// metrics (it keeps the totals of the closed ones, so that monotonic metrics
// never go back), and so that destroying the state stops the readers of
// instances a host left open.
type instanceRegistry struct {
	mu     sync.Mutex
	set    map[*instance]struct{}
	closed counters
}

func (o *instanceRegistry) add(i *instance) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.set == nil {
		o.set = map[*instance]struct{}{}
	}
	o.set[i] = struct{}{}
}

// remove forgets a closing instance, keeping its monotonic counts.
func (o *instanceRegistry) remove(i *instance) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.set[i]; !ok {
		return
	}
	delete(o.set, i)
	c := i.counters()
	c.queueLength, c.queueBytes, c.daemonsConnected = 0, 0, 0 // gauges
	o.closed.add(c)
}

// totals sums the counters of every instance, open or closed.
func (o *instanceRegistry) totals() counters {
	o.mu.Lock()
	defer o.mu.Unlock()
	sum := o.closed
	for inst := range o.set {
		sum.add(inst.counters())
	}
	return sum
}

// stopAll stops the readers of every open instance (plugin_destroy without
// plugin_close first); their slabs stay for a plugin_close that may follow.
func (o *instanceRegistry) stopAll() {
	o.mu.Lock()
	open := make([]*instance, 0, len(o.set))
	for i := range o.set {
		open = append(open, i)
	}
	o.mu.Unlock()
	for _, i := range open {
		i.stop()
	}
}
