// Package rules holds the Falco rules for the plugin's event source "docker"
// (docker_rules.yaml) and their checks, which run without Falco: the rules
// file is parsed, its conditions and outputs are tokenised and checked
// against the field table of the built plugin (loaded through its C ABI),
// and every rule's documented firing event is replayed through the plugin
// to check that the fields its condition needs are extracted. Condition
// truth is never evaluated: that is Falco's job.
//
// testdata/rules_events.jsonl is recorded from a real Docker daemon by
//
//	go test ./rules -run TestRecordRulesFixture -record
package rules
