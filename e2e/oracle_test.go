package e2e

import (
	"encoding/json"
	"strconv"
	"strings"
)

// expected computes, independently of the plugin (encoding/json, maps), the
// value every docker.* field must have for one event line: a string, a
// uint64, or no entry when the field must be unset (<NA> in Falco).
func expected(line string) (map[string]any, error) {
	var ev struct {
		Status, ID, From string
		Type             string `json:"Type"`
		Action           string `json:"Action"`
		Scope            string `json:"scope"`
		Actor            struct {
			ID         string            `json:"ID"`
			Attributes map[string]string `json:"Attributes"`
		} `json:"Actor"`
		Time     int64 `json:"time"`
		TimeNano int64 `json:"timeNano"`
	}
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		return nil, err
	}
	want := map[string]any{}
	setStr := func(name, v string) {
		if v != "" {
			want[name] = v
		}
	}
	attrs := ev.Actor.Attributes
	setAttr := func(name, key string) {
		if v, ok := attrs[key]; ok {
			want[name] = v
		}
	}
	setNum := func(name, key string) {
		if n, err := strconv.ParseUint(attrs[key], 10, 64); err == nil {
			want[name] = n
		}
	}
	// Daemons from API v1.52 on drop status/id/from: the plugin derives them.
	if ev.Type == "container" || ev.Type == "image" {
		if ev.Status == "" {
			ev.Status = ev.Action
		}
		if ev.ID == "" {
			ev.ID = ev.Actor.ID
		}
		if ev.From == "" && ev.Type == "container" {
			ev.From = attrs["image"]
		}
	}
	setStr("docker.status", ev.Status)
	setStr("docker.id", ev.ID)
	setStr("docker.from", ev.From)
	setStr("docker.type", ev.Type)
	setStr("docker.action", ev.Action)
	setStr("docker.scope", ev.Scope)
	setStr("docker.actor.id", ev.Actor.ID)
	for name, key := range map[string]string{
		"docker.stack.namespace":         "com.docker.stack.namespace",
		"docker.node.id":                 "com.docker.swarm.node.id",
		"docker.swarm.task":              "com.docker.swarm.task",
		"docker.swarm.taskid":            "com.docker.swarm.task.id",
		"docker.swarm.taskname":          "com.docker.swarm.task.name",
		"docker.swarm.servicename":       "com.docker.swarm.service.name",
		"docker.node.statenew":           "state.new",
		"docker.node.stateold":           "state.old",
		"docker.attributes.container":    "container",
		"docker.attributes.image":        "image",
		"docker.attributes.name":         "name",
		"docker.attributes.type":         "type",
		"docker.attributes.exitcode":     "exitCode",
		"docker.attributes.signal":       "signal",
		"docker.exec.id":                 "execID",
		"docker.node.availability.old":   "availability.old",
		"docker.node.availability.new":   "availability.new",
		"docker.node.state.old":          "state.old",
		"docker.node.state.new":          "state.new",
		"docker.node.role.old":           "role.old",
		"docker.node.role.new":           "role.new",
		"docker.node.leader.old":         "leader.old",
		"docker.node.leader.new":         "leader.new",
		"docker.node.reachability.old":   "reachability.old",
		"docker.node.reachability.new":   "reachability.new",
		"docker.service.image.old":       "image.old",
		"docker.service.image.new":       "image.new",
		"docker.service.updatestate.old": "updatestate.old",
		"docker.service.updatestate.new": "updatestate.new",
	} {
		setAttr(name, key)
	}
	setNum("docker.exitcode", "exitCode")
	setNum("docker.signal", "signal")
	setNum("docker.service.replicas.old", "replicas.old")
	setNum("docker.service.replicas.new", "replicas.new")
	if ev.Action != "" {
		name, _, _ := strings.Cut(ev.Action, ": ")
		want["docker.action.name"] = name
	}
	for _, prefix := range []string{"exec_create: ", "exec_start: "} {
		if cmd, ok := strings.CutPrefix(ev.Action, prefix); ok {
			want["docker.exec.command"] = cmd
		}
	}
	if status, ok := strings.CutPrefix(ev.Action, "health_status: "); ok {
		want["docker.health.status"] = status
	}
	switch {
	case ev.TimeNano != 0:
		want["docker.time"] = uint64(ev.TimeNano)
	case ev.Time != 0:
		want["docker.time"] = uint64(ev.Time) * 1e9
	}
	return want, nil
}

// attributeKeys lists the event's attribute keys, for docker.attributes[KEY].
func attributeKeys(line string) map[string]string {
	var ev struct {
		Actor struct {
			Attributes map[string]string `json:"Attributes"`
		} `json:"Actor"`
	}
	json.Unmarshal([]byte(line), &ev)
	return ev.Actor.Attributes
}
