package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/feedd/feedd/config"
	"github.com/feedd/feedd/store"
)

// loadConfig reads the configuration, or returns an exit-2 error listing every problem.
func loadConfig(path string, stderr io.Writer) (config.Config, error) {
	cfg, err := config.Load(path, os.Environ())
	if err != nil {
		var ps *config.Problems
		if errors.As(err, &ps) {
			fmt.Fprintf(stderr, "feedd: invalid configuration (%s):\n", plural(len(*ps), "problem", "problems"))
			for _, p := range *ps {
				fmt.Fprintf(stderr, "  %s\n", p)
			}
			return cfg, &exitError{exitBadConfig, errSilent}
		}
		return cfg, &exitError{exitBadConfig, err}
	}
	return cfg, nil
}

// plural writes n with the singular or plural noun: "1 problem", "3 problems".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// newFlags returns a flag set that reports errors as exit-2 errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("feedd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// configFlag adds --config, which defaults to $FEEDD_CONFIG.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", os.Getenv(config.ConfigEnv), "configuration `file` (default: $FEEDD_CONFIG, else the built-in defaults)")
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &exitError{exitOK, errSilent}
		}
		return &exitError{exitBadConfig, errSilent}
	}
	if fs.NArg() > 0 {
		return &exitError{exitBadConfig, fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

func cmdCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", stderr)
	path := configFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	src := "built-in defaults"
	if *path != "" {
		src = *path
	}
	fmt.Fprintf(stdout, "configuration ok (%s): %d feeds, nats %s, data in %s\n",
		src, len(cfg.Feeds), natsTarget(cfg), cfg.DataDir)
	return nil
}

func natsTarget(cfg config.Config) string {
	if cfg.NATS.URL != "" {
		return cfg.NATS.URL
	}
	if cfg.NATS.Listen == "" {
		return "embedded (in-process only)"
	}
	return "embedded on " + cfg.NATS.Listen
}

// cmdFeeds shows each configured feed's state, as a table or, with --json, as a JSON array.
func cmdFeeds(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "import":
			return cmdFeedsImport(args[1:], stdout, stderr)
		case "export":
			return cmdFeedsExport(args[1:], stdout, stderr)
		}
	}
	fs := newFlags("feeds", stderr)
	path := configFlag(fs)
	asJSON := fs.Bool("json", false, "print a JSON array of the feeds' states, with every error in full")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	dbPath := filepath.Join(cfg.DataDir, dbFile)
	states := map[string]store.Feed{}
	if _, err := os.Stat(dbPath); err == nil {
		st, err := store.OpenReadOnly(ctx, dbPath)
		if err != nil {
			return err
		}
		defer st.Close()
		list, err := st.Feeds(ctx)
		if err != nil {
			return err
		}
		for _, f := range list {
			states[f.ID] = f
		}
	}
	if *asJSON {
		return printFeedsJSON(stdout, cfg.Feeds, states)
	}
	if cfg.Cluster.Enabled {
		fmt.Fprintln(stdout, leaderLine(ctx, cfg, os.Getenv))
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FEED\tLAST POLL\tSTATUS\tNEXT POLL\tFAILURES\tITEMS\tPAGES\tERROR")
	now := time.Now()
	for _, f := range cfg.Feeds {
		s, ok := states[f.ID]
		if !ok || s.LastPollAt.IsZero() {
			fmt.Fprintf(tw, "%s\tnever\t-\t-\t0\t0\t-\t\n", f.ID)
			continue
		}
		status := "ok"
		if s.ErrorClass != "" {
			status = s.ErrorClass
		}
		if s.LastStatus != 0 {
			status += fmt.Sprintf(" (%d)", s.LastStatus)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", f.ID, ago(now, s.LastPollAt), status,
			until(now, s.NextPollAt), s.ConsecutiveFailures, s.Items, pagesColumn(s), oneLine(errorCause(s.LastError), 60))
	}
	return tw.Flush()
}

