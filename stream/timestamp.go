package stream

import (
	"bytes"
	"strconv"
	"time"

	jsoniter "github.com/json-iterator/go"
)

var (
	timeNanoKey = []byte(`"timeNano":`)
	timePrefix  = []byte(`"time`) // of both keys, whatever spacing precedes the colon
)

// TimeNano returns the event's timeNano. The daemon writes it as the last key
// of the object, so a backwards search finds it without decoding the event;
// anything unexpected falls back to a real (json-iterator) scan of the
// top-level keys. timeNano exceeds 2^53 and is read as an integer, never as a
// float. Returns 0 when the event has neither timeNano nor time.
//
// It is the one parse of an event's time: each reader calls it once per
// line (Follower.keyOf, Replay.Run) and the time travels with the line.
func TimeNano(data []byte) int64 {
	if i := bytes.LastIndex(data, timeNanoKey); i >= 0 {
		if v, ok := parseTrailingInt(data[i+len(timeNanoKey):]); ok && v > 0 {
			return v
		}
	}
	return scanTime(data)
}

// parseTrailingInt parses a non-negative integer that is followed by the end
// of the object, as the daemon writes timeNano.
func parseTrailingInt(b []byte) (int64, bool) {
	var v int64
	n := 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		if v > (1<<63-1-9)/10 {
			return 0, false
		}
		v = v*10 + int64(b[n]-'0')
		n++
	}
	if n == 0 {
		return 0, false
	}
	rest := bytes.TrimSpace(b[n:])
	if len(rest) != 1 || rest[0] != '}' {
		return 0, false
	}
	return v, true
}

// scanTime walks the top-level keys for timeNano, or time (seconds).
func scanTime(data []byte) int64 {
	if !bytes.Contains(data, timePrefix) { // neither key: no need to walk
		return 0
	}
	iter := jsoniter.ConfigDefault.BorrowIterator(data)
	defer jsoniter.ConfigDefault.ReturnIterator(iter)
	var nano, sec int64
	var scratch [32]byte
	// integer reads the next value exactly: an integer, or nothing (1e9 and
	// 1.5 are numbers a float parser would half-read).
	integer := func() int64 {
		if iter.WhatIsNext() != jsoniter.NumberValue {
			iter.Skip()
			return 0
		}
		v, err := strconv.ParseInt(string(iter.SkipAndAppendBytes(scratch[:0])), 10, 64)
		if err != nil {
			return 0
		}
		return v
	}
	// ReadObjectCB, unlike ReadObject, does not stop at an empty key.
	iter.ReadObjectCB(func(iter *jsoniter.Iterator, key string) bool {
		switch key {
		case "timeNano":
			nano = integer()
		case "time":
			sec = integer()
		default:
			iter.Skip()
		}
		return iter.Error == nil
	})
	switch {
	case nano > 0:
		return nano
	case sec > 0 && sec < (1<<63-1)/int64(time.Second):
		return sec * 1e9
	}
	return 0
}
