package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
)

// Field IDs: the index of each field in fieldTable, which is the ID libsinsp
// passes back in every extraction request. Extraction switches on these,
// never on the field's name.
const (
	fieldStatus = iota
	fieldID
	fieldFrom
	fieldType
	fieldAction
	fieldStackNamespace
	fieldNodeID
	fieldSwarmTask
	fieldSwarmTaskID
	fieldSwarmTaskName
	fieldSwarmServiceName
	fieldNodeStateNewSeed
	fieldNodeStateOldSeed
	fieldAttrContainer
	fieldAttrImage
	fieldAttrName
	fieldAttrType
	fieldAttrExitCode
	fieldAttrSignal
	fieldScope
	fieldActorID
	fieldAttributes
	fieldActionName
	fieldExecCommand
	fieldExecID
	fieldExitCode
	fieldSignal
	fieldHealthStatus
	fieldTime
	fieldNodeAvailabilityOld
	fieldNodeAvailabilityNew
	fieldNodeStateOld
	fieldNodeStateNew
	fieldNodeRoleOld
	fieldNodeRoleNew
	fieldNodeLeaderOld
	fieldNodeLeaderNew
	fieldNodeReachabilityOld
	fieldNodeReachabilityNew
	fieldServiceReplicasOld
	fieldServiceReplicasNew
	fieldServiceImageOld
	fieldServiceImageNew
	fieldServiceUpdateStateOld
	fieldServiceUpdateStateNew
	fieldHost
	fieldDaemonName
	numFields
)

func str(name, desc string) sdk.FieldEntry {
	return sdk.FieldEntry{Type: "string", Name: name, Display: displayName(name), Desc: desc}
}

func u64(name, desc string) sdk.FieldEntry {
	return sdk.FieldEntry{Type: "uint64", Name: name, Display: displayName(name), Desc: desc}
}

func displayName(name string) string {
	return strings.TrimPrefix(name, "docker.")
}

