package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/feedd/feedd/article"
	"github.com/feedd/feedd/bus"
	"github.com/feedd/feedd/config"
	"github.com/feedd/feedd/internal/datadir"
	"github.com/feedd/feedd/internal/display"
	"github.com/nats-io/nats.go/jetstream"
)

// offlineLast is how many stored articles tail prints from a stopped store when neither -n nor
// --since says.
const offlineLast = 10

// holderWait bounds how long tail waits for the daemon holding data_dir to say where its embedded
// server listens (it locks data_dir before it starts the server).
const holderWait = 10 * time.Second

func cmdTail(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tail", stderr)
	path := configFlag(fs)
	subject := fs.String("subject", article.SubjectPrefix+".>", "subject `filter`, e.g. articles.new.>")
	var since time.Duration
	fs.Func("since", "also print articles published to the stream in the last `duration` (90m, 2h, 7d)", func(v string) error {
		d, err := config.ParseDuration(v)
		if err == nil && d < 0 {
			err = errors.New("must not be negative")
		}
		since = d
		return err
	})
	last := fs.Int("n", 0, "also print the last `N` articles")
	asJSON := fs.Bool("json", false, "print each message body as one line of JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *last < 0 {
		return &exitError{exitBadConfig, fmt.Errorf("-n %d: must not be negative", *last)}
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	src, err := openTailSource(ctx, cfg, log, stderr)
	if err != nil {
		return err
	}
	defer src.close()

	o := bus.TailOptions{Stream: cfg.NATS.Stream, Subject: *subject, Since: since, Last: *last}
	if src.stopped {
		// Nothing publishes to a stopped store: print what it holds, and end.
		o.UntilCaughtUp = true
		if since == 0 && *last == 0 {
			o.Last = offlineLast
			fmt.Fprintf(stderr, "feedd: no feedd is running on data_dir %s: the last %d articles it stored (-n and --since choose others):\n",
				cfg.DataDir, offlineLast)
		}
		o.CaughtUp = func() {
			fmt.Fprintf(stderr, "feedd: end of the articles stored in %s\n", cfg.DataDir)
		}
	} else {
		o.CaughtUp = func() {
			fmt.Fprintf(stderr, "feedd: waiting for new articles on %s from %s (Ctrl-C to stop)\n", *subject, src.name)
		}
	}
	err = src.bus.Tail(ctx, o, func(m bus.Received) error {
		if *asJSON {
			_, err := fmt.Fprintf(stdout, "%s\n", m.Data)
			return err
		}
		var a article.Article
		if err := json.Unmarshal(m.Data, &a); err != nil {
			fmt.Fprintf(stderr, "feedd: %s: undecodable message: %v\n", m.Subject, err)
			return nil
		}
		mark := ""
		if a.DuplicateOf != "" {
			mark = fmt.Sprintf(" [duplicate %.2f of %.12s]", a.Similarity, a.DuplicateOf)
		}
		link := a.CanonicalURL
		if link == "" {
			link = a.URL
		}
		_, err := fmt.Fprintf(stdout, "%s  %s  %s%s\n    %s\n", a.PublishedAt.UTC().Format("2006-01-02 15:04Z"),
			a.Source, a.Title, mark, display.URL(link))
		return err
	})
	if ctx.Err() != nil {
		return nil
	}
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("stream %s not found on %s: nothing was published there yet", cfg.NATS.Stream, src.name)
	}
	return err
}

// tailSource is where tail reads from: a remote server, the listener of the daemon that holds
// data_dir, or, when no daemon does, data_dir's NATS store opened in this process.
type tailSource struct {
	bus     *bus.Bus
	name    string // for messages: a URL, or "data_dir X"
	stopped bool   // a stopped store: nothing new will come
	close   func()
}

func openTailSource(ctx context.Context, cfg config.Config, log *slog.Logger, stderr io.Writer) (*tailSource, error) {
	connect := func(url, name string) (*tailSource, error) {
		b, err := bus.Connect(ctx, bus.Options{URL: url, Creds: cfg.NATS.Creds, Name: "feedd-tail", Logger: log})
		if err != nil {
			return nil, err
		}
		return &tailSource{bus: b, name: name, close: b.Close}, nil
	}
	if cfg.NATS.URL != "" {
		return connect(cfg.NATS.URL, cfg.NATS.URL)
	}
	if _, err := os.Stat(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("data_dir %s: %w: nothing was recorded there yet (feedd run creates it)", cfg.DataDir, errors.Unwrap(err))
	}
	deadline := time.Now().Add(holderWait)
	for {
		lock, err := datadir.Acquire(cfg.DataDir, datadir.Owner{Command: "feedd tail"})
		if err == nil {
			return openStoppedStore(ctx, cfg, lock, log)
		}
		var le *datadir.LockedError
		if !errors.As(err, &le) {
			return nil, err
		}
		if u := le.Owner.NATSURL; u != "" {
			fmt.Fprintf(stderr, "feedd: reading from %s at %s\n", le.Owner, u)
			return connect(u, u)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("data_dir %s is in use by %s, which gives no NATS address to read from: its embedded server has no listener (nats.listen is \"\"), or it is still starting", cfg.DataDir, le.Owner)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// openStoppedStore starts an embedded server without a listener on data_dir's NATS store, which
// lock keeps for this process, and connects to it in-process. tail only reads from it.
func openStoppedStore(ctx context.Context, cfg config.Config, lock *datadir.Lock, log *slog.Logger) (_ *tailSource, err error) {
	defer func() {
		if err != nil {
			lock.Release()
		}
	}()
	dir := filepath.Join(cfg.DataDir, natsDir)
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("data_dir %s holds no NATS store (%s): nothing was published there yet", cfg.DataDir, dir)
	}
	emb, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: dir, Logger: log})
	if err != nil {
		return nil, err
	}
	b, err := bus.Connect(ctx, bus.Options{Embedded: emb, Name: "feedd-tail", Logger: log})
	if err != nil {
		emb.Shutdown()
		return nil, err
	}
	return &tailSource{bus: b, name: "data_dir " + cfg.DataDir, stopped: true, close: func() {
		b.Close()
		emb.Shutdown()
		lock.Release()
	}}, nil
}
