package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feedd/feedd/internal/testnats"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestRunRefusesToLowerTheStreamsRetention: an operator's stream that keeps messages longer
// than nats.max_age is not shortened (which would delete messages): `feedd run` stops with exit
// status 2 and an error naming the setting, both values and how to lower it on purpose; the
// stream and its messages are as they were.
func TestRunRefusesToLowerTheStreamsRetention(t *testing.T) {
	ns := testnats.Run(t, -1, t.TempDir())
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ARTICLES", Subjects: []string{"articles.>"},
		MaxAge: 8760 * time.Hour, Duplicates: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "articles.new.ar.x", []byte("{}")); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	cfg := filepath.Join(dir, "feedd.yaml")
	yaml := fmt.Sprintf("data_dir: %q\nnats:\n  url: %q\n  max_age: 720h\nhttp:\n  listen: \"\"\n"+
		"feeds:\n  - id: x\n    url: file://%s/missing.xml\n    interval: 1h\n", dir, ns.ClientURL(), dir)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second) // a daemon that goes on is stopped here, exit 0
	defer cancel()
	var stdout, stderr strings.Builder
	code := run(rctx, []string{"run", "--config", cfg}, &stdout, &stderr)
	if code != exitBadConfig {
		t.Errorf("exit status %d, want %d", code, exitBadConfig)
	}
	for _, want := range []string{"nats.max_age 720h", "max age 8760h", "nats stream edit ARTICLES --max-age 720h"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
		}
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.MaxAge != 8760*time.Hour || info.State.Msgs != 1 {
		t.Errorf("stream max age %s with %d messages, want 8760h and the 1 stored", info.Config.MaxAge, info.State.Msgs)
	}
}