// fieldTable is the one list of fields: plugin_get_fields serves it, and the
// README table and the rules check are generated or checked from it.
var fieldTable = [numFields]sdk.FieldEntry{
	// The seed plugin's fields, each one extracted.
	fieldStatus:           str("docker.status", "Event status: the deprecated 'status' key; derived from Action for container and image events when the daemon (API >= 1.52) no longer sends it"),
	fieldID:               str("docker.id", "Event ID: the deprecated 'id' key; derived from Actor.ID for container and image events when absent"),
	fieldFrom:             str("docker.from", "Image the container runs: the deprecated 'from' key; derived from the image attribute for container events when absent"),
	fieldType:             str("docker.type", "Object type: container, image, volume, network, daemon, plugin, service, node, secret, config, builder"),
	fieldAction:           str("docker.action", "Action, as sent (e.g. create, die, exec_start: sh -c id, health_status: healthy)"),
	fieldStackNamespace:   str("docker.stack.namespace", "Stack namespace (label com.docker.stack.namespace)"),
	fieldNodeID:           str("docker.node.id", "Swarm node ID of a task's container (label com.docker.swarm.node.id)"),
	fieldSwarmTask:        str("docker.swarm.task", "Swarm task (label com.docker.swarm.task)"),
	fieldSwarmTaskID:      str("docker.swarm.taskid", "Swarm task ID (label com.docker.swarm.task.id)"),
	fieldSwarmTaskName:    str("docker.swarm.taskname", "Swarm task name (label com.docker.swarm.task.name)"),
	fieldSwarmServiceName: str("docker.swarm.servicename", "Swarm service name (label com.docker.swarm.service.name)"),
	fieldNodeStateNewSeed: str("docker.node.statenew", "Swarm node state after the update (attribute state.new)"),
	fieldNodeStateOldSeed: str("docker.node.stateold", "Swarm node state before the update (attribute state.old)"),
	fieldAttrContainer:    str("docker.attributes.container", "Container ID of a network or volume event (attribute container)"),
	fieldAttrImage:        str("docker.attributes.image", "Image of a container event (attribute image)"),
	fieldAttrName:         str("docker.attributes.name", "Name of the object: container, image, network, volume, node, service, secret, config, plugin (attribute name)"),
	fieldAttrType:         str("docker.attributes.type", "Network driver of a network event (attribute type)"),
	fieldAttrExitCode:     str("docker.attributes.exitcode", "Exit code of a die or exec_die event, as text (attribute exitCode)"),
	fieldAttrSignal:       str("docker.attributes.signal", "Signal of a kill event, as text (attribute signal)"),
	fieldScope:            str("docker.scope", "Scope: local, or swarm for node, service, secret, config events and swarm networks"),
	// Fields the seed lacked.
	fieldActorID: str("docker.actor.id", "ID of the object the event is about (Actor.ID)"),
	fieldAttributes: {
		Type: "string", Name: "docker.attributes", Display: "attributes",
		Arg:  sdk.FieldEntryArg{IsRequired: true, IsKey: true},
		Desc: "Any attribute by key, including every container label, e.g. docker.attributes[com.docker.compose.project]",
	},
	fieldActionName:            str("docker.action.name", "Action without its argument: exec_start for 'exec_start: sh', health_status for 'health_status: healthy'"),
	fieldExecCommand:           str("docker.exec.command", "Command of an exec_create or exec_start event: the text after 'exec_create: ' or 'exec_start: '"),
	fieldExecID:                str("docker.exec.id", "Exec ID of an exec_* event (attribute execID)"),
	fieldExitCode:              u64("docker.exitcode", "Exit code of a die or exec_die event, as a number (attribute exitCode)"),
	fieldSignal:                u64("docker.signal", "Signal number of a kill event (attribute signal)"),
	fieldHealthStatus:          str("docker.health.status", "Health status of a health_status event: healthy or unhealthy"),
	fieldTime:                  {Type: "abstime", Name: "docker.time", Display: "time", Desc: "Time of the event (timeNano), nanoseconds since the epoch"},
	fieldNodeAvailabilityOld:   str("docker.node.availability.old", "Swarm node availability before the update (active, pause, drain)"),
	fieldNodeAvailabilityNew:   str("docker.node.availability.new", "Swarm node availability after the update (active, pause, drain)"),
	fieldNodeStateOld:          str("docker.node.state.old", "Swarm node state before the update (unknown, down, ready, disconnected)"),
	fieldNodeStateNew:          str("docker.node.state.new", "Swarm node state after the update (unknown, down, ready, disconnected)"),
	fieldNodeRoleOld:           str("docker.node.role.old", "Swarm node role before the update (worker, manager)"),
	fieldNodeRoleNew:           str("docker.node.role.new", "Swarm node role after the update (worker, manager)"),
	fieldNodeLeaderOld:         str("docker.node.leader.old", "Whether the Swarm node was the leader before the update (true, false)"),
	fieldNodeLeaderNew:         str("docker.node.leader.new", "Whether the Swarm node is the leader after the update (true, false)"),
	fieldNodeReachabilityOld:   str("docker.node.reachability.old", "Swarm manager reachability before the update (unknown, unreachable, reachable)"),
	fieldNodeReachabilityNew:   str("docker.node.reachability.new", "Swarm manager reachability after the update (unknown, unreachable, reachable)"),
	fieldServiceReplicasOld:    u64("docker.service.replicas.old", "Swarm service replicas before the update"),
	fieldServiceReplicasNew:    u64("docker.service.replicas.new", "Swarm service replicas after the update"),
	fieldServiceImageOld:       str("docker.service.image.old", "Swarm service image before the update"),
	fieldServiceImageNew:       str("docker.service.image.new", "Swarm service image after the update"),
	fieldServiceUpdateStateOld: str("docker.service.updatestate.old", "Swarm service update state before the update (updating, completed, paused, rollback_started...)"),
	fieldServiceUpdateStateNew: str("docker.service.updatestate.new", "Swarm service update state after the update"),
	fieldHost:                  str("docker.host", "Endpoint of the daemon that sent the event, as configured (live events only)"),
	fieldDaemonName:            str("docker.daemon.name", "Name of the daemon that sent the event (its hostname, from GET /info; live events only)"),
}

// attributeFields maps the fields that are one attribute by a fixed key.
var attributeFields = [numFields]string{
	fieldStackNamespace:        "com.docker.stack.namespace",
	fieldNodeID:                "com.docker.swarm.node.id",
	fieldSwarmTask:             "com.docker.swarm.task",
	fieldSwarmTaskID:           "com.docker.swarm.task.id",
	fieldSwarmTaskName:         "com.docker.swarm.task.name",
	fieldSwarmServiceName:      "com.docker.swarm.service.name",
	fieldNodeStateNewSeed:      "state.new",
	fieldNodeStateOldSeed:      "state.old",
	fieldAttrContainer:         "container",
	fieldAttrImage:             "image",
	fieldAttrName:              "name",
	fieldAttrType:              "type",
	fieldAttrExitCode:          "exitCode",
	fieldAttrSignal:            "signal",
	fieldExecID:                "execID",
	fieldExitCode:              "exitCode",
	fieldSignal:                "signal",
	fieldNodeAvailabilityOld:   "availability.old",
	fieldNodeAvailabilityNew:   "availability.new",
	fieldNodeStateOld:          "state.old",
	fieldNodeStateNew:          "state.new",
	fieldNodeRoleOld:           "role.old",
	fieldNodeRoleNew:           "role.new",
	fieldNodeLeaderOld:         "leader.old",
	fieldNodeLeaderNew:         "leader.new",
	fieldNodeReachabilityOld:   "reachability.old",
	fieldNodeReachabilityNew:   "reachability.new",
	fieldServiceReplicasOld:    "replicas.old",
	fieldServiceReplicasNew:    "replicas.new",
	fieldServiceImageOld:       "image.old",
	fieldServiceImageNew:       "image.new",
	fieldServiceUpdateStateOld: "updatestate.old",
	fieldServiceUpdateStateNew: "updatestate.new",
}