// feedJSON is one feed in `feedd feeds --json`. Times are RFC 3339 in UTC, null when there is none.
type feedJSON struct {
	ID                  string           `json:"id"`
	Name                string           `json:"name"`
	URL                 string           `json:"url"`
	FetchURL            string           `json:"fetch_url"` // where it is polled: url, or where it moved
	LastPollAt          *time.Time       `json:"last_poll_at"`
	LastSuccessAt       *time.Time       `json:"last_success_at"`
	NextPollAt          *time.Time       `json:"next_poll_at"`
	Status              string           `json:"status"` // never, ok, or the error class of the last poll
	HTTPStatus          int              `json:"http_status"`
	ConsecutiveFailures int              `json:"consecutive_failures"`
	Items               int64            `json:"items"`
	PagesRead           int64            `json:"pages_read"`   // articles whose text came from their page
	PagesFailed         map[string]int64 `json:"pages_failed"` // pages wanted but not used, by reason
	Cause               string           `json:"cause"`        // the last error, its cause first
	LastError           string           `json:"last_error"`   // the last error in full
}

func printFeedsJSON(w io.Writer, feeds []config.Feed, states map[string]store.Feed) error {
	ts := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = t.UTC()
		return &t
	}
	out := make([]feedJSON, 0, len(feeds))
	for _, f := range feeds {
		s := states[f.ID]
		j := feedJSON{ID: f.ID, Name: f.Name, URL: f.URL, FetchURL: f.URL, Status: "never"}
		if s.FetchURL != "" {
			j.FetchURL = s.FetchURL
		}
		if !s.LastPollAt.IsZero() {
			j.Status = "ok"
			if s.ErrorClass != "" {
				j.Status = s.ErrorClass
			}
			j.LastPollAt, j.LastSuccessAt, j.NextPollAt = ts(s.LastPollAt), ts(s.LastSuccessAt), ts(s.NextPollAt)
			j.HTTPStatus, j.ConsecutiveFailures, j.Items = s.LastStatus, s.ConsecutiveFailures, s.Items
			j.Cause, j.LastError = errorCause(s.LastError), s.LastError
			j.PagesRead, j.PagesFailed = s.PagesRead, s.PagesFailed
		}
		out = append(out, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// pagesColumn sums up what full text did for a feed: "12" pages read, or "12, 3 failed (robots
// 2, timeout 1)", or "-" when no page was wanted.
func pagesColumn(s store.Feed) string {
	failed := 0
	var reasons []string
	for _, r := range slices.Sorted(maps.Keys(s.PagesFailed)) {
		failed += int(s.PagesFailed[r])
		reasons = append(reasons, fmt.Sprintf("%s %d", r, s.PagesFailed[r]))
	}
	switch {
	case failed > 0:
		return fmt.Sprintf("%d, %d failed (%s)", s.PagesRead, failed, strings.Join(reasons, ", "))
	case s.PagesRead > 0:
		return fmt.Sprint(s.PagesRead)
	}
	return "-"
}

// requestPrefix matches the `Get "URL": ` that net/http puts before a transport error.
var requestPrefix = regexp.MustCompile(`\b(?:Get|Head|Post) "[^"]*": `)

// errorCause rewrites a fetch error for a narrow column, its cause first: `fetch URL: Get "URL":
// dial tcp: lookup host: no such host` becomes `no such host (dial tcp: lookup host)`. The URL,
// which the table already names by feed id, is dropped.
func errorCause(msg string) string {
	msg = strings.Join(strings.Fields(msg), " ")
	if rest, ok := strings.CutPrefix(msg, "fetch "); ok {
		if _, after, ok := strings.Cut(rest, ": "); ok {
			msg = after
		}
	}
	msg = requestPrefix.ReplaceAllString(msg, "")
	i := strings.LastIndex(msg, ": ")
	if i < 0 {
		return msg
	}
	return msg[i+2:] + " (" + msg[:i] + ")"
}

func ago(now, t time.Time) string {
	return now.Sub(t).Round(time.Second).String() + " ago"
}

func until(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	if d := t.Sub(now); d > 0 {
		return "in " + d.Round(time.Second).String()
	}
	return "due"
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// cmdHealth probes a running daemon's /healthz, for container health checks on images that have
// no HTTP client.
func cmdHealth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("health", stderr)
	url := fs.String("url", "http://127.0.0.1:9090/healthz", "health `URL` to probe")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return &exitError{exitBadConfig, err}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", *url, resp.Status)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
