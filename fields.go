package main

import (
	"slices"
	"strings"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
)

// field declares one docker.* field: what plugin_get_fields serves of it and
// where its value comes from. Its ID, which libsinsp passes back in every
// extraction request, is its index in fieldDefs.
type field struct {
	name string
	typ  string   // "string", "uint64" or "abstime", as plugin_get_fields names them
	arg  fieldArg // the argument it takes
	from source   // where its value comes from
	desc string
}

type fieldArg uint8

const (
	noArg       fieldArg = iota
	keyRequired          // docker.attributes[KEY]
)

// source is where a field's value comes from; Extract switches on its kind.
type source struct {
	kind  sourceKind
	key   string                             // fromAttribute, fromAttributeNumber: the attribute's key
	value func(*decodedEvent) span           // fromEvent: the value decode.go keeps
	text  func(*decodedEvent) (string, bool) // fromDerived: the value, and whether the event has one
}

type sourceKind uint8

const (
	fromEvent           sourceKind = iota // a value the decoder keeps; set when not empty
	fromDerived                           // computed from the event's values; set when it has one
	fromAttribute                         // an attribute by a fixed key, as text; set when present, even empty
	fromAttributeNumber                   // an attribute by a fixed key, set when it parses as a uint64
	fromArgAttribute                      // the attribute the field's argument names
	fromTime                              // the event's time
)

// event: a top-level key of the event (Type, Action, scope, Actor.ID), one
// that decode.go derives when the daemon (API >= 1.52) no longer sends it
// (status, id, from), or the daemon's endpoint and name from the origin
// trailer of live events.
func event(value func(*decodedEvent) span) source { return source{kind: fromEvent, value: value} }

func derived(text func(*decodedEvent) (string, bool)) source {
	return source{kind: fromDerived, text: text}
}

func attr(key string) source       { return source{kind: fromAttribute, key: key} }
func attrNumber(key string) source { return source{kind: fromAttributeNumber, key: key} }

var (
	argAttribute = source{kind: fromArgAttribute}
	eventTime    = source{kind: fromTime}
)

// The values decode.go keeps, as sources.
func (d *decodedEvent) statusValue() span     { return d.status }
func (d *decodedEvent) idValue() span         { return d.id }
func (d *decodedEvent) typeValue() span       { return d.typ }
func (d *decodedEvent) actionValue() span     { return d.action }
func (d *decodedEvent) scopeValue() span      { return d.scope }
func (d *decodedEvent) actorIDValue() span    { return d.actorID }
func (d *decodedEvent) hostValue() span       { return d.host }
func (d *decodedEvent) daemonNameValue() span { return d.daemonName }