// Extract serves one field of one event. The event is decoded once, on the
// first field asked of it; later fields of the same event read the cache.
// A field the event does not carry is left unset (Falco shows <NA>).
func (p *pluginState) Extract(req sdk.ExtractRequest, evt sdk.EventReader) error {
	ev, err := p.decoded(evt)
	if err != nil {
		return err
	}
	if ev.err != nil {
		return nil // counted once, by decoded
	}
	id := req.FieldID()
	if id >= numFields {
		return fmt.Errorf("unknown field ID %d", id)
	}
	switch id {
	case fieldStatus:
		p.setSpan(req, id, ev, ev.status)
	case fieldID:
		p.setSpan(req, id, ev, ev.id)
	case fieldFrom:
		p.setSpan(req, id, ev, ev.fromSpan())
	case fieldType:
		p.setSpan(req, id, ev, ev.typ)
	case fieldAction:
		p.setSpan(req, id, ev, ev.action)
	case fieldScope:
		p.setSpan(req, id, ev, ev.scope)
	case fieldActorID:
		p.setSpan(req, id, ev, ev.actorID)
	case fieldHost:
		p.setSpan(req, id, ev, ev.host)
	case fieldDaemonName:
		p.setSpan(req, id, ev, ev.daemonName)
	case fieldAttributes:
		if !req.ArgPresent() || req.ArgKey() == "" {
			return fmt.Errorf("field %s needs a key argument, e.g. docker.attributes[name]", fieldTable[id].Name)
		}
		if v, ok := ev.attr(req.ArgKey()); ok {
			req.SetValue(v)
		}
	case fieldActionName:
		if action := ev.str(ev.action); ev.action.ok && action != "" {
			name, _, _ := strings.Cut(action, ": ")
			p.setString(req, id, name)
		}
	case fieldExecCommand:
		action := ev.str(ev.action)
		for _, prefix := range [...]string{"exec_create: ", "exec_start: "} {
			if cmd, ok := strings.CutPrefix(action, prefix); ok {
				req.SetValue(cmd)
			}
		}
	case fieldHealthStatus:
		if status, ok := strings.CutPrefix(ev.str(ev.action), "health_status: "); ok {
			p.setString(req, id, status)
		}
	case fieldTime:
		if ts, ok := ev.timestamp(); ok {
			req.SetValue(time.Unix(0, ts))
		}
	default:
		key := attributeFields[id]
		v, ok := ev.attr(key)
		if !ok {
			return nil
		}
		if fieldTable[id].Type == "uint64" {
			if n, err := strconv.ParseUint(v, 10, 64); err == nil {
				req.SetValue(n)
			}
			return nil
		}
		p.setString(req, id, v)
	}
	return nil
}

// setSpan sets field id to the value s locates, if there is one.
func (p *pluginState) setSpan(req sdk.ExtractRequest, id uint64, ev *decodedEvent, s span) {
	if s.ok && s.end > s.start {
		p.setString(req, id, ev.str(s))
	}
}

// setString sets field id to v, boxed once if the field's values come from a
// small set.
func (p *pluginState) setString(req sdk.ExtractRequest, id uint64, v string) {
	if enumFields[id] {
		req.SetValue(p.enums.box(v))
		return
	}
	req.SetValue(v)
}

// decoded returns evt decoded, decoding it only if it is not the cached one.
func (p *pluginState) decoded(evt sdk.EventReader) (*decodedEvent, error) {
	num := evt.EventNum()
	if p.cache.evtNum == num && num != 0 {
		return p.cache, nil
	}
	data, ok := eventData(evt, &p.readBuf)
	if !ok {
		return nil, fmt.Errorf("event %d is not a plugin event", num)
	}
	p.cache.decode(num, data)
	if p.cache.err != nil {
		p.undecodable.Add(1)
	}
	return p.cache, nil
}
