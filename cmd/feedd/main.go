// Command feedd polls Arabic news feeds, removes duplicate articles and publishes each story once
// to NATS JetStream. See the README for the commands and the configuration.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // feeds[].timezone works on images without a zoneinfo database

	"github.com/feedd/feedd/internal/gcfloor"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, a second one kills the process the usual way, should a graceful
	// shutdown hang.
	context.AfterFunc(ctx, stop)
	// A small live heap collects at the heap goal of a larger one, unless GOGC or GOMEMLIMIT
	// says otherwise (README, "Garbage collection").
	gcfloor.Start(gcfloor.DefaultFloor, os.Getenv)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK        = 0
	exitFailure   = 1 // a run that could not complete (for run --once: publishing timed out)
	exitBadConfig = 2 // a bad configuration or bad command line
	exitAllFailed = 3 // run --once: every feed failed (no network, or every URL wrong)
)

// exitError carries an exit code out of a subcommand.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

const usage = `usage: feedd <command> [flags]

commands:
  run     [--config FILE] [--once [--timeout DURATION]]   run the daemon (or poll every feed once)
  tail    [--config FILE] [--subject SUBJ] [--since DURATION] [-n N] [--json]
                                                        print articles as they arrive
  check   [--config FILE]                               validate the configuration
  feeds   [--config FILE]                               show each feed's state
  feeds import [--skip-invalid] FILE.opml              print an OPML file's feeds as a config's feeds: list
  feeds export [--config FILE]                        print the configured feeds as OPML 2.0
  health  [--url URL]                                   exit 0 when the daemon's /healthz answers 200
  version                                               print the version

Run 'feedd <command> -h' for a command's flags.
`

// run executes one command and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitBadConfig
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		err = cmdRun(ctx, rest, stdout, stderr)
	case "tail":
		err = cmdTail(ctx, rest, stdout, stderr)
	case "check":
		err = cmdCheck(rest, stdout, stderr)
	case "feeds":
		err = cmdFeeds(ctx, rest, stdout, stderr)
	case "health":
		err = cmdHealth(ctx, rest, stdout, stderr)
	case "extract":
		err = cmdExtract(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "feedd %s\n", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "feedd: unknown command %q\n\n%s", cmd, usage)
		return exitBadConfig
	}
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && !errors.Is(ee.err, errSilent) {
			fmt.Fprintf(stderr, "feedd: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "feedd: %v\n", err)
	return exitFailure
}

// errSilent marks an exit whose message was already printed.
var errSilent = errors.New("already reported")