// fieldDefs is the one list of fields. plugin_get_fields serves it (in this
// order: the IDs of the fields already served must not change, so a new
// field goes at the end), Extract reads each field from its source, the
// attributes decoded by name in one pass are its keys (attributes.go), and
// the README's fields table and the rules check are generated or checked
// from what plugin_get_fields serves.
var fieldDefs = [...]field{
	// The seed plugin's fields.
	{name: "docker.status", typ: "string", from: event((*decodedEvent).statusValue), desc: "Event status: the deprecated 'status' key; derived from Action for container and image events when the daemon (API >= 1.52) no longer sends it"},
	{name: "docker.id", typ: "string", from: event((*decodedEvent).idValue), desc: "Event ID: the deprecated 'id' key; derived from Actor.ID for container and image events when absent"},
	{name: "docker.from", typ: "string", from: event((*decodedEvent).fromSpan), desc: "Image the container runs: the deprecated 'from' key; derived from the image attribute for container events when absent"},
	{name: "docker.type", typ: "string", from: event((*decodedEvent).typeValue), desc: "Object type: container, image, volume, network, daemon, plugin, service, node, secret, config, builder"},
	{name: "docker.action", typ: "string", from: event((*decodedEvent).actionValue), desc: "Action, as sent (e.g. create, die, exec_start: sh -c id, health_status: healthy)"},
	{name: "docker.stack.namespace", typ: "string", from: attr("com.docker.stack.namespace"), desc: "Stack namespace (label com.docker.stack.namespace)"},
	{name: "docker.node.id", typ: "string", from: attr("com.docker.swarm.node.id"), desc: "Swarm node ID of a task's container (label com.docker.swarm.node.id)"},
	{name: "docker.swarm.task", typ: "string", from: attr("com.docker.swarm.task"), desc: "Swarm task (label com.docker.swarm.task)"},
	{name: "docker.swarm.taskid", typ: "string", from: attr("com.docker.swarm.task.id"), desc: "Swarm task ID (label com.docker.swarm.task.id)"},
	{name: "docker.swarm.taskname", typ: "string", from: attr("com.docker.swarm.task.name"), desc: "Swarm task name (label com.docker.swarm.task.name)"},
	{name: "docker.swarm.servicename", typ: "string", from: attr("com.docker.swarm.service.name"), desc: "Swarm service name (label com.docker.swarm.service.name)"},
	{name: "docker.node.statenew", typ: "string", from: attr("state.new"), desc: "Swarm node state after the update (attribute state.new)"},
	{name: "docker.node.stateold", typ: "string", from: attr("state.old"), desc: "Swarm node state before the update (attribute state.old)"},
	{name: "docker.attributes.container", typ: "string", from: attr("container"), desc: "Container ID of a network or volume event (attribute container)"},
	{name: "docker.attributes.image", typ: "string", from: attr("image"), desc: "Image of a container event (attribute image)"},
	{name: "docker.attributes.name", typ: "string", from: attr("name"), desc: "Name of the object: container, image, network, volume, node, service, secret, config, plugin (attribute name)"},
	{name: "docker.attributes.type", typ: "string", from: attr("type"), desc: "Network driver of a network event (attribute type)"},
	{name: "docker.attributes.exitcode", typ: "string", from: attr("exitCode"), desc: "Exit code of a die or exec_die event, as text (attribute exitCode)"},
	{name: "docker.attributes.signal", typ: "string", from: attr("signal"), desc: "Signal of a kill event, as text (attribute signal)"},
	{name: "docker.scope", typ: "string", from: event((*decodedEvent).scopeValue), desc: "Scope: local, or swarm for node, service, secret, config events and swarm networks"},
	// Fields the seed lacked.
	{name: "docker.actor.id", typ: "string", from: event((*decodedEvent).actorIDValue), desc: "ID of the object the event is about (Actor.ID)"},
	{name: "docker.attributes", typ: "string", arg: keyRequired, from: argAttribute, desc: "Any attribute by key, including every container label, e.g. docker.attributes[com.docker.compose.project]"},
	{name: "docker.action.name", typ: "string", from: derived(actionName), desc: "Action without its argument: exec_start for 'exec_start: sh', health_status for 'health_status: healthy'"},
	{name: "docker.exec.command", typ: "string", from: derived(execCommand), desc: "Command of an exec_create or exec_start event: the text after 'exec_create: ' or 'exec_start: '"},
	{name: "docker.exec.id", typ: "string", from: attr("execID"), desc: "Exec ID of an exec_* event (attribute execID)"},
	{name: "docker.exitcode", typ: "uint64", from: attrNumber("exitCode"), desc: "Exit code of a die or exec_die event, as a number (attribute exitCode)"},
	{name: "docker.signal", typ: "uint64", from: attrNumber("signal"), desc: "Signal number of a kill event (attribute signal)"},
	{name: "docker.health.status", typ: "string", from: derived(healthStatus), desc: "Health status of a health_status event: healthy or unhealthy"},
	{name: "docker.time", typ: "abstime", from: eventTime, desc: "Time of the event (timeNano), nanoseconds since the epoch"},
	{name: "docker.node.availability.old", typ: "string", from: attr("availability.old"), desc: "Swarm node availability before the update (active, pause, drain)"},
	{name: "docker.node.availability.new", typ: "string", from: attr("availability.new"), desc: "Swarm node availability after the update (active, pause, drain)"},
	{name: "docker.node.state.old", typ: "string", from: attr("state.old"), desc: "Swarm node state before the update (unknown, down, ready, disconnected)"},
	{name: "docker.node.state.new", typ: "string", from: attr("state.new"), desc: "Swarm node state after the update (unknown, down, ready, disconnected)"},
	{name: "docker.node.role.old", typ: "string", from: attr("role.old"), desc: "Swarm node role before the update (worker, manager)"},
	{name: "docker.node.role.new", typ: "string", from: attr("role.new"), desc: "Swarm node role after the update (worker, manager)"},
	{name: "docker.node.leader.old", typ: "string", from: attr("leader.old"), desc: "Whether the Swarm node was the leader before the update (true, false)"},
	{name: "docker.node.leader.new", typ: "string", from: attr("leader.new"), desc: "Whether the Swarm node is the leader after the update (true, false)"},
	{name: "docker.node.reachability.old", typ: "string", from: attr("reachability.old"), desc: "Swarm manager reachability before the update (unknown, unreachable, reachable)"},
	{name: "docker.node.reachability.new", typ: "string", from: attr("reachability.new"), desc: "Swarm manager reachability after the update (unknown, unreachable, reachable)"},
	{name: "docker.service.replicas.old", typ: "uint64", from: attrNumber("replicas.old"), desc: "Swarm service replicas before the update"},
	{name: "docker.service.replicas.new", typ: "uint64", from: attrNumber("replicas.new"), desc: "Swarm service replicas after the update"},
	{name: "docker.service.image.old", typ: "string", from: attr("image.old"), desc: "Swarm service image before the update"},
	{name: "docker.service.image.new", typ: "string", from: attr("image.new"), desc: "Swarm service image after the update"},
	{name: "docker.service.updatestate.old", typ: "string", from: attr("updatestate.old"), desc: "Swarm service update state before the update (updating, completed, paused, rollback_started...)"},
	{name: "docker.service.updatestate.new", typ: "string", from: attr("updatestate.new"), desc: "Swarm service update state after the update"},
	{name: "docker.host", typ: "string", from: event((*decodedEvent).hostValue), desc: "Endpoint of the daemon that sent the event, as configured (live events only)"},
	{name: "docker.daemon.name", typ: "string", from: event((*decodedEvent).daemonNameValue), desc: "Name of the daemon that sent the event (its hostname, from GET /info; live events only)"},
}

// numFields is the number of fields; a field ID is below it. Typed as the
// SDK's field IDs (ExtractRequest.FieldID).
const numFields = uint64(len(fieldDefs))

// fieldTable is what plugin_get_fields serves: fieldDefs as the SDK lists
// fields.
var fieldTable = func() (table [numFields]sdk.FieldEntry) {
	for id, f := range fieldDefs {
		table[id] = sdk.FieldEntry{
			Name:    f.name,
			Type:    f.typ,
			Arg:     sdk.FieldEntryArg{IsRequired: f.arg == keyRequired, IsKey: f.arg == keyRequired},
			Display: strings.TrimPrefix(f.name, "docker."),
			Desc:    f.desc,
		}
	}
	return table
}()

// fieldAttributeKeys returns the attribute keys the fields read by a fixed
// key, each once, in the order of the fields.
func fieldAttributeKeys() []string {
	var keys []string
	for _, f := range fieldDefs {
		switch f.from.kind {
		case fromAttribute, fromAttributeNumber:
			if !slices.Contains(keys, f.from.key) {
				keys = append(keys, f.from.key)
			}
		}
	}
	return keys
}
