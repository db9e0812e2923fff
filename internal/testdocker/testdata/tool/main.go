// Command tool is a tiny multi-call program that stands in for a whole
// userland inside the test image built by testdocker.Image. It is built as a
// static binary and hard-linked under the names of common commands
// (/bin/sh, /bin/bash, /usr/bin/curl, ...). Its behaviour depends on the
// name it is invoked as (the base name of argv[0]); when invoked as "tool"
// the first argument selects the behaviour instead:
//
//	sleep N        sleep N seconds (SIGTERM/SIGINT: exit 143/130 at once)
//	exit N         exit with code N
//	sh|bash -c S   run nothing and exit 0, except for the tiny subset of
//	               shell understood by runScript ("exit N", "sleep N",
//	               "true", "false", separated by ";", "&&" or newlines)
//	true           exit 0
//	false          exit 1
//	anything else  print the arguments and exit 0
package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	if name == "tool" && len(args) > 0 {
		switch args[0] {
		case "sleep", "exit", "sh", "bash", "true", "false":
			name, args = args[0], args[1:]
		}
	}
	os.Exit(run(name, args))
}

func run(name string, args []string) int {
	switch name {
	case "sleep":
		if len(args) == 0 {
			fmt.Fprintln(os.Stderr, "sleep: missing operand")
			return 1
		}
		return sleep(args[0])
	case "exit":
		if len(args) == 0 {
			return 0
		}
		return exitCode(args[0])
	case "true":
		return 0
	case "false":
		return 1
	case "sh", "bash":
		for i := 0; i < len(args); i++ {
			a := args[i]
			if len(a) > 1 && a[0] == '-' && a != "--" && strings.Contains(a, "c") && i+1 < len(args) {
				return runScript(args[i+1])
			}
		}
		return 0
	default:
		fmt.Println(strings.Join(append([]string{name}, args...), " "))
		return 0
	}
}

// runScript interprets a very small subset of shell: a list of simple
// commands separated by ";", "&&", "||" or newlines. Only "exit N",
// "sleep N", "true" and "false" do anything; other commands are ignored.
func runScript(script string) int {
	r := strings.NewReplacer("&&", "\n", "||", "\n", ";", "\n")
	status := 0
	for _, line := range strings.Split(r.Replace(script), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == "exec" {
			f = f[1:]
		}
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "exit":
			if len(f) > 1 {
				return exitCode(f[1])
			}
			return status
		case "sleep":
			if len(f) > 1 {
				status = sleep(f[1])
			}
		case "true":
			status = 0
		case "false":
			status = 1
		default:
			status = 0
		}
	}
	return status
}

func exitCode(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fmt.Fprintf(os.Stderr, "exit: %q: numeric argument required\n", s)
		return 2
	}
	return n & 0xff
}

func sleep(s string) int {
	var d time.Duration
	if s == "infinity" {
		d = time.Duration(1<<63 - 1)
	} else {
		f, err := strconv.ParseFloat(strings.TrimSuffix(s, "s"), 64)
		if err != nil || f < 0 {
			fmt.Fprintf(os.Stderr, "sleep: invalid time interval %q\n", s)
			return 1
		}
		d = time.Duration(f * float64(time.Second))
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	t := time.NewTimer(d)
	select {
	case <-t.C:
		return 0
	case s := <-sig:
		return 128 + int(s.(syscall.Signal))
	}
}
